"""A voice as a live window model: the engine's sliding window -> ``SegmentPipeline`` (content on the window as
the encoder needs, synthesis of only the newest part) with F0 computed only for the new audio plus a short
margin and kept in a rolling cache aligned with the window's frames."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from svc_core.errors import SvcError

__all__ = ["LIVE_DEFAULT_F0", "PipelineLike", "VoiceWindowModel", "load_live_model"]

#: F0 extractor of live sessions when none is chosen: numpy, no weights, a few ms per block on CPU (fcpe: tens of
#: ms for a short block on a loaded 2-core CPU; see benchmarks/live_bench.py).
LIVE_DEFAULT_F0 = "pm"


class PipelineLike(Protocol):
    """What the window model needs from ``svc_core.convert.SegmentPipeline``."""

    sample_rate: int
    hop: int
    settings: Any

    def f0(self, x: np.ndarray, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Raw F0 of model-rate x [n] -> (f0 Hz [T], voiced [T]), T = ceil(n / hop)."""
        ...

    def render(self, x: np.ndarray, f0: np.ndarray | None = None, voiced: np.ndarray | None = None, *,
               semitones: float | None = None, t0: float = 0.0, skip_head: int = 0,
               last: int | None = None, decode_tail: bool = False) -> np.ndarray:
        """Model-rate x [n] -> converted audio [n - skip_head] (or its last ``last`` samples)."""
        ...


class VoiceWindowModel:
    """``infer(window, n_out, end, lookahead)`` for :class:`svc_core.live.engine.LiveEngine` over a pipeline.

    ``rebuild(settings)`` makes a pipeline with changed per-segment settings (speaker, retrieval ratio); it is
    called from the engine's thread between blocks, never during one.
    """

    def __init__(self, pipeline: PipelineLike, f0_margin_ms: float = 80.0, transpose: float = 0.0,
                 rebuild: Any = None, decode_tail: bool = True) -> None:
        self.pipeline = pipeline
        self.decode_tail = decode_tail  # synthesize only the newest part (the voice must take decode_from)
        self.sampling_rate, self.hop_length = int(pipeline.sample_rate), int(pipeline.hop)
        self.transpose = float(transpose)
        self.margin = max(2, int(round(f0_margin_ms * self.sampling_rate / 1000.0 / self.hop_length)))  # frames
        self._rebuild = rebuild
        self._f0 = np.zeros(0, np.float32)
        self._voiced = np.zeros(0, bool)
        self._end_frame: int | None = None  # absolute frame index just after the cached frames
        self.f0_samples = 0  # samples F0 was computed on (all calls): shows it is new audio + margin only

    def set_params(self, **params: Any) -> None:
        """transpose (semitones), speaker, retrieval_ratio: the next window uses them."""
        if "transpose" in params:
            self.transpose = float(params.pop("transpose"))
        if params:
            if self._rebuild is None:
                raise SvcError(f"this live model cannot change {', '.join(sorted(params))} while running")
            self.pipeline = self._rebuild(replace(self.pipeline.settings, **params))

    @property
    def cached_f0(self) -> tuple[np.ndarray, np.ndarray]:
        """The rolling F0 cache (raw Hz, voiced) for the frames of the last window (copies)."""
        return self._f0.copy(), self._voiced.copy()

    def reset(self) -> None:
        """Forget the F0 cache."""
        self._end_frame = None

    def _update_f0(self, window: np.ndarray, end: int) -> None:
        hop = self.hop_length
        n_frames = window.shape[0] // hop
        end_frame = end // hop
        if self._f0.shape[0] != n_frames:
            self._f0 = np.zeros(n_frames, np.float32)
            self._voiced = np.zeros(n_frames, bool)
            self._end_frame = None
        new = n_frames if self._end_frame is None else min(n_frames, max(0, end_frame - self._end_frame))
        if new < n_frames:  # roll: frames older than the window fall out, the newest are recomputed below
            self._f0[: n_frames - new] = self._f0[new:]
            self._voiced[: n_frames - new] = self._voiced[new:]
        # F0 on the new audio plus a margin before it; the first half of the margin only gives context, the rest
        # replaces the cached frames that were at the right edge (no future context) last time.
        seg_frames = min(n_frames, new + self.margin)
        keep = min(seg_frames, new + self.margin // 2)
        seg = window[window.shape[0] - seg_frames * hop:]
        f0, voiced = self.pipeline.f0(seg)
        self.f0_samples += seg.shape[0]
        self._f0[n_frames - keep:] = f0[seg_frames - keep:seg_frames]
        self._voiced[n_frames - keep:] = voiced[seg_frames - keep:seg_frames]
        if self._end_frame is not None and new > seg_frames:  # a gap (gated or dropped blocks): unvoiced
            self._f0[: n_frames - keep] = 0.0
            self._voiced[: n_frames - keep] = False
        self._end_frame = end_frame

    def infer(self, window: np.ndarray, n_out: int, end: int, lookahead: int) -> np.ndarray:
        """The newest ``n_out`` converted samples, ending ``lookahead`` before the window end."""
        if window.shape[0] % self.hop_length:
            raise SvcError(f"live window of {window.shape[0]} samples is not whole frames of {self.hop_length}")
        self._update_f0(window, end)
        skip = window.shape[0] - n_out - lookahead
        y = self.pipeline.render(window, self._f0, self._voiced, semitones=self.transpose, skip_head=skip,
                                 decode_tail=self.decode_tail)
        return y[:n_out]


def load_live_model(voice_path: str | os.PathLike[str], *, speaker: int | str | None = None,
                    transpose: float = 0.0, retrieval_ratio: float = 0.0, f0_method: str | None = None,
                    f0_margin_ms: float = 80.0, device: str | None = None, checkpoint: str | None = None,
                    weights_dir: str | os.PathLike[str] | None = None, encoder_path: str | None = None,
                    index_path: str | None = None) -> VoiceWindowModel:
    """Load a voice folder and its parts (content encoder, F0 extractor, retrieval index) as a live model."""
    from svc_core.convert import ConvertSettings, load_converter
    from svc_core.convert.pipeline import SegmentPipeline

    cs = ConvertSettings(speaker=speaker, transpose=0.0, retrieval_ratio=retrieval_ratio,
                         f0_method=f0_method or LIVE_DEFAULT_F0, device=device)
    conv = load_converter(voice_path, cs, checkpoint=checkpoint, weights_dir=weights_dir, encoder_path=encoder_path,
                          index_path=index_path)
    parts = (conv.voice, conv.encoder, conv.f0_extractor)

    def rebuild(settings: Any) -> SegmentPipeline:
        return SegmentPipeline(*parts, settings=settings, index=conv.index, device=conv.device)

    return VoiceWindowModel(conv.pipeline, f0_margin_ms=f0_margin_ms, transpose=transpose, rebuild=rebuild)
