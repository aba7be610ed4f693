"""Self-calibration: time the live engine on this machine and compute device for candidate block / context
settings and pick the lowest-latency one whose p99 compute time per block leaves a safety margin."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svc_core.live.engine import LiveEngine, LiveModel
from svc_core.live.settings import LiveSettings

__all__ = ["BLOCKS_MS", "CONTEXTS_MS", "Calibration", "Trial", "calibrate", "crossfade_for", "calibration_signal"]

BLOCKS_MS: tuple[float, ...] = (20, 30, 40, 60, 80, 100, 150, 200, 250, 350, 500)
CONTEXTS_MS: tuple[float, ...] = (2500, 1000, 500)  # most context first: better content, costlier
SAFETY = 0.7  # p99 compute time must stay under this share of the block


def crossfade_for(block_ms: float) -> float:
    """Crossfade for a block: a quarter of it, 10-50 ms (never longer than the block)."""
    return float(min(block_ms, max(10.0, min(50.0, block_ms / 4.0))))


def calibration_signal(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Sung-like calibration input: harmonic notes (150-450 Hz) with vibrato and short breaths [n] float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    note = np.repeat(rng.uniform(150, 450, int(seconds * 2) + 1), sr // 2)[:n]
    f = note * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    ph = 2 * np.pi * np.cumsum(f) / sr
    x = sum(a * np.sin(k * ph) for k, a in ((1, 0.5), (2, 0.25), (3, 0.12), (4, 0.06)))
    gate = (np.sin(2 * np.pi * 0.5 * t) > -0.9).astype(np.float64)
    return (0.6 * x * gate + 0.003 * rng.standard_normal(n)).astype(np.float32)


@dataclass
class Trial:
    """One candidate's measurement."""

    block_ms: float
    context_ms: float
    crossfade_ms: float
    latency_ms: float
    blocks: int
    p99_ms: float
    mean_ms: float
    block_real_ms: float
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        """Rounded plain dict."""
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class Calibration:
    """The chosen settings, why, and every trial."""

    choice: LiveSettings | None
    reason: str
    trials: list[Trial] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """JSON-able summary (saved with the choice)."""
        return {"reason": self.reason, "safety": SAFETY, "trials": [t.to_dict() for t in self.trials]}


def _time_candidate(settings: LiveSettings, device_sr: int, model: LiveModel, x: np.ndarray, warmup: int,
                    min_blocks: int, budget_ms: float) -> tuple[LiveEngine, np.ndarray]:
    eng = LiveEngine(settings, device_sr, model)
    b = eng.block_size
    n_blocks = max(min_blocks + warmup, x.shape[0] // b)
    over = 0
    times = []
    for i in range(n_blocks):
        j = (i * b) % max(1, x.shape[0] - b)
        eng.process(x[j:j + b])
        if i >= warmup:
            ms = eng.times.last * 1e3
            times.append(ms)
            over += ms > budget_ms
            if over >= 3:  # clearly too slow: stop early
                break
    return eng, np.asarray(times)


def calibrate(base: LiveSettings, device_sr: int, model_factory: Callable[[], LiveModel], *,
              blocks_ms: Sequence[float] = BLOCKS_MS, contexts_ms: Sequence[float] = CONTEXTS_MS,
              seconds: float = 4.0, min_blocks: int = 12, warmup: int = 2,
              log: Callable[[str], None] | None = None) -> Calibration:
    """Try blocks from the shortest up; for each, the contexts from the longest down; the first candidate whose
    p99 compute time <= SAFETY x block wins (lowest latency, then most context)."""
    x = calibration_signal(device_sr, seconds)
    model = model_factory()
    trials: list[Trial] = []
    for block in sorted(blocks_ms):
        for ctx in sorted(contexts_ms, reverse=True):
            s = base.with_changes(block_ms=float(block), context_ms=float(ctx), crossfade_ms=crossfade_for(block))
            if hasattr(model, "reset"):
                model.reset()
            eng, t = _time_candidate(s, device_sr, model, x, warmup, min_blocks, SAFETY * float(block))
            real_ms = 1e3 * eng.block_size / device_sr
            p99 = float(np.percentile(t, 99)) if t.size else float("inf")
            ok = t.size >= min_blocks and p99 <= SAFETY * real_ms
            trial = Trial(float(block), float(ctx), s.crossfade_ms, eng.latency.total_ms, int(t.size), p99,
                          float(t.mean()) if t.size else float("inf"), real_ms, ok)
            trials.append(trial)
            if log is not None:
                log(f"  block {block:5.0f} ms, context {ctx:5.0f} ms: p99 {p99:7.1f} ms of {real_ms:.1f} ms "
                    f"({'ok' if ok else 'too slow'})")
            if ok:
                reason = (f"block {block:.0f} ms is the shortest block whose p99 compute time ({p99:.1f} ms) stays "
                          f"under {SAFETY:.0%} of the block ({real_ms:.1f} ms), with the longest context that fits "
                          f"({ctx:.0f} ms); algorithmic latency {eng.latency.total_ms:.1f} ms")
                return Calibration(s, reason, trials)
    return Calibration(None, f"no candidate kept p99 compute time under {SAFETY:.0%} of its block on this machine "
                             "(try a GPU, a smaller voice, or a faster F0 method)", trials)
