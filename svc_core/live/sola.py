"""SOLA (synchronous overlap-add) at one sample rate: a sliding input window -> ``infer`` -> the offset of the new
output that best continues the previous one -> a crossfade -> one block out. ``infer`` is any callable, so the
DSP is tested without a model (identity infer = passthrough).

Geometry per step of n new samples (model samples; n may vary from step to step, up to ``block``): the window
holds ``context + crossfade + search + block + lookahead`` samples (rounded up to whole frames).
``infer(window, n_out, end)`` returns the newest ``n_out = crossfade + search + n`` output samples, ending
``lookahead`` before the window end ``end`` (absolute input index). The emitted n samples start at the SOLA
offset ``k`` in [0, search]: the first ``crossfade`` of them are crossfaded with the tail kept from the previous
step, and the ``crossfade`` samples after them become the next tail. With identity infer the offset stays at 0
and the output is the input delayed by exactly ``crossfade + search + lookahead``.

After RVC's realtime GUI (MIT; ``tools/rvc_for_realtime.py``, ``gui_v1.py``): normalised cross-correlation over
the search range, sin^2-shaped fades. Our crossfade keeps the power constant for the measured correlation of the
two overlapping parts (amplitude-complementary when they match, sin/cos equal-power when unrelated).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["InferFn", "SolaProcessor", "crossfade_gains", "find_offset"]

#: ``infer(window [W], n_out, end) -> newest n_out samples``; ``end`` is the absolute input index of the window end.
InferFn = Callable[[np.ndarray, int, int], np.ndarray]
_EPS = 1e-9


def find_offset(tail: np.ndarray, new: np.ndarray, search: int) -> int:
    """Offset k in [0, search] where ``new[k:k+len(tail)]`` best matches ``tail`` (normalised cross-correlation);
    0 when either side is silent."""
    n = tail.shape[0]
    if search <= 0 or n == 0:
        return 0
    seg = new[: n + search]
    tail_energy = float(np.dot(tail, tail))
    if tail_energy < _EPS:
        return 0
    num = np.correlate(seg, tail, mode="valid")  # [search + 1]
    sq = np.concatenate(([0.0], np.cumsum(seg.astype(np.float64) ** 2)))
    den = np.sqrt(np.maximum(sq[n:] - sq[:-n], 0.0))[: num.shape[0]]
    if float(den.max()) < _EPS:
        return 0
    ncc = num / np.maximum(den, _EPS)
    return int(np.argmax(ncc))


def crossfade_gains(n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """(fade-in, fade-out) gains [n] keeping the power of a mix of two parts with correlation ``rho`` constant:
    g_in^2 + g_out^2 + 2 rho g_in g_out = 1 (rho clipped to [0, 1]; rho 1 gives g_in + g_out = 1)."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1)
    s, c = np.sin(0.5 * np.pi * t), np.cos(0.5 * np.pi * t)
    r = min(max(float(rho), 0.0), 1.0)
    a = 1.0 / np.sqrt(1.0 + 2.0 * r * s * c)
    return (a * s).astype(np.float32), (a * c).astype(np.float32)


class SolaProcessor:
    """Steps of at most ``block`` (and at least ``crossfade``) new samples: ``step(x_new [n]) -> [n]``; all buffers
    preallocated for the longest step (constant cost per step). :attr:`n_out` is the longest infer request."""

    def __init__(self, infer: InferFn, block: int, crossfade: int, search: int, context: int, lookahead: int = 0,
                 align: int = 1) -> None:
        if block < 1 or crossfade < 0 or search < 0 or context < 0 or lookahead < 0 or align < 1:
            raise ValueError("SOLA sizes must be >= 0 (block >= 1)")
        if crossfade > block:
            raise ValueError(f"crossfade ({crossfade}) must not exceed the block ({block})")
        self.infer = infer
        self.block, self.crossfade, self.search, self.lookahead = block, crossfade, search, lookahead
        self.n_out = crossfade + search + block
        need = self.n_out + lookahead + context
        self.window_len = -(-need // align) * align  # extra samples go to the left context
        self.context = self.window_len - self.n_out - lookahead
        w = self.window_len
        self._buf = np.zeros(2 * w, np.float32)  # every sample stored twice: the window is always contiguous
        self._pos = 0
        self._end = 0  # absolute input samples seen
        self._tail = np.zeros(crossfade, np.float32)
        self._out = np.zeros(block, np.float32)
        self._silent = np.zeros(self.n_out, np.float32)
        self.last_offset = 0
        self.last_rho = 1.0

    @property
    def delay(self) -> int:
        """Input -> output delay in samples at offset 0 (crossfade + search + lookahead)."""
        return self.crossfade + self.search + self.lookahead

    @property
    def window(self) -> np.ndarray:
        """The current input window [window_len] (a view; oldest first)."""
        return self._buf[self._pos:self._pos + self.window_len]

    def _append(self, x: np.ndarray) -> None:
        w, n, p = self.window_len, x.shape[0], self._pos
        first = min(n, w - p)
        self._buf[p:p + first] = x[:first]
        self._buf[p + w:p + w + first] = x[:first]
        if n > first:
            self._buf[: n - first] = x[first:]
            self._buf[w: w + n - first] = x[first:]
        self._pos = (p + n) % w
        self._end += n

    def step(self, x_new: np.ndarray, active: bool = True) -> np.ndarray:
        """Feed n new samples (crossfade <= n <= block); returns the next n output samples (a reused buffer: copy
        to keep). ``active=False`` skips ``infer`` and fades to silence (the gate)."""
        if not self.crossfade <= x_new.shape[0] <= self.block or x_new.shape[0] == 0:
            raise ValueError(f"expected {max(1, self.crossfade)}-{self.block} samples, got {x_new.shape[0]}")
        self._append(x_new)
        n = x_new.shape[0]
        n_out = self.crossfade + self.search + n
        y = (np.asarray(self.infer(self.window, n_out, self._end), np.float32) if active
             else self._silent[:n_out])
        if y.shape[0] != n_out:
            raise ValueError(f"infer returned {y.shape[0]} samples, expected {n_out}")
        c, tail = self.crossfade, self._tail
        k = find_offset(tail, y, self.search) if active else 0
        seg = y[k:k + n + c]
        out = self._out[:n]
        out[:] = seg[:n]
        if c:
            head = seg[:c]
            den = float(np.sqrt(np.dot(head, head) * np.dot(tail, tail)))
            rho = float(np.dot(head, tail)) / den if den > _EPS else 1.0
            g_in, g_out = crossfade_gains(c, rho)
            out[:c] = head * g_in + tail * g_out
            tail[:] = seg[n:n + c]
            self.last_rho = rho
        self.last_offset = k
        return out

    def reset(self) -> None:
        """Forget all input and output (as at construction)."""
        self._buf[:] = 0.0
        self._tail[:] = 0.0
        self._pos = 0
        self._end = 0
        self.last_offset = 0
