"""Progress of one engine job: a bar with the job's stage and a Cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.engine import Engine

__all__ = ["JobProgress"]


class JobProgress(QWidget):
    """Follows the job given to :meth:`track`; Cancel cancels it through the engine."""

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.job_id = 0
        self.bar = QProgressBar(minimum=0, maximum=1000, value=0)
        self.bar.setFormat("%p %")
        self.stage = QLabel("Ready")
        self.stage.setMinimumWidth(160)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc); nothing is written")
        self.cancel_button.setEnabled(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.stage)
        lay.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.cancel)
        engine.job_progress.connect(self._on_progress)
        engine.job_finished.connect(lambda jid, _r: self._end(jid, "Done", True))
        engine.job_failed.connect(lambda jid, msg, _d: self._end(jid, "Failed", False))
        engine.job_cancelled.connect(lambda jid: self._end(jid, "Cancelled", False))

    @property
    def fraction(self) -> float:
        """Bar position in [0, 1]."""
        return self.bar.value() / 1000.0

    def track(self, job_id: int, stage: str = "queued") -> None:
        """Show the progress of ``job_id``."""
        self.job_id = job_id
        self.bar.setValue(0)
        self.stage.setText(stage)
        self.cancel_button.setEnabled(True)

    def cancel(self) -> None:
        """Cancel the tracked job."""
        if self.job_id:
            self.engine.cancel(self.job_id)
            self.stage.setText("cancelling...")

    def _on_progress(self, job_id: int, fraction: float, stage: str) -> None:
        if job_id == self.job_id:
            self.bar.setValue(int(round(1000 * max(0.0, min(1.0, fraction)))))
            self.stage.setText(stage)

    def _end(self, job_id: int, text: str, done: bool) -> None:
        if job_id != self.job_id:
            return
        if done:
            self.bar.setValue(1000)
        self.stage.setText(text)
        self.cancel_button.setEnabled(False)
        self.job_id = 0
