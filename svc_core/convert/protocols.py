"""What conversion needs from its parts: structural types a real voice / encoder / F0 extractor, or a test fake,
satisfies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["ContentEncoderLike", "F0ExtractorLike", "VoiceLike"]


@runtime_checkable
class VoiceLike(Protocol):
    """What the converter needs from a voice (``svc_core.voices.Voice``)."""

    speakers: dict[str, int]
    f0_stats: Any  # F0Stats (median_hz, ...) or a mapping, or None
    sampling_rate: int
    hop_length: int
    speech_encoder: str
    ssl_dim: int
    vol_embedding: bool
    has_f0_decoder: bool
    unit_interpolate_mode: str

    def speaker_id(self, name_or_id: int | str) -> int:
        """Speaker name or id -> id."""
        ...

    def synthesize(self, c: torch.Tensor, f0: torch.Tensor, uv: torch.Tensor, speaker: Any,
                   vol: torch.Tensor | None = None, noise_scale: float = 0.35, seed: int = 52468,
                   predict_f0: bool = False) -> torch.Tensor:
        """c [ssl_dim, T], f0 [T] Hz, uv [T] -> waveform [T * hop]."""
        ...

    def predict_f0_median(self, c: torch.Tensor, f0: torch.Tensor | None = None, uv: torch.Tensor | None = None,
                          speaker: Any = 0, vol: torch.Tensor | None = None) -> float | None:
        """Median F0 the voice's F0 decoder predicts for content c [ssl_dim, T] (f0/uv/vol [T] optional)."""
        ...


@runtime_checkable
class ContentEncoderLike(Protocol):
    """What the converter needs from a content encoder (``vencoder.base.ContentEncoder``)."""

    sample_rate: int
    hop: int
    dim: int

    def encode(self, wav_16k: torch.Tensor) -> torch.Tensor:
        """Mono 16 kHz waveform [T_wav] -> features [T_c, dim]."""
        ...


@runtime_checkable
class F0ExtractorLike(Protocol):
    """What the converter needs from an F0 extractor (``svc_core.f0.F0Extractor``)."""

    def extract(self, wav: np.ndarray, sr: int, hop: int, f0_min: float = 50.0,
                f0_max: float = 1100.0) -> tuple[np.ndarray, np.ndarray]:
        """Mono wav [n] -> (f0 Hz [ceil(n/hop)], voiced bool [ceil(n/hop)])."""
        ...
