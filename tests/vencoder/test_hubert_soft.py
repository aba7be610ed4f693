"""bshall HuBERT-Soft files (hubert-soft-0d54a1f4.pt layout) give proj(last layer) of the 40-sample-padded audio."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from transformers import HubertConfig, HubertModel

from tests.support import jitter_, tiny_conv
from vencoder.registry import load_encoder


def _bshall_state_dict(hf: HubertModel, proj: torch.nn.Linear) -> dict[str, torch.Tensor]:
    """HubertModel weights renamed to bshall's module names (nn.TransformerEncoderLayer packs q, k, v)."""
    s = hf.state_dict()
    out = {f"feature_extractor.conv{i}.weight": s[f"feature_extractor.conv_layers.{i}.conv.weight"] for i in range(7)}
    out["feature_extractor.norm0.weight"] = s["feature_extractor.conv_layers.0.layer_norm.weight"]
    out["feature_extractor.norm0.bias"] = s["feature_extractor.conv_layers.0.layer_norm.bias"]
    for p in ("weight", "bias"):
        out[f"feature_projection.norm.{p}"] = s[f"feature_projection.layer_norm.{p}"]
        out[f"feature_projection.projection.{p}"] = s[f"feature_projection.projection.{p}"]
        out[f"norm.{p}"] = s[f"encoder.layer_norm.{p}"]
        out[f"proj.{p}"] = getattr(proj, p).detach()
    out["positional_embedding.conv.weight_g"] = s["encoder.pos_conv_embed.conv.parametrizations.weight.original0"]
    out["positional_embedding.conv.weight_v"] = s["encoder.pos_conv_embed.conv.parametrizations.weight.original1"]
    out["positional_embedding.conv.bias"] = s["encoder.pos_conv_embed.conv.bias"]
    out["masked_spec_embed"] = torch.zeros(64)
    out["label_embedding.weight"] = torch.zeros(100, 16)
    for n in range(hf.config.num_hidden_layers):
        a, e = f"encoder.layers.{n}.attention.", f"encoder.layers.{n}."
        for p in ("weight", "bias"):
            out[f"{e}self_attn.in_proj_{p}"] = torch.cat([s[f"{a}{x}_proj.{p}"] for x in "qkv"])
            out[f"{e}self_attn.out_proj.{p}"] = s[f"{a}out_proj.{p}"]
            out[f"{e}linear1.{p}"] = s[f"{e}feed_forward.intermediate_dense.{p}"]
            out[f"{e}linear2.{p}"] = s[f"{e}feed_forward.output_dense.{p}"]
            out[f"{e}norm1.{p}"] = s[f"{e}layer_norm.{p}"]
            out[f"{e}norm2.{p}"] = s[f"{e}final_layer_norm.{p}"]
    return {"module." + k: v for k, v in out.items()}  # DDP prefix, stripped by the loader


@pytest.mark.parametrize("container", ["v0.1 bare state dict", "v0.2 {'hubert': sd}"])
def test_hubertsoft_matches_padded_hubert(tmp_path: Path, container: str) -> None:
    torch.manual_seed(20)
    cfg = HubertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=1, intermediate_size=80,
                       num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, **tiny_conv(16))
    hf = jitter_(HubertModel(cfg)).eval()
    proj = torch.nn.Linear(64, 16)
    path = tmp_path / "hubert-soft-0d54a1f4.pt"
    sd = _bshall_state_dict(hf, proj)
    torch.save(sd if container.startswith("v0.1") else {"hubert": sd, "step": 1}, path)
    enc = load_encoder("hubertsoft", path)
    assert (enc.dim, enc.pad) == (16, 40)
    wav = torch.randn(16000) * 0.3
    out = enc.encode(wav)
    assert out.shape == (enc.num_frames(16000), 16) == (16000 // 320, 16)
    with torch.inference_mode():
        ref = proj(hf(F.pad(wav, (40, 40))[None]).last_hidden_state[0])
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=0)
