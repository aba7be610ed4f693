"""so-vits-svc ``speech_encoder`` names -> content encoders built from the weights users already have."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vencoder.base import ContentEncoder
from vencoder.safe_load import CheckpointError
from vencoder.ssl.load import load_ssl
from vencoder.ssl_encoder import SSLContentEncoder

__all__ = [
    "ENCODER_NAMES",
    "UNSUPPORTED_ENCODERS",
    "EncoderSpec",
    "UnsupportedEncoderError",
    "encoder_spec",
    "load_encoder",
    "weights_key_for",
]


class UnsupportedEncoderError(ValueError):
    """The ``speech_encoder`` name is unknown or not supported by this version."""


@dataclass(frozen=True)
class EncoderSpec:
    """How so-vits-svc computes one ``speech_encoder``: weights key, layer, projection, padding, families."""

    name: str
    weights_key: str  # svc_core.weights key
    layer: int | None  # 1-based layer; None = run all layers (+ final LayerNorm of pre-LN models)
    proj: str | None  # extra head applied after the layer: "final_proj" (ContentVec) / "proj" (HuBERT-Soft)
    kinds: tuple[str, ...]  # checkpoint families accepted (see vencoder.ssl.load.LoadedSSL.kind)
    pad: int = 0
    description: str = ""
    normalize: bool | None = False  # waveform normalisation: None = as the checkpoint says (WavLM cfg)


_SPECS: dict[str, EncoderSpec] = {
    s.name: s
    for s in (
        EncoderSpec("vec768l12", "contentvec", 12, None, ("fairseq", "hf"), 0, "ContentVec layer 12, 768-d"),
        EncoderSpec("vec256l9", "contentvec", 9, "final_proj", ("fairseq", "hf"), 0,
                    "ContentVec layer 9 + final_proj, 256-d"),
        EncoderSpec("hubertsoft", "hubert-soft", None, "proj", ("hubert-soft",), 40, "HuBERT-Soft units, 256-d"),
        EncoderSpec("cnhubertlarge", "cnhubert-large", None, None, ("fairseq", "hf"), 0,
                    "Chinese HuBERT Large, last layer, 1024-d"),
        EncoderSpec("wavlmbase+", "wavlm-base-plus", None, None, ("wavlm", "hf"), 0, "WavLM Base+, last layer, 768-d",
                    normalize=None),
    )
}

ENCODER_NAMES: tuple[str, ...] = tuple(_SPECS)

UNSUPPORTED_ENCODERS: dict[str, str] = {
    "whisper-ppg": "Whisper PPG encoders are not supported yet",
    "whisper-ppg-large": "Whisper PPG encoders are not supported yet",
    "dphubert": "DPHuBERT is not supported yet",
    "vec256l9-onnx": "ONNX encoders are not supported; use vec256l9 with checkpoint_best_legacy_500.pt",
    "vec256l12-onnx": "ONNX encoders are not supported yet",
    "vec768l9-onnx": "ONNX encoders are not supported yet",
    "vec768l12-onnx": "ONNX encoders are not supported; use vec768l12 with checkpoint_best_legacy_500.pt",
    "hubertsoft-onnx": "ONNX encoders are not supported; use hubertsoft with hubert-soft-0d54a1f4.pt",
}


def encoder_spec(name: str) -> EncoderSpec:
    """The spec of a supported ``speech_encoder`` name; UnsupportedEncoderError otherwise."""
    spec = _SPECS.get(name)
    if spec is not None:
        return spec
    if name in UNSUPPORTED_ENCODERS:
        raise UnsupportedEncoderError(f"speech_encoder {name!r}: {UNSUPPORTED_ENCODERS[name]}")
    raise UnsupportedEncoderError(
        f"unknown speech_encoder {name!r}; supported: {', '.join(ENCODER_NAMES)}"
    )


def weights_key_for(name: str) -> str:
    """The svc_core.weights key holding the weights of ``name`` (e.g. ``vec768l12`` -> ``contentvec``)."""
    return encoder_spec(name).weights_key


def load_encoder(
    name: str, weights_path: str | os.PathLike[str], device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> ContentEncoder:
    """Build the ``speech_encoder`` ``name`` from ``weights_path`` (file or HF folder), eval, on ``device`` in
    ``dtype`` (None: float32 as stored)."""
    spec = encoder_spec(name)
    path = Path(weights_path)
    loaded = load_ssl(path)
    if loaded.kind not in spec.kinds:
        raise CheckpointError(
            path, f"is a {loaded.kind} checkpoint, but speech_encoder {name!r} needs {' or '.join(spec.kinds)}"
        )
    n_layers = len(loaded.model.layers)
    if spec.layer is not None and n_layers < spec.layer:
        raise CheckpointError(path, f"has {n_layers} layers; speech_encoder {name!r} uses layer {spec.layer}")
    if spec.normalize is not None:
        # so-vits-svc feeds fairseq HuBERT/ContentVec and HuBERT-Soft the raw waveform, whatever an HF
        # preprocessor_config.json says; voices were trained on exactly that.
        loaded.model.cfg.normalize = spec.normalize
    proj = None
    if spec.proj is not None:
        w, b = loaded.extras.get(f"{spec.proj}.weight"), loaded.extras.get(f"{spec.proj}.bias")
        if w is None or b is None or w.dim() != 2 or w.shape[1] != loaded.model.cfg.encoder_embed_dim:
            raise CheckpointError(path, f"has no usable '{spec.proj}' layer, which speech_encoder {name!r} needs")
        proj = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            proj.weight.copy_(w)
            proj.bias.copy_(b)
    enc = SSLContentEncoder(loaded.model, name=name, layer=spec.layer, proj=proj, pad=spec.pad)
    if device is not None or dtype is not None:
        enc = enc.to(device=device, dtype=dtype)
    return enc.eval()
