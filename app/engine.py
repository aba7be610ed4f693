"""The engine thread: one QThread owns the loaded models and the torch device and runs jobs from a queue.

A job is a callable taking a :class:`JobContext`; it reports progress and log lines through the context, checks
its :class:`~svc_core.jobs.CancelToken`, and returns a result. It may also return a generator (an svc_core job,
e.g. ``Converter.convert_file_job``): each Progress it yields becomes a progress signal, a cancel closes it at its
next step, and its return value is the result. Jobs are generic (convert, analyse, live, train
all use them). Everything a job reports reaches the GUI thread as a queued signal of :class:`Engine`. Objects a
job wants kept between jobs (a loaded voice, encoder, extractor) live in ``ctx.resources``, which only the
engine thread touches, so a CUDA context lives on that thread only.
"""

from __future__ import annotations

import itertools
import logging
import queue
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from svc_core.errors import Cancelled, SvcError
from svc_core.jobs import CancelToken, Progress, drive

__all__ = ["Engine", "Job", "JobContext"]

_ids = itertools.count(1)
_STOP = object()
_ORPHANS: list[QThread] = []  # engine threads still finishing a step when their Engine shut down


@dataclass
class Job:
    """A unit of work for the engine thread: ``run(ctx)`` returns the result (or raises)."""

    name: str
    run: Callable[[JobContext], Any]
    id: int = field(default_factory=lambda: next(_ids))
    cancel: CancelToken = field(default_factory=CancelToken)


class JobContext:
    """What a running job sees: its cancel token, progress and log reporting, and the engine's resources."""

    def __init__(self, job: Job, thread: _EngineThread) -> None:
        self.job = job
        self.cancel = job.cancel
        self._thread = thread
        self.resources: dict[str, Any] = thread.resources

    def progress(self, p: Progress | float, stage: str = "") -> None:
        """Report progress (a Progress or a fraction in [0, 1] with a stage name); also checks for cancel."""
        if not isinstance(p, Progress):
            p = Progress(float(p), stage)
        self._thread.progress.emit(self.job.id, float(p.fraction), p.stage)
        self.cancel.check()

    def log(self, message: str) -> None:
        """A line for the log panel."""
        self._thread.log.emit(message)

    def event(self, payload: object) -> None:
        """A job-specific intermediate result (e.g. one file of a batch done) for the page that queued it."""
        self._thread.event.emit(self.job.id, payload)


class _EngineThread(QThread):
    started_job = Signal(int, str)
    progress = Signal(int, float, str)
    log = Signal(str)
    event = Signal(int, object)
    finished_job = Signal(int, object)
    failed = Signal(int, str, str)
    cancelled = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("svc-engine")
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.resources: dict[str, Any] = {}
        self.current: Job | None = None

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is _STOP:
                break
            self._run_one(job)
        self.resources.clear()

    def _run_one(self, job: Job) -> None:
        if job.cancel.cancelled:
            self.cancelled.emit(job.id)
            return
        self.current = job
        self.started_job.emit(job.id, job.name)
        ctx = JobContext(job, self)
        try:
            result = job.run(ctx)
            if isinstance(result, Generator):
                result = drive(result, job.cancel, ctx.progress)
        except Cancelled:
            self.cancelled.emit(job.id)
        except SvcError as e:
            self.failed.emit(job.id, str(e), "")
        except Exception as e:  # noqa: BLE001 - any job error becomes an error dialog, the engine keeps running
            details = traceback.format_exc()
            self.failed.emit(job.id, f"{type(e).__name__}: {e}", details)
        else:
            if job.cancel.cancelled:
                self.cancelled.emit(job.id)  # no result after a cancel
            else:
                self.finished_job.emit(job.id, result)
        finally:
            self.current = None


class _LogBridge(logging.Handler):
    """Forwards svc_core log records to the log panel."""

    def __init__(self, thread: _EngineThread) -> None:
        super().__init__(logging.INFO)
        self._thread = thread
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self._thread.log.emit(self.format(record))


class Engine(QObject):
    """GUI-side handle of the engine thread. Signals carry the job id first."""

    job_started = Signal(int, str)
    job_progress = Signal(int, float, str)
    job_finished = Signal(int, object)
    job_failed = Signal(int, str, str)  # id, message, details (traceback for unexpected errors, else "")
    job_cancelled = Signal(int)
    job_event = Signal(int, object)
    log_line = Signal(str)
    state_changed = Signal(str)  # "idle" or "busy: <job name> (+N queued)"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = _EngineThread()
        self._pending: dict[int, Job] = {}
        t = self._thread
        t.started_job.connect(self._on_started)
        t.progress.connect(self.job_progress)
        t.log.connect(self.log_line)
        t.event.connect(self.job_event)
        t.finished_job.connect(self._on_finished)
        t.failed.connect(self._on_failed)
        t.cancelled.connect(self._on_cancelled)
        self._log_bridge = _LogBridge(t)
        logging.getLogger("svc_core").addHandler(self._log_bridge)
        if logging.getLogger("svc_core").level == logging.NOTSET:
            logging.getLogger("svc_core").setLevel(logging.INFO)
        t.start()

    # -- submitting --

    def submit(self, job: Job) -> int:
        """Queue ``job``; returns its id."""
        self._pending[job.id] = job
        self._thread.jobs.put(job)
        self._emit_state()
        return job.id

    def run(self, name: str, fn: Callable[[JobContext], Any]) -> Job:
        """Queue ``fn`` as a job called ``name``; returns the Job (its ``id`` and ``cancel`` token)."""
        job = Job(name, fn)
        self.submit(job)
        return job

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job (queued or running), or every job when ``job_id`` is None."""
        for jid, job in list(self._pending.items()):
            if job_id is None or jid == job_id:
                job.cancel.cancel()

    def resource(self, name: str) -> Any:
        """An object jobs keep in ``ctx.resources`` (None if absent); for inspection while the engine is idle."""
        return self._thread.resources.get(name)

    @property
    def busy(self) -> bool:
        """True while any job is queued or running."""
        return bool(self._pending)

    def pending(self) -> list[Job]:
        """Queued and running jobs, oldest first."""
        return list(self._pending.values())

    # -- shutdown --

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, stop the thread and wait up to ``timeout_ms``; True when it stopped."""
        self.cancel()
        self._thread.jobs.put(_STOP)
        ok = bool(self._thread.wait(timeout_ms))
        logging.getLogger("svc_core").removeHandler(self._log_bridge)
        if not ok:  # a step that cannot be interrupted (e.g. a model load): never destroy a running QThread
            _ORPHANS.append(self._thread)
        return ok

    # -- thread -> GUI --

    def _emit_state(self) -> None:
        running = self._thread.current
        if not self._pending:
            self.state_changed.emit("idle")
            return
        name = running.name if running is not None else next(iter(self._pending.values())).name
        more = len(self._pending) - 1
        self.state_changed.emit(f"busy: {name}" + (f" (+{more} queued)" if more > 0 else ""))

    def _on_started(self, job_id: int, name: str) -> None:
        self.job_started.emit(job_id, name)
        self._emit_state()

    def _done(self, job_id: int) -> None:
        self._pending.pop(job_id, None)
        self._emit_state()

    def _on_finished(self, job_id: int, result: object) -> None:
        self._done(job_id)
        self.job_finished.emit(job_id, result)

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        self._done(job_id)
        self.log_line.emit(f"ERROR {message}")
        self.job_failed.emit(job_id, message, details)

    def _on_cancelled(self, job_id: int) -> None:
        self._done(job_id)
        self.log_line.emit("job cancelled")
        self.job_cancelled.emit(job_id)
