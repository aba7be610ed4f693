"""Hugging Face folders load into our module and match transformers' WavLMModel / HubertModel exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import HubertConfig, HubertModel, WavLMConfig, WavLMModel

from tests.support import jitter_, tiny_conv
from vencoder.registry import load_encoder
from vencoder.safe_load import CheckpointError
from vencoder.ssl.load import load_ssl

SMALL = {"hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 48,
         "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4, **tiny_conv(16)}
STYLES = {
    "base_plus": {"feat_extract_norm": "group", "do_stable_layer_norm": False},
    "large": {"feat_extract_norm": "layer", "do_stable_layer_norm": True, "conv_bias": True},
}


def _compare(folder: Path, hf: torch.nn.Module, wav: torch.Tensor) -> None:
    ours = load_ssl(folder).model
    with torch.inference_mode():
        ref = hf(wav, output_hidden_states=True)
        out = ours(wav, return_hidden=True)
    torch.testing.assert_close(out.last, ref.last_hidden_state, atol=1e-4, rtol=0)
    assert len(out.hidden) == len(ref.hidden_states)
    for k, (a, b) in enumerate(zip(out.hidden, ref.hidden_states, strict=True)):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=0, msg=lambda m, k=k: f"hidden state {k}: {m}")


@pytest.mark.parametrize("style", list(STYLES))
def test_wavlm_matches_transformers(tmp_path: Path, style: str) -> None:
    torch.manual_seed(1)
    hf = jitter_(WavLMModel(WavLMConfig(**SMALL, **STYLES[style], num_buckets=64, max_bucket_distance=200))).eval()
    hf.save_pretrained(tmp_path)  # model.safetensors with parametrizations.weight.original0/1
    wav = torch.randn(1, 16000 * 2 + 123) * 0.3
    _compare(tmp_path, hf, wav)
    cfg = load_ssl(tmp_path).model.cfg
    assert (cfg.relative_position_embedding, cfg.gru_rel_pos) == (True, True)
    assert (cfg.num_buckets, cfg.max_distance) == (64, 200)


def test_wavlm_legacy_bin_with_weight_g_v(tmp_path: Path) -> None:
    torch.manual_seed(2)
    hf = jitter_(WavLMModel(WavLMConfig(**SMALL))).eval()
    hf.config.to_json_file(tmp_path / "config.json")
    sd = {k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1",
                                                                              "weight_v"): v
          for k, v in hf.state_dict().items()}
    assert "encoder.pos_conv_embed.conv.weight_g" in sd
    torch.save(sd, tmp_path / "pytorch_model.bin")
    _compare(tmp_path, hf, torch.randn(1, 9000))
    enc = load_encoder("wavlmbase+", tmp_path)
    with torch.inference_mode():
        torch.testing.assert_close(enc.encode(torch.full((9000,), 0.1)), hf(torch.full((1, 9000), 0.1))[0][0],
                                   atol=1e-4, rtol=0)


@pytest.mark.parametrize("style", list(STYLES))
def test_hubert_matches_transformers(tmp_path: Path, style: str) -> None:
    torch.manual_seed(3)
    hf = jitter_(HubertModel(HubertConfig(**SMALL, **STYLES[style]))).eval()
    hf.save_pretrained(tmp_path)
    _compare(tmp_path, hf, torch.randn(1, 12345) * 0.5)
    assert not load_ssl(tmp_path).model.cfg.relative_position_embedding


def test_contentvec_hf_folder_with_final_proj(tmp_path: Path) -> None:
    """content-vec-best / RVC hubert_base layout: HubertModel keys + top-level final_proj, fp16 on disk."""
    torch.manual_seed(4)
    cfg = HubertConfig(**{**SMALL, "num_hidden_layers": 12, "num_attention_heads": 2})
    hf = jitter_(HubertModel(cfg)).eval()
    proj = torch.nn.Linear(32, 8)
    cfg.to_json_file(tmp_path / "config.json")
    # so-vits-svc never normalises the waveform for ContentVec, even where a preprocessor config says so
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"do_normalize": True}))
    sd = {**hf.state_dict(), "final_proj.weight": proj.weight.detach(), "final_proj.bias": proj.bias.detach()}
    torch.save(sd, tmp_path / "pytorch_model.bin")
    wav = torch.randn(20000) * 0.2
    with torch.inference_mode():
        hs = hf(wav[None], output_hidden_states=True).hidden_states
        enc12, enc9 = load_encoder("vec768l12", tmp_path), load_encoder("vec256l9", tmp_path)
        torch.testing.assert_close(enc12.encode(wav), hs[12][0], atol=1e-4, rtol=0)
        torch.testing.assert_close(enc9.encode(wav), proj(hs[9][0]), atol=1e-4, rtol=0)
    assert (enc12.dim, enc9.dim) == (32, 8)
    assert load_ssl(tmp_path).model.cfg.normalize and not enc12.model.cfg.normalize
    # fp16 on disk (RVC hubert_base/pytorch_model.bin) is cast to float32
    torch.save({k: v.half() for k, v in sd.items()}, tmp_path / "pytorch_model.bin")
    assert load_encoder("vec768l12", tmp_path).dtype == torch.float32


def test_hf_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="without config.json"):
        load_ssl(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="model_type 'bert'"):
        load_ssl(tmp_path)
    WavLMConfig(**SMALL).to_json_file(tmp_path / "config.json")
    with pytest.raises(CheckpointError, match="no model.safetensors or pytorch_model.bin"):
        load_ssl(tmp_path)
    sd = WavLMModel(WavLMConfig(**SMALL)).state_dict()
    sd.pop("encoder.layers.1.feed_forward.intermediate_dense.weight")
    torch.save(sd, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"missing 1: layers\.1\.fc1\.weight"):
        load_ssl(tmp_path)
