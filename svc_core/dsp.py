"""Small signal helpers shared by the engine (resampling)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(x: np.ndarray, sr_in: int, sr_out: int, *, quality: str = "HQ") -> np.ndarray:
    """High-quality resampling of float audio along the last axis (soxr); returns float32."""
    x = np.asarray(x, dtype=np.float32)
    if sr_in == sr_out or x.shape[-1] == 0:
        return x.copy() if sr_in == sr_out else np.zeros(x.shape[:-1] + (0,), np.float32)
    if x.ndim == 1:
        return soxr.resample(x, sr_in, sr_out, quality=quality).astype(np.float32, copy=False)
    flat = x.reshape(-1, x.shape[-1])
    out = soxr.resample(np.ascontiguousarray(flat.T), sr_in, sr_out, quality=quality).T
    return np.ascontiguousarray(out.reshape(x.shape[:-1] + (out.shape[-1],)), dtype=np.float32)
