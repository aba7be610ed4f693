"""Display data for audio previews: a log-magnitude spectrogram and a peak envelope sized for the screen, so a
10-minute file draws as fast as a short one (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Spectrogram", "peak_envelope", "spectrogram_db"]


@dataclass(frozen=True)
class Spectrogram:
    """``db`` [T, F] in dB (max 0) with frame centre ``times`` [T] (s) and bin ``freqs`` [F] (Hz)."""

    db: np.ndarray
    times: np.ndarray
    freqs: np.ndarray


def spectrogram_db(x: np.ndarray, sr: int, *, n_fft: int = 1024, max_frames: int = 2400, max_hz: float = 8000.0,
                   floor_db: float = -80.0) -> Spectrogram:
    """Spectrogram of mono ``x`` [N] with at most ``max_frames`` Hann-windowed frames (the hop grows for long
    clips, so a 10-minute file costs the same as a 1-minute one) and bins up to ``max_hz``."""
    x = np.asarray(x, np.float32).reshape(-1)
    hop = max(n_fft // 4, -(-x.shape[0] // max(1, max_frames)))
    pad = np.pad(x, (n_fft // 2, n_fft // 2 + hop))
    n = max(1, (pad.shape[0] - n_fft) // hop + 1)
    frames = np.lib.stride_tricks.as_strided(pad, (n, n_fft), (pad.strides[0] * hop, pad.strides[0]))
    n = min(n, -(-x.shape[0] // hop)) or 1
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    keep = freqs <= max_hz
    mag = np.abs(np.fft.rfft(frames[:n] * np.hanning(n_fft).astype(np.float32), axis=1))[:, keep]
    db = 20.0 * np.log10(mag + 1e-9)
    db = np.maximum(db - db.max(), floor_db).astype(np.float32)
    return Spectrogram(db, (np.arange(n) * hop) / sr, freqs[keep])


def peak_envelope(x: np.ndarray, sr: int, max_points: int = 200_000) -> tuple[np.ndarray, np.ndarray]:
    """Waveform display data: the samples themselves when there are at most ``max_points``, else the min and
    max of each bin, interleaved (so peaks stay visible) -> (times s [M], values [M]) with M <= ``max_points``."""
    x = np.asarray(x, np.float32).reshape(-1)
    n = x.shape[0]
    if n <= max_points:
        return np.arange(n, dtype=np.float64) / sr, x
    b = -(-2 * n // max_points)  # samples per bin; two points per bin
    m = n // b
    bins = x[: m * b].reshape(m, b)
    y = np.empty(2 * m, np.float32)
    y[0::2], y[1::2] = bins.min(axis=1), bins.max(axis=1)
    t = (np.repeat(np.arange(m, dtype=np.float64) * b, 2) + np.tile([0.25 * b, 0.75 * b], m)) / sr
    return t, y
