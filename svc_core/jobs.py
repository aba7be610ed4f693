"""Progress reports and cancellation shared by long jobs (CLI progress bar and GUI draw one stream)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from svc_core.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report: ``fraction`` in [0, 1] of the whole job and the current ``stage``."""

    fraction: float
    stage: str


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """Thread-safe cancellation flag; jobs call :meth:`check` between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self._event.is_set():
            raise Cancelled("cancelled by the user")
