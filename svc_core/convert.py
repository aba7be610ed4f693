"""Offline conversion: a sung vocal + a voice -> the same performance in that voice.

Data flow per file (see shared DESIGN.md): read in blocks -> frame RMS -> silence slices (exact sample positions;
silent slices pass through untouched) -> voiced slices longer than ``max_segment_s`` split at their quietest frame
-> per segment: read it with ``context_s`` of real audio each side, resample to the voice's rate, F0 (extractor,
post-processing, transpose / auto-key, or a manual curve), content (16 kHz encoder, optional retrieval blend,
stretched to the model frames like so-vits-svc's ``unit_interpolate_mode``), optional volume, ``synthesize`` ->
cut the context, resample to the output rate, optional loudness-envelope match -> linear crossfade with the
previous segment over ``crossfade_ms`` -> appended to a temp file renamed into place at the end.

Only one segment (at most ``max_segment_s`` + context) is ever held as model input, so memory does not grow with
the file's length. The per-segment steps follow so-vits-svc 4.1 ``inference/infer_tool.py`` (AGPL-3.0) as
described in shared/compat/voices.md 1.6-1.10; the code is our own.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from svc_core.audio.io import AudioReader, AudioWriter
from svc_core.audio.loudness import match_envelope
from svc_core.audio.slicer import FrameRms, Slice, SliceSettings, slice_from_rms, split_long
from svc_core.dsp import resample
from svc_core.errors import AudioError, SvcError, VoiceError
from svc_core.jobs import CancelToken, Progress, ProgressCallback

if TYPE_CHECKING:
    import torch

    from svc_core.retrieval import RetrievalIndex

__all__ = [
    "ContentEncoderLike",
    "ConvertResult",
    "ConvertSettings",
    "Converter",
    "F0ExtractorLike",
    "VoiceLike",
    "load_converter",
    "load_f0_curve",
    "stretch_units",
    "volume_frames",
]

ENCODER_SR = 16000
_MIN_ENCODER_SAMPLES = 400  # one frame of the WavLM/HuBERT conv stack
_CLIP_LEVEL = 0.999


@runtime_checkable
class VoiceLike(Protocol):
    """What the converter needs from a voice (``svc_core.voices.Voice``)."""

    speakers: dict[str, int]
    f0_stats: Any  # F0Stats (median_hz, ...) or a mapping, or None
    sampling_rate: int
    hop_length: int
    speech_encoder: str
    ssl_dim: int
    vol_embedding: bool
    has_f0_decoder: bool
    unit_interpolate_mode: str

    def speaker_id(self, name_or_id: int | str) -> int:
        """Speaker name or id -> id."""
        ...

    def synthesize(self, c: torch.Tensor, f0: torch.Tensor, uv: torch.Tensor, speaker: Any,
                   vol: torch.Tensor | None = None, noise_scale: float = 0.35, seed: int = 52468,
                   predict_f0: bool = False) -> torch.Tensor:
        """c [ssl_dim, T], f0 [T] Hz, uv [T] -> waveform [T * hop]."""
        ...

    def predict_f0_median(self, c: torch.Tensor, f0: torch.Tensor | None = None, uv: torch.Tensor | None = None,
                          speaker: Any = 0, vol: torch.Tensor | None = None) -> float | None:
        """Median F0 the voice's F0 decoder predicts for content c [ssl_dim, T] (f0/uv/vol [T] optional)."""
        ...


@runtime_checkable
class ContentEncoderLike(Protocol):
    """What the converter needs from a content encoder (``vencoder.base.ContentEncoder``)."""

    sample_rate: int
    hop: int
    dim: int

    def encode(self, wav_16k: torch.Tensor) -> torch.Tensor:
        """Mono 16 kHz waveform [T_wav] -> features [T_c, dim]."""
        ...


@runtime_checkable
class F0ExtractorLike(Protocol):
    """What the converter needs from an F0 extractor (``svc_core.f0.F0Extractor``)."""

    def extract(self, wav: np.ndarray, sr: int, hop: int, f0_min: float = 50.0,
                f0_max: float = 1100.0) -> tuple[np.ndarray, np.ndarray]:
        """Mono wav [n] -> (f0 Hz [ceil(n/hop)], voiced bool [ceil(n/hop)])."""
        ...


@dataclass
class ConvertSettings:
    """Every knob of a conversion (defaults are the app's defaults; the CLI and GUI only override)."""

    speaker: int | str | Mapping[str, float] | None = None  # None: the voice's first speaker; Mapping: a mix
    transpose: float = 0.0  # semitones
    f0_method: str | None = None  # None: svc_core.f0.DEFAULT_EXTRACTOR (used by load_converter)
    auto_key: bool = False  # shift to the voice's median F0 (whole semitones, added to transpose)
    predict_f0: bool = False  # use the voice's F0 decoder instead of the extracted F0 (speech only)
    f0_postprocess: bool = True  # octave-jump repair + 3-frame median (svc_core.f0.post.postprocess)
    f0_min: float = 50.0
    f0_max: float = 1100.0
    f0_curve_path: Path | None = None  # 2-column text (time_s, f0_hz; 0 = unvoiced) replacing extraction
    retrieval_ratio: float = 0.0  # 0 = off
    retrieval_k: int = 8
    noise_scale: float = 0.35
    seed: int = 52468
    slicing: SliceSettings = field(default_factory=SliceSettings)
    max_segment_s: float = 15.0  # longest model input; longer voiced slices are split at their quietest point
    context_s: float = 0.3  # real audio fed to the model each side of a segment and cut afterwards
    crossfade_ms: float = 40.0
    match_loudness: float = 0.0  # 0 = off .. 1 = the input's RMS envelope
    output_sr: int | None = None  # None: the voice's rate
    per_channel: bool = False  # convert each channel (else downmix to mono)
    device: str | None = None
    block_s: float = 30.0  # read size of the analysis pass

    def validate(self) -> None:
        """Raise SvcError naming the first invalid setting."""
        checks = [
            (math.isfinite(self.transpose) and abs(self.transpose) <= 48, "transpose must be within +-48 semitones"),
            (0.0 <= self.retrieval_ratio <= 1.0, "retrieval ratio must be between 0 and 1"),
            (self.retrieval_k >= 1, "retrieval k must be >= 1"),
            (0.0 <= self.noise_scale <= 10.0, "noise scale must be between 0 and 10"),
            (0.0 <= self.match_loudness <= 1.0, "loudness match must be between 0 and 1"),
            (self.max_segment_s >= 1.0, "max segment length must be >= 1 s"),
            (0.0 <= self.context_s <= 5.0, "context must be between 0 and 5 s"),
            (0.0 <= self.crossfade_ms <= 1000.0, "crossfade must be between 0 and 1000 ms"),
            (0.0 < self.f0_min < self.f0_max, "need 0 < f0_min < f0_max"),
            (self.output_sr is None or 8000 <= int(self.output_sr) <= 192000, "output rate must be 8000-192000 Hz"),
            (self.block_s > 0, "block length must be > 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SvcError(f"invalid setting: {msg}")
        try:
            self.slicing.frames(44100)
        except ValueError as e:
            raise SvcError(f"invalid slice setting: {e}") from e


@dataclass
class ConvertResult:
    """Outcome of one file: where it went, lengths, timings and any warnings (clipping, ...)."""

    input_path: Path
    output_path: Path
    input_seconds: float
    output_sr: int
    output_frames: int
    channels: int
    seconds: float
    transpose: float
    segments: int
    warnings: list[str] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        """Real-time factor: processing time / audio duration."""
        return self.seconds / self.input_seconds if self.input_seconds > 0 else 0.0


# ---- helpers ---------------------------------------------------------------------------------------------------


def stretch_units(c: torch.Tensor, n_frames: int, mode: str = "nearest") -> torch.Tensor:
    """Stretch content [D, T_c] to [D, n_frames] like so-vits-svc's ``repeat_expand_2d``.

    "left" reproduces ``repeat_expand_2d_left`` (vectorised); any other mode is ``F.interpolate(mode=...)``.
    """
    import torch
    import torch.nn.functional as F

    src = int(c.shape[-1])
    if src == 0:
        raise SvcError("no content frames to stretch")
    if mode == "left":
        # temp[k] = k * target / src (float32 as upstream); the upstream loop advances by at most one source frame
        # per target frame, so pos(i) = min(i, #{k >= 1: temp[k] <= i}).
        temp = (torch.arange(src + 1) * n_frames).to(torch.float32) / src
        i = torch.arange(n_frames, dtype=torch.float32)
        count = torch.searchsorted(temp[1:].contiguous(), i, right=True)
        pos = torch.minimum(torch.arange(n_frames), count).clamp_(max=src - 1)
        return c[:, pos.to(c.device)]
    kwargs = {"align_corners": False} if mode in ("linear", "bilinear", "bicubic", "trilinear") else {}
    return F.interpolate(c[None].float(), size=n_frames, mode=mode, **kwargs)[0]


def volume_frames(x: np.ndarray, hop: int, n_frames: int) -> np.ndarray:
    """so-vits-svc's Volume_Extractor: RMS over ``hop`` samples centred on every t*hop (reflect padded) [n_frames]."""
    a2 = np.asarray(x, np.float64) ** 2
    if a2.shape[0] == 0:
        return np.zeros(n_frames, np.float32)
    left = hop // 2
    right = max((hop + 1) // 2, n_frames * hop - left - a2.shape[0])
    mode = "reflect" if a2.shape[0] > 1 else "edge"
    padded = np.pad(a2, (left, right), mode=mode)[: n_frames * hop]
    return np.sqrt(padded.reshape(n_frames, hop).mean(axis=1)).astype(np.float32)


def load_f0_curve(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read a manual F0 curve: 2 columns time_s, f0_hz (0 = unvoiced), tab/comma/space separated, '#' comments,
    an optional header line -> (times [N] ascending, f0 [N])."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise SvcError(f"{p}: cannot read the F0 curve ({e.strerror or e})") from e
    rows: list[tuple[float, float]] = []
    for ln, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").replace(";", " ").split()
        try:
            t, f = float(parts[0]), float(parts[1])
        except (ValueError, IndexError) as e:
            if not rows and ln == next(i for i, r in enumerate(lines, 1) if r.strip()):
                continue  # header line
            raise SvcError(f"{p}: line {ln}: expected two numbers (time_s, f0_hz), got {raw.strip()!r}") from e
        if not (math.isfinite(t) and math.isfinite(f)) or f < 0 or t < 0:
            raise SvcError(f"{p}: line {ln}: time and f0 must be finite and >= 0, got {raw.strip()!r}")
        rows.append((t, f))
    if not rows:
        raise SvcError(f"{p}: the F0 curve holds no (time_s, f0_hz) rows")
    arr = np.asarray(rows, np.float64)
    if np.any(np.diff(arr[:, 0]) <= 0):
        raise SvcError(f"{p}: times must be strictly increasing")
    return arr[:, 0], arr[:, 1]


def _curve_on_grid(times: np.ndarray, f0: np.ndarray, t_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Manual curve on frame times: voiced from the nearest row, F0 linear between voiced rows [T]."""
    idx = np.clip(np.searchsorted(times, t_frames), 1, max(1, len(times) - 1))
    left = np.clip(idx - 1, 0, len(times) - 1)
    right = np.clip(idx, 0, len(times) - 1)
    nearest = np.where(np.abs(times[left] - t_frames) <= np.abs(times[right] - t_frames), left, right)
    voiced = (f0[nearest] > 0) & (t_frames <= times[-1] + 0.05) & (t_frames >= times[0] - 0.05)
    vi = np.flatnonzero(f0 > 0)
    if vi.size == 0:
        return np.zeros(len(t_frames), np.float32), np.zeros(len(t_frames), bool)
    vals = np.interp(t_frames, times[vi], f0[vi])
    return np.where(voiced, vals, 0.0).astype(np.float32), voiced


_LIBC: list[Any] = []


def _release_freed_memory() -> None:
    """Return freed heap pages to the OS (glibc ``malloc_trim``) so the resident size stays flat over hundreds of
    segments instead of creeping with fragmentation; a no-op where glibc is not available."""
    if not _LIBC:
        handle = None
        if sys.platform.startswith("linux"):
            try:
                handle = ctypes.CDLL("libc.so.6").malloc_trim
            except (OSError, AttributeError):
                handle = None
        _LIBC.append(handle)
    if _LIBC[0] is not None:
        _LIBC[0](0)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad the last axis to n."""
    m = x.shape[-1]
    if m == n:
        return x
    if m > n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - m)]
    return np.pad(x, pad)


# ---- sources and sinks -----------------------------------------------------------------------------------------


class _ArraySource:
    """In-memory samples [C, N] with the file reader's interface."""

    def __init__(self, samples: np.ndarray, sr: int) -> None:
        self.samples, self.sr = samples, int(sr)
        self.channels, self.frames = samples.shape
        self.path: Path | None = None

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        for a in range(0, self.frames, size):
            yield a, self.samples[:, a:a + size]

    def read_range(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros((self.channels, max(0, stop - start)), np.float32)
        a, b = max(0, start), min(stop, self.frames)
        if b > a:
            out[:, a - start:b - start] = self.samples[:, a:b]
        return out


class _FileSource:
    """Block reader over an AudioReader."""

    def __init__(self, reader: AudioReader) -> None:
        self.reader = reader
        self.sr, self.channels, self.frames = reader.info.sr, reader.info.channels, reader.info.frames
        self.path: Path | None = reader.path

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        self.reader.seek(0)
        a = 0
        while a < self.frames:
            blk = self.reader.read(min(size, self.frames - a))
            if blk.shape[1] == 0:
                break
            yield a, blk
            a += blk.shape[1]

    def read_range(self, start: int, stop: int) -> np.ndarray:
        return self.reader.read_range(start, stop)


class _Crossfader:
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


@dataclass
class _Plan:
    segments: list[Slice]
    overlaps: list[int]  # overlap (input samples, each side) at the boundary after segment i
    clipped: int
    peak: float


# ---- the converter ---------------------------------------------------------------------------------------------


class Converter:
    """Converts audio with a voice; the voice, content encoder, F0 extractor and index are injected."""

    def __init__(self, voice: VoiceLike, encoder: ContentEncoderLike, f0_extractor: F0ExtractorLike,
                 settings: ConvertSettings | None = None, index: RetrievalIndex | None = None,
                 device: str | torch.device | None = None) -> None:
        import torch

        self.voice, self.encoder, self.f0_extractor = voice, encoder, f0_extractor
        self.settings = settings or ConvertSettings()
        self.settings.validate()
        self.index = index
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        if int(encoder.dim) != int(voice.ssl_dim):
            raise VoiceError(f"the content encoder gives {encoder.dim}-dim features but the voice expects ssl_dim "
                             f"{voice.ssl_dim} (speech_encoder {voice.speech_encoder!r})")
        if self.settings.retrieval_ratio > 0 and index is not None and index.dim != voice.ssl_dim:
            raise SvcError(f"{index.source or 'retrieval index'}: feature dim {index.dim} does not match the voice's "
                           f"ssl_dim {voice.ssl_dim}")
        self._speaker = self._resolve_speaker(self.settings.speaker)
        self._curve = load_f0_curve(self.settings.f0_curve_path) if self.settings.f0_curve_path else None

    # -- settings helpers --

    def _resolve_speaker(self, spk: int | str | Mapping[str, float] | None) -> int | dict[str, float]:
        v = self.voice
        if spk is None:
            return v.speaker_id(next(iter(v.speakers))) if v.speakers else 0
        if isinstance(spk, Mapping):
            if not spk:
                raise SvcError("speaker mix is empty")
            mix: dict[str, float] = {}
            for name, w in spk.items():
                v.speaker_id(name)  # raises for unknown names
                if not (math.isfinite(float(w)) and float(w) >= 0):
                    raise SvcError(f"speaker mix weight for {name!r} must be >= 0, got {w!r}")
                mix[str(name)] = float(w)
            if sum(mix.values()) <= 0:
                raise SvcError("speaker mix weights sum to 0")
            return mix
        return v.speaker_id(spk)

    def _retrieval_speaker(self) -> int:
        spk = self._speaker
        if isinstance(spk, dict):
            return self.voice.speaker_id(max(spk, key=lambda k: spk[k]))
        return spk

    @property
    def output_sr(self) -> int:
        """Sample rate of the output."""
        return int(self.settings.output_sr or self.voice.sampling_rate)

    # -- per-segment model path --

    def _f0(self, x: np.ndarray, t0: float) -> tuple[np.ndarray, np.ndarray]:
        """Raw F0 (before transpose) of model-rate mono x [n] whose first sample is at ``t0`` s."""
        from svc_core.f0.post import postprocess

        sr, hop = int(self.voice.sampling_rate), int(self.voice.hop_length)
        n_frames = -(-x.shape[0] // hop)
        if self._curve is not None:
            t = t0 + (np.arange(n_frames) * hop + hop / 2.0) / sr
            return _curve_on_grid(self._curve[0], self._curve[1], t)
        f0, voiced = self.f0_extractor.extract(x, sr, hop, self.settings.f0_min, self.settings.f0_max)
        f0 = _fit(np.asarray(f0, np.float32), n_frames)
        voiced = _fit(np.asarray(voiced, bool), n_frames)
        if self.settings.f0_postprocess:
            f0 = postprocess(f0, voiced)
        return np.where(voiced, f0, 0.0).astype(np.float32), voiced

    def _content(self, x: np.ndarray, n_frames: int) -> torch.Tensor:
        """Content of model-rate mono x -> [ssl_dim, n_frames] on the device (retrieval blended)."""
        import torch

        from svc_core.retrieval import blend

        x16 = resample(x, int(self.voice.sampling_rate), ENCODER_SR)
        if x16.shape[0] < _MIN_ENCODER_SAMPLES:
            x16 = np.pad(x16, (0, _MIN_ENCODER_SAMPLES - x16.shape[0]))
        with torch.inference_mode():
            c = self.encoder.encode(torch.from_numpy(x16))
            if self.settings.retrieval_ratio > 0 and self.index is not None:
                feats = blend(c.float().cpu().numpy(), self.index.for_speaker(self._retrieval_speaker()),
                              self.settings.retrieval_ratio, self.settings.retrieval_k)
                c = torch.from_numpy(feats)
            c = c.to(self.device, torch.float32).transpose(0, 1)
            return stretch_units(c, n_frames, self.voice.unit_interpolate_mode)

    def _synth(self, x: np.ndarray, f0: np.ndarray, voiced: np.ndarray, semitones: float) -> np.ndarray:
        """Model-rate mono x [n] + raw F0 -> converted audio [n] at the model rate."""
        import torch

        from svc_core.f0.post import interpolate_unvoiced, transpose

        hop = int(self.voice.hop_length)
        n = x.shape[0]
        n_frames = f0.shape[0]
        f0_t = transpose(f0, semitones) if semitones else f0
        f0_full = interpolate_unvoiced(f0_t, voiced)
        c = self._content(x, n_frames)
        vol = volume_frames(x, hop, n_frames) if self.voice.vol_embedding else None
        _release_freed_memory()  # the encoder's activations are gone: hand them back before the decoder's arrive
        with torch.inference_mode():
            y = self.voice.synthesize(
                c,
                torch.from_numpy(f0_full).to(self.device),
                torch.from_numpy(voiced.astype(np.float32)).to(self.device),
                self._speaker,
                vol=None if vol is None else torch.from_numpy(vol).to(self.device),
                noise_scale=self.settings.noise_scale,
                seed=self.settings.seed,
                predict_f0=self.settings.predict_f0,
            )
        out = y.detach().float().reshape(-1).cpu().numpy()
        if not np.isfinite(out).all():
            raise VoiceError("the voice produced NaN/inf samples (broken or untrained checkpoint?)")
        return _fit(out, n)

    # -- planning --

    def _plan(self, src: _ArraySource | _FileSource, cancel: CancelToken | None,
              report: Callable[[float, str], None]) -> _Plan:
        """Analysis pass over blocks: validity, clipping, frame RMS -> segments."""
        s = self.settings
        hop, win, *_ = s.slicing.frames(src.sr)
        rms = FrameRms(hop, win)
        clipped, peak = 0, 0.0
        block = max(hop, int(s.block_s * src.sr))
        for a, blk in src.blocks(block):
            if cancel is not None:
                cancel.check()
            bad = ~np.isfinite(blk)
            if bad.any():
                cols = np.flatnonzero(bad.any(axis=0))
                where = str(src.path) if src.path else "input audio"
                raise AudioError(f"{where}: {int(bad.sum())} invalid samples (NaN or infinity), the first at sample "
                                 f"{a + int(cols[0])} ({(a + int(cols[0])) / src.sr:.3f} s); repair or re-export it")
            mono = blk.mean(axis=0) if blk.shape[0] > 1 else blk[0]
            rms.push(mono)
            ab = np.abs(blk)
            clipped += int(np.count_nonzero(ab >= _CLIP_LEVEL))
            peak = max(peak, float(ab.max()) if ab.size else 0.0)
            report(0.05 * (a + blk.shape[1]) / src.frames, "analysing")
        frames_rms = rms.finish()
        slices = slice_from_rms(frames_rms, src.frames, src.sr, s.slicing)
        segs = split_long(slices, frames_rms, hop, int(s.max_segment_s * src.sr))
        ov = int(round(s.crossfade_ms / 2000.0 * src.sr))
        overlaps = [min(ov, segs[i].length // 2, segs[i + 1].length // 2) for i in range(len(segs) - 1)]
        return _Plan(segs, overlaps, clipped, peak)

    # -- the streaming core --

    def _run(self, src: _ArraySource | _FileSource, emit: Callable[[np.ndarray], None], n_out_channels: int,
             progress: ProgressCallback | None, cancel: CancelToken | None) -> tuple[_Plan, float]:
        s = self.settings
        sr_in, sr_m, sr_o = src.sr, int(self.voice.sampling_rate), self.output_sr
        last_frac = [0.0]

        def report(frac: float, stage: str) -> None:
            frac = max(last_frac[0], min(1.0, frac))
            last_frac[0] = frac
            if progress is not None:
                progress(Progress(frac, stage))

        report(0.0, "analysing")
        plan = self._plan(src, cancel, report)
        segs, ovs = plan.segments, plan.overlaps
        ctx = int(round(s.context_s * sr_in))

        def opos(x: int) -> int:
            return int(round(x * sr_o / sr_in))

        def window(i: int) -> tuple[int, int]:
            return segs[i].start - (ovs[i - 1] if i > 0 else 0), segs[i].end + (ovs[i] if i < len(ovs) else 0)

        def channels_of(block: np.ndarray) -> list[np.ndarray]:
            if n_out_channels == 1:
                return [block.mean(axis=0) if block.shape[0] > 1 else block[0]]
            return [block[ch] for ch in range(block.shape[0])]

        voiced_idx = [i for i, sg in enumerate(segs) if not sg.silent]
        # F0 first when auto-key needs the whole file's median (F0 tracks are small; audio is not kept).
        f0_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        semitones = float(s.transpose)
        if s.auto_key and not s.predict_f0:
            all_f0: list[np.ndarray] = []
            first_x: np.ndarray | None = None
            for j, i in enumerate(voiced_idx):
                if cancel is not None:
                    cancel.check()
                w0, w1 = window(i)
                blk = src.read_range(w0 - ctx, w1 + ctx)
                for ch, xc in enumerate(channels_of(blk)):
                    xm = _fit(resample(xc, sr_in, sr_m), int(round((w1 - w0 + 2 * ctx) * sr_m / sr_in)))
                    f0, v = self._f0(xm, (w0 - ctx) / sr_in)
                    f0_cache[(i, ch)] = (f0, v)
                    all_f0.append(f0[v])
                    if first_x is None:
                        first_x = xm
                report(0.05 + 0.15 * (j + 1) / max(1, len(voiced_idx)), "pitch")
            semitones += self._auto_key_shift(np.concatenate(all_f0) if all_f0 else np.zeros(0), first_x)

        total_in = max(1, src.frames)
        base = 0.2 if (s.auto_key and not s.predict_f0) else 0.05
        fader = _Crossfader(emit, n_out_channels)
        for i, sg in enumerate(segs):
            if cancel is not None:
                cancel.check()
            w0, w1 = window(i)
            c0, c1 = w0 - ctx, w1 + ctx
            blk = src.read_range(c0, c1)
            outs = []
            n_c_out = opos(c1) - opos(c0)
            a_o, b_o = opos(w0) - opos(c0), opos(w1) - opos(c0)
            for ch, xc in enumerate(channels_of(blk)):
                if sg.silent:
                    yo = _fit(resample(xc, sr_in, sr_o), n_c_out)
                else:
                    xm = _fit(resample(xc, sr_in, sr_m), int(round((c1 - c0) * sr_m / sr_in)))
                    f0, v = f0_cache.pop((i, ch), None) or self._f0(xm, c0 / sr_in)
                    ym = self._synth(xm, f0, v, semitones)
                    _release_freed_memory()
                    yo = _fit(resample(ym, sr_m, sr_o), n_c_out)
                    if s.match_loudness > 0:
                        yo = match_envelope(xc, sr_in, yo, sr_o, s.match_loudness)
                outs.append(yo[a_o:b_o])
            y = np.stack(outs).astype(np.float32, copy=False)
            keep = (opos(w1) - opos(sg.end - ovs[i])) if i < len(ovs) else 0
            fader.push(y, keep)
            report(base + (1.0 - base) * sg.end / total_in * 0.999, "converting")
        fader.finish()
        report(1.0, "done")
        return plan, semitones

    def _auto_key_shift(self, voiced_f0: np.ndarray, sample_x: np.ndarray | None) -> float:
        """Whole semitones moving the input's median F0 onto the voice's (f0_stats, else its F0 decoder)."""
        import torch

        from svc_core.f0.post import auto_key_semitones

        if voiced_f0.size == 0:
            return 0.0
        stats = self.voice.f0_stats
        target = stats.get("median_hz") if isinstance(stats, Mapping) else getattr(stats, "median_hz", None)
        if target is None and self.voice.has_f0_decoder and sample_x is not None:
            hop = int(self.voice.hop_length)
            f0, v = self._f0(sample_x, 0.0)
            n_frames = f0.shape[0]
            c = self._content(sample_x, n_frames)
            uv = torch.from_numpy(v.astype(np.float32)).to(self.device)
            vol = (torch.from_numpy(volume_frames(sample_x, hop, n_frames)).to(self.device)
                   if self.voice.vol_embedding else None)
            from svc_core.f0.post import interpolate_unvoiced

            f0_t = torch.from_numpy(interpolate_unvoiced(f0, v)).to(self.device)
            target = self.voice.predict_f0_median(c, f0=f0_t, uv=uv, speaker=self._speaker, vol=vol)
        if target is None:
            raise SvcError("auto-key needs the voice's F0 statistics (f0_stats in its metadata) or an F0 decoder; "
                           "this voice has neither - set --transpose instead")
        if not (math.isfinite(float(target)) and 20.0 <= float(target) <= 2000.0):
            raise SvcError(f"auto-key: the voice's target median F0 ({float(target):.1f} Hz) is not a usable pitch "
                           "(untrained F0 decoder?) - set --transpose instead")
        return auto_key_semitones(voiced_f0, np.ones(voiced_f0.shape, bool), float(target))

    # -- public API --

    def convert_array(self, samples: np.ndarray, sr: int, progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> np.ndarray:
        """Convert in-memory audio [N] or [C, N] at ``sr`` -> output at :attr:`output_sr` ([N'] for [N] input,
        [C', N'] otherwise; C' = C with per_channel, else 1). N' = round(N * output_sr / sr)."""
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
        self._run(_ArraySource(x, int(sr)), parts.append, n_ch, progress, cancel)
        y = np.concatenate(parts, axis=1) if parts else np.zeros((n_ch, 0), np.float32)
        return y[0] if (one_d and n_ch == 1) else y

    def convert_file(self, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                     format: str | None = None, subtype: str | None = None, overwrite: bool = True,
                     progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> ConvertResult:
        """Convert a file, streaming: blocks in, one segment at a time through the model, output appended to a
        temp file renamed to ``out_path`` at the end (nothing is left on error or cancel)."""
        t_start = time.perf_counter()
        in_path, out_path = Path(in_path), Path(out_path)
        with AudioReader(in_path) as reader:
            src = _FileSource(reader)
            n_ch = src.channels if self.settings.per_channel else 1
            with AudioWriter(out_path, self.output_sr, n_ch, format=format, subtype=subtype, protect=[in_path],
                             overwrite=overwrite) as writer:
                plan, semis = self._run(src, writer.write, n_ch, progress, cancel)
                frames = writer.frames_written
                writer.commit()
        warnings = []
        if plan.clipped:
            warnings.append(f"{in_path}: input is clipped ({plan.clipped} samples at full scale, peak "
                            f"{plan.peak:.3f}); the conversion keeps the distortion")
        return ConvertResult(in_path, out_path, src.frames / src.sr, self.output_sr, frames, n_ch,
                             time.perf_counter() - t_start, semis, len(plan.segments), warnings)


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
