"""fairseq ContentVec/HuBERT checkpoints (with a pickled fairseq Dictionary) load safely and match HubertModel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from transformers import HubertConfig, HubertModel

from tests.support import hf_to_fairseq, jitter_, save_fairseq_checkpoint, tiny_conv
from vencoder.registry import load_encoder
from vencoder.safe_load import CheckpointError, UnsafeCheckpointError
from vencoder.ssl.load import FairseqDictionaryStandIn, load_ssl, read_checkpoint

CONV = "[(16,10,5)] + [(16,3,2)] * 4 + [(16,2,2)] * 2"


def _hubert(layers: int, large: bool, seed: int) -> HubertModel:
    torch.manual_seed(seed)
    style = {"feat_extract_norm": "layer", "do_stable_layer_norm": True} if large else {}
    cfg = HubertConfig(hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=40,
                       num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, **tiny_conv(16), **style)
    return jitter_(HubertModel(cfg)).eval()


def _model_cfg(layers: int, large: bool) -> dict:
    return {"_name": "hubert", "extractor_mode": "layer_norm" if large else "default", "encoder_layers": layers,
            "encoder_embed_dim": 32, "encoder_ffn_embed_dim": 40, "encoder_attention_heads": 2,
            "activation_fn": "gelu", "layer_norm_first": large, "conv_feature_layers": CONV, "conv_bias": False,
            "conv_pos": 16, "conv_pos_groups": 4, "final_dim": 8, "label_rate": 50.0, "dropout": 0.1}


@pytest.fixture(scope="module")
def contentvec(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HubertModel, torch.nn.Linear]:
    hf = _hubert(12, False, 10)
    proj = torch.nn.Linear(32, 8)
    sd = hf_to_fairseq(hf.state_dict())
    sd["final_proj.weight"], sd["final_proj.bias"] = proj.weight.detach(), proj.bias.detach()
    sd["label_embs_concat"] = torch.randn(504, 8)
    sd["mask_emb"] = torch.randn(32)
    assert "encoder.pos_conv.0.weight_g" in sd and "encoder.layers.3.self_attn.q_proj.weight" in sd
    path = tmp_path_factory.mktemp("cv") / "checkpoint_best_legacy_500.pt"
    save_fairseq_checkpoint(path, sd, _model_cfg(12, False))
    return path, hf, proj


def test_plain_weights_only_load_is_blocked_by_dictionary(contentvec) -> None:
    path = contentvec[0]
    with pytest.raises(Exception, match="fairseq.data.dictionary.Dictionary"):
        torch.load(path, map_location="cpu", weights_only=True)
    obj = read_checkpoint(path)
    d = obj["task_state"]["dictionaries"][0]
    assert isinstance(d, FairseqDictionaryStandIn) and d.symbols[:2] == ["<s>", "<pad>"]


def test_vec768l12_and_vec256l9_match_hubert_model(contentvec) -> None:
    path, hf, proj = contentvec
    loaded = load_ssl(path)
    assert loaded.kind == "fairseq" and set(loaded.extras) == {"final_proj.weight", "final_proj.bias"}
    wav = torch.randn(24000) * 0.3
    with torch.inference_mode():
        hs = hf(wav[None], output_hidden_states=True).hidden_states
        out = loaded.model(wav[None], return_hidden=True)
        for k in range(13):
            torch.testing.assert_close(out.hidden[k][0], hs[k][0], atol=1e-4, rtol=0)
        enc12, enc9 = load_encoder("vec768l12", path), load_encoder("vec256l9", path)
        torch.testing.assert_close(enc12.encode(wav), hs[12][0], atol=1e-4, rtol=0)
        torch.testing.assert_close(enc9.encode(wav), proj(hs[9][0]), atol=1e-4, rtol=0)
    assert (enc12.dim, enc9.dim, enc12.hop) == (32, 8, 320)


def test_cnhubertlarge_is_last_layer_with_final_norm(tmp_path: Path) -> None:
    hf = _hubert(3, True, 11)
    path = tmp_path / "chinese-hubert-large-fairseq-ckpt.pt"
    save_fairseq_checkpoint(path, hf_to_fairseq(hf.state_dict()), _model_cfg(3, True))
    wav = torch.randn(9000) * 0.3
    enc = load_encoder("cnhubertlarge", path)
    with torch.inference_mode():
        torch.testing.assert_close(enc.encode(wav), hf(wav[None]).last_hidden_state[0], atol=1e-4, rtol=0)


def test_fp16_fairseq_file_is_cast(tmp_path: Path) -> None:
    hf = _hubert(12, False, 12)
    path = tmp_path / "hubert_base.pt"
    save_fairseq_checkpoint(path, {k: v.half() for k, v in hf_to_fairseq(hf.state_dict()).items()},
                            _model_cfg(12, False))
    enc = load_encoder("vec768l12", path)
    assert enc.dtype == torch.float32
    with pytest.raises(CheckpointError, match="no usable 'final_proj'"):
        load_encoder("vec256l9", path)


def test_too_few_layers_and_wrong_family(tmp_path: Path, wavlm_fixture) -> None:
    hf = _hubert(3, False, 13)
    path = tmp_path / "small.pt"
    save_fairseq_checkpoint(path, hf_to_fairseq(hf.state_dict()), _model_cfg(3, False))
    with pytest.raises(CheckpointError, match="has 3 layers; speech_encoder 'vec768l12' uses layer 12"):
        load_encoder("vec768l12", path)
    with pytest.raises(CheckpointError, match="is a wavlm checkpoint"):
        load_encoder("vec768l12", wavlm_fixture("wavlm_tiny_base_plus")[0])


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_checkpoint_needing_other_globals_is_refused(tmp_path: Path) -> None:
    hf = _hubert(3, False, 14)
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint_best_legacy_500.pt"
    save_fairseq_checkpoint(path, hf_to_fairseq(hf.state_dict()), _model_cfg(3, False),
                            extra={"extra_state": {"payload": _RunsCode(marker)}})
    with pytest.raises(UnsafeCheckpointError, match="system") as info:
        load_ssl(path)
    assert str(path) in str(info.value)
    with pytest.raises(UnsafeCheckpointError):
        load_encoder("vec768l12", path)
    assert not marker.exists()


def test_not_an_encoder_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "x.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not a WavLM, HuBERT/ContentVec"):
        load_ssl(path)
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_ssl(path)
