"""F0 post-processing shared by every extractor: unvoiced interpolation, median smoothing, octave-jump repair,
transposition, auto-key, and the so-vits-svc coarse quantisation (re-exported)."""

from __future__ import annotations

import numpy as np

from svc_core.models.pitch import f0_to_coarse

__all__ = [
    "auto_key_semitones",
    "f0_to_coarse",
    "interpolate_unvoiced",
    "median_smooth",
    "postprocess",
    "repair_octave_jumps",
    "transpose",
]

#: Default median kernel (frames) of :func:`postprocess`.
DEFAULT_SMOOTH = 3
#: Half-width (frames) of the local reference of :func:`repair_octave_jumps`: jumps shorter than this are folded,
#: longer ones are taken as sung (real octave leaps).
OCTAVE_REF_FRAMES = 5


def _as_track(f0: np.ndarray, voiced: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    f0 = np.asarray(f0, dtype=np.float64).reshape(-1)
    if voiced is None:
        v = f0 > 0
    else:
        v = np.asarray(voiced, dtype=bool).reshape(-1)
        if v.shape != f0.shape:
            raise ValueError(f"f0 has {f0.shape[0]} frames but voiced has {v.shape[0]}")
    v = v & np.isfinite(f0) & (f0 > 0)
    return f0, v


def interpolate_unvoiced(f0: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Fill unvoiced frames of f0 [T] by linear interpolation between voiced neighbours (edges held) -> float32 [T].

    All-unvoiced input gives zeros.
    """
    f0, v = _as_track(f0, voiced)
    if not v.any():
        return np.zeros(f0.shape, np.float32)
    idx = np.flatnonzero(v)
    return np.interp(np.arange(f0.shape[0]), idx, f0[idx]).astype(np.float32)


def _windowed_voiced_median(f0: np.ndarray, v: np.ndarray, half: int) -> np.ndarray:
    """Median of the voiced values within +-half frames of each frame [T] (NaN where none)."""
    vals = np.where(v, f0, np.nan)
    padded = np.pad(vals, half, constant_values=np.nan)
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    out = np.full(f0.shape, np.nan)
    has = v.copy()
    if half > 0:
        has = np.isfinite(win).any(axis=1)
    if has.any():
        out[has] = np.nanmedian(win[has], axis=1)
    return out


def median_smooth(f0: np.ndarray, voiced: np.ndarray, kernel: int) -> np.ndarray:
    """Median filter of the voiced frames of f0 [T] over ``kernel`` frames (odd; unvoiced frames are ignored in the
    window and stay 0) -> float32 [T]."""
    if int(kernel) < 1:
        raise ValueError(f"median kernel must be >= 1 frame, got {kernel}")
    f0, v = _as_track(f0, voiced)
    half = int(kernel) // 2
    if half == 0 or not v.any():
        return np.where(v, f0, 0.0).astype(np.float32)
    med = _windowed_voiced_median(f0, v, half)
    return np.where(v, med, 0.0).astype(np.float32)


def repair_octave_jumps(f0: np.ndarray, voiced: np.ndarray, *, ref_frames: int = OCTAVE_REF_FRAMES) -> np.ndarray:
    """Fold frames that sit about one or more octaves (+-300 cents) off the local voiced median back onto it.

    The reference is the median of the voiced frames within +-``ref_frames``; f0 [T] -> float32 [T].
    """
    f0, v = _as_track(f0, voiced)
    if not v.any():
        return np.zeros(f0.shape, np.float32)
    ref = _windowed_voiced_median(f0, v, int(ref_frames))
    ok = v & np.isfinite(ref) & (ref > 0)
    cents = np.zeros_like(f0)
    cents[ok] = 1200.0 * np.log2(f0[ok] / ref[ok])
    octaves = np.round(cents / 1200.0)
    jump = ok & (octaves != 0) & (np.abs(cents - 1200.0 * octaves) < 300.0)
    out = np.where(jump, f0 * np.exp2(-octaves), f0)
    return np.where(v, out, 0.0).astype(np.float32)


def transpose(f0: np.ndarray, semitones: float) -> np.ndarray:
    """Shift f0 [T] by ``semitones`` (fractional allowed); 0 (unvoiced) stays 0 -> float32 [T]."""
    if not np.isfinite(semitones):
        raise ValueError(f"transpose needs a finite number of semitones, got {semitones!r}")
    f0 = np.asarray(f0, dtype=np.float64)
    return np.where(f0 > 0, f0 * 2.0 ** (float(semitones) / 12.0), 0.0).astype(np.float32)


def auto_key_semitones(
    f0: np.ndarray, voiced: np.ndarray, target_median_hz: float, *, round_to_semitone: bool = True
) -> float:
    """Semitones moving the median voiced F0 of f0 [T] onto ``target_median_hz`` (the voice's training median).

    Returns 0.0 when no frame is voiced. Rounded to whole semitones unless ``round_to_semitone`` is False.
    """
    if not (np.isfinite(target_median_hz) and target_median_hz > 0):
        raise ValueError(f"target median F0 must be a positive number of Hz, got {target_median_hz!r}")
    f0, v = _as_track(f0, voiced)
    if not v.any():
        return 0.0
    shift = 12.0 * float(np.log2(target_median_hz / np.median(f0[v])))
    return float(np.round(shift)) if round_to_semitone else shift


def postprocess(
    f0: np.ndarray,
    voiced: np.ndarray,
    *,
    smooth: int = DEFAULT_SMOOTH,
    repair_octaves: bool = True,
) -> np.ndarray:
    """Clean an extracted track: octave-jump repair (optional), then a ``smooth``-frame voiced median (1 = off).

    f0 [T], voiced [T] -> f0 float32 [T], 0 where unvoiced (the voiced mask is unchanged). Apply
    :func:`transpose` and :func:`interpolate_unvoiced` afterwards for the model input.
    """
    f0, v = _as_track(f0, voiced)
    out = repair_octave_jumps(f0, v) if repair_octaves else np.where(v, f0, 0.0)
    if smooth and int(smooth) > 1:
        out = median_smooth(out, v, int(smooth))
    return np.asarray(out, np.float32)
