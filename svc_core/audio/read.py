"""Audio file reading: any common format (WAV 8/16/24/32-bit int or float, FLAC, OGG, MP3) in blocks.

Decoding uses libsndfile through ``soundfile``. MP3 needs libsndfile >= 1.1; where the installed libsndfile lacks
a codec (MP3, or containers it never reads such as M4A/AAC/Opus-in-WebM), the file is decoded once with ``ffmpeg``
(when it is on PATH) into a temporary float WAV which is then read in blocks like any other file; without ffmpeg
the error says which codec is missing and how to get it.

Samples are float32 ``[C, N]`` (C channels, N samples) in [-1, 1] for integer files; float files keep their values.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from svc_core.errors import AudioError

__all__ = ["AUDIO_EXTENSIONS", "AudioData", "AudioInfo", "AudioReader", "info", "is_audio_path", "iter_blocks",
           "read_audio"]

# Extensions treated as audio when a folder is scanned.
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".w64", ".rf64", ".caf",
     ".au", ".snd", ".m4a", ".aac", ".wma"}
)
# Extensions libsndfile never reads: decoded with ffmpeg when it is installed.
_FFMPEG_ONLY = frozenset({".m4a", ".aac", ".wma"})
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
