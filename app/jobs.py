"""Job functions the pages queue on the engine thread. Each is a thin call into svc_core; the loaded voice,
encoder and extractor stay in one :class:`~svc_core.convert.session.ConvertSession` in the engine's resources."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.engine import JobContext
from svc_core.audio.preview import Spectrogram, peak_envelope, spectrogram_db
from svc_core.convert import ConvertResult, ConvertSettings
from svc_core.errors import Cancelled, SvcError
from svc_core.jobs import Progress
from svc_core.pitch_edit import F0Curve, save_f0_curve

__all__ = ["BatchResult", "ConvertRequest", "FileStatus", "Preview", "convert_job", "device_job", "preview_job"]


@dataclass
class ConvertRequest:
    """What the Convert page asks for: a voice, settings and (input, output) pairs."""

    voice: Path
    settings: ConvertSettings
    items: list[tuple[Path, Path]]
    format: str | None = None
    subtype: str | None = None
    weights_dir: str | None = None
    curve: F0Curve | None = None  # an edited target curve (transpose already in it)


@dataclass
class FileStatus:
    """One file of a batch finished (``result``) or failed (``error``)."""

    index: int
    result: ConvertResult | None = None
    error: str | None = None


@dataclass
class BatchResult:
    """Every file's outcome and the semitones the converter applied."""

    results: list[ConvertResult | None] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Files that failed."""
        return sum(e is not None for e in self.errors)


@dataclass
class Preview:
    """What the results view draws for one converted file."""

    input_path: Path
    output_path: Path
    input_audio: np.ndarray
    input_sr: int
    output_audio: np.ndarray
    output_sr: int
    input_spec: Spectrogram
    output_spec: Spectrogram
    input_envelope: tuple[np.ndarray, np.ndarray]  # peak_envelope (times, values)
    output_envelope: tuple[np.ndarray, np.ndarray]
    source_f0: F0Curve | None
    semitones: float


def session(ctx: JobContext, weights_dir: str | None) -> Any:
    """The engine thread's ConvertSession (created on first use; its weights folder follows the settings)."""
    from svc_core.convert.session import ConvertSession

    s = ctx.resources.get("convert")
    if s is None:
        s = ctx.resources["convert"] = ConvertSession(weights_dir)
    s.weights_dir = weights_dir
    return s


def _curve_file(ctx: JobContext, curve: F0Curve) -> Path:
    d = ctx.resources.get("curve_dir")
    if d is None:
        d = ctx.resources["curve_dir"] = Path(tempfile.mkdtemp(prefix="svc-studio-curves-"))
    return save_f0_curve(Path(d) / "edited.f0.tsv", curve)


def convert_job(req: ConvertRequest) -> Callable[[JobContext], BatchResult]:
    """A job converting every (input, output) of ``req``; per-file outcomes arrive as FileStatus events."""

    def run(ctx: JobContext) -> BatchResult:
        ctx.progress(0.0, "loading the voice")
        settings = req.settings
        if req.curve is not None:
            settings = replace(settings, f0_curve_path=_curve_file(ctx, req.curve), transpose=0.0, auto_key=False)
        conv = session(ctx, req.weights_dir).converter(req.voice, settings)
        n = len(req.items)
        out = BatchResult()
        for i, (src, dst) in enumerate(req.items):
            def prog(p: Progress, i: int = i, name: str = src.name) -> None:
                ctx.progress((i + p.fraction) / n, f"{name}: {p.stage}" if n > 1 else p.stage)

            try:
                dst.parent.mkdir(parents=True, exist_ok=True)
                r = conv.convert_file(src, dst, format=req.format, subtype=req.subtype, progress=prog,
                                      cancel=ctx.cancel)
            except Cancelled:
                raise
            except (SvcError, OSError) as e:
                if n == 1:
                    raise
                out.results.append(None)
                out.errors.append(str(e))
                ctx.event(FileStatus(i, error=str(e)))
                ctx.log(f"{src}: {e}")
                continue
            out.results.append(r)
            out.errors.append(None)
            ctx.event(FileStatus(i, result=r))
            ctx.log(f"{src.name} -> {dst} ({r.output_frames} samples at {r.output_sr} Hz, {r.seconds:.1f} s, "
                    f"RTF {r.rtf:.2f})")
            for w in r.warnings:
                ctx.log(f"warning: {w}")
        ctx.progress(1.0, "done")
        return out

    return run


def preview_job(voice: Path, settings: ConvertSettings, result: ConvertResult, weights_dir: str | None,
                with_pitch: bool = True) -> Callable[[JobContext], Preview]:
    """A job reading the input and output of ``result`` for the plots, and the input's source F0."""

    def run(ctx: JobContext) -> Preview:
        from svc_core.audio import read_audio
        from svc_core.convert.source_pitch import analyse_pitch

        ctx.progress(0.0, "reading audio")
        a = read_audio(result.input_path)
        b = read_audio(result.output_path)
        xin, yout = a.mono(), b.mono()
        ctx.progress(0.2, "spectrogram")
        spec_in, spec_out = spectrogram_db(xin, a.sr), spectrogram_db(yout, b.sr)
        curve = None
        if with_pitch:
            conv = session(ctx, weights_dir).converter(voice, replace(settings, f0_curve_path=None))
            curve = analyse_pitch(result.input_path, conv, cancel=ctx.cancel,
                                  progress=lambda f: ctx.progress(0.3 + 0.7 * f, "analysing pitch"))
        ctx.progress(1.0, "preview ready")
        return Preview(result.input_path, result.output_path, xin, a.sr, yout, b.sr, spec_in, spec_out,
                       peak_envelope(xin, a.sr), peak_envelope(yout, b.sr), curve, float(result.transpose))

    return run


def device_job(preference: str) -> Callable[[JobContext], Any]:
    """A job describing the compute device (on the engine thread, where the CUDA context lives)."""

    def run(ctx: JobContext) -> Any:
        from svc_core.device_info import device_info

        return device_info(preference)

    return run


def versions_job() -> Callable[[JobContext], dict[str, str]]:
    """A job collecting the versions for the About box."""

    def run(ctx: JobContext) -> dict[str, str]:
        from svc_core.device_info import runtime_versions

        return runtime_versions()

    return run
