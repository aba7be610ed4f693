"""Offline conversion of a file or an array with a voice: the :class:`Converter` and :func:`load_converter`.

Data flow per file (see shared DESIGN.md): read in blocks -> frame RMS -> silence slices (exact sample positions;
silent slices pass through untouched) -> voiced slices longer than ``max_segment_s`` split at their quietest frame
(:mod:`~svc_core.convert.plan`) -> per segment: read it with ``context_s`` of real audio each side, resample to the
voice's rate, the :class:`~svc_core.convert.pipeline.SegmentPipeline` (F0, content, optional retrieval,
``synthesize``) -> cut the context, resample to the output rate, optional loudness-envelope match -> linear
crossfade with the previous segment over ``crossfade_ms`` (:mod:`~svc_core.convert.stream`) -> appended to a temp
file renamed into place at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from svc_core.audio.read import AudioReader
from svc_core.audio.write import AudioWriter
from svc_core.convert.pipeline import SegmentPipeline
from svc_core.convert.protocols import ContentEncoderLike, F0ExtractorLike, VoiceLike
from svc_core.convert.settings import ConvertResult, ConvertSettings
from svc_core.convert.sources import ArraySource, FileSource
from svc_core.convert.stream import stream_segments
from svc_core.errors import AudioError, SvcError
from svc_core.jobs import CancelToken, Progress, ProgressCallback, drive, warn

if TYPE_CHECKING:
    import torch

    from svc_core.retrieval import RetrievalIndex

__all__ = ["Converter", "load_converter"]


class Converter:
    """Converts audio with a voice; the voice, content encoder, F0 extractor and index are injected.

    ``device`` defaults to the voice's. Each conversion exists twice: as a job (``*_job``: a generator yielding
    :class:`~svc_core.jobs.Progress` and returning the result, for the GUI's worker) and as a plain call taking
    ``progress`` / ``cancel`` (run through :func:`svc_core.jobs.drive`).
    """

    def __init__(self, voice: VoiceLike, encoder: ContentEncoderLike, f0_extractor: F0ExtractorLike,
                 settings: ConvertSettings | None = None, index: RetrievalIndex | None = None,
                 device: str | torch.device | None = None) -> None:
        self.voice, self.encoder, self.f0_extractor = voice, encoder, f0_extractor
        self.settings = settings or ConvertSettings()
        self.settings.validate()
        self.index = index
        self.pipeline = SegmentPipeline(voice, encoder, f0_extractor, self.settings, index=index, device=device)
        self.device = self.pipeline.device

    @property
    def output_sr(self) -> int:
        """Sample rate of the output."""
        return int(self.settings.output_sr or self.voice.sampling_rate)

    def convert_array_job(self, samples: np.ndarray, sr: int) -> Generator[Progress, None, np.ndarray]:
        """Job form of :meth:`convert_array`."""
        x = np.asarray(samples, np.float32)
        one_d = x.ndim == 1
        if one_d:
            x = x[None]
        if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] == 0:
            raise AudioError(f"input audio: no samples (shape {np.asarray(samples).shape})")
        if not 8000 <= int(sr) <= 192000:
            raise AudioError(f"input audio: sample rate {sr} Hz is outside 8000-192000 Hz")
        n_ch = x.shape[0] if self.settings.per_channel else 1
        parts: list[np.ndarray] = []
        yield from stream_segments(self.pipeline, ArraySource(x, int(sr)), parts.append, n_ch, self.output_sr)
        y = np.concatenate(parts, axis=1) if parts else np.zeros((n_ch, 0), np.float32)
        return y[0] if (one_d and n_ch == 1) else y

    def convert_array(self, samples: np.ndarray, sr: int, progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> np.ndarray:
        """Convert in-memory audio [N] or [C, N] at ``sr`` -> output at :attr:`output_sr` ([N'] for [N] input,
        [C', N'] otherwise; C' = C with per_channel, else 1). N' = round(N * output_sr / sr)."""
        return drive(self.convert_array_job(samples, sr), cancel, progress)

    def convert_file_job(self, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                         format: str | None = None, subtype: str | None = None,
                         overwrite: bool = True) -> Generator[Progress, None, ConvertResult]:
        """Job form of :meth:`convert_file` (closing the generator early leaves no output). Warnings go to
        ``ConvertResult.warnings`` and through :func:`svc_core.jobs.warn`."""
        t_start = time.perf_counter()
        in_path, out_path = Path(in_path), Path(out_path)
        with AudioReader(in_path) as reader:
            src = FileSource(reader)
            n_ch = src.channels if self.settings.per_channel else 1
            with AudioWriter(out_path, self.output_sr, n_ch, format=format, subtype=subtype, protect=[in_path],
                             overwrite=overwrite) as writer:
                plan, semis = yield from stream_segments(self.pipeline, src, writer.write, n_ch, self.output_sr)
                frames = writer.frames_written
                writer.commit()
        warnings = []
        if plan.clipped:
            warnings.append(f"{in_path}: input is clipped ({plan.clipped} samples at full scale, peak "
                            f"{plan.peak:.3f}); the conversion keeps the distortion")
        for w in warnings:
            warn(w)
        return ConvertResult(in_path, out_path, src.frames / src.sr, self.output_sr, frames, n_ch,
                             time.perf_counter() - t_start, semis, len(plan.segments), warnings)

    def convert_file(self, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                     format: str | None = None, subtype: str | None = None, overwrite: bool = True,
                     progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> ConvertResult:
        """Convert a file, streaming: blocks in, one segment at a time through the model, output appended to a
        temp file renamed to ``out_path`` at the end (nothing is left on error or cancel)."""
        job = self.convert_file_job(in_path, out_path, format=format, subtype=subtype, overwrite=overwrite)
        return drive(job, cancel, progress)


def load_converter(voice_path: str | os.PathLike[str], settings: ConvertSettings | None = None, *,
                   checkpoint: str | os.PathLike[str] | None = None, weights_dir: str | os.PathLike[str] | None = None,
                   encoder_path: str | os.PathLike[str] | None = None,
                   index_path: str | os.PathLike[str] | None = None) -> Converter:
    """Load a voice folder and the components it needs (content encoder, F0 extractor, retrieval index)."""
    from svc_core.content import load_content_encoder
    from svc_core.device import pick_device
    from svc_core.f0 import DEFAULT_EXTRACTOR, get_extractor
    from svc_core.retrieval import find_index, load_index
    from svc_core.voices import load_voice

    settings = settings or ConvertSettings()
    settings.validate()
    index_file: Path | None = None
    if settings.retrieval_ratio > 0:  # before loading any model: fail fast
        folder = Path(voice_path) if Path(voice_path).is_dir() else Path(voice_path).parent
        index_file = Path(index_path) if index_path else find_index(folder)
        if index_file is None:
            raise SvcError(f"{folder}: retrieval ratio {settings.retrieval_ratio} needs a retrieval index "
                           "(index.json or feature_and_index.pkl) in the voice folder, or pass one")
    index = load_index(index_file) if index_file is not None else None
    device = pick_device(settings.device)
    voice = load_voice(voice_path, checkpoint=checkpoint, device=device)
    encoder = load_content_encoder(voice.speech_encoder, explicit=encoder_path, voice_dir=voice.folder,
                                   weights_dir=weights_dir, device=device)
    extractor = get_extractor(settings.f0_method or DEFAULT_EXTRACTOR, device=device, weights_dir=weights_dir,
                              voice_dir=voice.folder)
    return Converter(voice, encoder, extractor, replace(settings), index=index, device=device)
