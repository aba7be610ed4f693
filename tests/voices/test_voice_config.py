"""config.json parsing: so-vits-svc defaults for old configs, unknown keys kept, errors name the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from svc_core.errors import VoiceError
from svc_core.voices import ConfigError, VoiceConfig
from tests.support import SOVITS41_VARIANTS


def _cfg(fixtures_dir: Path, variant: str = "tiny_44k_vec768") -> dict:
    return json.loads((fixtures_dir / "sovits41" / variant / "config.json").read_text())


@pytest.mark.parametrize("variant", SOVITS41_VARIANTS)
def test_fixture_configs_round_trip_exactly(fixtures_dir: Path, variant: str) -> None:
    d = _cfg(fixtures_dir, variant)
    cfg = VoiceConfig.from_dict(d)
    assert cfg.to_dict() == d
    assert cfg.applied_defaults == []
    assert cfg.model.speech_encoder == d["model"]["speech_encoder"]


def test_unknown_keys_are_kept_and_written_back(fixtures_dir: Path, tmp_path: Path) -> None:
    d = _cfg(fixtures_dir)
    d["my_tool"] = {"version": 3, "notes": ["a", "b"]}
    d["model"]["future_flag"] = True
    d["data"]["contentvec_final_proj"] = False
    d["train"]["bf16_run"] = False
    cfg = VoiceConfig.from_dict(d)
    assert cfg.model.extra == {"future_flag": True}
    out = tmp_path / "config.json"
    cfg.save(out)
    again = json.loads(out.read_text())
    assert again == d
    assert VoiceConfig.from_file(out).to_dict() == d


def test_sovits40_config_gets_41_defaults(fixtures_dir: Path) -> None:
    d = _cfg(fixtures_dir, "tiny_44k_vec256_flowshare")
    for k in ("speech_encoder", "vol_embedding", "vocoder_name", "use_depthwise_conv", "flow_share_parameter",
              "use_automatic_f0_prediction", "use_transformer_flow", "n_flow_layer", "n_layers_trans_flow",
              "speaker_embedding"):
        d["model"].pop(k)
    d["data"].pop("unit_interpolate_mode")
    for k in ("vol_aug", "half_type"):
        d["train"].pop(k, None)
    cfg = VoiceConfig.from_dict(d)
    m = cfg.model
    assert m.speech_encoder == "vec256l9"  # 4.0: ssl_dim 256 means ContentVec layer 9 + final_proj
    assert (m.vocoder_name, m.vol_embedding, m.use_depthwise_conv, m.flow_share_parameter) == (
        "nsf-hifigan", False, False, False)
    assert m.use_automatic_f0_prediction is True and m.use_transformer_flow is False and m.n_flow_layer == 4
    assert cfg.data.unit_interpolate_mode == "left"
    assert cfg.train.vol_aug is False and cfg.train.half_type == "fp16"
    assert any("speech_encoder" in a for a in cfg.applied_defaults)
    assert any("unit_interpolate_mode" in a for a in cfg.applied_defaults)
    out = cfg.to_dict()
    assert out["model"]["speech_encoder"] == "vec256l9" and out["data"]["unit_interpolate_mode"] == "left"


def test_speech_encoder_inference(fixtures_dir: Path) -> None:
    d = _cfg(fixtures_dir)
    del d["model"]["speech_encoder"]
    assert VoiceConfig.from_dict(d).model.speech_encoder == "vec768l12"  # ssl_dim 768
    fork = copy.deepcopy(d)
    fork["model"]["ssl_dim"] = 256
    fork["data"]["contentvec_final_proj"] = False  # so-vits-svc-fork: false = layer 12, 768-dim
    assert VoiceConfig.from_dict(fork).model.speech_encoder == "vec768l12"
    odd = copy.deepcopy(d)
    odd["model"]["ssl_dim"] = 1024
    assert VoiceConfig.from_dict(odd).model.speech_encoder is None


@pytest.mark.parametrize(
    ("section", "key", "value", "needle"),
    [
        ("model", "hidden_channels", "192", "model.hidden_channels must be an integer"),
        ("model", "n_heads", 3, "model.hidden_channels (32) must be divisible by model.n_heads"),
        ("model", "upsample_rates", [8, 8, 2, 2, 4], "data.hop_length (512) must equal the product"),
        ("model", "upsample_kernel_sizes", [16, 16], "must have the same length"),
        ("model", "use_transformer_flow", "yes", "model.use_transformer_flow must be true or false"),
        ("model", "p_dropout", 1.5, "model.p_dropout"),
        ("data", "sampling_rate", -44100, "data.sampling_rate must be > 0"),
        ("data", "hop_length", None, "data.hop_length must be an integer"),
        ("train", "segment_size", 0, "train.segment_size must be > 0"),
        ("spk", "spk0", "zero", "spk.spk0 must be a non-negative integer"),
    ],
)
def test_invalid_values_name_the_field(fixtures_dir: Path, section: str, key: str, value: object,
                                       needle: str) -> None:
    d = _cfg(fixtures_dir)
    d[section][key] = value
    with pytest.raises(ConfigError) as e:
        VoiceConfig.from_dict(d, source="voice/config.json")
    assert needle in str(e.value) and "voice/config.json" in str(e.value)
    assert isinstance(e.value, VoiceError)


def test_missing_required_keys_are_listed(fixtures_dir: Path) -> None:
    d = _cfg(fixtures_dir)
    del d["model"]["ssl_dim"]
    del d["model"]["n_heads"]
    with pytest.raises(ConfigError, match=r"model\.n_heads, model\.ssl_dim"):
        VoiceConfig.from_dict(d)
    with pytest.raises(ConfigError, match="no 'model' section"):
        VoiceConfig.from_dict({"data": {}})
    with pytest.raises(ConfigError, match="top level must be a JSON object"):
        VoiceConfig.from_dict([1, 2])


def test_from_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        VoiceConfig.from_file(tmp_path / "config.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": {"a": 1,}}')
    with pytest.raises(ConfigError, match=r"not valid JSON \(line 1, column"):
        VoiceConfig.from_file(bad)
