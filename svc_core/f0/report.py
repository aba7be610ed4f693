"""A pitch summary a musician can read: median note, range, share of voiced frames."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def hz_to_note(hz: float) -> str:
    """Nearest equal-tempered note (A4 = 440 Hz) with the deviation in cents, e.g. "A3 +12c"; "-" for 0/NaN."""
    if not (hz > 0 and math.isfinite(hz)):
        return "-"
    midi = 69.0 + 12.0 * math.log2(hz / 440.0)
    nearest = int(round(midi))
    cents = int(round(100.0 * (midi - nearest)))
    return f"{NOTE_NAMES[nearest % 12]}{nearest // 12 - 1} {cents:+d}c"


@dataclass(frozen=True)
class PitchReport:
    """Pitch summary of one track; Hz fields are 0 and notes "-" when nothing is voiced."""

    median_hz: float
    median_note: str
    low_hz: float
    low_note: str
    high_hz: float
    high_note: str
    voiced_percent: float
    duration_s: float

    def format(self) -> str:
        """One human-readable line."""
        if self.median_hz <= 0:
            return f"no pitched singing found ({self.duration_s:.2f} s, 0% voiced)"
        return (
            f"median {self.median_note} ({self.median_hz:.1f} Hz), range {self.low_note} .. {self.high_note} "
            f"({self.low_hz:.1f}-{self.high_hz:.1f} Hz, 5th-95th percentile), "
            f"{self.voiced_percent:.1f}% voiced, {self.duration_s:.2f} s"
        )

    def to_dict(self) -> dict[str, float | str]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def pitch_report(f0: np.ndarray, voiced: np.ndarray, hop_s: float) -> PitchReport:
    """Summarise f0 [T] (Hz) with its voiced mask [T] on frames of ``hop_s`` seconds."""
    f0 = np.asarray(f0, np.float64).reshape(-1)
    v = np.asarray(voiced, bool).reshape(-1)
    if v.shape != f0.shape:
        raise ValueError(f"f0 has {f0.shape[0]} frames but voiced has {v.shape[0]}")
    if not hop_s > 0:
        raise ValueError(f"hop_s must be > 0, got {hop_s!r}")
    v = v & np.isfinite(f0) & (f0 > 0)
    n = f0.shape[0]
    duration = n * float(hop_s)
    if not v.any():
        return PitchReport(0.0, "-", 0.0, "-", 0.0, "-", 0.0, duration)
    vals = f0[v]
    # percentiles in log-frequency (musical pitch), reported in Hz
    med, lo, hi = np.exp2(np.percentile(np.log2(vals), [50.0, 5.0, 95.0]))
    return PitchReport(
        median_hz=float(med),
        median_note=hz_to_note(float(med)),
        low_hz=float(lo),
        low_note=hz_to_note(float(lo)),
        high_hz=float(hi),
        high_note=hz_to_note(float(hi)),
        voiced_percent=100.0 * float(v.sum()) / n,
        duration_s=duration,
    )
