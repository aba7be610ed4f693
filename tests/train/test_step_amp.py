"""One training step's mixed-precision logic on CPU: with a grad scaler an injected non-finite gradient skips the
generator update (weights untouched, step counted as skipped) and halves the scale; the next step updates
normally. Without a scaler (fp32 / bf16) the same step is skipped too; weights with NaN are never checkpointed."""

from __future__ import annotations

import copy

import pytest
import torch

from svc_core.train.build import build_networks, build_optimizers
from svc_core.train.checkpoint import state_is_finite
from svc_core.train.dataset import Batch
from svc_core.train.loop import _mel_cfg
from svc_core.train.presets import build_config
from svc_core.train.step import Precision, StepParts, pick_precision, train_step
from svc_core.voices.config import VoiceConfig
from vdecoder.mel import spectrogram_torch


def _cfg() -> VoiceConfig:
    d = build_config("tiny", sampling_rate=16000, speakers=["a", "b"], speech_encoder="wavlmbase+", ssl_dim=8)
    return VoiceConfig.from_dict(d)


def _batch(cfg: VoiceConfig, b: int = 2, frames: int = 12) -> Batch:
    g = torch.Generator().manual_seed(0)
    hop = cfg.data.hop_length
    t = torch.arange(frames * hop) / cfg.data.sampling_rate
    wav = (0.3 * torch.sin(2 * torch.pi * 220 * t)).repeat(b, 1) + 0.01 * torch.randn(b, frames * hop, generator=g)
    spec = spectrogram_torch(wav, cfg.data.filter_length, cfg.data.sampling_rate, hop, cfg.data.win_length)
    spec = spec[:, :, :frames]
    return Batch(torch.randn(b, cfg.model.ssl_dim, frames, generator=g), torch.full((b, frames), 220.0),
                 torch.ones(b, frames), spec, wav[:, None], torch.full((b,), frames), torch.tensor([0, 1][:b]),
                 torch.rand(b, frames, generator=g))


def _parts(precision: Precision) -> tuple[StepParts, VoiceConfig]:
    cfg = _cfg()
    torch.manual_seed(0)
    g, d = build_networks(cfg, torch.device("cpu"))
    og, od, _, _ = build_optimizers(cfg, g, d)
    scaler = torch.amp.GradScaler("cpu", enabled=precision.scaler, init_scale=2.0 ** 10)
    parts = StepParts(g, d, og, od, scaler, precision, torch.device("cpu"), cfg.data.hop_length,
                      cfg.train.segment_size, _mel_cfg(cfg), 45.0, 1.0, 1000.0, True)
    return parts, cfg


@pytest.mark.parametrize("precision", [Precision(None, True), Precision(None, False), Precision(torch.bfloat16, False)],
                         ids=["fp32+scaler", "fp32", "bf16"])
def test_non_finite_gradient_skips_the_update(precision: Precision) -> None:
    parts, cfg = _parts(precision)
    batch = _batch(cfg)
    g_before = copy.deepcopy(parts.net_g.state_dict())
    target = parts.net_g.dec.conv_post.bias
    hook = target.register_hook(lambda grad: grad * float("inf"))
    res = train_step(parts, [batch], [1])
    hook.remove()
    assert res.skipped and not torch.isfinite(torch.tensor(res.grad_norm_g))
    after = parts.net_g.state_dict()
    assert all(torch.equal(g_before[k], after[k]) for k in g_before), "a skipped step must not touch G"
    assert state_is_finite(parts.net_g) and state_is_finite(parts.net_d)
    if precision.scaler:
        assert parts.scaler.get_scale() == 2.0 ** 9  # halved after the inf step
    res2 = train_step(parts, [batch], [2])
    assert not res2.skipped and all(torch.isfinite(torch.tensor(v)) for v in res2.losses.values())
    assert not torch.equal(g_before["dec.conv_post.bias"], parts.net_g.state_dict()["dec.conv_post.bias"])
    if precision.scaler:
        assert parts.scaler.get_scale() == 2.0 ** 9  # no growth before growth_interval good steps


def test_loss_terms_and_determinism() -> None:
    parts, cfg = _parts(Precision(None, False))
    res = train_step(parts, [_batch(cfg)], [7])
    assert set(res.losses) == {"d/total", "g/mel", "g/kl", "g/fm", "g/gen", "g/lf0", "g/total"}
    total = sum(v for k, v in res.losses.items() if k.startswith("g/") and k != "g/total")
    assert res.losses["g/total"] == pytest.approx(total, rel=1e-5)
    parts2, _ = _parts(Precision(None, False))
    assert train_step(parts2, [_batch(cfg)], [7]).losses == pytest.approx(res.losses, rel=1e-6)


def test_pick_precision_and_nan_weights_detected() -> None:
    cpu = torch.device("cpu")
    assert pick_precision("auto", cpu) == Precision(None, False)
    assert pick_precision("fp16", cpu) == Precision(torch.float16, True)
    assert pick_precision("bf16", cpu).name == "bf16"
    with pytest.raises(ValueError, match="unknown precision"):
        pick_precision("fp8", cpu)
    m = torch.nn.Linear(2, 2)
    assert state_is_finite(m)
    with torch.no_grad():
        m.weight[0, 0] = float("nan")
    assert not state_is_finite(m)


def test_warm_start_copies_fitting_tensors(tmp_path) -> None:
    from svc_core.errors import SvcError
    from svc_core.train.build import warm_start

    cfg = _cfg()
    torch.manual_seed(1)
    src, src_d = build_networks(cfg, torch.device("cpu"))
    torch.save({"model": {f"module.{k}": v for k, v in src.state_dict().items()}, "iteration": 0,
                "optimizer": {}, "learning_rate": 1e-4}, tmp_path / "G_0.pth")
    torch.save({"model": src_d.state_dict()}, tmp_path / "D_0.pth")
    d = build_config("tiny", sampling_rate=16000, speakers=["a", "b", "c"], speech_encoder="wavlmbase+", ssl_dim=8)
    torch.manual_seed(2)
    dst, dst_d = build_networks(VoiceConfig.from_dict(d), torch.device("cpu"))
    notes = warm_start(dst, tmp_path / "G_0.pth", "generator")
    warm_start(dst_d, tmp_path / "D_0.pth", "discriminator")
    assert "tensors loaded" in notes[0] and "emb_g.weight" in notes[1]  # 3 speakers here, 2 in the base model
    s, t = src.state_dict(), dst.state_dict()
    assert all(torch.equal(s[k], t[k]) for k in s if k != "emb_g.weight")
    assert all(torch.equal(a, b) for a, b in zip(src_d.state_dict().values(), dst_d.state_dict().values(),
                                                  strict=True))
    other = build_config("tiny", sampling_rate=16000, speakers=["a"], speech_encoder="x", ssl_dim=8)
    other["model"].update(hidden_channels=32, inter_channels=32, filter_channels=64)
    g3, _ = build_networks(VoiceConfig.from_dict(other), torch.device("cpu"))
    with pytest.raises(SvcError, match="fit this config"):
        warm_start(g3, tmp_path / "G_0.pth", "generator")
