"""The Live page: the microphone through a voice in real time. Start builds the session on the engine thread (the
voice loads there); the audio then runs on the live stream's own threads and this page only polls its levels,
late blocks and per-block inference time. Runtime settings (transpose, speaker, gate) go to the running engine in
place; any other change restarts the session by itself. Errors show in the page, never as a crash."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.live_jobs import LiveSession, calibrate_job, measure_job, open_session, start_job
from app.pages import AppContext
from app.pages.live_form import LiveForm
from app.theme import plot_colors
from app.widgets.level_meter import LevelMeter
from app.widgets.plot_base import ThemedPlot
from svc_core.errors import SvcError
from svc_core.live.settings import LiveSettings, apply_calibrated, load_calibrated

KEY = "live"
TITLE = "Live"
_HISTORY = 200  # blocks in the inference-time plot


class LivePage(QWidget):
    """Devices, timing, voice controls, Start / Stop, meters and the inference-time plot."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.base = apply_calibrated(LiveSettings(), load_calibrated())
        self.form = LiveForm(ctx.library, self.base)
        self.session: LiveSession | None = None
        self.error = ""  # the last error shown in the page
        self._job = self._cal_job = self._measure_job = 0
        self._restart_after_measure = False
        self._times: deque[float] = deque(maxlen=_HISTORY)
        self._last_late = 0
        self._slow_shown = False

        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.setMinimumWidth(120)
        self.state_label = QLabel("Stopped")
        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e05050; font-weight: bold;")
        self.error_label.hide()
        self.in_meter, self.out_meter = LevelMeter(), LevelMeter()
        self.late_label, self.time_label, self.rt_label = QLabel("0"), QLabel("-"), QLabel("not measured")
        self.measure_button = QPushButton("Measure round trip")
        self.measure_button.setToolTip("Play clicks on the output and find them in the input (needs a loopback)")
        self.plot = ThemedPlot(y_label="ms", x_label="block")
        self.plot.setXRange(0, _HISTORY, padding=0.0)
        self.plot.setMinimumHeight(160)
        self.curve = self.plot.plot([], [])
        self.budget = pg.InfiniteLine(angle=0, movable=False)
        self.plot.addItem(self.budget)
        self.plot.apply_plot_theme(plot_colors())
        self.budget.setValue(self.base.block_ms)
        self.plot.setYRange(0, 1.1 * self.base.block_ms, padding=0.0)

        top = QHBoxLayout()
        top.addWidget(self.start_button)
        top.addWidget(self.state_label, 1)
        g_run = QGroupBox("Session")
        f = QFormLayout(g_run)
        f.addRow("Input level", self.in_meter)
        f.addRow("Output level", self.out_meter)
        f.addRow("Late blocks", self.late_label)
        f.addRow("Inference per block", self.time_label)
        rt = QHBoxLayout()
        rt.addWidget(self.rt_label, 1)
        rt.addWidget(self.measure_button)
        f.addRow("Round trip", rt)
        g_plot = QGroupBox("Inference time per block (line: the block's duration)")
        QVBoxLayout(g_plot).addWidget(self.plot)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addLayout(top)
        rl.addWidget(self.error_label)
        rl.addWidget(g_run)
        rl.addWidget(g_plot, 1)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(380)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setSizes([400, 860])
        split.setStretchFactor(1, 1)
        QVBoxLayout(self).addWidget(split)

        self._poll = QTimer(self, interval=100)
        self._poll.timeout.connect(self._tick)
        self._restart = QTimer(self, singleShot=True, interval=400)
        self._restart.timeout.connect(self._restart_now)
        self.start_button.clicked.connect(self.toggle)
        self.form.calibrate_button.clicked.connect(self.calibrate)
        self.measure_button.clicked.connect(self.measure)
        self.form.changed.connect(self._on_form)
        e = ctx.engine
        e.job_finished.connect(self._on_finished)
        e.job_failed.connect(self._on_failed)
        e.job_cancelled.connect(self._on_cancelled)
        e.job_progress.connect(self._on_progress)
        self.form.update_latency(self.base)
        if self.form.device_error:
            self.show_problem(f"No audio devices: {self.form.device_error}")

    # -- state --

    @property
    def running(self) -> bool:
        """True while a session streams."""
        return self.session is not None

    def show_problem(self, text: str) -> None:
        """Show an error in the page (never a dialog: the page stays usable)."""
        self.error = text
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        if text:
            self.ctx.engine.log_line.emit(f"live: {text}")

    # -- start / stop --

    def toggle(self) -> None:
        """Start when stopped, stop when running."""
        if self.running or self._job:
            self.stop()
        else:
            self.start()

    def _settings(self) -> LiveSettings | None:
        """The form's live settings, or None with the reason shown in the page."""
        try:
            return self.form.settings(self.base)
        except SvcError as e:
            self.show_problem(str(e))
            return None

    def start(self) -> int:
        """Start a session: passthrough at once (-1), a voice through a job on the engine thread (its id); 0 when
        refused or failed (the reason shows in the page)."""
        if self.running or self._job:
            return 0
        s = self._settings()
        if s is None:
            return 0
        if self.form.input.currentData() is None or self.form.output.currentData() is None:
            self.show_problem("Pick an input and an output device (Refresh after plugging one in)")
            return 0
        self.show_problem("")
        voice = self.form.voice_path()
        if voice is None:  # passthrough needs no model: open it now, whatever the engine thread is doing
            try:
                session = open_session(s)
            except (SvcError, OSError) as e:
                self.stop()
                self.show_problem(f"Cannot start: {e}")
                return 0
            self._started(session)
            return -1
        job = self.ctx.engine.run("live start", start_job(s, voice, self.ctx.settings.weights_dir or None))
        self._job = job.id
        busy = [j.name for j in self.ctx.engine.pending() if j.id != job.id]
        self.state_label.setText(f"Waiting for the engine ({', '.join(busy)})..." if busy else "Starting...")
        self.start_button.setText("Stop")
        return job.id

    def stop(self) -> None:
        """Stop the session (or a start still queued)."""
        self._restart.stop()
        if self._job:
            self.ctx.engine.cancel(self._job)
        if self.session is not None:
            self.session.stop()
            self.session = None
        self._poll.stop()
        self.in_meter.reset()
        self.out_meter.reset()
        self.start_button.setText("Start")
        self.state_label.setText("Stopped")

    def _restart_now(self) -> None:
        if self.running:
            self.stop()
            self.start()

    def _on_form(self, kind: str) -> None:
        self.form.update_latency(self.base)
        if not self.running:
            return
        if kind == "runtime":
            try:
                self.session.engine.update(**self.form.runtime_values())
            except SvcError as e:
                self.show_problem(str(e))
        else:
            self._restart.start()  # debounced: a spin box being stepped restarts once

    # -- polling (GUI thread reads what the audio threads wrote) --

    def _tick(self) -> None:
        s = self.session
        if s is None:
            return
        st = s.stream
        st.check()  # a stream PortAudio stopped by itself is reopened (a few times) or ends with st.error
        if st.error is not None:
            err = st.error
            self.stop()
            self.show_problem(f"The session stopped: {err}")
            return
        self.in_meter.set_level(s.tap.in_rms)
        self.out_meter.set_level(s.tap.out_rms)
        late = int(st.counters.late)
        self.late_label.setText(f"{late}  (dropped {st.counters.dropped}, xruns {st.counters.xruns})")
        vals = st.times.values()
        if vals.size:
            self._times.extend(1e3 * vals[-min(vals.size, 4):])
            last = 1e3 * float(st.times.last)
            block_ms = 1e3 * s.engine.block_size / s.samplerate
            self.time_label.setText(f"{last:.1f} ms of {block_ms:.0f} ms ({100 * last / block_ms:.0f} %)")
            y = np.asarray(self._times)
            self.curve.setData(np.arange(y.size), y)
            self.plot.setYRange(0, max(block_ms * 1.1, float(y.max()) * 1.1), padding=0.0)
        if late > self._last_late + 3 and not self._slow_shown:
            self._slow_shown = True
            self.show_problem(f"The model is too slow for this block: {late} late blocks (filled with the dry "
                              "input). Use a longer block, less context, a faster F0 method, or Calibrate.")
        self._last_late = late

    # -- calibrate / measure --

    def calibrate(self) -> int:
        """Run the live self-calibration on the engine thread; its choice is applied to the timing."""
        if self._cal_job:
            return 0
        s = self._settings()
        if s is None:
            return 0
        job = self.ctx.engine.run("live calibrate", calibrate_job(s, self.form.voice_path(),
                                                                 self.ctx.settings.weights_dir or None,
                                                                 self.form.samplerate()))
        self._cal_job = job.id
        self.form.calibrate_button.setEnabled(False)
        self.state_label.setText("Calibrating...")
        return job.id

    def measure(self) -> int:
        """Measure the device round trip with clicks (a running session pauses for the measurement)."""
        if self._measure_job or self._job:
            return 0
        self._restart_after_measure = self.running
        if self.running:
            self.stop()
        job = self.ctx.engine.run("live measure", measure_job(512, self.form.samplerate(),
                                                             self.form.input.currentData(),
                                                             self.form.output.currentData()))
        self._measure_job = job.id
        self.measure_button.setEnabled(False)
        self.rt_label.setText("measuring...")
        return job.id

    # -- engine signals --

    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        if job_id in (self._job, self._cal_job) and stage:
            self.state_label.setText(stage)

    def _on_finished(self, job_id: int, result: Any) -> None:
        if job_id == self._job:
            self._job = 0
            self._started(result)
        elif job_id == self._cal_job:
            self._cal_job = 0
            self.form.calibrate_button.setEnabled(True)
            if result.choice is None:
                self.show_problem(result.reason)
            else:
                self.show_problem("")
                self.form.apply_timing(result.choice)
            self.state_label.setText("Calibrated: " + result.reason if result.choice else "Calibration failed")
        elif job_id == self._measure_job:
            self._measure_job = 0
            self.measure_button.setEnabled(True)
            rep = f", PortAudio reports {result.reported_ms:.0f} ms" if result.reported_ms else ""
            self.rt_label.setText(f"{result.ms:.1f} ms measured{rep}")
            self._resume_after_measure()

    def _started(self, session: LiveSession) -> None:
        self.session = session
        self._times.clear()
        self._last_late, self._slow_shown = 0, False
        self.budget.setValue(1e3 * session.engine.block_size / session.samplerate)
        self.start_button.setText("Stop")
        self.state_label.setText(f"Running: {session.engine.latency.total_ms:.0f} ms algorithmic latency, "
                                 f"{'duplex stream' if session.stream.duplex else 'input + output streams'}")
        self._poll.start()

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if job_id == self._job:
            self._job = 0
            self.stop()
            self.show_problem(f"Cannot start: {message}")
        elif job_id == self._cal_job:
            self._cal_job = 0
            self.form.calibrate_button.setEnabled(True)
            self.state_label.setText("Calibration failed")
            self.show_problem(f"Calibration failed: {message}")
        elif job_id == self._measure_job:
            self._measure_job = 0
            self.measure_button.setEnabled(True)
            self.rt_label.setText("not measured")
            self.show_problem(f"Round trip: {message}")
            self._resume_after_measure()

    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self._job:
            self._job = 0
        elif job_id == self._cal_job:
            self._cal_job = 0
            self.form.calibrate_button.setEnabled(True)
        elif job_id == self._measure_job:
            self._measure_job = 0
            self.measure_button.setEnabled(True)

    def _resume_after_measure(self) -> None:
        if self._restart_after_measure:
            self._restart_after_measure = False
            self.start()

    def prepare_close(self) -> None:
        """Stop the session before the app closes."""
        self.stop()


def create(ctx: AppContext) -> QWidget:
    """The page widget."""
    return LivePage(ctx)
