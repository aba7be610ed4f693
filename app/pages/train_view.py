"""The Train wizard's training view: live loss curves (mel, KL, adversarial, discriminator, validation), steps/s
and ETA, Pause / Resume / Stop, and the latest validation samples to play."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.train_jobs import latest_samples
from app.widgets.plot_base import ThemedPlot
from svc_core.audio.playback import Player
from svc_core.errors import SvcError
from svc_core.train.logs import read_metrics

__all__ = ["CURVES", "TrainingView"]

#: (kind, metric key, legend, colour)
CURVES = (("train", "g/mel", "mel", "#5aa9e6"), ("train", "g/kl", "KL", "#9c6ade"),
          ("train", "g/gen", "adversarial (G)", "#f2a65a"), ("train", "d/total", "discriminator", "#8a93a3"),
          ("val", "mel", "validation mel", "#ff6b8b"))


class TrainingView(QWidget):
    """Follows one voice folder's ``logs/metrics.jsonl`` (polled by the wizard) and the job's progress."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.voice_dir: Path | None = None
        self.points = 0  # loss points drawn (tests)
        self.bar = QProgressBar(minimum=0, maximum=1000)
        self.bar.setFormat("%p %")
        self.stage = QLabel("Not started")
        self.rate_label = QLabel("- steps/s")
        self.eta_label = QLabel("ETA -")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after this step; a checkpoint is written and the run can be resumed")
        self.plot = ThemedPlot(y_label="loss (log)", x_label="step")
        self.plot.setLogMode(y=True)
        self.plot.setMouseEnabled(x=True, y=True)
        self.plot.enableAutoRange()
        self.plot.addLegend(offset=(-10, 10), brush=pg.mkBrush("#80808030"), labelTextColor="#8a93a3")
        self.curves = {(k, m): self.plot.plot([], [], name=n, pen=pg.mkPen(c, width=2),
                                              symbol="o" if k == "val" else None, symbolSize=5, symbolBrush=c)
                       for k, m, n, c in CURVES}
        self.samples = QListWidget()
        self.samples.setMaximumHeight(100)
        self.samples_label = QLabel("Validation samples: none yet")
        self.play_button = QPushButton("Play")
        self.play_button.setEnabled(False)
        self.player = Player()
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.stop_button)
        stats = QHBoxLayout()
        stats.addWidget(self.stage, 1)
        stats.addWidget(self.rate_label)
        stats.addSpacing(16)
        stats.addWidget(self.eta_label)
        g_plot = QGroupBox("Losses")
        QVBoxLayout(g_plot).addWidget(self.plot)
        g_s = QGroupBox("Latest validation samples")
        sl = QVBoxLayout(g_s)
        sh = QHBoxLayout()
        sh.addWidget(self.samples_label, 1)
        sh.addWidget(self.play_button)
        sl.addLayout(sh)
        sl.addWidget(self.samples)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addLayout(stats)
        lay.addWidget(g_plot, 1)
        lay.addWidget(g_s)
        self.play_button.clicked.connect(self.toggle_play)
        self.samples.itemDoubleClicked.connect(lambda _it: self.toggle_play())
        self.samples.currentRowChanged.connect(lambda r: self.play_button.setEnabled(r >= 0))
        self._sample_step = -1
        self._t0 = time.monotonic()
        self._step0: int | None = None

    def follow(self, voice_dir: Path) -> None:
        """Start following ``voice_dir``."""
        self.voice_dir = Path(voice_dir)
        self._sample_step = -1
        self._step0 = None
        self._t0 = time.monotonic()
        self.refresh()

    def set_progress(self, fraction: float, stage: str) -> None:
        """The job's progress line (step, mel, steps/s, ETA come from the loop)."""
        self.bar.setValue(int(round(1000 * max(0.0, min(1.0, fraction)))))
        self.stage.setText(stage)
        if " steps/s ETA " in stage:
            head, eta = stage.split(" ETA ", 1)
            self.rate_label.setText(head.rsplit(" ", 2)[-2] + " steps/s")
            self.eta_label.setText("ETA " + eta.split(" ")[0])

    def refresh(self) -> None:
        """Re-read the metrics and the samples folder."""
        if not self.player.playing and self.play_button.text() != "Play":
            self.play_button.setText("Play")
        if self.voice_dir is None:
            return
        recs = read_metrics(self.voice_dir / "logs")
        n = 0
        for (kind, key), curve in self.curves.items():
            pts = [(r["step"], r[key]) for r in recs if r.get("kind") == kind and isinstance(r.get(key), (int, float))
                   and r[key] > 0]
            if pts:
                a = np.asarray(pts, np.float64)
                curve.setData(a[:, 0], a[:, 1])
            else:
                curve.setData([], [])
            n += len(pts)
        self.points = n
        step, files = latest_samples(self.voice_dir)
        if step != self._sample_step:
            self._sample_step = step
            self.samples.clear()
            for f in files:
                it = QListWidgetItem(f.name)
                it.setData(256, str(f))
                self.samples.addItem(it)
            self.samples_label.setText(f"Validation samples of step {step}" if files else
                                       "Validation samples: none yet")
            if files:
                self.samples.setCurrentRow(0)

    def toggle_play(self) -> None:
        """Play the selected sample (or stop)."""
        if self.player.playing:
            self.player.stop()
            self.play_button.setText("Play")
            return
        it = self.samples.currentItem()
        if it is None:
            return
        from svc_core.audio import read_audio

        try:
            a = read_audio(it.data(256))
            self.player.play(a.mono(), a.sr)
        except (SvcError, OSError) as e:
            self.stage.setText(f"cannot play {it.text()}: {e}")
            return
        self.play_button.setText("Stop playing")
