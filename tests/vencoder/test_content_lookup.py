"""svc_core.content.load_content_encoder: weights found where so-vits-svc users keep them, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from transformers import WavLMConfig, WavLMModel

from svc_core.content import load_content_encoder, supported_encoders
from svc_core.errors import SvcError, WeightsNotFoundError
from svc_core.settings import Settings
from tests.support import tiny_conv
from vencoder.registry import ENCODER_NAMES, weights_key_for


@pytest.fixture
def tiny_wavlm(wavlm_fixture) -> tuple[Path, dict]:
    return wavlm_fixture("wavlm_tiny_base_plus")


def _check(enc, ref: dict) -> None:
    assert enc.name == "wavlmbase+" and enc.dim == 64
    torch.testing.assert_close(enc.encode(ref["wav"][0]), ref["last_hidden"][0], atol=1e-4, rtol=0)


def test_weights_dir_argument(tmp_path: Path, tiny_wavlm) -> None:
    src, ref = tiny_wavlm
    shutil.copy(src, tmp_path / "WavLM-Base+.pt")
    _check(load_content_encoder("wavlmbase+", weights_dir=tmp_path, device="cpu"), ref)


def test_env_folder(tmp_path: Path, tiny_wavlm, monkeypatch: pytest.MonkeyPatch) -> None:
    src, ref = tiny_wavlm
    shutil.copy(src, tmp_path / "WavLM-Base+.pt")
    monkeypatch.setenv("SVC_STUDIO_WEIGHTS", str(tmp_path))
    _check(load_content_encoder("wavlmbase+"), ref)


def test_voice_pretrain_folder(tmp_path: Path, tiny_wavlm) -> None:
    src, ref = tiny_wavlm
    voice = tmp_path / "logs" / "44k"
    voice.mkdir(parents=True)
    (tmp_path / "logs" / "pretrain").mkdir()
    shutil.copy(src, tmp_path / "logs" / "pretrain" / "WavLM-Base+.pt")
    _check(load_content_encoder("wavlmbase+", voice_dir=voice), ref)


def test_explicit_path_and_settings_entry(tiny_wavlm) -> None:
    src, ref = tiny_wavlm
    _check(load_content_encoder("wavlmbase+", explicit=src), ref)
    _check(load_content_encoder("wavlmbase+", settings=Settings(weights={"wavlm-base-plus": str(src)})), ref)


def test_hf_cache_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hub"
    snap = cache / "models--microsoft--wavlm-base-plus" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("0123abcd")
    torch.manual_seed(5)
    hf = WavLMModel(WavLMConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=40,
                                num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, **tiny_conv(16))).eval()
    hf.save_pretrained(snap)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    enc = load_content_encoder("wavlmbase+")
    wav = torch.randn(4000) * 0.2
    with torch.inference_mode():
        torch.testing.assert_close(enc.encode(wav), hf(wav[None]).last_hidden_state[0], atol=1e-4, rtol=0)


def test_missing_weights_name_file_places_and_source(tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    voice.mkdir()
    with pytest.raises(WeightsNotFoundError) as info:
        load_content_encoder("vec768l12", voice_dir=voice, weights_dir=tmp_path / "w")
    msg = str(info.value)
    assert "checkpoint_best_legacy_500.pt" in msg
    assert str(tmp_path / "w") in msg and str(voice / "pretrain") in msg
    assert "contentvec" in msg.lower() and "Hugging Face cache" in msg


def test_unknown_and_unsupported_names() -> None:
    with pytest.raises(SvcError, match="unknown speech_encoder 'vec999'.*vec768l12.*wavlmbase\\+"):
        load_content_encoder("vec999")
    for name in ("whisper-ppg", "vec768l12-onnx", "dphubert"):
        with pytest.raises(SvcError, match="not supported"):
            load_content_encoder(name)
    with pytest.raises(SvcError, match="non-empty"):
        load_content_encoder("  ")


def test_registry_keys_are_known_to_the_finder() -> None:
    from svc_core.weights import KNOWN_WEIGHTS

    assert set(supported_encoders()) == set(ENCODER_NAMES) >= {"vec768l12", "vec256l9", "hubertsoft", "wavlmbase+"}
    for name in ENCODER_NAMES:
        assert weights_key_for(name) in KNOWN_WEIGHTS
    assert weights_key_for("vec256l9") == weights_key_for("vec768l12") == "contentvec"


def test_hubertsoft_v02_file_name_and_cnhubert_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import HubertConfig, HubertModel

    from tests.support import jitter_
    from tests.vencoder.test_hubert_soft import _bshall_state_dict

    torch.manual_seed(6)
    small = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 1, "intermediate_size": 80,
             "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4, **tiny_conv(16)}
    soft = jitter_(HubertModel(HubertConfig(**small))).eval()
    torch.save({"hubert": _bshall_state_dict(soft, torch.nn.Linear(64, 16))}, tmp_path / "hubert-soft-35d9f29f.pt")
    assert load_content_encoder("hubertsoft", weights_dir=tmp_path).dim == 16

    large = jitter_(HubertModel(HubertConfig(**small, feat_extract_norm="layer", do_stable_layer_norm=True))).eval()
    snap = tmp_path / "hub" / "models--TencentGameMate--chinese-hubert-large" / "snapshots" / "abc"
    large.save_pretrained(snap)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    enc = load_content_encoder("cnhubertlarge")
    wav = torch.randn(5000) * 0.2
    with torch.inference_mode():
        torch.testing.assert_close(enc.encode(wav), large(wav[None]).last_hidden_state[0], atol=1e-4, rtol=0)


def test_encode_content_reports_bad_audio_as_audio_error(tiny_wavlm) -> None:
    from svc_core.content import encode_content
    from svc_core.errors import AudioError

    enc = load_content_encoder("wavlmbase+", explicit=tiny_wavlm[0])
    assert encode_content(enc, torch.zeros(720)).shape == (2, 64)
    with pytest.raises(AudioError, match="too short for one frame"):
        encode_content(enc, torch.zeros(100))
