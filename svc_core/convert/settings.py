"""Settings and result of a conversion (plain dataclasses, no torch): the one place each default lives; the CLI
and the GUI read their defaults from here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from svc_core.audio.slicer import SliceSettings
from svc_core.errors import SvcError

__all__ = ["ConvertResult", "ConvertSettings"]


@dataclass
class ConvertSettings:
    """Every knob of a conversion (defaults are the app's defaults; the CLI and GUI only override)."""

    speaker: int | str | Mapping[str, float] | None = None  # None: the voice's first speaker; Mapping: a mix
    transpose: float = 0.0  # semitones
    f0_method: str | None = None  # None: svc_core.f0.DEFAULT_EXTRACTOR (used by load_converter)
    auto_key: bool = False  # shift to the voice's median F0 (whole semitones, added to transpose)
    predict_f0: bool = False  # use the voice's F0 decoder instead of the extracted F0 (speech only)
    f0_postprocess: bool = True  # octave-jump repair + 3-frame median (svc_core.f0.post.postprocess)
    f0_min: float = 50.0
    f0_max: float = 1100.0
    f0_curve_path: Path | None = None  # 2-column text (time_s, f0_hz; 0 = unvoiced) replacing extraction
    retrieval_ratio: float = 0.0  # 0 = off
    retrieval_k: int = 8
    noise_scale: float = 0.35
    seed: int = 52468
    slicing: SliceSettings = field(default_factory=SliceSettings)
    max_segment_s: float = 15.0  # longest model input; longer voiced slices are split at their quietest point
    context_s: float = 0.3  # real audio fed to the model each side of a segment and cut afterwards
    crossfade_ms: float = 40.0
    match_loudness: float = 0.0  # 0 = off .. 1 = the input's RMS envelope
    output_sr: int | None = None  # None: the voice's rate
    per_channel: bool = False  # convert each channel (else downmix to mono)
    device: str | None = None
    block_s: float = 30.0  # read size of the analysis pass

    def validate(self) -> None:
        """Raise SvcError naming the first invalid setting."""
        checks = [
            (math.isfinite(self.transpose) and abs(self.transpose) <= 48, "transpose must be within +-48 semitones"),
            (0.0 <= self.retrieval_ratio <= 1.0, "retrieval ratio must be between 0 and 1"),
            (self.retrieval_k >= 1, "retrieval k must be >= 1"),
            (0.0 <= self.noise_scale <= 10.0, "noise scale must be between 0 and 10"),
            (0.0 <= self.match_loudness <= 1.0, "loudness match must be between 0 and 1"),
            (self.max_segment_s >= 1.0, "max segment length must be >= 1 s"),
            (0.0 <= self.context_s <= 5.0, "context must be between 0 and 5 s"),
            (0.0 <= self.crossfade_ms <= 1000.0, "crossfade must be between 0 and 1000 ms"),
            (0.0 < self.f0_min < self.f0_max, "need 0 < f0_min < f0_max"),
            (self.output_sr is None or 8000 <= int(self.output_sr) <= 192000, "output rate must be 8000-192000 Hz"),
            (self.block_s > 0, "block length must be > 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SvcError(f"invalid setting: {msg}")
        try:
            self.slicing.frames(44100)
        except ValueError as e:
            raise SvcError(f"invalid slice setting: {e}") from e


@dataclass
class ConvertResult:
    """Outcome of one file: where it went, lengths, timings and any warnings (clipping, ...)."""

    input_path: Path
    output_path: Path
    input_seconds: float
    output_sr: int
    output_frames: int
    channels: int
    seconds: float
    transpose: float
    segments: int
    warnings: list[str] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        """Real-time factor: processing time / audio duration."""
        return self.seconds / self.input_seconds if self.input_seconds > 0 else 0.0
