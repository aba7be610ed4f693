"""Audio file I/O: read any common format (WAV 8/16/24/32-bit int or float, FLAC, OGG, MP3) in blocks, write
WAV/FLAC atomically (temp file in the same folder + ``os.replace``), never over the input.

Decoding uses libsndfile through ``soundfile``. MP3 needs libsndfile >= 1.1; where the installed libsndfile lacks
a codec (MP3, or containers it never reads such as M4A/AAC/Opus-in-WebM), the file is decoded once with ``ffmpeg``
(when it is on PATH) into a temporary float WAV which is then read in blocks like any other file; without ffmpeg
the error says which codec is missing and how to get it.

Samples are float32 ``[C, N]`` (C channels, N samples) in [-1, 1] for integer files; float files keep their values.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from svc_core.errors import AudioError

__all__ = [
    "AudioData",
    "AudioInfo",
    "AudioReader",
    "AudioWriter",
    "AUDIO_EXTENSIONS",
    "WRITE_FORMATS",
    "info",
    "is_audio_path",
    "iter_blocks",
    "read_audio",
    "write_audio",
]

# Extensions treated as audio when a folder is scanned.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".w64", ".rf64", ".caf",
     ".au", ".snd", ".m4a", ".aac", ".wma"}
)
# Extensions libsndfile never reads: decoded with ffmpeg when it is installed.
_FFMPEG_ONLY = frozenset({".m4a", ".aac", ".wma"})
# Output containers and the subtypes we write.
WRITE_FORMATS: dict[str, str] = {"wav": "WAV", "flac": "FLAC"}
_SUBTYPES: dict[str, str] = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT", "pcm_16": "PCM_16",
                             "pcm_24": "PCM_24", "float32": "FLOAT"}
MIN_SR, MAX_SR = 8000, 192000
DEFAULT_BLOCK = 1 << 18  # 262144 frames per block (~6 s at 44.1 kHz)


def is_audio_path(path: Path) -> bool:
    """True when ``path`` has an audio file extension (case-insensitive)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


def _libsndfile_has_mp3() -> bool:
    return "MP3" in sf.available_formats()


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds: sample rate, channels, frames (N), container format and sample subtype."""

    path: Path
    sr: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / float(self.sr) if self.sr else 0.0


@dataclass
class AudioData:
    """Decoded audio: ``samples`` float32 [C, N] at ``sr`` Hz, read from ``path``."""

    samples: np.ndarray
    sr: int
    path: Path | None = None
    format: str = ""
    subtype: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def channels(self) -> int:
        """C."""
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        """N."""
        return int(self.samples.shape[1])

    def mono(self) -> np.ndarray:
        """Downmix to mono [N] (mean of the channels)."""
        return self.samples.mean(axis=0, dtype=np.float32) if self.channels > 1 else self.samples[0]


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise AudioError(f"{path}: cannot read ({e.strerror or e})") from e
    if size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")


def _wav_declared_frames(path: Path, block_align: int) -> int | None:
    """Frames the RIFF/WAVE header's data chunk declares (None if not a plain RIFF WAV or size unknown)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            while True:
                ch = f.read(8)
                if len(ch) < 8:
                    return None
                cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
                if cid == b"data":
                    if size in (0, 0xFFFFFFFF) or block_align <= 0:
                        return None
                    return size // block_align
                f.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None


_BYTES_PER_SAMPLE = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}


class AudioReader:
    """Open an audio file for block reading (context manager); decodes via ffmpeg when libsndfile cannot.

    ``info`` describes the file; :meth:`read` returns float32 [C, n] blocks; :meth:`seek` jumps to a frame.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        _check_path(self.path)
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._declared: int | None = None
        try:
            self._sf = self._open()
        except BaseException:
            self.close()
            raise
        f = self._sf
        self.info = AudioInfo(self.path, int(f.samplerate), int(f.channels), int(f.frames), str(f.format),
                              str(f.subtype))
        if self.info.channels < 1:
            self.close()
            raise AudioError(f"{self.path}: no audio channels")
        if not MIN_SR <= self.info.sr <= MAX_SR:
            self.close()
            raise AudioError(f"{self.path}: sample rate {self.info.sr} Hz is outside the supported "
                             f"{MIN_SR}-{MAX_SR} Hz")
        if self.info.frames <= 0:
            self.close()
            raise AudioError(f"{self.path}: no audio samples (0 frames)")
        if self.info.format == "WAV" and self.info.subtype in _BYTES_PER_SAMPLE:
            declared = _wav_declared_frames(self.path, _BYTES_PER_SAMPLE[self.info.subtype] * self.info.channels)
            if declared is not None and declared > self.info.frames:
                self.close()
                raise AudioError(
                    f"{self.path}: truncated file: the header declares {declared} frames but only "
                    f"{self.info.frames} are present"
                )
        self.position = 0

    def _open(self) -> sf.SoundFile:
        ext = self.path.suffix.lower()
        if ext in _FFMPEG_ONLY or (ext == ".mp3" and not _libsndfile_has_mp3()):
            return self._open_with_ffmpeg(f"libsndfile {sf.__libsndfile_version__} cannot decode {ext} files")
        try:
            return sf.SoundFile(str(self.path))
        except sf.LibsndfileError as e:
            msg = str(e.error_string if hasattr(e, "error_string") else e)
            if "not recognised" in msg.lower() or "unknown format" in msg.lower():
                if ext not in AUDIO_EXTENSIONS:
                    raise AudioError(f"{self.path}: unsupported format ({ext or 'no extension'}; {msg})") from e
                raise AudioError(f"{self.path}: corrupt file or unsupported format: not a readable {ext} "
                                 f"({msg})") from e
            raise AudioError(f"{self.path}: corrupt or truncated file ({msg})") from e
        except (OSError, RuntimeError) as e:
            raise AudioError(f"{self.path}: cannot open ({e})") from e

    def _open_with_ffmpeg(self, why: str) -> sf.SoundFile:
        exe = shutil.which("ffmpeg")
        if exe is None:
            raise AudioError(f"{self.path}: unsupported format: {why}, and ffmpeg is not installed "
                             "(install ffmpeg, or convert the file to WAV/FLAC)")
        self._tmpdir = tempfile.TemporaryDirectory(prefix="svc-decode-")
        out = Path(self._tmpdir.name) / "decoded.wav"
        proc = subprocess.run([exe, "-nostdin", "-v", "error", "-i", str(self.path), "-f", "wav", "-c:a", "pcm_f32le",
                               "-rf64", "auto", str(out)], capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            raise AudioError(f"{self.path}: corrupt file or unsupported format (ffmpeg: {proc.stderr.strip()[:300]})")
        return sf.SoundFile(str(out))

    def seek(self, frame: int) -> None:
        """Move to ``frame`` (0 <= frame <= N)."""
        frame = max(0, min(int(frame), self.info.frames))
        if frame != self.position:
            self._sf.seek(frame)
            self.position = frame

    def read(self, frames: int) -> np.ndarray:
        """Read up to ``frames`` frames from the current position -> float32 [C, n] (n < frames only at the end)."""
        try:
            data = self._sf.read(int(frames), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise AudioError(f"{self.path}: corrupt or truncated file: decoding failed at sample "
                             f"{self.position} ({e})") from e
        n = data.shape[0]
        if n < frames and self.position + n < self.info.frames and self.info.format not in ("MP3", "MPEG", "OGG"):
            raise AudioError(f"{self.path}: truncated file: decoding stopped at sample {self.position + n} of "
                             f"{self.info.frames}")
        self.position += n
        return np.ascontiguousarray(data.T)

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) -> float32 [C, stop-start] with zeros outside the file (for context padding)."""
        c = self.info.channels
        out = np.zeros((c, max(0, stop - start)), np.float32)
        a, b = max(0, start), min(stop, self.info.frames)
        if b > a:
            self.seek(a)
            blk = self.read(b - a)
            out[:, a - start:a - start + blk.shape[1]] = blk
        return out

    def close(self) -> None:
        """Close the file and drop any temporary decode."""
        f = getattr(self, "_sf", None)
        if f is not None:
            f.close()
            self._sf = None  # type: ignore[assignment]
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _nonfinite_error(path: Path | None, count: int, first: int, sr: int) -> AudioError:
    where = f"{path}" if path is not None else "input audio"
    return AudioError(f"{where}: {count} invalid samples (NaN or infinity), the first at sample {first} "
                      f"({first / sr:.3f} s); repair or re-export the file")


def info(path: str | os.PathLike[str]) -> AudioInfo:
    """Describe an audio file without decoding it (raises AudioError for unreadable files)."""
    with AudioReader(path) as r:
        return r.info


def iter_blocks(path: str | os.PathLike[str], block_frames: int = DEFAULT_BLOCK, *,
                check_finite: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start_frame, float32 [C, n]) blocks of at most ``block_frames`` frames in order.

    With ``check_finite`` a block holding NaN/inf raises AudioError naming the file and the first bad sample.
    """
    with AudioReader(path) as r:
        start = 0
        while start < r.info.frames:
            blk = r.read(min(block_frames, r.info.frames - start))
            if blk.shape[1] == 0:
                break
            if check_finite:
                bad = ~np.isfinite(blk)
                if bad.any():
                    cols = np.flatnonzero(bad.any(axis=0))
                    raise _nonfinite_error(r.path, int(bad.sum()), start + int(cols[0]), r.info.sr)
            yield start, blk
            start += blk.shape[1]


def read_audio(path: str | os.PathLike[str], *, check_finite: bool = True) -> AudioData:
    """Read a whole file -> AudioData (samples float32 [C, N]); for long files prefer :func:`iter_blocks`."""
    p = Path(path)
    with AudioReader(p) as r:
        inf = r.info
        out = np.empty((inf.channels, inf.frames), np.float32)
        n = 0
        while n < inf.frames:
            blk = r.read(min(DEFAULT_BLOCK, inf.frames - n))
            if blk.shape[1] == 0:
                break
            out[:, n:n + blk.shape[1]] = blk
            n += blk.shape[1]
    out = out[:, :n]
    if n == 0:
        raise AudioError(f"{p}: no audio samples (0 frames)")
    if check_finite:
        bad = ~np.isfinite(out)
        if bad.any():
            cols = np.flatnonzero(bad.any(axis=0))
            raise _nonfinite_error(p, int(bad.sum()), int(cols[0]), inf.sr)
    return AudioData(out, inf.sr, p, inf.format, inf.subtype)


def _resolve_format(path: Path, format: str | None, subtype: str | None) -> tuple[str, str]:
    fmt = (format or path.suffix.lstrip(".") or "wav").lower()
    if fmt not in WRITE_FORMATS:
        raise AudioError(f"{path}: cannot write format {fmt!r}; choose one of {', '.join(WRITE_FORMATS)}")
    sub = (subtype or ("24" if fmt == "flac" else "float")).lower()
    if sub not in _SUBTYPES:
        raise AudioError(f"{path}: unknown sample format {subtype!r}; choose 16, 24 or float")
    sub_sf = _SUBTYPES[sub]
    if fmt == "flac" and sub_sf == "FLOAT":
        raise AudioError(f"{path}: FLAC cannot hold float samples; choose 16 or 24 bits, or WAV")
    return WRITE_FORMATS[fmt], sub_sf


def _default_file_mode() -> int:
    """0o666 minus the process umask (what open() would give a new file)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


class AudioWriter:
    """Write audio incrementally to a temp file next to ``path``; :meth:`commit` renames it into place.

    Leaving the ``with`` block without commit (error, cancel) deletes the temp file, so no partial output remains.
    ``protect`` lists input paths the output must never replace; an existing output needs ``overwrite=True``.
    """

    def __init__(self, path: str | os.PathLike[str], sr: int, channels: int, *, format: str | None = None,
                 subtype: str | None = None, protect: Iterable[str | os.PathLike[str]] = (),
                 overwrite: bool = True) -> None:
        self.path = Path(path)
        self.sr, self.channels = int(sr), int(channels)
        self._fmt, self._sub = _resolve_format(self.path, format, subtype)
        for p in protect:
            if _same_file(self.path, Path(p)):
                raise AudioError(f"{self.path}: refusing to write the output over the input file")
        if self.path.is_dir():
            raise AudioError(f"{self.path}: cannot write output: it is a folder")
        if self.path.exists() and not overwrite:
            raise AudioError(f"{self.path}: output exists (use --force to overwrite)")
        parent = self.path.parent
        if not parent.is_dir():
            raise AudioError(f"{self.path}: cannot write output: folder {parent} does not exist or is not a folder")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=parent)
            os.close(fd)
        except OSError as e:
            raise AudioError(f"{self.path}: cannot write output: folder not writable ({e.strerror or e})") from e
        self._tmp = Path(tmp)
        try:
            self._sf: sf.SoundFile | None = sf.SoundFile(str(self._tmp), "w", samplerate=self.sr,
                                                         channels=self.channels, format=self._fmt,
                                                         subtype=self._sub)
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            self._tmp.unlink(missing_ok=True)
            raise AudioError(f"{self.path}: cannot write output ({e})") from e
        self.frames_written = 0
        self._int = self._sub.startswith("PCM")

    def write(self, block: np.ndarray) -> None:
        """Append float32 [C, n] (or [n] for mono) samples; integer outputs are clipped to [-1, 1]."""
        if self._sf is None:
            raise AudioError(f"{self.path}: writer already closed")
        x = np.asarray(block, np.float32)
        if x.ndim == 1:
            x = x[None]
        if x.shape[0] != self.channels:
            raise AudioError(f"{self.path}: block has {x.shape[0]} channels, the file {self.channels}")
        if self._int:
            x = np.clip(x, -1.0, 1.0)
        try:
            self._sf.write(np.ascontiguousarray(x.T))
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            raise AudioError(f"{self.path}: writing failed ({e})") from e
        self.frames_written += x.shape[1]

    def commit(self) -> Path:
        """Finish the file and move it into place atomically; returns the final path."""
        if self._sf is None:
            raise AudioError(f"{self.path}: writer already closed")
        try:
            self._sf.close()
            self._sf = None
            os.chmod(self._tmp, _default_file_mode())  # mkstemp makes 0600; outputs get the usual permissions
            os.replace(self._tmp, self.path)
        except OSError as e:
            self.abort()
            raise AudioError(f"{self.path}: cannot write output ({e.strerror or e})") from e
        return self.path

    def abort(self) -> None:
        """Drop the temp file (no output is left)."""
        if self._sf is not None:
            with contextlib.suppress(Exception):
                self._sf.close()
            self._sf = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._sf is not None or (exc_type is not None and self._tmp.exists()):
            self.abort()


def write_audio(path: str | os.PathLike[str], samples: np.ndarray, sr: int, *, format: str | None = None,
                subtype: str | None = None, protect: Iterable[str | os.PathLike[str]] = (),
                overwrite: bool = True) -> Path:
    """Write float32 [C, N] (or [N]) samples atomically to ``path`` (WAV/FLAC, 16/24-bit or float)."""
    x = np.asarray(samples, np.float32)
    if x.ndim == 1:
        x = x[None]
    with AudioWriter(path, sr, x.shape[0], format=format, subtype=subtype, protect=protect,
                     overwrite=overwrite) as w:
        w.write(x)
        return w.commit()
