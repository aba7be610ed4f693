"""The content-encoder interface: 16 kHz mono audio -> frame features [T, D] at 50 frames per second."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = ["ContentEncoder", "EncoderInputError"]


class EncoderInputError(ValueError):
    """The audio given to a content encoder is unusable (empty, NaN/Inf, too short, wrong shape or type)."""


class ContentEncoder(nn.Module):
    """Speech -> content features. Subclasses set ``dim``/``name`` and implement ``_prepare`` and ``_run``.

    ``encode(wav_16k)`` takes a mono float waveform [T_wav] at 16 kHz on any device and returns [T, dim] on the
    encoder's device. For the WavLM/HuBERT conv stack ``T = floor((T_wav - 400) / 320) + 1`` (T_wav >= 400);
    see :meth:`num_frames` (HuBERT-Soft pads 40 samples each side first). Long audio is encoded in chunks of
    ``chunk_seconds`` with ``context_seconds`` of extra audio each side; chunks start on the frame grid, so
    the stitched frames are the unchunked ones (the conv stack and its GroupNorm statistics are exact; only
    attention beyond the context differs).
    """

    sample_rate: int = 16000
    hop: int = 320
    receptive_field: int = 400
    pad: int = 0  # samples of zero padding added each side before the conv stack
    dim: int
    name: str
    chunk_seconds: float = 30.0
    context_seconds: float = 2.0

    def num_frames(self, n_samples: int) -> int:
        """Frames produced for ``n_samples`` input samples (0 when too short for one frame)."""
        n = n_samples + 2 * self.pad
        return 0 if n < self.receptive_field else (n - self.receptive_field) // self.hop + 1

    @property
    def device(self) -> torch.device:
        """Device of the encoder's weights."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the encoder's weights."""
        return next(self.parameters()).dtype

    def _check(self, wav: Any) -> torch.Tensor:
        if not isinstance(wav, torch.Tensor):
            raise EncoderInputError(f"{self.name}: wav_16k must be a torch.Tensor, got {type(wav).__name__}")
        if wav.dim() == 2 and 1 in wav.shape:
            wav = wav.reshape(-1)
        if wav.dim() != 1:
            raise EncoderInputError(f"{self.name}: wav_16k must be mono [T_wav], got shape {tuple(wav.shape)}")
        if not wav.is_floating_point():
            raise EncoderInputError(f"{self.name}: wav_16k must be float audio in -1..1, got {wav.dtype}")
        if wav.numel() == 0:
            raise EncoderInputError(f"{self.name}: wav_16k is empty (0 samples)")
        if self.num_frames(wav.numel()) < 1:
            need = self.receptive_field - 2 * self.pad
            raise EncoderInputError(
                f"{self.name}: audio too short for one frame: {wav.numel()} samples at 16 kHz, need >= {need} "
                f"({need / self.sample_rate * 1000:.0f} ms)"
            )
        if not bool(torch.isfinite(wav).all()):
            bad = int((~torch.isfinite(wav)).sum())
            raise EncoderInputError(f"{self.name}: wav_16k holds {bad} NaN/Inf samples")
        return wav

    def _prepare(self, wav: torch.Tensor, chunked: bool) -> Any:
        """Whole-signal work before chunking (normalisation, padding, global statistics); wav [T_wav]."""
        raise NotImplementedError

    def _run(self, state: Any, start: int, stop: int) -> torch.Tensor:
        """Features of frames ``start..stop-1`` computed from only the audio those frames need: [stop-start, D]."""
        raise NotImplementedError

    def encode(self, wav_16k: torch.Tensor) -> torch.Tensor:
        """Mono 16 kHz float waveform [T_wav] -> content features [T, dim] (float, on the encoder's device)."""
        wav = self._check(wav_16k)
        with torch.inference_mode():
            wav = wav.to(device=self.device, dtype=self.dtype)
            n = self.num_frames(wav.numel())
            chunk = max(1, int(round(self.chunk_seconds * self.sample_rate / self.hop)))
            ctx = max(0, int(round(self.context_seconds * self.sample_rate / self.hop)))
            if n <= chunk + 2 * ctx:
                return self._run(self._prepare(wav, chunked=False), 0, n)
            state = self._prepare(wav, chunked=True)
            n_chunks = math.ceil(n / chunk)
            size = math.ceil(n / n_chunks)
            parts = []
            for a in range(0, n, size):
                b = min(n, a + size)
                a2, b2 = max(0, a - ctx), min(n, b + ctx)
                parts.append(self._run(state, a2, b2)[a - a2 : b - a2])
            return torch.cat(parts, 0)
