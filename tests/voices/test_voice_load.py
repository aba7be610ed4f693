"""load_voice: file resolution, safe loading, strict key checks with causes, speakers, synthesize inputs."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from svc_core.errors import CheckpointError, UnsafeCheckpointError, VoiceError
from svc_core.jobs import SvcWarning
from svc_core.voices import (
    CheckpointMismatchError,
    ConfigError,
    UnsafeVoiceFileError,
    VoiceFileError,
    load_voice,
)

VEC768 = "tiny_44k_vec768"


def _voice_dir(fixtures_dir: Path, tmp_path: Path, variant: str = VEC768, name: str = "voice") -> Path:
    src = fixtures_dir / "sovits41" / variant
    dst = tmp_path / name
    dst.mkdir()
    shutil.copy(src / "config.json", dst / "config.json")
    shutil.copy(src / "G_1234.pth", dst / "G_1234.pth")
    return dst


def _edit_config(folder: Path, **model: object) -> None:
    d = json.loads((folder / "config.json").read_text())
    for k, v in model.items():
        if v is None:
            d["model"].pop(k, None)
        else:
            d["model"][k] = v
    (folder / "config.json").write_text(json.dumps(d))


def _ref(fixtures_dir: Path, variant: str = VEC768) -> dict:
    return torch.load(fixtures_dir / "sovits41" / variant / "reference.pt", map_location="cpu", weights_only=True)


# -- resolution ------------------------------------------------------------------------------------------------
def test_folder_picks_newest_step_and_file_path_works(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    shutil.copy(d / "G_1234.pth", d / "G_800.pth")
    (d / "G_10000.pth").write_bytes(b"")  # newest by step (not by name): chosen, and it is empty
    (d / "D_20000.pth").write_bytes(b"junk")
    with pytest.raises(VoiceFileError, match=r"G_10000\.pth.*empty"):
        load_voice(d)
    (d / "G_10000.pth").unlink()
    v = load_voice(d)
    assert v.checkpoint_path.name == "G_1234.pth" and v.folder == d and v.config_path == d / "config.json"
    v2 = load_voice(d / "G_800.pth")
    assert v2.checkpoint_path.name == "G_800.pth"
    v3 = load_voice(d, checkpoint="G_800.pth")
    assert v3.checkpoint_path == d / "G_800.pth"
    assert (v.speakers, v.sampling_rate, v.hop_length, v.speech_encoder, v.ssl_dim) == (
        {"spk0": 0, "spk1": 1, "spk2": 2}, 44100, 512, "vec768l12", 768)
    assert v.unit_interpolate_mode == "nearest" and v.has_f0_decoder and not v.vol_embedding


def test_release_file_fp16_module_prefix_and_bare_state_dict(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    sd = torch.load(d / "G_1234.pth", map_location="cpu", weights_only=True)["model"]
    (d / "G_1234.pth").unlink()
    half = {"module." + k: v.half() for k, v in sd.items() if not k.startswith("enc_q.")}
    torch.save({"model": half, "iteration": 0, "optimizer": {}, "learning_rate": 1e-4}, d / "G_1234_release_half.pth")
    v = load_voice(d)
    assert v.checkpoint_path.name == "G_1234_release_half.pth"
    assert v.model.pre.weight.dtype == torch.float32
    ref = _ref(fixtures_dir)
    out = v.synthesize(ref["c"][0], ref["f0"][0], ref["uv"][0], "spk1")
    assert out.shape == (40 * 512,) and bool(torch.isfinite(out).all())
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(d / "config.json", bare / "config.json")
    torch.save(sd, bare / "my_voice.pth")
    assert load_voice(bare).checkpoint_path.name == "my_voice.pth"


def test_speaker_table_sized_from_checkpoint(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    _edit_config(d, n_speakers=200)  # so-vits-svc-fork always writes 200
    v = load_voice(d)
    assert v.model.emb_g.num_embeddings == 3
    assert any("speaker table sized from the checkpoint" in n for n in v.notes)
    assert json.loads((d / "config.json").read_text())["model"]["n_speakers"] == 200  # file untouched


# -- bad files ---------------------------------------------------------------------------------------------------
def test_missing_config(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    (d / "config.json").unlink()
    with pytest.raises(ConfigError, match="no config.json"):
        load_voice(d)
    with pytest.raises(ConfigError, match="no config.json"):
        load_voice(d / "G_1234.pth")
    with pytest.raises(VoiceError, match="voice not found"):
        load_voice(tmp_path / "nope")


def test_folder_without_checkpoint(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    (d / "G_1234.pth").unlink()
    with pytest.raises(VoiceError, match="no generator checkpoint"):
        load_voice(d)
    (d / "a.pth").write_bytes(b"x")
    (d / "b.pth").write_bytes(b"x")
    with pytest.raises(VoiceError, match=r"several \.pth files.*a\.pth, b\.pth"):
        load_voice(d)
    with pytest.raises(VoiceError, match="checkpoint not found"):
        load_voice(d, checkpoint="c.pth")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (os.urandom(4096), "not a PyTorch checkpoint"),
        (b"PK\x03\x04" + os.urandom(2000), "truncated or corrupt"),
    ],
    ids=["empty", "random-bytes", "fake-zip"],
)
def test_unreadable_checkpoint(fixtures_dir: Path, tmp_path: Path, content: bytes, needle: str) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    (d / "G_1234.pth").write_bytes(content)
    with pytest.raises(VoiceFileError, match=needle) as e:
        load_voice(d)
    assert "G_1234.pth" in str(e.value)
    assert isinstance(e.value, CheckpointError) and isinstance(e.value, VoiceError)


def test_truncated_checkpoint(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    data = (d / "G_1234.pth").read_bytes()
    (d / "G_1234.pth").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(VoiceFileError, match=r"G_1234\.pth: .*(truncated|corrupt)"):
        load_voice(d)


class _Evil:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("container", ["torch-zip", "raw-pickle"])
def test_malicious_pickle_is_refused_not_executed(fixtures_dir: Path, tmp_path: Path, container: str) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    marker = tmp_path / "pwned"
    payload = {"model": {"emb_g.weight": torch.zeros(3, 32)}, "extra": _Evil(marker)}
    if container == "torch-zip":
        torch.save(payload, d / "G_1234.pth")
    else:
        with (d / "G_1234.pth").open("wb") as f:
            pickle.dump(payload, f, protocol=2)
    with pytest.raises(UnsafeVoiceFileError) as e:
        load_voice(d)
    assert isinstance(e.value, UnsafeCheckpointError) and isinstance(e.value, VoiceError)
    assert "nothing was executed" in str(e.value) and "G_1234.pth" in str(e.value)
    assert not marker.exists()


def test_rvc_model_is_recognised(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    rvc = {
        "weight": {"enc_p.emb_phone.weight": torch.zeros(192, 768, dtype=torch.float16),
                   "emb_g.weight": torch.zeros(109, 256, dtype=torch.float16)},
        "config": [1025, 32, 192, 192, 768, 2, 6, 3, 0, "1", [3, 7, 11], [[1, 3, 5]] * 3, [10, 10, 2, 2], 512,
                   [16, 16, 4, 4], 109, 256, 40000],
        "info": "20epoch", "sr": "40k", "f0": 1, "version": "v2",
    }
    torch.save(rvc, d / "G_1234.pth")
    with pytest.raises(VoiceFileError, match="looks like an RVC model.*version v2"):
        load_voice(d)
    torch.save({"model": rvc["weight"]}, d / "G_1234.pth")  # an RVC generator inside a so-vits container
    with pytest.raises(VoiceFileError, match="RVC generator"):
        load_voice(d)


def test_wrong_ssl_dim_names_pre_weight(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    _edit_config(d, ssl_dim=256, speech_encoder="vec256l9")
    with pytest.raises(CheckpointMismatchError) as e:
        load_voice(d)
    msg = str(e.value)
    assert "pre.weight checkpoint (32, 768, 5) vs config (32, 256, 5)" in msg
    assert "wrong ssl_dim / speech_encoder" in msg and "speech_encoder 'vec768l12'" in msg
    assert e.value.mismatched[0][0] == "pre.weight" and not e.value.missing and not e.value.unexpected


def test_40_config_for_41_checkpoint(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    _edit_config(d, speech_encoder=None, ssl_dim=256, gin_channels=256)
    with pytest.raises(CheckpointMismatchError, match=r"looks like a so-vits-svc 4\.0 config") as e:
        load_voice(d)
    assert "emb_g.weight" in str(e.value)


@pytest.mark.parametrize(
    ("edit", "needle", "key"),
    [
        ({"vol_embedding": True}, "vol_embedding mismatch", "emb_vol.weight"),
        ({"vocoder_name": "nsf-snake-hifigan"}, "vocoder_name mismatch", "dec."),
        ({"use_transformer_flow": True}, "use_transformer_flow mismatch", "flow.flows.0"),
        ({"flow_share_parameter": True}, "flow_share_parameter mismatch", "flow.wn."),
        ({"hidden_channels": 64}, "hidden_channels differ", "pre.weight"),
    ],
)
def test_config_flag_mismatch_causes(fixtures_dir: Path, tmp_path: Path, edit: dict, needle: str,
                                     key: str) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    _edit_config(d, **edit)
    with pytest.raises(CheckpointMismatchError) as e:
        load_voice(d)
    msg = str(e.value)
    assert needle in msg and key in msg and "Likely cause" in msg


def test_missing_f0_decoder_disables_prediction(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    ck = torch.load(d / "G_1234.pth", map_location="cpu", weights_only=True)
    ck["model"] = {k: v for k, v in ck["model"].items() if not k.startswith("f0_decoder.")}
    torch.save(ck, d / "G_1234.pth")
    v = load_voice(d)
    assert not v.has_f0_decoder and any("no F0 decoder" in n for n in v.notes)
    ref = _ref(fixtures_dir)
    assert v.predict_f0_median(ref["c"][0]) is None
    with pytest.raises(VoiceError, match="no F0 decoder"):
        v.synthesize(ref["c"][0], ref["f0"][0], ref["uv"][0], 0, predict_f0=True)
    # stages that do not use the F0 decoder are unchanged
    out = v.synthesize(ref["c"][0], ref["f0"][0], ref["uv"][0], int(ref["sid"][0]))
    assert float((out - ref["infer_out"][0, 0]).abs().max()) < 1e-4


def test_fork_istft_voice_is_refused_before_loading(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    _edit_config(d, type_="ms-istft")
    with pytest.raises(ConfigError, match="so-vits-svc-fork 'ms-istft' voice"):
        load_voice(d)


def test_spk_id_beyond_speaker_table(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    cfg = json.loads((d / "config.json").read_text())
    cfg["spk"]["ghost"] = 7
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(VoiceError, match=r"ghost -> 7.*only 3 speaker"):
        load_voice(d)


# -- Voice API ---------------------------------------------------------------------------------------------------
def test_speakers_mix_and_input_checks(fixtures_dir: Path) -> None:
    v = load_voice(fixtures_dir / "sovits41" / VEC768, device="cpu")
    ref = _ref(fixtures_dir)
    c, f0, uv = ref["c"][0, :, :12], ref["f0"][0, :12], ref["uv"][0, :12]  # 12 frames keep it fast
    assert v.speaker_id("spk2") == 2 and v.speaker_id(1) == 1 and v.speaker_id("0") == 0
    import numpy as np

    assert v.speaker_id(np.int64(2)) == 2
    with pytest.raises(VoiceError, match=r"unknown speaker 'bob'.*spk0 \(0\), spk1 \(1\), spk2 \(2\)"):
        v.speaker_id("bob")
    with pytest.raises(VoiceError, match="unknown speaker 3"):
        v.speaker_id(3)
    single = v.synthesize(c, f0, uv, "spk0")
    one_hot = v.synthesize(c, f0, uv, {"spk0": 2.0, "spk1": 0.0})
    assert float((single - one_hot).abs().max()) < 1e-6
    mix = v.synthesize(c, f0, uv, {"spk0": 1, 1: 1})
    same_mix = v.synthesize(c, f0, uv, {"spk0": 3, "spk1": 3})
    assert float((mix - same_mix).abs().max()) < 1e-6 and float((mix - single).abs().max()) > 1e-5
    with pytest.raises(VoiceError, match="all zero"):
        v.synthesize(c, f0, uv, {"spk0": 0})
    with pytest.raises(VoiceError, match=">= 0"):
        v.synthesize(c, f0, uv, {"spk0": -1})
    with pytest.raises(VoiceError, match=r"256 features per frame but voice .* expects 768"):
        v.synthesize(torch.zeros(256, 12), f0, uv, 0)
    with pytest.raises(VoiceError, match=r"f0 must be a tensor \[T\] with T = 12"):
        v.synthesize(c, f0[:10], uv, 0)
    bad = f0.clone()
    bad[3] = float("nan")
    with pytest.raises(VoiceError, match="f0 contains NaN"):
        v.synthesize(c, bad, uv, 0)
    median = v.predict_f0_median(c, f0, uv, speaker="spk1")
    assert isinstance(median, float)


def test_volume_voice_requires_vol_and_f0_stats(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path, "tiny_e2e_wavlm64")
    (d / "f0_stats.json").write_text(json.dumps({"median_hz": 220.0, "p5_hz": 150.0, "p95_hz": 400.0}))
    v = load_voice(d)
    assert v.vol_embedding and v.f0_stats is not None and v.f0_stats.median_hz == 220.0
    ref = _ref(fixtures_dir, "tiny_e2e_wavlm64")
    with pytest.raises(VoiceError, match="volume embedding: pass vol"):
        v.synthesize(ref["c"][0], ref["f0"][0], ref["uv"][0], 0)
    (d / "f0_stats.json").write_text("{not json")
    with pytest.warns(SvcWarning, match=r"f0_stats\.json: ignored"):
        v2 = load_voice(d)
    assert v2.f0_stats is None and any("f0_stats.json ignored" in n for n in v2.notes)


def test_dtype_and_device_of_a_loaded_voice(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _voice_dir(fixtures_dir, tmp_path)
    ref = _ref(fixtures_dir)
    v32 = load_voice(d, device="cpu")
    v64 = load_voice(d, device="cpu", dtype=torch.float64)
    assert v32.model.pre.weight.dtype == torch.float32 and v64.model.pre.weight.dtype == torch.float64
    assert v64.device == torch.device("cpu")
    args = (ref["c"][0], ref["f0"][0], ref["uv"][0], 0)
    y32, y64 = v32.synthesize(*args, noise_scale=0.0), v64.synthesize(*args, noise_scale=0.0)  # prior noise: dtype
    assert y64.dtype == torch.float64 and y64.shape == y32.shape
    # not bit-equal: a float64 prior draw takes other RNG bits, so the excitation noise after it differs
    assert float((y64.float() - y32).pow(2).mean().sqrt() / y32.pow(2).mean().sqrt()) < 0.05
    with pytest.raises(VoiceError, match="floating torch.dtype"):
        load_voice(d, dtype=torch.int64)
