"""Preallocated lock-free rings for one producer thread and one consumer thread (numpy only, no torch).

The PortAudio callback is one side of each ring, so neither side ever blocks or allocates: the producer always
writes (when the ring is full it overwrites the oldest block, which the consumer then counts as dropped), and
the consumer copies out. Indices only grow and each is written by one side; under the GIL a Python int
assignment is atomic, which is all the synchronisation a single-producer / single-consumer ring needs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BlockRing"]


class BlockRing:
    """``slots`` blocks of ``block`` float32 samples, each tagged with a sequence number.

    Producer: :meth:`push`. Consumer: :meth:`pop_into` / :meth:`pop_seq_into`. A block overwritten while the
    consumer copied it is detected (the write index moved past it) and dropped, never returned torn.
    """

    def __init__(self, slots: int, block: int) -> None:
        if slots < 1 or block < 1:
            raise ValueError(f"need slots >= 1 and block >= 1, got {slots}, {block}")
        self.slots, self.block = int(slots), int(block)
        self._data = np.zeros((self.slots, self.block), np.float32)
        self._seq = np.full(self.slots, -1, np.int64)
        self._w = 0  # blocks ever written (producer only)
        self._claim = 0  # blocks whose writing has started (producer only; >= _w)
        self._r = 0  # blocks ever consumed or skipped (consumer only)
        self.dropped = 0  # blocks the consumer never saw (overwritten while full)

    def __len__(self) -> int:
        """Blocks waiting (at most ``slots``)."""
        return min(self._w - self._r, self.slots)

    def push(self, x: np.ndarray, seq: int = -1) -> None:
        """Producer: copy one block in (``x`` shorter than a block is zero-padded); never blocks."""
        i = self._w % self.slots
        self._claim = self._w + 1
        n = min(x.shape[0], self.block)
        self._data[i, :n] = x[:n]
        if n < self.block:
            self._data[i, n:] = 0.0
        self._seq[i] = seq
        self._w += 1

    def _skip_overrun(self) -> None:
        behind = self._w - self._r - self.slots
        if behind > 0:
            self.dropped += behind
            self._r += behind

    def pop_into(self, out: np.ndarray) -> int | None:
        """Consumer: copy the oldest block into ``out`` -> its sequence number, or None when empty."""
        while True:
            self._skip_overrun()
            if self._w == self._r:
                return None
            r = self._r
            i = r % self.slots
            seq = int(self._seq[i])
            out[: self.block] = self._data[i]
            if self._claim - r > self.slots:  # overwritten while copying: drop it, try the next
                continue
            self._r = r + 1
            return seq

    def pop_seq_into(self, out: np.ndarray, wanted: int) -> bool:
        """Consumer: discard blocks older than ``wanted``; copy block ``wanted`` into ``out`` if it is the oldest
        left -> True, else False (it is not ready; newer blocks stay queued)."""
        while True:
            self._skip_overrun()
            if self._w == self._r:
                return False
            r = self._r
            i = r % self.slots
            seq = int(self._seq[i])
            if seq > wanted:
                return False
            if seq < wanted:
                self._r = r + 1
                self.dropped += 1
                continue
            out[: self.block] = self._data[i]
            if self._claim - r > self.slots:
                continue
            self._r = r + 1
            return True
