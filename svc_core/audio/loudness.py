"""Loudness-envelope match: give the converted audio the input's slow RMS envelope.

Same idea as so-vits-svc 4.1 ``utils.change_rms`` (MIT licence): RMS over 1 s windows every 0.5 s on both signals,
interpolated to every sample; the output is scaled by ``(rms_in / rms_out) ** amount`` (``amount`` 0 = unchanged,
1 = the input's envelope; so-vits-svc's ``loudness_envelope_adjustment`` is ``1 - amount``).
"""

from __future__ import annotations

import numpy as np

from svc_core.audio.slicer import frame_rms

__all__ = ["envelope", "match_envelope"]


def envelope(x: np.ndarray, sr: int, n_out: int, window_s: float = 1.0) -> np.ndarray:
    """RMS envelope of mono ``x`` [N] at ``sr``, windows of ``window_s`` every half window, linearly interpolated
    onto ``n_out`` evenly spaced points spanning the same time -> float64 [n_out]."""
    hop = max(1, int(sr * window_s / 2))
    rms = frame_rms(np.asarray(x, np.float64), hop, 2 * hop)
    t_frames = np.arange(rms.shape[0], dtype=np.float64) * hop / sr
    n = max(1, np.asarray(x).shape[-1])
    t_out = (np.arange(n_out, dtype=np.float64) + 0.5) * (n / sr) / max(1, n_out)
    return np.interp(t_out, t_frames, rms)


def match_envelope(reference: np.ndarray, sr_ref: int, y: np.ndarray, sr_y: int, amount: float = 1.0,
                   window_s: float = 1.0) -> np.ndarray:
    """Scale ``y`` ([N] or [C, N] at ``sr_y``) towards the RMS envelope of mono ``reference`` [M] at ``sr_ref``.

    Both must span the same time. Returns float32 of ``y``'s shape; ``amount`` in [0, 1].
    """
    amount = float(np.clip(amount, 0.0, 1.0))
    y = np.asarray(y, np.float32)
    if amount == 0.0 or y.shape[-1] == 0:
        return y.copy()
    n = y.shape[-1]
    env_ref = envelope(reference, sr_ref, n, window_s)
    mono = y if y.ndim == 1 else y.mean(axis=0)
    env_y = np.maximum(envelope(mono, sr_y, n, window_s), 1e-6)
    gain = (env_ref ** amount) * (env_y ** -amount)
    return (y * gain.astype(np.float32)).astype(np.float32)
