"""Atomic file output: write a temp file next to the target, then ``os.replace`` it into place.

A reader never sees a half-written file, and an error or cancel leaves no output behind. Temp names are
``.<name>.<pid>.<random>.part``: a later run can tell the leftovers of a killed process (SIGKILL, power loss) from
a live writer's files and sweep them (:func:`sweep_stale_temp_files`). Temp files are created
with ``os.open(..., 0o666)`` so the process umask gives them the usual permissions (no ``os.umask`` flip, which is
process-wide and races with other threads, and no ``chmod`` of ``mkstemp``'s 0600 afterwards).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "new_temp_file", "replace_into", "sweep_stale_temp_files", "write_bytes_atomic",
           "write_json_atomic", "write_text_atomic"]

_TEMP_NAME = re.compile(r"^\.(.+?)\.(?:(\d+)\.)?[0-9a-f]{8}\.part$")
#: A temp file without a process id (older naming) counts as stale when untouched for this long.
STALE_AFTER_S = 3600.0


def new_temp_file(path: str | os.PathLike[str], suffix: str = ".part") -> Path:
    """Create an empty, uniquely named temp file beside ``path`` (same folder, so the rename is atomic)."""
    p = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = p.parent / f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{p.parent}: cannot create a unique temp file for {p.name}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its files
    return True


def sweep_stale_temp_files(folder: str | os.PathLike[str], names: Iterable[str] | None = None) -> list[Path]:
    """Delete this app's leftover temp files in ``folder``: ``.<name>.<pid>.<hex>.part`` whose process is gone, and
    the pid-less older naming untouched for STALE_AFTER_S (only for targets in ``names``, when given). Returns them."""
    d = Path(folder)
    wanted = None if names is None else set(names)
    removed: list[Path] = []
    try:
        entries = list(d.iterdir())
    except OSError:
        return removed
    now = time.time()
    for q in entries:
        m = _TEMP_NAME.match(q.name)
        if not m or not q.is_file():
            continue
        target, pid = m.group(1), m.group(2)
        if not pid and wanted is not None and target not in wanted:
            continue
        try:
            stale = not _alive(int(pid)) if pid else now - q.stat().st_mtime > STALE_AFTER_S
            if stale:
                q.unlink()
                removed.append(q)
        except OSError:
            continue
    return removed


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
