"""Process memory housekeeping for long jobs (no torch)."""

from __future__ import annotations

import ctypes
import sys
from typing import Any

__all__ = ["release_freed_memory"]

_LIBC: list[Any] = []


def release_freed_memory() -> None:
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
