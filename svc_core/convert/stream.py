"""The streaming loop of a conversion: plan, then one segment at a time (with real audio as context each side)
through the :class:`SegmentPipeline`, cut, resampled, loudness-matched and crossfaded into ``emit``.

Only one segment (at most ``max_segment_s`` + context) is ever held as model input, so memory does not grow with
the file's length.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

import numpy as np

from svc_core.audio.loudness import match_envelope
from svc_core.convert.pipeline import SegmentPipeline
from svc_core.convert.plan import Plan, plan_segments
from svc_core.convert.sources import Source
from svc_core.dsp import resample
from svc_core.features import fit_length
from svc_core.jobs import Progress
from svc_core.memory import release_freed_memory

__all__ = ["Crossfader", "stream_segments"]


class Crossfader:
    """Joins overlapping segment outputs with a linear crossfade and forwards finished samples to ``emit``."""

    def __init__(self, emit: Callable[[np.ndarray], None], channels: int) -> None:
        self.emit = emit
        self.tail = np.zeros((channels, 0), np.float32)

    def push(self, y: np.ndarray, keep: int) -> None:
        """y [C, n] starts where the pending tail starts; its last ``keep`` samples overlap the next segment."""
        n_ov = min(self.tail.shape[1], y.shape[1])
        if n_ov:
            ramp = ((np.arange(n_ov, dtype=np.float32) + 0.5) / n_ov)[None]
            y = y.copy()
            y[:, :n_ov] = self.tail[:, :n_ov] * (1.0 - ramp) + y[:, :n_ov] * ramp
        keep = max(0, min(keep, y.shape[1] - n_ov))
        cut = y.shape[1] - keep
        if cut:
            self.emit(y[:, :cut])
        self.tail = np.ascontiguousarray(y[:, cut:])

    def finish(self) -> None:
        """Emit what is left."""
        if self.tail.shape[1]:
            self.emit(self.tail)
            self.tail = self.tail[:, :0]


class _Monotonic:
    """Progress that never goes back."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, frac: float, stage: str) -> Progress:
        self.last = max(self.last, min(1.0, frac))
        return Progress(self.last, stage)


def _channels(block: np.ndarray, n_out_channels: int) -> list[np.ndarray]:
    if n_out_channels == 1:
        return [block.mean(axis=0) if block.shape[0] > 1 else block[0]]
    return [block[ch] for ch in range(block.shape[0])]


def stream_segments(pipe: SegmentPipeline, src: Source, emit: Callable[[np.ndarray], None], n_out_channels: int,
                    output_sr: int) -> Generator[Progress, None, tuple[Plan, float]]:
    """Convert ``src`` into ``emit`` ([C', n] blocks at ``output_sr``), yielding progress -> (plan, semitones)."""
    s = pipe.settings
    sr_in, sr_m, sr_o = src.sr, pipe.sample_rate, int(output_sr)
    at = _Monotonic()
    yield at(0.0, "analysing")
    plan = yield from plan_segments(src, s, at)
    segs, ovs = plan.segments, plan.overlaps
    ctx = int(round(s.context_s * sr_in))

    def opos(x: int) -> int:
        return int(round(x * sr_o / sr_in))

    def model_rate(xc: np.ndarray, c0: int, c1: int) -> np.ndarray:
        return fit_length(resample(xc, sr_in, sr_m), int(round((c1 - c0) * sr_m / sr_in)))

    voiced_idx = [i for i, sg in enumerate(segs) if not sg.silent]
    # F0 first when auto-key needs the whole file's median (F0 tracks are small; audio is not kept).
    f0_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    semitones = float(s.transpose)
    key_pass = s.auto_key and not s.predict_f0
    if key_pass:
        all_f0: list[np.ndarray] = []
        first_x: np.ndarray | None = None
        for j, i in enumerate(voiced_idx):
            w0, w1 = plan.window(i)
            blk = src.read_range(w0 - ctx, w1 + ctx)
            for ch, xc in enumerate(_channels(blk, n_out_channels)):
                xm = model_rate(xc, w0 - ctx, w1 + ctx)
                f0, v = pipe.f0(xm, (w0 - ctx) / sr_in)
                f0_cache[(i, ch)] = (f0, v)
                all_f0.append(f0[v])
                if first_x is None:
                    first_x = xm
            yield at(0.05 + 0.15 * (j + 1) / max(1, len(voiced_idx)), "pitch")
        semitones += pipe.auto_key_shift(np.concatenate(all_f0) if all_f0 else np.zeros(0), first_x)

    total_in = max(1, src.frames)
    base = 0.2 if key_pass else 0.05
    fader = Crossfader(emit, n_out_channels)
    for i, sg in enumerate(segs):
        w0, w1 = plan.window(i)
        c0, c1 = w0 - ctx, w1 + ctx
        blk = src.read_range(c0, c1)
        outs = []
        n_c_out = opos(c1) - opos(c0)
        a_o, b_o = opos(w0) - opos(c0), opos(w1) - opos(c0)
        for ch, xc in enumerate(_channels(blk, n_out_channels)):
            if sg.silent:
                yo = fit_length(resample(xc, sr_in, sr_o), n_c_out)
            else:
                xm = model_rate(xc, c0, c1)
                f0, v = f0_cache.pop((i, ch), None) or pipe.f0(xm, c0 / sr_in)
                ym = pipe.render(xm, f0, v, semitones=semitones)
                release_freed_memory()
                yo = fit_length(resample(ym, sr_m, sr_o), n_c_out)
                if s.match_loudness > 0:
                    yo = match_envelope(xc, sr_in, yo, sr_o, s.match_loudness)
            outs.append(yo[a_o:b_o])
        y = np.stack(outs).astype(np.float32, copy=False)
        keep = (opos(w1) - opos(sg.end - ovs[i])) if i < len(ovs) else 0
        fader.push(y, keep)
        yield at(base + (1.0 - base) * sg.end / total_in * 0.999, "converting")
    fader.finish()
    yield at(1.0, "done")
    return plan, semitones
