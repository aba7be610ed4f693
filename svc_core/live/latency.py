"""Latency: the algorithmic part computed from the engine's sizes, and the measured round trip of a device (a
click train played on the output and found again in the input over a loopback, by matched filtering).
numpy only; the stream itself is :mod:`svc_core.live.stream`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["AlgorithmicLatency", "RoundTrip", "click_train", "find_delay", "find_delays"]


@dataclass(frozen=True)
class AlgorithmicLatency:
    """Delay added by the engine itself (ms): the block being captured, the SOLA crossfade and search, the
    lookahead, and the resampler buffering. A live stream adds the device buffers and one block of hand-off to
    the inference thread; ``--simulate`` output is delayed by exactly :attr:`total_ms`."""

    block_ms: float
    crossfade_ms: float
    search_ms: float
    lookahead_ms: float
    resampler_ms: float

    @property
    def total_ms(self) -> float:
        """Sum of the parts."""
        return self.block_ms + self.crossfade_ms + self.search_ms + self.lookahead_ms + self.resampler_ms

    def samples(self, sr: int) -> float:
        """Total at ``sr`` in (fractional) samples."""
        return self.total_ms * sr / 1000.0

    def to_dict(self) -> dict[str, float]:
        """Parts and total, rounded to 0.01 ms."""
        d = {k: round(v, 2) for k, v in asdict(self).items()}
        d["total_ms"] = round(self.total_ms, 2)
        return d

    def line(self) -> str:
        """'algorithmic latency 312.0 ms = block 250.0 + crossfade 50.0 + search 10.0 + ...'."""
        parts = f"block {self.block_ms:.1f} + crossfade {self.crossfade_ms:.1f} + search {self.search_ms:.1f}"
        if self.lookahead_ms:
            parts += f" + lookahead {self.lookahead_ms:.1f}"
        if self.resampler_ms:
            parts += f" + resampler {self.resampler_ms:.1f}"
        return f"algorithmic latency {self.total_ms:.1f} ms = {parts}"


@dataclass(frozen=True)
class RoundTrip:
    """A measured device round trip: output -> loopback -> input."""

    ms: float | None  # median over the clicks found (None: no loopback signal)
    per_click_ms: tuple[float | None, ...]
    peak: float  # median normalised correlation of the clicks (1 = exact copy)
    reported_ms: float | None = None  # PortAudio's reported input + output latency

    def to_dict(self) -> dict[str, object]:
        """Plain dict."""
        return {"ms": None if self.ms is None else round(self.ms, 2),
                "per_click_ms": [None if v is None else round(v, 2) for v in self.per_click_ms],
                "peak": round(self.peak, 4), "reported_ms": None if self.reported_ms is None else
                round(self.reported_ms, 2)}


def _chirp(sr: int, f0: float, f1: float, seconds: float = 0.03, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    f1 = min(f1, 0.45 * sr)
    phase = 2 * np.pi * (f0 * t + (f1 - f0) / (2 * t[-1]) * t ** 2)
    return (amp * np.hanning(t.size) * np.sin(phase)).astype(np.float32)


_BANDS = ((500.0, 6000.0), (7000.0, 800.0), (1200.0, 9000.0), (4000.0, 300.0), (2000.0, 7500.0), (9000.0, 2500.0))


def click_train(sr: int, seconds: float, every: float = 0.4, start: float = 0.2) -> tuple[np.ndarray, list[int]]:
    """A test signal of short band-limited clicks (30 ms Hann chirps, six different sweeps in turn so that a
    click is not mistaken for its neighbour) -> (signal [n], onset samples)."""
    n = int(seconds * sr)
    x = np.zeros(n, np.float32)
    onsets = []
    for i, s in enumerate(np.arange(start, seconds - 0.05, every)):
        o = int(round(s * sr))
        click = _chirp(sr, *_BANDS[i % len(_BANDS)])
        if o + click.size > n:
            break
        x[o:o + click.size] = click
        onsets.append(o)
    return x, onsets


def find_delay(ref: np.ndarray, rec: np.ndarray, max_delay: int) -> tuple[int, float]:
    """Lag in [0, max_delay] where ``rec`` best matches ``ref`` (FFT cross-correlation) -> (lag, normalised peak)."""
    m = ref.shape[0]
    seg = rec[: m + max_delay]
    if seg.shape[0] < m:
        return 0, 0.0
    nfft = 1 << int(np.ceil(np.log2(seg.shape[0] + m)))
    xc = np.fft.irfft(np.fft.rfft(seg, nfft) * np.conj(np.fft.rfft(ref, nfft)), nfft)[: seg.shape[0] - m + 1]
    k = int(np.argmax(xc))
    den = float(np.linalg.norm(ref) * np.linalg.norm(seg[k:k + m])) + 1e-12
    return k, float(xc[k] / den)


def find_delays(played: np.ndarray, recorded: np.ndarray, onsets: list[int], click_len: int, sr: int,
                max_delay_s: float = 1.5, min_peak: float = 0.6) -> RoundTrip:
    """Round trip per click of ``played`` found in ``recorded`` (same time base) -> :class:`RoundTrip`."""
    per: list[float | None] = []
    peaks: list[float] = []
    md = int(max_delay_s * sr)
    for o in onsets:
        ref = played[o:o + click_len]
        if o + click_len > recorded.shape[0]:
            break
        k, peak = find_delay(ref, recorded[o:], md)
        peaks.append(peak)
        per.append(1e3 * k / sr if peak >= min_peak else None)
    found = [v for v in per if v is not None]
    ms = float(np.median(found[-3:])) if len(found) >= max(1, (len(per) + 1) // 2) else None
    return RoundTrip(ms, tuple(per), float(np.median(peaks)) if peaks else 0.0)
