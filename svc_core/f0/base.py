"""The F0 extractor interface and the mapping of an extractor's native frames onto the model frame grid.

Model grid (the synthesizer's): for ``hop`` samples per frame, ``T = ceil(n / hop)`` frames and frame ``t`` is
centred at sample ``t * hop + hop / 2``. Extractors compute on their own grid (e.g. 10 ms at 16 kHz) and call
:func:`to_model_grid`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np

from svc_core.errors import AudioError, SvcError


def model_frame_count(n_samples: int, hop: int) -> int:
    """Number of model frames for ``n_samples`` samples: ceil(n / hop)."""
    return -(-int(n_samples) // int(hop))


def model_frame_times(n_frames: int, hop: int, sr: int) -> np.ndarray:
    """Centre time in seconds of every model frame [T] (sample t*hop + hop/2)."""
    return (np.arange(n_frames, dtype=np.float64) * hop + hop / 2.0) / float(sr)


def to_model_grid(
    times_s: np.ndarray, f0_hz: np.ndarray, voiced: np.ndarray, out_times_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map a native track (centres ``times_s`` [N], ``f0_hz`` [N], ``voiced`` [N]) onto ``out_times_s`` [T].

    The voiced flag is taken from the nearest native frame. F0 is interpolated linearly in log-F0 between the two
    native neighbours when both are voiced, otherwise the nearest voiced neighbour's value is held (pitch is never
    smeared across an unvoiced gap). Returns (f0 float32 [T], 0 where unvoiced; voiced bool [T]).
    """
    times_s = np.asarray(times_s, np.float64)
    f0_hz = np.asarray(f0_hz, np.float64)
    voiced = np.asarray(voiced, bool) & (f0_hz > 0) & np.isfinite(f0_hz)
    t_out = np.asarray(out_times_s, np.float64)
    n, m = times_s.shape[0], t_out.shape[0]
    if m == 0:
        return np.zeros(0, np.float32), np.zeros(0, bool)
    if n == 0:
        return np.zeros(m, np.float32), np.zeros(m, bool)
    if n == 1:
        v = np.full(m, bool(voiced[0]))
        return np.where(v, f0_hz[0], 0.0).astype(np.float32), v
    right = np.clip(np.searchsorted(times_s, t_out, side="right"), 1, n - 1)
    left = right - 1
    span = times_s[right] - times_s[left]
    frac = np.clip((t_out - times_s[left]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    nearest = np.where(frac <= 0.5, left, right)
    other = np.where(frac <= 0.5, right, left)
    v_out = voiced[nearest]
    logf = np.log(np.where(voiced, f0_hz, 1.0))
    both = voiced[left] & voiced[right]
    lerp = logf[left] + (logf[right] - logf[left]) * frac
    held = np.where(voiced[nearest], logf[nearest], logf[other])
    f0_out = np.where(v_out, np.exp(np.where(both, lerp, held)), 0.0)
    return f0_out.astype(np.float32), v_out


def check_audio(wav: np.ndarray, sr: int, hop: int, f0_min: float, f0_max: float) -> np.ndarray:
    """Validate extractor arguments; return the audio as contiguous float32 mono [T_wav]."""
    if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr <= 0:
        raise SvcError(f"sample rate must be a positive integer, got {sr!r}")
    if not isinstance(hop, (int, np.integer)) or isinstance(hop, bool) or hop <= 0:
        raise SvcError(f"hop must be a positive integer number of samples, got {hop!r}")
    if not (math.isfinite(f0_min) and math.isfinite(f0_max) and 0 < f0_min < f0_max):
        raise SvcError(f"need 0 < f0_min < f0_max, got f0_min={f0_min!r}, f0_max={f0_max!r}")
    x = np.asarray(wav)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise AudioError(f"F0 extraction needs mono audio [T_wav]; got an array of shape {x.shape} (downmix first)")
    if not np.issubdtype(x.dtype, np.number):
        raise AudioError(f"audio must be numeric, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.size and not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise AudioError(f"audio holds {bad} NaN/inf sample(s) (first at index {int(np.argmax(~np.isfinite(x)))}); "
                         "cannot extract pitch from invalid samples")
    return x


class F0Extractor(ABC):
    """A pitch tracker: ``extract(wav, sr, hop)`` -> (f0 Hz [T], voiced [T]) on the model frame grid."""

    name: str = ""

    def extract(
        self, wav: np.ndarray, sr: int, hop: int, f0_min: float = 50.0, f0_max: float = 1100.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """F0 of mono ``wav`` [T_wav] at ``sr`` on the model grid: (f0 float32 [T], voiced bool [T]), T=ceil(n/hop)."""
        x = check_audio(wav, sr, hop, f0_min, f0_max)
        n_frames = model_frame_count(x.shape[0], hop)
        if n_frames == 0:
            return np.zeros(0, np.float32), np.zeros(0, bool)
        times, f0, voiced = self.extract_native(x, int(sr), float(f0_min), float(f0_max))
        f0 = np.asarray(f0, np.float64)
        voiced = np.asarray(voiced, bool) & (f0 >= f0_min * 0.999) & (f0 <= f0_max * 1.001)
        f0_out, v_out = to_model_grid(times, f0, voiced, model_frame_times(n_frames, int(hop), int(sr)))
        return f0_out, v_out

    @abstractmethod
    def extract_native(
        self, wav: np.ndarray, sr: int, f0_min: float, f0_max: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Track pitch on the extractor's own grid: (frame centres s [N], f0 Hz [N], voiced bool [N])."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
