"""Manual F0 curves: a 2-column text file (time_s, f0_hz; 0 = unvoiced) read and sampled on a frame grid."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from svc_core.errors import SvcError

__all__ = ["curve_on_grid", "load_f0_curve"]


def load_f0_curve(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a manual F0 curve: 2 columns time_s, f0_hz (0 = unvoiced), tab/comma/space separated, '#' comments,
    an optional header line -> (times [N] ascending, f0 [N])."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise SvcError(f"{p}: cannot read the F0 curve ({e.strerror or e})") from e
    rows: list[tuple[float, float]] = []
    for ln, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").replace(";", " ").split()
        try:
            t, f = float(parts[0]), float(parts[1])
        except (ValueError, IndexError) as e:
            if not rows and ln == next(i for i, r in enumerate(lines, 1) if r.strip()):
                continue  # header line
            raise SvcError(f"{p}: line {ln}: expected two numbers (time_s, f0_hz), got {raw.strip()!r}") from e
        if not (math.isfinite(t) and math.isfinite(f)) or f < 0 or t < 0:
            raise SvcError(f"{p}: line {ln}: time and f0 must be finite and >= 0, got {raw.strip()!r}")
        rows.append((t, f))
    if not rows:
        raise SvcError(f"{p}: the F0 curve holds no (time_s, f0_hz) rows")
    arr = np.asarray(rows, np.float64)
    if np.any(np.diff(arr[:, 0]) <= 0):
        raise SvcError(f"{p}: times must be strictly increasing")
    return arr[:, 0], arr[:, 1]


def curve_on_grid(times: np.ndarray, f0: np.ndarray, t_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Manual curve on frame times: voiced from the nearest row, F0 linear between voiced rows [T]."""
    idx = np.clip(np.searchsorted(times, t_frames), 1, max(1, len(times) - 1))
    left = np.clip(idx - 1, 0, len(times) - 1)
    right = np.clip(idx, 0, len(times) - 1)
    nearest = np.where(np.abs(times[left] - t_frames) <= np.abs(times[right] - t_frames), left, right)
    voiced = (f0[nearest] > 0) & (t_frames <= times[-1] + 0.05) & (t_frames >= times[0] - 0.05)
    vi = np.flatnonzero(f0 > 0)
    if vi.size == 0:
        return np.zeros(len(t_frames), np.float32), np.zeros(len(t_frames), bool)
    vals = np.interp(t_frames, times[vi], f0[vi])
    return np.where(voiced, vals, 0.0).astype(np.float32), voiced
