"""Content encoder for a so-vits-svc ``speech_encoder`` name: find the weights on disk, build the encoder."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from svc_core.device import pick_device
from svc_core.errors import AudioError, SvcError
from svc_core.settings import Settings
from svc_core.weights import find_weights

__all__ = ["encode_content", "encoder_weights_path", "load_content_encoder", "supported_encoders"]


def supported_encoders() -> tuple[str, ...]:
    """so-vits-svc ``speech_encoder`` names this version can run."""
    from vencoder.registry import ENCODER_NAMES

    return ENCODER_NAMES


def load_content_encoder(
    speech_encoder: str,
    *,
    explicit: str | os.PathLike[str] | None = None,
    voice_dir: str | os.PathLike[str] | None = None,
    weights_dir: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    settings: Settings | None = None,
    dtype: torch.dtype | None = None,
):  # -> vencoder.base.ContentEncoder (imported lazily)
    """Build the content encoder named ``speech_encoder`` (e.g. ``vec768l12``, ``wavlmbase+``).

    Weights come from ``explicit``, the settings, ``weights_dir``/$SVC_STUDIO_WEIGHTS, ``voice_dir``'s
    ``pretrain/`` or the Hugging Face cache (never downloaded). Raises SvcError for unknown/unsupported names,
    WeightsNotFoundError (listing every place looked) when absent, CheckpointError for unusable files. ``dtype``
    (e.g. ``torch.float16`` on a GPU) casts the weights; None keeps float32.
    """
    from vencoder.registry import UnsupportedEncoderError, load_encoder, weights_key_for

    if not isinstance(speech_encoder, str) or not speech_encoder.strip():
        raise SvcError(f"speech_encoder must be a non-empty name, got {speech_encoder!r}")
    name = speech_encoder.strip()
    try:
        key = weights_key_for(name)
    except UnsupportedEncoderError as e:
        raise SvcError(str(e)) from None
    path = find_weights(key, explicit=explicit, voice_dir=voice_dir, weights_dir=weights_dir, settings=settings)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    return load_encoder(name, path, dev, dtype)


def encoder_weights_path(speech_encoder: str, *, weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """The weights file :func:`load_content_encoder` would use for ``speech_encoder`` (SvcError when unknown,
    WeightsNotFoundError when absent); for cache keys that change when the weights do."""
    from vencoder.registry import UnsupportedEncoderError, weights_key_for

    try:
        key = weights_key_for(speech_encoder.strip())
    except UnsupportedEncoderError as e:
        raise SvcError(str(e)) from None
    return find_weights(key, weights_dir=weights_dir)


def encode_content(encoder, wav_16k: torch.Tensor) -> torch.Tensor:
    """``encoder.encode(wav_16k)`` ([T_wav] at 16 kHz -> [T, dim]) with bad audio reported as AudioError."""
    from vencoder.base import EncoderInputError

    try:
        return encoder.encode(wav_16k)
    except EncoderInputError as e:
        raise AudioError(str(e)) from None
