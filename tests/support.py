"""Helpers shared by the tests (import ``from tests.support import ...``; conftest.py files hold fixtures only):
where the shared fixtures live, tiny seeded vocoders, tiny content-encoder configs and fairseq-style files."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from vdecoder.registry import build_vocoder

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SVC_STUDIO_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
CORPUS = SHARED / "corpus"
SOVITS41_VARIANTS = (  # the voices in ../shared/fixtures/sovits41
    "tiny_44k_vec768",
    "tiny_44k_wavlm_vol_snake",
    "tiny_44k_vec256_flowshare",
    "tiny_44k_transformer_flow",
    "tiny_e2e_wavlm64",
)

# ---- vocoders ----------------------------------------------------------------------------------------------------

TINY_VOCODER = dict(
    sampling_rate=44100,
    inter_channels=16,
    resblock_kernel_sizes=[3, 5],
    upsample_rates=[4, 2, 2],
    upsample_initial_channel=32,
    upsample_kernel_sizes=[8, 4, 4],
    gin_channels=8,
)
DILATIONS = {"1": [[1, 3, 5], [1, 3, 5]], "2": [[1, 3], [1, 3]]}


def tiny_vocoder(name: str, resblock: str, **overrides: object) -> nn.Module:
    """A seeded tiny vocoder (hop 16, 16 mel-side channels, gin 8); ``overrides`` replace TINY_VOCODER entries."""
    torch.manual_seed(0)
    kwargs = {**TINY_VOCODER, **overrides}
    return build_vocoder(name, resblock=resblock, resblock_dilation_sizes=DILATIONS[resblock], **kwargs)


# ---- content encoders --------------------------------------------------------------------------------------------

WAVLM_FIXTURES = ("wavlm_tiny_base_plus", "wavlm_tiny_large_style")


def jitter_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Move the parameters that transformers initialises to constants (norms, gate const) off their init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "gru_rel_pos_const" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model


def tiny_conv(width: int = 16) -> dict:
    """Standard 7-layer conv stack (kernel/stride of the real models) at a small width, HF config names."""
    return {"conv_dim": (width,) * 7, "conv_kernel": (10, 3, 3, 3, 3, 2, 2), "conv_stride": (5, 2, 2, 2, 2, 2, 2)}


def hf_to_fairseq(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers HubertModel key names -> fairseq HuBERT names (table in shared/compat/weights.md, section 2)."""
    out = {}
    for k, v in sd.items():
        if k == "masked_spec_embed":
            out["mask_emb"] = v
            continue
        n = k
        n = n.replace("feature_extractor.conv_layers.0.layer_norm.", "feature_extractor.conv_layers.0.2.")
        for i in range(7):
            n = n.replace(f"feature_extractor.conv_layers.{i}.conv.", f"feature_extractor.conv_layers.{i}.0.")
            n = n.replace(f"feature_extractor.conv_layers.{i}.layer_norm.", f"feature_extractor.conv_layers.{i}.2.1.")
        n = n.replace("feature_projection.layer_norm.", "layer_norm.")
        n = n.replace("feature_projection.projection.", "post_extract_proj.")
        n = n.replace("encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv.0.weight_g")
        n = n.replace("encoder.pos_conv_embed.conv.parametrizations.weight.original1", "encoder.pos_conv.0.weight_v")
        n = n.replace("encoder.pos_conv_embed.conv.", "encoder.pos_conv.0.")
        n = n.replace(".attention.", ".self_attn.")
        n = n.replace(".feed_forward.intermediate_dense.", ".fc1.").replace(".feed_forward.output_dense.", ".fc2.")
        if ".layers." in n:
            n = n.replace(".layer_norm.", ".self_attn_layer_norm.")
        out[n] = v
    return out


@contextmanager
def fake_fairseq_module() -> Iterator[type]:
    """Temporarily make ``fairseq.data.dictionary.Dictionary`` importable so torch.save can pickle one."""
    names = ("fairseq", "fairseq.data", "fairseq.data.dictionary")
    saved = {n: sys.modules.get(n) for n in names}
    mods = [types.ModuleType(n) for n in names]

    class Dictionary:  # what a real fairseq label dictionary looks like to pickle
        def __init__(self) -> None:
            self.symbols = ["<s>", "<pad>", "</s>", "<unk>", "0", "1"]
            self.count = [1, 1, 1, 1, 5, 7]
            self.indices = {s: i for i, s in enumerate(self.symbols)}

    Dictionary.__module__ = "fairseq.data.dictionary"
    Dictionary.__qualname__ = "Dictionary"
    mods[2].Dictionary = Dictionary  # type: ignore[attr-defined]
    mods[0].data = mods[1]  # type: ignore[attr-defined]
    mods[1].dictionary = mods[2]  # type: ignore[attr-defined]
    try:
        for n, m in zip(names, mods, strict=True):
            sys.modules[n] = m
        yield Dictionary
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def save_fairseq_checkpoint(path: Path, model_sd: dict, model_cfg: dict, extra: dict | None = None) -> None:
    """Write a file laid out like fairseq's trainer checkpoint (checkpoint_best_legacy_500.pt)."""
    with fake_fairseq_module() as dictionary_cls:
        obj = {
            "args": None,
            "cfg": {"_name": None, "model": model_cfg, "task": {"_name": "hubert_pretraining", "labels": ["km"]}},
            "model": model_sd,
            "criterion": None,
            "optimizer_history": [{"criterion_name": "HubertCriterion", "optimizer_name": "FairseqAdam",
                                   "lr_scheduler_state": {"best": 1.5}, "num_updates": 500}],
            "task_state": {"dictionaries": [dictionary_cls()]},
            "extra_state": {"previous_training_time": 1.0},
        }
        obj.update(extra or {})
        torch.save(obj, path)
    assert "fairseq" not in sys.modules


def duplex_device_or_skip() -> int | str:
    """A device with input and output channels (the virtual loopback of shared/tools/virtual_audio.sh in CI):
    skip without one, fail when REQUIRE_AUDIO_DEVICE=1."""
    import pytest

    try:
        import sounddevice as sd

        dev = os.environ.get("VAUDIO_DEVICE") or sd.default.device[0]
        d = sd.query_devices(dev)
        assert d["max_input_channels"] > 0 and d["max_output_channels"] > 0, d
        return dev
    except Exception as e:  # OSError (no libportaudio2), PortAudioError, ValueError, ...
        msg = f"no duplex audio device ({e!r}); run virtual_audio.sh start"
        if os.environ.get("REQUIRE_AUDIO_DEVICE") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
