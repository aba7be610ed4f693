"""RMVPE: network key structure, both rmvpe.pt layouts (random weights; no real weights here), the salience
decoder on synthetic maps, and the extractor on the model grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from svc_core.errors import SvcError
from svc_core.f0.decode import CENTS_BIN0, cents_table, cents_to_hz, local_average_decode
from svc_core.f0.rmvpe import E2E, ConvBlockRes, MelFrontend, RmvpeExtractor, load_rmvpe_model

# Shapes documented in shared/compat/weights.md (RVC key set of E2E(4, 1, (2, 2))).
DOCUMENTED_SHAPES = {
    "unet.encoder.bn.weight": (1,),
    "unet.encoder.bn.num_batches_tracked": (),
    "unet.encoder.layers.0.conv.0.conv.0.weight": (16, 1, 3, 3),
    "unet.encoder.layers.0.conv.0.conv.1.running_var": (16,),
    "unet.encoder.layers.0.conv.0.shortcut.weight": (16, 1, 1, 1),
    "unet.encoder.layers.0.conv.0.shortcut.bias": (16,),
    "unet.intermediate.layers.0.conv.0.conv.0.weight": (512, 256, 3, 3),
    "unet.decoder.layers.0.conv1.0.weight": (512, 256, 3, 3),
    "unet.decoder.layers.0.conv2.0.conv.0.weight": (256, 512, 3, 3),
    "unet.decoder.layers.4.conv1.0.weight": (32, 16, 3, 3),
    "cnn.weight": (3, 16, 3, 3),
    "cnn.bias": (3,),
    "fc.0.gru.weight_ih_l0": (768, 384),
    "fc.0.gru.weight_hh_l0": (768, 256),
    "fc.0.gru.bias_ih_l0": (768,),
    "fc.0.gru.weight_ih_l0_reverse": (768, 384),
    "fc.1.weight": (360, 512),
    "fc.1.bias": (360,),
}


@pytest.fixture(scope="module")
def random_rmvpe() -> E2E:
    torch.manual_seed(0)
    m = E2E(4, 1, (2, 2))
    with torch.no_grad():  # non-trivial BatchNorm statistics so a wrong load would show
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    return m.eval()


def test_key_structure_matches_documented(random_rmvpe: E2E) -> None:
    sd = random_rmvpe.state_dict()
    assert len(sd) == 741
    assert sum(v.numel() for k, v in sd.items() if not k.endswith("num_batches_tracked")) == 90_472_799
    for k, shape in DOCUMENTED_SHAPES.items():
        assert tuple(sd[k].shape) == shape, k
    assert not any(k.startswith("unet.tf.") for k in sd)
    # shortcut convs only where channels change: first block of each encoder/intermediate/decoder stage
    assert "unet.encoder.layers.0.conv.1.shortcut.weight" not in sd
    assert "unet.intermediate.layers.1.conv.0.shortcut.weight" not in sd


def _tf_keys() -> dict[str, torch.Tensor]:
    """The 60 unused ``unet.tf.layers.*`` keys of yxlllc's E2E0 (TimbreFilter: ConvBlockRes at 16..256 ch)."""
    out = {}
    for i, c in enumerate((16, 32, 64, 128, 256)):
        for k, v in ConvBlockRes(c, c).state_dict().items():
            out[f"unet.tf.layers.{i}.{k}"] = v
    return out


@pytest.mark.slow
def test_both_file_layouts_round_trip(random_rmvpe: E2E, tmp_path) -> None:
    sd = random_rmvpe.state_dict()
    rvc = tmp_path / "rvc" / "rmvpe.pt"
    so = tmp_path / "sovits" / "rmvpe.pt"
    rvc.parent.mkdir()
    so.parent.mkdir()
    torch.save({k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}, rvc)  # RVC: bare fp16
    tf = _tf_keys()
    assert len(tf) == 60
    torch.save({"model": {**sd, **tf}}, so)  # yxlllc / so-vits-svc: {"model": sd}, fp32, + unet.tf.*
    m_so = load_rmvpe_model(so)
    m_rvc = load_rmvpe_model(rvc)
    for k, v in sd.items():
        assert torch.equal(m_so.state_dict()[k], v), k
        if v.is_floating_point():
            torch.testing.assert_close(m_rvc.state_dict()[k], v.half().float(), rtol=0, atol=0)
    mel = torch.randn(1, 128, 64)
    with torch.inference_mode():
        torch.testing.assert_close(m_so(mel), random_rmvpe(mel))
        torch.testing.assert_close(m_rvc(mel), random_rmvpe(mel), atol=2e-2, rtol=0)
    # found through the weights finder and usable end to end
    ex = RmvpeExtractor(weights_dir=so.parent)
    assert ex.model_path == so
    f0, v = ex.extract(np.zeros(8000, np.float32), 16000, 160)
    assert f0.shape == v.shape == (50,)


def test_bad_files_are_clear_errors(tmp_path) -> None:
    p = tmp_path / "rmvpe.pt"
    torch.save({"model": {"cnn.weight": torch.zeros(3, 16, 3, 3)}}, p)
    with pytest.raises(SvcError, match=r"rmvpe\.pt.*does not fit the RMVPE network.*missing"):
        load_rmvpe_model(p)
    torch.save({"something": 1}, p)
    with pytest.raises(SvcError, match="not an RMVPE checkpoint"):
        load_rmvpe_model(p)


def test_decoder_on_synthetic_salience() -> None:
    cents = cents_table()
    assert cents[0].item() == pytest.approx(CENTS_BIN0)
    assert cents_to_hz(cents[[0, 359]]).tolist() == pytest.approx([31.7, 2005.5], abs=0.1)
    bins = torch.arange(360, dtype=torch.float32)
    centres = torch.tensor([50.3, 120.0, 200.75, 0.0, 359.0, 180.0])
    sal = torch.exp(-0.5 * ((bins[None, :] - centres[:, None]) / 1.5) ** 2)
    sal[5] *= 0.02  # below threshold -> unvoiced
    f0, voiced, conf = local_average_decode(sal[None], cents, 0.03)
    assert f0.shape == voiced.shape == conf.shape == (1, 6)
    assert voiced[0].tolist() == [True, True, True, True, True, False]
    got = 1200 * torch.log2(f0[0, :3] / 10.0)
    want = CENTS_BIN0 + 20 * centres[:3]
    torch.testing.assert_close(got, want, atol=0.5, rtol=0)  # within half a cent
    # at the grid edges the window is clipped, the estimate stays at the edge bin's side
    assert abs(1200 * np.log2(f0[0, 3].item() / 10) - CENTS_BIN0) < 20
    assert abs(1200 * np.log2(f0[0, 4].item() / 10) - (CENTS_BIN0 + 20 * 359)) < 20
    assert f0[0, 5] == 0
    with pytest.raises(ValueError):
        local_average_decode(sal, cents, 0.03)


def test_mel_frontend_frames() -> None:
    fe = MelFrontend()
    for n in (1, 100, 160, 16000, 16001):
        mel = fe(torch.zeros(1, n))
        assert mel.shape == (1, 128, n // 160 + 1)
    tone = torch.sin(2 * np.pi * 1000 * torch.arange(16000) / 16000)[None]
    mel = fe(tone)[0, :, 50]
    htk = lambda hz: 2595 * np.log10(1 + hz / 700)  # noqa: E731
    expected = round((htk(1000) - htk(30)) / (htk(8000) - htk(30)) * 129) - 1  # bin k peaks at point k+1 of 130
    assert int(mel.argmax()) == expected


def test_extractor_grid_with_random_model(random_rmvpe: E2E) -> None:
    ex = RmvpeExtractor(model=random_rmvpe)
    for n, sr, hop in ((44100 // 4, 44100, 512), (1, 16000, 160), (4000, 8000, 80)):
        f0, v = ex.extract(np.random.default_rng(0).standard_normal(n).astype(np.float32) * 0.1, sr, hop)
        assert f0.shape == v.shape == (-(-n // hop),)
        assert np.isfinite(f0).all() and (f0[~v] == 0).all()
    sal = ex.salience(np.zeros(1000, np.float32))
    assert sal.shape == (1, 1000 // 160 + 1, 360) and float(sal.min()) >= 0 and float(sal.max()) <= 1
