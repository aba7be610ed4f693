"""One line per failed file, whatever failed: the path once, then what went wrong in words (a full disk, a name
too long, an unexpected exception's type and message), never a traceback. No torch."""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = ["describe_failure"]

_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EACCES: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "file or folder not found",
}


def describe_failure(src: Path, exc: BaseException) -> str:
    """``<src>: <reason>`` for any exception raised while converting ``src`` (the path appears once)."""
    from svc_core.errors import CheckpointError, SvcError

    if isinstance(exc, (SvcError, CheckpointError)):
        msg = str(exc)
    elif isinstance(exc, OSError):
        reason = _OS_REASONS.get(exc.errno or -1, exc.strerror or str(exc))
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(src) else ""
        msg = f"{reason}{where}"
    elif isinstance(exc, MemoryError):
        msg = "out of memory (try a shorter file, or --device cpu if the GPU ran out)"
    else:
        text = " ".join(str(exc).split())[:400]
        msg = f"unexpected error ({type(exc).__name__}{': ' + text if text else ''})"
    return msg if msg.startswith(str(src)) else f"{src}: {msg}"
