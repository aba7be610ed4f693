"""Audio file writing: WAV/FLAC (16/24-bit or float) and, where libsndfile can (1.1+), MP3 / OGG Vorbis / Opus,
incrementally into a temp file beside the target, renamed into place on commit (``svc_core.atomic``); never over
the input, nothing left behind on error or cancel. Outputs carry a ``software`` tag naming this app, so a later
run can tell its own outputs from inputs."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from svc_core.atomic import new_temp_file, replace_into
from svc_core.errors import AudioError

__all__ = ["SOFTWARE_TAG", "WRITE_FORMATS", "AudioWriter", "check_output_format", "is_own_output", "write_audio"]

#: (libsndfile container, fixed subtype or None when --bits chooses) of each output extension this libsndfile has.
_ALL_FORMATS: dict[str, tuple[str, str | None]] = {
    "wav": ("WAV", None), "flac": ("FLAC", None), "mp3": ("MP3", "MPEG_LAYER_III"), "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
}
WRITE_FORMATS: dict[str, str] = {
    ext: cont for ext, (cont, sub) in _ALL_FORMATS.items()
    if cont in sf.available_formats() and (sub is None or sub in sf.available_subtypes(cont))
}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_SUBTYPES: dict[str, str] = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT", "pcm_16": "PCM_16",
                             "pcm_24": "PCM_24", "float32": "FLOAT"}
SOFTWARE_TAG = "svc-studio"


def is_own_output(path: str | os.PathLike[str]) -> bool:
    """True when the file carries this app's ``software`` tag (written by :class:`AudioWriter`)."""
    try:
        with sf.SoundFile(str(path)) as f:
            return str(f.software or "").startswith(SOFTWARE_TAG)
    except Exception:  # noqa: BLE001 (unreadable: not ours to skip; the conversion reports it)
        return False


def check_output_format(format: str | None, subtype: str | None, path: Path | None = None) -> tuple[str, str]:
    """(libsndfile format, subtype) for ``format`` (default: ``path``'s extension, else wav) and ``subtype``
    (16, 24, float; only for WAV/FLAC); AudioError for what cannot be written or does not agree with ``path``."""
    where = f"{path}: " if path is not None else ""
    ext = path.suffix.lstrip(".").lower() if path is not None else ""
    fmt = (format or ext or "wav").lower()
    if format and ext and ext in _ALL_FORMATS and ext != fmt:
        raise AudioError(f"{where}the output name ends in .{ext} but the format asked for is {fmt}; make them agree")
    if fmt not in WRITE_FORMATS:
        why = " (this libsndfile cannot write it)" if fmt in _ALL_FORMATS else ""
        raise AudioError(f"{where}cannot write format {fmt!r}{why}; choose one of {', '.join(WRITE_FORMATS)}")
    fixed = _ALL_FORMATS[fmt][1]
    if fixed is not None:
        if subtype is not None:
            raise AudioError(f"{where}{fmt} is a lossy format without a bit depth: drop --bits (16/24/float are for "
                             "wav and flac)")
        return WRITE_FORMATS[fmt], fixed
    sub = (subtype or ("24" if fmt == "flac" else "float")).lower()
    if sub not in _SUBTYPES:
        raise AudioError(f"{where}unknown sample format {subtype!r}; choose 16, 24 or float")
    sub_sf = _SUBTYPES[sub]
    if fmt == "flac" and sub_sf == "FLOAT":
        raise AudioError(f"{where}FLAC cannot hold float samples; choose 16 or 24 bits, or WAV")
    return WRITE_FORMATS[fmt], sub_sf


def _resolve_format(path: Path, format: str | None, subtype: str | None) -> tuple[str, str]:
    return check_output_format(format, subtype, path)


def _disk_full(path: Path) -> bool:
    try:
        st = os.statvfs(path.parent)
    except (OSError, AttributeError):
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


def _write_error(path: Path, tmp: Path, e: BaseException) -> AudioError:
    if getattr(e, "errno", None) == errno.ENOSPC or _disk_full(tmp):
        return AudioError(f"{path}: writing failed: the disk is full (no space left in {path.parent})")
    return AudioError(f"{path}: writing failed ({e})")


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
        if self._sub == "OPUS" and self.sr not in OPUS_RATES:
            raise AudioError(f"{self.path}: Opus holds only {', '.join(map(str, OPUS_RATES))} Hz; the output is "
                             f"{self.sr} Hz (pass --sr 48000)")
        try:
            self._tmp = new_temp_file(self.path)
        except OSError as e:
            if e.errno == errno.ENAMETOOLONG:
                raise AudioError(f"{self.path}: cannot write output: the file name is too long "
                                 f"({len(self.path.name.encode())} bytes); choose a shorter name") from e
            if e.errno == errno.ENOSPC:
                raise AudioError(f"{self.path}: cannot write output: the disk is full") from e
            raise AudioError(f"{self.path}: cannot write output: folder not writable ({e.strerror or e})") from e
        try:
            self._sf: sf.SoundFile | None = sf.SoundFile(str(self._tmp), "w", samplerate=self.sr,
                                                         channels=self.channels, format=self._fmt,
                                                         subtype=self._sub)
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            self._tmp.unlink(missing_ok=True)
            raise AudioError(f"{self.path}: cannot write output ({e})") from e
        with contextlib.suppress(Exception):  # not every container holds string tags
            from svc_core import __version__

            self._sf.software = f"{SOFTWARE_TAG} {__version__}"
        self.frames_written = 0
        self._int = self._sub != "FLOAT"  # integer and lossy outputs hold [-1, 1]

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
            raise _write_error(self.path, self._tmp, e) from e
        self.frames_written += x.shape[1]

    def commit(self) -> Path:
        """Finish the file and move it into place atomically; returns the final path."""
        if self._sf is None:
            raise AudioError(f"{self.path}: writer already closed")
        try:
            self._sf.close()
            self._sf = None
            replace_into(self._tmp, self.path)
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            self.abort()
            raise _write_error(self.path, self._tmp, e) from e
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
