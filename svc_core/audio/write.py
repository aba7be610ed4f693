"""Audio file writing: WAV/FLAC (16/24-bit or float) incrementally into a temp file beside the target, renamed
into place on commit (``svc_core.atomic``); never over the input, nothing left behind on error or cancel."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from svc_core.atomic import new_temp_file, replace_into
from svc_core.errors import AudioError

__all__ = ["WRITE_FORMATS", "AudioWriter", "write_audio"]

# Output containers and the subtypes we write.
WRITE_FORMATS: dict[str, str] = {"wav": "WAV", "flac": "FLAC"}
_SUBTYPES: dict[str, str] = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT", "pcm_16": "PCM_16",
                             "pcm_24": "PCM_24", "float32": "FLOAT"}


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
            self._tmp = new_temp_file(self.path)
        except OSError as e:
            raise AudioError(f"{self.path}: cannot write output: folder not writable ({e.strerror or e})") from e
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
            replace_into(self._tmp, self.path)
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
