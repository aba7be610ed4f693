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
        self.half = 0  # taps each side (input samples): the future input each output sample waits for
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
        j0, n = self._next, j_end - self._next
        if n <= 0:
            return np.zeros(0, np.float32)
        a, b, taps = self._a, self._b, 2 * self.half
        win = np.lib.stride_tricks.sliding_window_view(self._hist[: self._n_hist], taps)  # rows: input windows
        y = np.empty(n, np.float32)
        for q in range(min(b, n)):  # outputs q, q + b, ... share one phase; their windows are a samples apart
            pos = (j0 + q) * a
            start = pos // b - self.half + 1 - self._first
            count = (n - 1 - q) // b + 1
            y[q::b] = win[start:start + (count - 1) * a + 1:a] @ self._table[pos % b]
        self._next = j0 + n
        keep_from = int((self._next * self._a) // self._b) - self.half + 1 - self._first
        keep_from = max(0, min(keep_from, self._n_hist))
        rest = self._n_hist - keep_from
        self._hist[:rest] = self._hist[keep_from:self._n_hist]
        self._n_hist = rest
        self._first += keep_from
        return y


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


def fifo_prime(sr_dev: int, sr_model: int, block_dev: int, hop: int) -> int:
    """Zeros to pre-fill the output FIFO so that a device block is always ready: the engine steps in whole model
    frames (up to one frame of input waits for the next block) and each resampler waits for its filter's half
    length of future input. Bound: in_half + (hop + out_half) * sr_dev / sr_model + 2 device samples; 0 when the
    rates are equal and a block is whole frames."""
    if sr_dev == sr_model and block_dev % hop == 0:
        return 0
    in_half = StreamResampler(sr_dev, sr_model).half
    out_half = StreamResampler(sr_model, sr_dev).half
    return in_half + int(math.ceil((hop + out_half) * sr_dev / sr_model)) + 2
