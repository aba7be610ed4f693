"""Atomic file output: write a temp file next to the target, then ``os.replace`` it into place.

A reader never sees a half-written file, and an error or cancel leaves no output behind. Temp files are created
with ``os.open(..., 0o666)`` so the process umask gives them the usual permissions (no ``os.umask`` flip, which is
process-wide and races with other threads, and no ``chmod`` of ``mkstemp``'s 0600 afterwards).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "new_temp_file", "replace_into", "write_bytes_atomic", "write_json_atomic",
           "write_text_atomic"]


def new_temp_file(path: str | os.PathLike[str], suffix: str = ".part") -> Path:
    """Create an empty, uniquely named temp file beside ``path`` (same folder, so the rename is atomic)."""
    p = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = p.parent / f".{p.name}.{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{p.parent}: cannot create a unique temp file for {p.name}")


def replace_into(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Move the finished temp file onto ``path`` (atomic on one file system); the temp file is gone on error."""
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """``with atomic_write(p) as f: f.write(...)``: ``p`` appears complete when the block ends, untouched on error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    tmp = new_temp_file(path)
    try:
        with open(tmp, mode, encoding=None if mode == "wb" else encoding) as f:
            yield f
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    replace_into(tmp, path)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_write(path, "w", encoding) as f:
        f.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int = 2, ensure_ascii: bool = True,
                      newline: bool = False) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (``newline`` adds a final line break)."""
    text = json.dumps(obj, indent=indent, ensure_ascii=ensure_ascii)
    return write_text_atomic(path, text + "\n" if newline else text)
