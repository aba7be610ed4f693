"""Where a conversion reads from: in-memory samples or an open file, one interface (blocks for the analysis pass,
ranges with zero padding for each segment and its context)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from svc_core.audio.read import AudioReader

__all__ = ["ArraySource", "FileSource", "Source"]


class ArraySource:
    """In-memory samples [C, N] with the file reader's interface."""

    def __init__(self, samples: np.ndarray, sr: int) -> None:
        self.samples, self.sr = samples, int(sr)
        self.channels, self.frames = samples.shape
        self.path: Path | None = None

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        """(start, [C, n]) blocks of at most ``size`` frames in order."""
        for a in range(0, self.frames, size):
            yield a, self.samples[:, a:a + size]

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) -> [C, stop-start], zeros outside the samples."""
        out = np.zeros((self.channels, max(0, stop - start)), np.float32)
        a, b = max(0, start), min(stop, self.frames)
        if b > a:
            out[:, a - start:b - start] = self.samples[:, a:b]
        return out


class FileSource:
    """Block reader over an AudioReader."""

    def __init__(self, reader: AudioReader) -> None:
        self.reader = reader
        self.sr, self.channels, self.frames = reader.info.sr, reader.info.channels, reader.info.frames
        self.path: Path | None = reader.path

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        """(start, [C, n]) blocks of at most ``size`` frames from the start of the file."""
        self.reader.seek(0)
        a = 0
        while a < self.frames:
            blk = self.reader.read(min(size, self.frames - a))
            if blk.shape[1] == 0:
                break
            yield a, blk
            a += blk.shape[1]

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) -> [C, stop-start], zeros outside the file."""
        return self.reader.read_range(start, stop)


Source = ArraySource | FileSource
