"""Progress reports, cancellation, the job runner and the warning channel shared by long jobs (the CLI and the
GUI draw one stream): a job is a generator yielding :class:`Progress`; :func:`drive` runs one.

Warnings (something the user should know that does not stop the job: a clipped input, an ignored metadata file)
go through one channel: :func:`warn` issues a :class:`SvcWarning` with Python's ``warnings`` module. The CLI
prints them (:func:`capture_warnings`); the GUI installs a ``warnings.showwarning`` hook that turns SvcWarning into
a signal (a hook, not ``capture_warnings``, which swaps process-wide state and so suits single-threaded callers).
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Generator, Iterator
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


class SvcWarning(UserWarning):
    """A user-facing warning from the engine (the message names the file and what happened)."""


def warn(message: str) -> None:
    """Issue ``message`` as an :class:`SvcWarning` (the one warning channel of the engine)."""
    warnings.warn(SvcWarning(message), stacklevel=2)


@contextlib.contextmanager
def capture_warnings(sink: Callable[[str], None]) -> Iterator[None]:
    """Every SvcWarning issued in the block goes to ``sink`` (each one, repeats too) when the block ends; other
    warnings are shown as usual. Not thread-safe (``warnings.catch_warnings`` is process-wide)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SvcWarning)
        try:
            yield
        finally:
            records = list(caught)
    for w in records:
        if issubclass(w.category, SvcWarning):
            sink(str(w.message))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


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
