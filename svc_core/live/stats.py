"""Per-block compute-time statistics in a preallocated ring (constant memory over any session length)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["BlockTimes", "TimeSummary"]


@dataclass(frozen=True)
class TimeSummary:
    """Compute time per block over the last ``window`` blocks, in ms, and as a share of the block duration."""

    blocks: int
    mean_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    block_ms: float

    @property
    def load(self) -> float:
        """Mean compute time / block duration (< 1 keeps up)."""
        return self.mean_ms / self.block_ms if self.block_ms > 0 else 0.0

    @property
    def p99_load(self) -> float:
        """p99 compute time / block duration."""
        return self.p99_ms / self.block_ms if self.block_ms > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        """Plain dict with the loads added."""
        return {**asdict(self), "load": round(self.load, 4), "p99_load": round(self.p99_load, 4)}

    def line(self) -> str:
        """One human line: 'compute mean 12.3 ms, p95 .., p99 .., max .. (load 0.05)'."""
        return (f"compute/block mean {self.mean_ms:.1f} ms, p95 {self.p95_ms:.1f}, p99 {self.p99_ms:.1f}, "
                f"max {self.max_ms:.1f} (load {self.load:.2f} of a {self.block_ms:.0f} ms block)")


class BlockTimes:
    """The last ``window`` block times (seconds) plus a total count."""

    def __init__(self, block_s: float, window: int = 4096) -> None:
        self.block_s = float(block_s)
        self._t = np.zeros(int(window), np.float64)
        self.count = 0

    def add(self, seconds: float) -> None:
        """Record one block's compute time."""
        self._t[self.count % self._t.shape[0]] = seconds
        self.count += 1

    @property
    def last(self) -> float:
        """The latest block's time (seconds; 0 before any)."""
        return float(self._t[(self.count - 1) % self._t.shape[0]]) if self.count else 0.0

    def values(self) -> np.ndarray:
        """The recorded times (seconds), oldest first (at most ``window``)."""
        n = min(self.count, self._t.shape[0])
        return self._t[:n].copy() if self.count <= self._t.shape[0] else np.roll(self._t, -(self.count % n))

    def clear(self) -> None:
        """Forget all times."""
        self.count = 0

    def summary(self, skip_first: int = 0) -> TimeSummary:
        """Statistics over the recorded window (optionally without the first ``skip_first`` blocks of the
        session, e.g. warm-up)."""
        first = max(0, self.count - self._t.shape[0])
        t = self.values()[max(0, skip_first - first):]
        if t.size == 0:
            return TimeSummary(0, 0.0, 0.0, 0.0, 0.0, self.block_s * 1e3)
        ms = t * 1e3
        return TimeSummary(int(t.size), float(ms.mean()), float(np.percentile(ms, 95)),
                           float(np.percentile(ms, 99)), float(ms.max()), self.block_s * 1e3)
