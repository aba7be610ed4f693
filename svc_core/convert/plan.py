"""The analysis pass of a conversion: read the input once in blocks, check its samples, find silences and split
voiced stretches into model-sized segments with crossfade overlaps (exact sample positions)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from svc_core.audio.slicer import FrameRms, Slice, slice_from_rms, split_long
from svc_core.convert.settings import ConvertSettings
from svc_core.convert.sources import Source
from svc_core.errors import AudioError
from svc_core.jobs import Progress

__all__ = ["CLIP_LEVEL", "Plan", "plan_segments"]

CLIP_LEVEL = 0.999


@dataclass
class Plan:
    """Segments of the input (silent ones pass through), the crossfade overlaps and what the scan found."""

    segments: list[Slice]
    overlaps: list[int]  # overlap (input samples, each side) at the boundary after segment i
    clipped: int  # samples at full scale
    peak: float

    def window(self, i: int) -> tuple[int, int]:
        """Input range of segment i including its crossfade overlaps."""
        segs, ovs = self.segments, self.overlaps
        return segs[i].start - (ovs[i - 1] if i > 0 else 0), segs[i].end + (ovs[i] if i < len(ovs) else 0)


def plan_segments(src: Source, s: ConvertSettings,
                  at: Callable[[float, str], Progress]) -> Generator[Progress, None, Plan]:
    """Scan ``src`` block by block (yielding progress from 0 to 0.05) -> the :class:`Plan`; AudioError on NaN/inf."""
    hop, win, *_ = s.slicing.frames(src.sr)
    rms = FrameRms(hop, win)
    clipped, peak = 0, 0.0
    block = max(hop, int(s.block_s * src.sr))
    for a, blk in src.blocks(block):
        bad = ~np.isfinite(blk)
        if bad.any():
            cols = np.flatnonzero(bad.any(axis=0))
            where = str(src.path) if src.path else "input audio"
            raise AudioError(f"{where}: {int(bad.sum())} invalid samples (NaN or infinity), the first at sample "
                             f"{a + int(cols[0])} ({(a + int(cols[0])) / src.sr:.3f} s); repair or re-export it")
        mono = blk.mean(axis=0) if blk.shape[0] > 1 else blk[0]
        rms.push(mono)
        ab = np.abs(blk)
        clipped += int(np.count_nonzero(ab >= CLIP_LEVEL))
        peak = max(peak, float(ab.max()) if ab.size else 0.0)
        yield at(0.05 * (a + blk.shape[1]) / src.frames, "analysing")
    frames_rms = rms.finish()
    slices = slice_from_rms(frames_rms, src.frames, src.sr, s.slicing)
    segs = split_long(slices, frames_rms, hop, int(s.max_segment_s * src.sr))
    ov = int(round(s.crossfade_ms / 2000.0 * src.sr))
    overlaps = [min(ov, segs[i].length // 2, segs[i + 1].length // 2) for i in range(len(segs) - 1)]
    return Plan(segs, overlaps, clipped, peak)
