"""Synthetic test signals for the F0 tests: harmonic tones with vibrato, glides, noise."""

from __future__ import annotations

import numpy as np


def harmonic(f0_hz: np.ndarray, sr: int, n_harm: int = 8, seed: int = 0) -> np.ndarray:
    """Sawtooth-like harmonic tone following the per-sample F0 track [T_wav] (1/k amplitudes, below Nyquist)."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / sr
    k = np.arange(1, n_harm + 1)[:, None]
    amp = np.where(k * f0_hz[None, :] < 0.45 * sr, 1.0 / k, 0.0)
    x = (amp * np.sin(k * phase[None, :])).sum(0)
    x += 0.003 * np.random.default_rng(seed).standard_normal(x.shape[0])
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def vibrato_track(
    base_hz: float, seconds: float, sr: int, depth_cents: float = 50.0, rate_hz: float = 5.5
) -> np.ndarray:
    """Per-sample F0 [T_wav]: base with sinusoidal vibrato."""
    t = np.arange(int(seconds * sr)) / sr
    return base_hz * 2.0 ** (depth_cents / 1200.0 * np.sin(2 * np.pi * rate_hz * t))


def glide_track(lo_hz: float, hi_hz: float, seconds: float, sr: int) -> np.ndarray:
    """Per-sample F0 [T_wav]: exponential glide lo -> hi."""
    t = np.arange(int(seconds * sr)) / sr
    return lo_hz * (hi_hz / lo_hz) ** (t / seconds)


def track_on_grid(f0_samples: np.ndarray, hop: int) -> np.ndarray:
    """True F0 at model frame centres (sample t*hop + hop/2) [T]."""
    n = f0_samples.shape[0]
    centres = np.minimum(np.arange(-(-n // hop)) * hop + hop // 2, n - 1)
    return f0_samples[centres]
