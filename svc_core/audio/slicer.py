"""Silence slicer: split audio at silences on a frame RMS in dB, keeping exact sample positions.

Port of the behaviour of so-vits-svc 4.1 ``inference/slicer.py`` (itself from openvpi/audio-slicer; both MIT
licence): RMS over ``win = min(min_interval, 4 * hop)`` samples centred every ``hop`` samples (zero padded), a
silence run splits the audio when it is long enough (``min_interval``) and the clip so far is long enough
(``min_length``); at most ``max_sil_kept`` of silence stays attached to the neighbouring voiced slices and the cut
falls on the quietest frame. Differences: the RMS is computed in blocks (streaming, so an hour-long file is never
held whole), the state machine runs once per silence *run* (not per frame), a slice whose loudest frame is below
the threshold is marked silent (so pure silence is never sent to the model), the threshold is relative to the
signal's own level by default (:class:`SliceSettings`), and :func:`split_long` cuts voiced
slices longer than a limit at their quietest frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["FrameRms", "Slice", "SliceSettings", "frame_rms", "slice_audio", "slice_from_rms", "split_long"]


@dataclass(frozen=True)
class SliceSettings:
    """Slicer parameters: the silence threshold and lengths in milliseconds (so-vits-svc inference defaults).

    The threshold is relative to the audio's own level: ``relative_db`` below its loud-frame RMS (the 99th
    percentile of the frames above ``floor_db``), never below ``floor_db``; so a quietly recorded vocal is sliced
    like a loud one. ``threshold_db`` (dBFS), when set, is an absolute threshold instead (so-vits-svc's -40).
    """

    threshold_db: float | None = None
    min_length_ms: float = 5000.0
    min_interval_ms: float = 300.0
    hop_ms: float = 20.0
    max_sil_kept_ms: float = 5000.0
    relative_db: float = -40.0
    floor_db: float = -80.0

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is NaN, infinite or out of range."""
        for name in ("min_length_ms", "min_interval_ms", "hop_ms", "max_sil_kept_ms", "relative_db", "floor_db"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"slice setting {name} must be a finite number, got {getattr(self, name)!r}")
        if self.threshold_db is not None and not (math.isfinite(self.threshold_db) and -200 <= self.threshold_db <= 0):
            raise ValueError(f"silence threshold must be between -200 and 0 dBFS, got {self.threshold_db!r}")
        if not -120.0 <= self.relative_db <= 0.0:
            raise ValueError(f"relative silence threshold must be between -120 and 0 dB, got {self.relative_db!r}")
        if not -200.0 <= self.floor_db <= 0.0:
            raise ValueError(f"silence floor must be between -200 and 0 dBFS, got {self.floor_db!r}")
        if self.min_length_ms < self.min_interval_ms or self.min_interval_ms < self.hop_ms or self.hop_ms <= 0:
            raise ValueError("slice settings must satisfy min_length >= min_interval >= hop > 0")
        if self.max_sil_kept_ms < self.hop_ms:
            raise ValueError("slice setting max_sil_kept must be >= hop")

    def frames(self, sr: int) -> tuple[int, int, int, int, int]:
        """(hop, win, min_length, min_interval, max_sil_kept): hop/win in samples, the rest in hops."""
        self.validate()
        min_interval = sr * self.min_interval_ms / 1000.0
        hop = max(1, round(sr * self.hop_ms / 1000.0))
        win = max(1, min(round(min_interval), 4 * hop))
        return (hop, win, round(sr * self.min_length_ms / 1000.0 / hop), round(min_interval / hop),
                round(sr * self.max_sil_kept_ms / 1000.0 / hop))

    def threshold(self, rms: np.ndarray) -> float:
        """Linear RMS threshold for frame RMS values ``rms`` [N] of one signal (see the class docstring)."""
        if self.threshold_db is not None:
            return float(10.0 ** (self.threshold_db / 20.0))
        floor = 10.0 ** (self.floor_db / 20.0)
        above = np.asarray(rms)[np.asarray(rms) > floor]
        if above.size == 0:
            return float(floor)
        loud = float(np.percentile(above, 99))
        return float(max(floor, loud * 10.0 ** (self.relative_db / 20.0)))


@dataclass(frozen=True)
class Slice:
    """Samples [start, end) of the input; ``silent`` slices are written as silence, the others converted."""

    start: int
    end: int
    silent: bool

    @property
    def length(self) -> int:
        """end - start."""
        return self.end - self.start


class FrameRms:
    """Streaming frame RMS: push mono blocks in order, :meth:`finish` returns RMS [1 + N // hop].

    Frame i is the RMS of samples [i*hop - win//2, i*hop - win//2 + win) with zeros outside the signal
    (librosa.feature.rms with center=True and constant padding).
    """

    def __init__(self, hop: int, win: int) -> None:
        self.hop, self.win = int(hop), int(win)
        self._buf = np.zeros(self.win // 2, np.float64)
        self._buf_start = -(self.win // 2)
        self._next = 0
        self._n = 0
        self._out: list[np.ndarray] = []

    def push(self, x: np.ndarray) -> None:
        """Add the next mono block [n]."""
        x = np.asarray(x, np.float64)
        self._n += x.shape[0]
        self._consume(np.concatenate([self._buf, x * x]))

    def _consume(self, buf: np.ndarray, last: int | None = None) -> None:
        hop, win, half = self.hop, self.win, self.win // 2
        end_abs = self._buf_start + buf.shape[0]
        top = (end_abs - win + half) // hop
        if last is not None:
            top = min(top, last)
        if top >= self._next:
            cs = np.concatenate([[0.0], np.cumsum(buf)])
            i = np.arange(self._next, top + 1)
            a = i * hop - half - self._buf_start
            self._out.append(np.sqrt(np.maximum((cs[a + win] - cs[a]) / win, 0.0)))
            self._next = top + 1
        keep_from = self._next * hop - half - self._buf_start
        keep_from = max(0, min(keep_from, buf.shape[0]))
        self._buf = buf[keep_from:].copy()
        self._buf_start += keep_from

    def finish(self) -> np.ndarray:
        """RMS of every frame [1 + N // hop] (float64)."""
        last = self._n // self.hop
        self._consume(np.concatenate([self._buf, np.zeros(self.win, np.float64)]), last=last)
        return np.concatenate(self._out) if self._out else np.zeros(0)


def frame_rms(x: np.ndarray, hop: int, win: int) -> np.ndarray:
    """RMS frames of a whole mono signal [N] -> [1 + N // hop] (see :class:`FrameRms`)."""
    r = FrameRms(hop, win)
    r.push(x)
    return r.finish()


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the True runs of a bool array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def slice_from_rms(rms: np.ndarray, n_samples: int, sr: int, settings: SliceSettings | None = None) -> list[Slice]:
    """Slices covering [0, n_samples) exactly, from the frame RMS of the (mono) signal."""
    s = settings or SliceSettings()
    hop, _, min_length, min_interval, max_sil = s.frames(sr)
    n = int(n_samples)
    if n <= 0:
        return []
    thr = s.threshold(rms)
    tags: list[tuple[int, int]] = []
    if (n + hop - 1) // hop > min_length:
        quiet = rms < thr
        starts, ends = _runs(quiet)
        total = rms.shape[0]
        clip_start = 0
        for ss, i in zip(starts.tolist(), ends.tolist(), strict=True):
            if i >= total:  # trailing silence, handled below
                if total - ss >= min_interval:
                    stop = min(total, ss + max_sil)
                    pos = int(rms[ss:stop + 1].argmin()) + ss
                    tags.append((pos, total + 1))
                break
            leading = ss == 0 and i > max_sil
            middle = i - ss >= min_interval and i - clip_start >= min_length
            if not leading and not middle:
                continue
            if i - ss <= max_sil:
                pos = int(rms[ss:i + 1].argmin()) + ss
                tags.append((0, pos) if ss == 0 else (pos, pos))
                clip_start = pos
            elif i - ss <= 2 * max_sil:
                pos = int(rms[i - max_sil:ss + max_sil + 1].argmin()) + i - max_sil
                pos_l = int(rms[ss:ss + max_sil + 1].argmin()) + ss
                pos_r = int(rms[i - max_sil:i + 1].argmin()) + i - max_sil
                if ss == 0:
                    tags.append((0, pos_r))
                    clip_start = pos_r
                else:
                    tags.append((min(pos_l, pos), max(pos_r, pos)))
                    clip_start = max(pos_r, pos)
            else:
                pos_l = int(rms[ss:ss + max_sil + 1].argmin()) + ss
                pos_r = int(rms[i - max_sil:i + 1].argmin()) + i - max_sil
                tags.append((0, pos_r) if ss == 0 else (pos_l, pos_r))
                clip_start = pos_r
    bounds: list[tuple[int, int, bool]] = []
    prev = 0
    for a, b in tags:
        sa, sb = min(n, a * hop), min(n, b * hop)
        if sa > prev:
            bounds.append((prev, sa, False))
        if sb > sa:
            bounds.append((sa, sb, True))
        prev = max(prev, sb)
    if prev < n:
        bounds.append((prev, n, False))
    # A "voiced" slice that never rises above the threshold is silence too (pure silence never reaches the model).
    out: list[Slice] = []
    for a, b, silent in bounds:
        if not silent:
            fa, fb = a // hop, min(rms.shape[0], -(-b // hop) + 1)
            silent = fb <= fa or float(rms[fa:fb].max()) < thr
        if out and out[-1].silent and silent:
            out[-1] = Slice(out[-1].start, b, True)
        else:
            out.append(Slice(a, b, silent))
    return out


def split_long(slices: list[Slice], rms: np.ndarray, hop: int, max_len: int) -> list[Slice]:
    """Split every slice longer than ``max_len`` samples; voiced ones at their quietest frame in the second half."""
    max_len = max(2 * hop, int(max_len))
    out: list[Slice] = []
    for sl in slices:
        a = sl.start
        while sl.end - a > max_len:
            if sl.silent:
                cut = a + max_len
            else:
                lo, hi = (a + max_len // 2) // hop + 1, (a + max_len) // hop
                seg = rms[lo:hi + 1]
                cut = (lo + int(seg.argmin())) * hop if seg.size else a + max_len
                cut = min(max(cut, a + hop), a + max_len)
            out.append(Slice(a, cut, sl.silent))
            a = cut
        out.append(Slice(a, sl.end, sl.silent))
    return out


def slice_audio(x: np.ndarray, sr: int, settings: SliceSettings | None = None) -> list[Slice]:
    """Slice a whole mono signal [N] (convenience over :func:`frame_rms` + :func:`slice_from_rms`)."""
    s = settings or SliceSettings()
    hop, win, *_ = s.frames(sr)
    return slice_from_rms(frame_rms(np.asarray(x), hop, win), int(np.asarray(x).shape[-1]), sr, s)
