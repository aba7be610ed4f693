"""Progress reports, cancellation and the job runner shared by long jobs (CLI progress bar and GUI draw one
stream): a job is a generator yielding :class:`Progress`; :func:`drive` runs one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from svc_core.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One progress report: ``fraction`` in [0, 1] of the whole job and the current ``stage``."""

    fraction: float
    stage: str


ProgressCallback = Callable[[Progress], None]
T = TypeVar("T")


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


#: A long job: a generator that yields :class:`Progress` between steps and returns its result.
Job = Generator[Progress, None, T]


def drive(job: Job[T], cancel: CancelToken | None = None, progress: ProgressCallback | None = None) -> T:
    """Run ``job`` to its end and return its result: every Progress goes to ``progress``; a cancel request stops
    it at its next step (the generator is closed, so its ``with`` blocks clean up) and raises :class:`Cancelled`."""
    try:
        while True:
            if cancel is not None:
                cancel.check()
            p = next(job)
            if progress is not None:
                progress(p)
    except StopIteration as stop:
        return stop.value
    finally:
        job.close()
