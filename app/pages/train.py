"""The Train page: a wizard. Clips folder -> preprocessing with progress -> the dataset doctor's report ->
encoder / preset / steps / pretrained pair / device -> training with live loss curves, Pause / Resume / Stop ->
done: the voice joins the library and the Convert page can use it at once. The run's options are kept in the
settings until it finishes, so closing the app mid-run (which stops it cleanly, checkpoint written) and reopening
offers to resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QThread, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.pages import AppContext
from app.pages.train_steps import OptionsStep, ReportView, SourceStep
from app.pages.train_view import TrainingView
from app.train_jobs import (
    PrepResult,
    TrainControl,
    TrainOptions,
    TrainOutcome,
    has_checkpoints,
    preprocess_job,
    train_job,
)
from app.widgets.progress import JobProgress
from svc_core.train.logs import read_metrics

KEY = "train"
TITLE = "Train"
STEPS = ("Clips", "Preprocess", "Report", "Options", "Training", "Done")


class TrainPage(QWidget):
    """The wizard; ``step`` is the index into STEPS shown."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.prep: PrepResult | None = None
        self.options: TrainOptions | None = None
        self.outcome: TrainOutcome | None = None
        self.control = TrainControl()
        self._prep_job = self._train_job = 0
        self.crumbs = [QLabel(f"{i + 1}. {name}") for i, name in enumerate(STEPS)]
        crumb_row = QHBoxLayout()
        for i, c in enumerate(self.crumbs):
            if i:
                crumb_row.addWidget(QLabel("\u203a"))
            crumb_row.addWidget(c)
        crumb_row.addStretch(1)
        self.source = SourceStep(ctx.settings.voices_dir)
        self.prep_progress = JobProgress(ctx.engine)
        self.prep_log = QPlainTextEdit(readOnly=True)
        self.prep_log.setPlaceholderText("Preprocessing messages")
        prep_page = QWidget()
        pl = QVBoxLayout(prep_page)
        pl.addWidget(QLabel("Slicing, resampling and normalising the clips; broken files are rejected with a reason."))
        pl.addWidget(self.prep_progress)
        pl.addWidget(self.prep_log, 1)
        self.report = ReportView()
        self.opts = OptionsStep(ctx.settings.device)
        self.view = TrainingView()
        self.done_label = QLabel()
        self.done_label.setWordWrap(True)
        self.use_button = QPushButton("Convert with this voice")
        self.use_button.setObjectName("primary")
        self.again_button = QPushButton("Train another voice")
        done_page = QWidget()
        dl = QVBoxLayout(done_page)
        dl.addWidget(self.done_label)
        row = QHBoxLayout()
        row.addWidget(self.use_button)
        row.addWidget(self.again_button)
        row.addStretch(1)
        dl.addLayout(row)
        dl.addStretch(1)
        self.stack = QStackedWidget()
        for w in (self.source, prep_page, self.report, self.opts, self.view, done_page):
            self.stack.addWidget(w)
        self.back_button, self.next_button = QPushButton("Back"), QPushButton("Next")
        self.next_button.setObjectName("primary")
        for b in (self.back_button, self.next_button):
            b.setMinimumWidth(120)
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e05050; font-weight: bold;")
        self.problem.hide()
        nav = QHBoxLayout()
        nav.addWidget(self.problem, 1)
        nav.addStretch(1)
        nav.addWidget(self.back_button)
        nav.addWidget(self.next_button)
        lay = QVBoxLayout(self)
        lay.addLayout(crumb_row)
        lay.addWidget(self.stack, 1)
        lay.addLayout(nav)

        self._poll = QTimer(self, interval=1000)
        self._poll.timeout.connect(self.view.refresh)
        self.next_button.clicked.connect(self.next)
        self.back_button.clicked.connect(self.back)
        self.view.pause_button.toggled.connect(self.set_paused)
        self.view.stop_button.clicked.connect(self.stop)
        self.use_button.clicked.connect(self._use_voice)
        self.again_button.clicked.connect(lambda: self.show_step(0))
        self.source.resume_button.clicked.connect(self.resume)
        self.source.discard_button.clicked.connect(self._forget_run)
        e = ctx.engine
        e.job_progress.connect(self._on_progress)
        e.job_finished.connect(self._on_finished)
        e.job_failed.connect(self._on_failed)
        e.job_cancelled.connect(self._on_cancelled)
        self.show_step(0)
        self._offer_resume()

    # -- navigation --

    @property
    def step(self) -> int:
        """The step shown (index into STEPS)."""
        return self.stack.currentIndex()

    @property
    def training(self) -> bool:
        """True while a training job is queued or running."""
        return bool(self._train_job)

    def show_step(self, i: int) -> None:
        """Show step ``i`` and set the buttons for it."""
        self.stack.setCurrentIndex(i)
        for k, c in enumerate(self.crumbs):
            c.setStyleSheet("font-weight: bold; text-decoration: underline;" if k == i else
                            ("" if k < i else "color: gray;"))
        labels = {0: "Preprocess", 1: "Next", 2: "Next", 3: "Train", 4: "Next", 5: "Next"}
        self.next_button.setText(labels[i])
        self.next_button.setVisible(i in (0, 2, 3))
        self.back_button.setVisible(i in (2, 3))
        self.next_button.setEnabled(not (self._prep_job or self._train_job))
        self.set_problem("")

    def set_problem(self, text: str) -> None:
        """A message in the wizard (errors of the current step)."""
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def next(self) -> None:
        """The primary action of the step shown."""
        if self.step == 0:
            self.preprocess()
        elif self.step == 2:
            self.show_step(3)
        elif self.step == 3:
            self.train()

    def back(self) -> None:
        """One step back (report -> clips, options -> report)."""
        self.show_step({2: 0, 3: 2}.get(self.step, self.step))

    # -- preprocessing --

    def preprocess(self) -> int:
        """Queue preprocessing of the clips folder; returns the job id."""
        folder = self.source.folder_path()
        if folder is None or not folder.is_dir():
            self.set_problem("Choose a folder of clips first" if folder is None else f"{folder}: not a folder")
            return 0
        self.prep_log.clear()
        job = self.ctx.engine.run("preprocess", preprocess_job(folder, self.source.dataset_path(),
                                                              int(self.source.rate.currentData())))
        self._prep_job = job.id
        self.prep_progress.track(job.id)
        self.show_step(1)
        return job.id

    # -- training --

    def _gather(self) -> TrainOptions:
        o = self.opts
        steps = int(o.steps.value())
        return TrainOptions(
            dataset=self.prep.dataset if self.prep else self.source.dataset_path(), voice_dir=self.source.voice_dir(),
            encoder=o.encoder.currentText(), f0_method=o.f0.currentText(), preset=o.preset.currentText(),
            steps=steps, device=o.device.currentText(),
            pretrained_g=Path(o.pre_g.text().strip()) if o.pre_g.text().strip() else None,
            pretrained_d=Path(o.pre_d.text().strip()) if o.pre_d.text().strip() else None,
            eval_interval=int(o.eval_every.value()), log_interval=max(1, min(50, steps // 100)),
            weights_dir=self.ctx.settings.weights_dir or None)

    def train(self, options: TrainOptions | None = None) -> int:
        """Queue training (the wizard's options, or ``options``); returns the job id."""
        if self._train_job:
            return 0
        o = options or self._gather()
        if o.pretrained_d is not None and o.pretrained_g is None:
            self.set_problem("A pretrained discriminator needs its generator too")
            return 0
        if not o.resume and has_checkpoints(o.voice_dir):
            self.set_problem(f"{o.voice_dir} already holds a trained voice: choose another voice name on step 1")
            return 0
        self.options = o
        self.control = TrainControl()
        self.ctx.settings.set("app.train_run", o.to_dict() | {"resume": True})
        job = self.ctx.engine.run("train", train_job(o, self.control))
        self._train_job = job.id
        self.view.follow(o.voice_dir)
        self.view.pause_button.setChecked(False)
        self.view.pause_button.setEnabled(True)
        self.view.stop_button.setEnabled(True)
        self.view.set_progress(0.0, "queued")
        self.show_step(4)
        self._poll.start()
        return job.id

    def set_paused(self, on: bool) -> None:
        """Pause (between steps) or resume the running training."""
        if on:
            self.control.pause.set()
        else:
            self.control.pause.clear()
        self.view.pause_button.setText("Resume" if on else "Pause")

    def stop(self) -> None:
        """Stop training after the current step; the loop writes a checkpoint first."""
        if self._train_job:
            self.control.stop.cancel()
            self.control.pause.clear()
            self.view.stop_button.setEnabled(False)
            self.view.set_progress(self.view.bar.value() / 1000, "stopping after this step (writing a checkpoint)")

    def resume(self) -> int:
        """Resume the interrupted run kept in the settings."""
        run = self.ctx.settings.get("app.train_run")
        if not run:
            return 0
        o = TrainOptions.from_dict(run)
        o.resume = True
        self.source.resume_box.hide()
        return self.train(o)

    def _offer_resume(self) -> None:
        run = self.ctx.settings.get("app.train_run")
        voice = Path(run["voice_dir"]) if run.get("voice_dir") else None
        step = has_checkpoints(voice) if voice else 0
        if voice is None or not step:
            self.source.resume_box.hide()
            return
        self.source.resume_label.setText(f"Training of <b>{voice.name}</b> stopped at step {step} of "
                                         f"{run.get('steps')} ({voice}). Resume it?")
        self.source.resume_box.show()

    def _forget_run(self) -> None:
        self.ctx.settings.set("app.train_run", {})
        self.source.resume_box.hide()

    def _use_voice(self) -> None:
        if self.outcome is None:
            return
        win = self.window()
        if hasattr(win, "show_page"):
            win.show_page("convert").form.select_voice(self.outcome.voice_dir)

    # -- engine signals --

    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        if job_id == self._train_job:
            self.view.set_progress(fraction, stage)
        elif job_id == self._prep_job and stage:
            self.prep_log.appendPlainText(stage)

    def _on_finished(self, job_id: int, result: Any) -> None:
        if job_id == self._prep_job:
            self._prep_job = 0
            self.prep = result
            self.report.show_report(result.report, result.processed, result.skipped)
            self.show_step(2)
        elif job_id == self._train_job:
            self._train_job = 0
            self._poll.stop()
            self.view.refresh()
            self.outcome = result
            self.ctx.library.add_path(result.voice_dir)
            if result.stopped:
                self.view.set_progress(self.view.bar.value() / 1000, f"stopped at step {result.step}; checkpoint "
                                                                     f"G_{result.step}.pth written (resumable)")
                self.view.pause_button.setEnabled(False)
                self._offer_resume()
                self.show_step(4)
                return
            self.ctx.settings.set("app.train_run", {})
            val = [r for r in read_metrics(result.voice_dir / "logs", "val") if isinstance(r.get("mel"), float)]
            first = f"; validation mel loss {val[0]['mel']:.3f} at step {val[0]['step']} -> {val[-1]['mel']:.3f} at " \
                    f"step {val[-1]['step']}" if val else ""
            self.done_label.setText(f"<b>{result.voice_dir.name}</b> is trained ({result.step} steps{first}) and in "
                                    f"the library: {result.voice_dir}<br>Files: config.json, G_{result.step}.pth, "
                                    "f0_stats.json and the retrieval index; open it on the Convert or Live page.")
            self.show_step(5)

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if job_id == self._prep_job:
            self._prep_job = 0
            self.show_step(0)
            self.set_problem(f"Preprocessing failed: {message}")
        elif job_id == self._train_job:
            self._train_job = 0
            self._poll.stop()
            self.view.refresh()
            self.show_step(3)
            self.set_problem(f"Training failed: {message}")
            self._offer_resume()

    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self._prep_job:
            self._prep_job = 0
            self.show_step(0)
        elif job_id == self._train_job:
            self._train_job = 0
            self._poll.stop()

    def prepare_close(self, timeout_ms: int = 120000) -> bool:
        """Closing the app: stop a running training after its step (checkpoint written) and wait for it."""
        if not self._train_job:
            return True
        self.stop()
        deadline = QDeadlineTimer(timeout_ms)
        while self._train_job and not deadline.hasExpired():
            QCoreApplication.processEvents()
            QThread.msleep(20)
        return not self._train_job

    def screenshot_states(self) -> list[tuple[str, Any]]:
        """(name suffix, action) per wizard step, for ``python -m app --screenshot``."""
        return [(f"{i + 1}-{name.lower()}", lambda i=i: self.show_step(i)) for i, name in
                enumerate(STEPS)]


def create(ctx: AppContext) -> QWidget:
    """The page widget."""
    return TrainPage(ctx)
