"""Stateful streaming resampling for the live engine: a polyphase windowed-sinc FIR (Kaiser, 16 zero crossings each
side of the lowpass at 0.9 of the lower Nyquist) that keeps its input history from block to block, so block joins
are exact continuations, never separately resampled pieces. Output sample k sits exactly at input time
k * sr_in / sr_out (no delay); the price is that it waits for the filter's half length of future input (about
1 ms), which :func:`fifo_prime` turns into a fixed pre-fill. :class:`SampleFifo` turns chunks into blocks."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SampleFifo", "StreamResampler", "fifo_prime"]

_ZERO_CROSSINGS = 16
_CUTOFF = 0.9
_BETA = 8.0
_MAX_TABLE = 4_000_000


class StreamResampler:
    """One mono float32 stream from ``sr_in`` to ``sr_out`` (a copy-free identity when the rates are equal)."""

    def __init__(self, sr_in: int, sr_out: int) -> None:
        self.sr_in, self.sr_out = int(sr_in), int(sr_out)
        g = math.gcd(self.sr_in, self.sr_out)
        self._a, self._b = self.sr_in // g, self.sr_out // g  # output j sits at input position j * a / b
        self.identity = self.sr_in == self.sr_out
        if self.identity:
            return
        r = _CUTOFF * min(1.0, self._b / self._a)  # lowpass cutoff relative to the input Nyquist
        self.half = int(math.ceil(_ZERO_CROSSINGS / r))  # taps each side (input samples)
        taps = 2 * self.half
        if self._b * taps > _MAX_TABLE:
            raise ValueError(f"cannot resample {sr_in} -> {sr_out} Hz (rates too close to co-prime)")
        # table[p, t]: weight of input base + t - half + 1 for output phase p (position base + p / b)
        dist = (np.arange(self._b)[:, None] / self._b) - (np.arange(taps)[None, :] - self.half + 1)
        win = np.i0(_BETA * np.sqrt(np.clip(1.0 - (dist / (self.half + 1)) ** 2, 0.0, 1.0))) / np.i0(_BETA)
        self._table = (r * np.sinc(r * dist) * win).astype(np.float32)
        self._hist = np.zeros(taps + 8192, np.float32)
        self.reset()

    def reset(self) -> None:
        """Start a fresh stream (the signal before it counts as silence)."""
        if self.identity:
            return
        self._n_hist = self.half - 1  # zeros standing for the samples before the stream
        self._hist[: self._n_hist] = 0.0
        self._first = -(self.half - 1)  # absolute input index of _hist[0]
        self._next = 0  # next output index

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Next chunk of the resampled stream (its length varies from call to call by one or so)."""
        if self.identity:
            return x
        x = np.asarray(x, np.float32)
        need = self._n_hist + x.shape[0]
        if need > self._hist.shape[0]:
            grown = np.zeros(max(need, 2 * self._hist.shape[0]), np.float32)
            grown[: self._n_hist] = self._hist[: self._n_hist]
            self._hist = grown
        self._hist[self._n_hist:need] = x
        self._n_hist = need
        last_in = self._first + need - 1  # newest absolute input index
        # output j needs inputs up to floor(j a / b) + half
        j_end = -(-((last_in - self.half + 1) * self._b) // self._a)  # first j that cannot be made yet
        j = np.arange(self._next, max(self._next, j_end), dtype=np.int64)
        if j.size == 0:
            return np.zeros(0, np.float32)
        pos = j * self._a
        base, phase = pos // self._b, pos % self._b
        start = base - self.half + 1 - self._first
        idx = start[:, None] + np.arange(2 * self.half)[None, :]
        y = np.einsum("ij,ij->i", self._hist[idx], self._table[phase])
        self._next = int(j[-1]) + 1
        keep_from = int((self._next * self._a) // self._b) - self.half + 1 - self._first
        keep_from = max(0, min(keep_from, self._n_hist))
        rest = self._n_hist - keep_from
        self._hist[:rest] = self._hist[keep_from:self._n_hist]
        self._n_hist = rest
        self._first += keep_from
        return y.astype(np.float32, copy=False)


class SampleFifo:
    """Preallocated first-in first-out of float32 samples."""

    def __init__(self, capacity: int) -> None:
        self._buf = np.zeros(int(capacity), np.float32)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def push(self, x: np.ndarray) -> None:
        """Append samples (raises OverflowError when they do not fit)."""
        n = x.shape[0]
        if self._n + n > self._buf.shape[0]:
            raise OverflowError(f"sample FIFO of {self._buf.shape[0]} overflows")
        self._buf[self._n:self._n + n] = x
        self._n += n

    def peek(self, n: int) -> np.ndarray:
        """The oldest ``n`` samples (a view)."""
        return self._buf[:n]

    def pop_into(self, out: np.ndarray) -> int:
        """Move up to ``len(out)`` oldest samples into ``out`` (zero-filling the rest) -> samples moved."""
        n = min(out.shape[0], self._n)
        out[:n] = self._buf[:n]
        out[n:] = 0.0
        self.discard(n)
        return n

    def discard(self, n: int) -> None:
        """Drop the oldest ``n`` samples."""
        rest = self._n - n
        if rest > 0:
            self._buf[:rest] = self._buf[n:self._n]
        self._n = max(rest, 0)

    def clear(self) -> None:
        """Empty it."""
        self._n = 0


def fifo_prime(sr_dev: int, sr_model: int, block_dev: int, step_model: int,
               seconds: float = 30.0) -> tuple[int, int]:
    """Zeros to pre-fill (input FIFO at the model rate, output FIFO at the device rate) so that every device
    block gets its model step on time and an output block is always ready, although soxr hands out samples
    late: the deepest shortfalls of a dry run of both resamplers over ``seconds`` of blocks."""
    if sr_dev == sr_model and block_dev == step_model:
        return 0, 0
    rs_in, rs_out = StreamResampler(sr_dev, sr_model), StreamResampler(sr_model, sr_dev)
    zeros_in, zeros_step = np.zeros(block_dev, np.float32), np.zeros(step_model, np.float32)
    got_in = steps = have_out = 0
    pre_in = worst_out = 0
    for c in range(max(64, int(seconds * sr_dev / block_dev))):
        got_in += rs_in(zeros_in).shape[0]
        due = ((c + 1) * block_dev * sr_model) // (sr_dev * step_model)  # steps the ideal schedule has run
        pre_in = max(pre_in, due * step_model - got_in)
        while steps < due:
            steps += 1
            have_out += rs_out(zeros_step).shape[0]
        have_out -= block_dev
        worst_out = min(worst_out, have_out)
    return pre_in, -worst_out
