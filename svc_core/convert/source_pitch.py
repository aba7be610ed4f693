"""Source pitch of a whole file on a voice's frame grid, as a converter's F0 extractor and post-processing give
it: what the pitch editor shows and edits, on the grid ``--f0-curve`` files are read on."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from svc_core.convert.converter import Converter
from svc_core.jobs import CancelToken
from svc_core.pitch_edit import F0Curve

__all__ = ["analyse_pitch"]


def analyse_pitch(path: str | os.PathLike[str], converter: Converter, *, chunk_s: float = 60.0,
                  cancel: CancelToken | None = None,
                  progress: Callable[[float], None] | None = None) -> F0Curve:
    """Source F0 of a file (mono mix) on the voice's frame grid, as the converter's extractor and post-processing
    give it: frame k is centred at (k * hop + hop / 2) / sr, the grid ``--f0-curve`` files are read on."""
    from svc_core.audio import read_audio
    from svc_core.dsp import resample
    from svc_core.f0.post import postprocess

    s = converter.settings
    sr, hop = int(converter.voice.sampling_rate), int(converter.voice.hop_length)
    data = read_audio(path)
    x = resample(data.mono(), int(data.sr), sr) if int(data.sr) != sr else data.mono()
    n_frames = -(-x.shape[0] // hop)
    step = max(1, int(chunk_s * sr) // hop)  # frames per chunk
    ctx = max(1, int(round(0.5 * sr / hop)))  # context frames each side
    f0 = np.zeros(n_frames, np.float32)
    voiced = np.zeros(n_frames, bool)
    for a in range(0, n_frames, step):
        if cancel is not None:
            cancel.check()
        b = min(n_frames, a + step)
        a0, b0 = max(0, a - ctx), min(n_frames, b + ctx)
        seg = x[a0 * hop:b0 * hop]
        seg = np.pad(seg, (0, (b0 - a0) * hop - seg.shape[0]))
        fc, vc = converter.f0_extractor.extract(seg, sr, hop, s.f0_min, s.f0_max)
        fc = np.asarray(fc, np.float32)[: b0 - a0]
        vc = np.asarray(vc, bool)[: b0 - a0]
        f0[a:b], voiced[a:b] = fc[a - a0:b - a0], vc[a - a0:b - a0]
        if progress is not None:
            progress(b / n_frames)
    voiced &= np.isfinite(f0) & (f0 > 0)  # an extractor's stray value is no pitch
    f0 = np.where(voiced, f0, 0.0).astype(np.float32)
    if s.f0_postprocess:
        f0 = postprocess(f0, voiced)
    times = (np.arange(n_frames) * hop + hop / 2.0) / sr
    return F0Curve(times, np.where(voiced, f0, 0.0))
