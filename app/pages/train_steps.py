"""The Train wizard's step widgets: the clips folder, the dataset doctor's report (tables, warnings highlighted,
rejected files), and the training options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from svc_core.f0 import DEFAULT_EXTRACTOR, EXTRACTOR_NAMES
from svc_core.train.presets import ENCODER_DIMS, PRESETS

__all__ = ["OptionsStep", "ReportView", "SourceStep", "path_row"]

RATES = (16000, 22050, 24000, 32000, 40000, 44100, 48000)


def path_row(edit: QLineEdit, title: str, folder: bool, parent: QWidget) -> QHBoxLayout:
    """A line edit with a Browse button (a folder or a file dialog)."""
    b = QPushButton("Browse...")
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(b)

    def browse() -> None:
        if folder:
            p = QFileDialog.getExistingDirectory(parent, title, edit.text())
        else:
            p, _ = QFileDialog.getOpenFileName(parent, title, edit.text(), "Checkpoint (*.pth *.pt)")
        if p:
            edit.setText(p)

    b.clicked.connect(browse)
    return row


class SourceStep(QWidget):
    """Step 1: the folder of clips (one sub-folder per speaker, or flat), the dataset folder, the voice name."""

    def __init__(self, voices_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.voices_dir = voices_dir
        self.folder, self.dataset, self.name = QLineEdit(), QLineEdit(), QLineEdit()
        self.folder.setPlaceholderText("folder of sung clips (wav, flac, mp3, ...)")
        self.dataset.setPlaceholderText("where the prepared dataset goes (default: beside the clips)")
        self.name.setPlaceholderText("voice name (default: the clips folder's name)")
        self.rate = QComboBox()
        for r in RATES:
            self.rate.addItem(f"{r} Hz", r)
        self.rate.setCurrentIndex(RATES.index(44100))
        g = QGroupBox("Clips to learn from")
        f = QFormLayout(g)
        f.addRow("Clips folder", path_row(self.folder, "Folder of clips", True, self))
        f.addRow("Dataset folder", path_row(self.dataset, "Dataset folder", True, self))
        f.addRow("Voice name", self.name)
        f.addRow("Model sample rate", self.rate)
        hint = QLabel("One sub-folder per singer makes a multi-speaker voice; a flat folder is one singer. Clips are "
                      "sliced at silences into 2-15 s pieces, resampled and loudness-normalised; broken, silent or "
                      "clipped audio is rejected with a reason.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.resume_box = QGroupBox("Interrupted training")
        rl = QHBoxLayout(self.resume_box)
        self.resume_label = QLabel()
        self.resume_label.setWordWrap(True)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("primary")
        self.discard_button = QPushButton("Forget")
        rl.addWidget(self.resume_label, 1)
        rl.addWidget(self.resume_button)
        rl.addWidget(self.discard_button)
        self.resume_box.hide()
        lay = QVBoxLayout(self)
        lay.addWidget(self.resume_box)
        lay.addWidget(g)
        lay.addWidget(hint)
        lay.addStretch(1)

    def folder_path(self) -> Path | None:
        """The clips folder, or None."""
        t = self.folder.text().strip()
        return Path(t) if t else None

    def dataset_path(self) -> Path:
        """The dataset folder (default ``<clips>-dataset`` beside the clips)."""
        t = self.dataset.text().strip()
        src = self.folder_path() or Path("clips")
        return Path(t) if t else src.parent / f"{src.name}-dataset"

    def voice_name(self) -> str:
        """The voice's folder name (default: the one singer's sub-folder, else the clips folder's name)."""
        if self.name.text().strip():
            return self.name.text().strip()
        src = self.folder_path() or Path("voice")
        subs = [p for p in src.iterdir() if p.is_dir()] if src.is_dir() else []
        files = [p for p in src.iterdir() if p.is_file()] if src.is_dir() else []
        return subs[0].name if len(subs) == 1 and not files else src.name

    def voice_dir(self) -> Path:
        """Where the voice is written: the voices folder when set, else inside the dataset."""
        root = Path(self.voices_dir) if self.voices_dir else self.dataset_path()
        return root / self.voice_name()


def _item(text: str, warn: bool = False) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if warn:
        it.setForeground(QColor("#e0a030"))
    return it


class ReportView(QWidget):
    """Step 3: the doctor's report: warnings (highlighted), a row per speaker, the rejected files."""

    COLUMNS = ("Speaker", "Minutes", "Clips", "Files", "Pitch", "Clipping %", "Noise floor", "SNR",
               "Loudness spread")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No report yet: it appears here once the clips are preprocessed.")
        self.summary.setWordWrap(True)
        self.warnings = QListWidget()
        self.warnings.setMaximumHeight(110)
        self.speakers = QTableWidget(0, len(self.COLUMNS))
        self.speakers.setHorizontalHeaderLabels(self.COLUMNS)
        self.speakers.verticalHeader().hide()
        self.speakers.horizontalHeader().setStretchLastSection(True)
        self.durations = QTableWidget(0, 0)
        self.durations.verticalHeader().hide()
        self.rejected = QTableWidget(0, 2)
        self.rejected.setHorizontalHeaderLabels(("Rejected file or part", "Reason"))
        self.rejected.verticalHeader().hide()
        self.rejected.horizontalHeader().setStretchLastSection(True)
        self.rejected.setColumnWidth(0, 380)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        self.groups: dict[str, QGroupBox] = {}
        for title, w, stretch in (("Warnings", self.warnings, 0), ("Speakers", self.speakers, 1),
                                  ("Clip durations", self.durations, 0), ("Rejected", self.rejected, 1)):
            g = self.groups[title] = QGroupBox(title)
            QVBoxLayout(g).addWidget(w)
            lay.addWidget(g, stretch)
        self.durations.setMaximumHeight(90)

    def show_report(self, rep: dict[str, Any], processed: int = 0, skipped: int = 0) -> None:
        """Fill the tables from a ``dataset_report`` dict."""
        spk = rep.get("speakers", {})
        minutes = sum(s["minutes"] for s in spk.values())
        clips = sum(s["clips"] for s in spk.values())
        self.summary.setText(f"<b>{clips} clips, {minutes:.1f} min</b> from {len(spk)} speaker(s) at "
                             f"{rep.get('sample_rate')} Hz in {rep.get('dataset')} ({processed} file(s) processed, "
                             f"{skipped} unchanged since the last run)")
        self.warnings.clear()
        for w in rep.get("warnings", []) or ["No warnings"]:
            it = QListWidgetItem(("\u26a0 " if rep.get("warnings") else "\u2713 ") + w)
            if rep.get("warnings"):
                it.setForeground(QColor("#e0a030"))
            self.warnings.addItem(it)
        self.speakers.setRowCount(len(spk))
        for r, (name, s) in enumerate(spk.items()):
            p = s.get("pitch") or {}
            pitch = f"{p['low_note']} .. {p['high_note']}" if p else "after features"

            def f(v: float | None, unit: str) -> str:
                return "-" if v is None else f"{v:.1f} {unit}"

            cells = [(name, False), (f"{s['minutes']:.2f}", s["minutes"] < 10), (str(s["clips"]), False),
                     (str(s["sources"]), False), (pitch, False),
                     (f"{s['clipping_clips_percent']:.1f}", s["clipping_clips_percent"] > 5),
                     (f(s["noise_floor_db_median"], "dBFS"), False), (f(s["snr_db_median"], "dB"), False),
                     (f(s["loudness_lufs_spread"], "LU"), False)]
            for c, (text, warn) in enumerate(cells):
                self.speakers.setItem(r, c, _item(text, warn))
        self.speakers.resizeColumnsToContents()
        bins = list(next(iter(spk.values()))["duration_histogram"]) if spk else []
        self.durations.setColumnCount(1 + len(bins))
        self.durations.setHorizontalHeaderLabels(["Speaker", *bins])
        self.durations.setRowCount(len(spk))
        for r, (name, s) in enumerate(spk.items()):
            self.durations.setItem(r, 0, _item(name))
            for c, b in enumerate(bins):
                self.durations.setItem(r, c + 1, _item(str(s["duration_histogram"][b])))
        self.durations.resizeColumnsToContents()
        rej = rep.get("rejected", [])
        self.groups["Rejected"].setTitle(f"Rejected ({len(rej)})" if rej else "Rejected: none, every file was usable")
        self.rejected.setRowCount(len(rej))
        for r, e in enumerate(rej):
            self.rejected.setItem(r, 0, _item(e["file"], True))
            self.rejected.setItem(r, 1, _item(e["reason"]))
        self.rejected.resizeColumnToContents(0)
        self.rejected.setColumnWidth(0, max(380, min(700, self.rejected.columnWidth(0))))


class OptionsStep(QWidget):
    """Step 4: encoder, F0 method, preset, steps, checkpoint interval, pretrained G/D, device."""

    def __init__(self, device: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.encoder, self.f0, self.preset, self.device = QComboBox(), QComboBox(), QComboBox(), QComboBox()
        self.encoder.addItems(list(ENCODER_DIMS))
        self.f0.addItems(list(EXTRACTOR_NAMES))
        self.f0.setCurrentText(DEFAULT_EXTRACTOR)
        self.preset.addItems(list(PRESETS))
        self.preset.setCurrentText("default")
        self.preset.setToolTip("default: so-vits-svc 4.1's network; small: for modest GPUs; tiny: a CPU smoke test")
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(device if device in ("auto", "cpu", "cuda", "mps") else "auto")
        self.steps = QSpinBox(minimum=1, maximum=1_000_000, value=10000, singleStep=1000)
        self.eval_every = QSpinBox(minimum=1, maximum=100_000, value=800, singleStep=100)
        self.eval_every.setToolTip("Validate, write samples and a checkpoint every N steps")
        self.pre_g, self.pre_d = QLineEdit(), QLineEdit()
        self.pre_g.setPlaceholderText("optional: a pretrained base generator G_0.pth")
        self.pre_d.setPlaceholderText("optional: its discriminator D_0.pth")
        g = QGroupBox("Training")
        f = QFormLayout(g)
        f.addRow("Content encoder", self.encoder)
        f.addRow("F0 method (features)", self.f0)
        f.addRow("Network preset", self.preset)
        f.addRow("Steps", self.steps)
        f.addRow("Checkpoint every", self.eval_every)
        f.addRow("Pretrained G", path_row(self.pre_g, "Pretrained generator", False, self))
        f.addRow("Pretrained D", path_row(self.pre_d, "Pretrained discriminator", False, self))
        f.addRow("Device", self.device)
        hint = QLabel("The encoder and F0 method compute the dataset's features once (cached). A pretrained base "
                      "pair shortens training a lot; without one the voice starts from random weights.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(g)
        lay.addWidget(hint)
        lay.addStretch(1)
