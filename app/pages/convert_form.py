"""The Convert page's options: voice, speaker or speaker mix, pitch, quality and output. Defaults are
ConvertSettings' defaults; :meth:`ConvertForm.settings` gives the ConvertSettings to run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.library import VoiceLibrary
from app.settings import OUTPUT_FORMATS, OUTPUT_SUBTYPES, AppSettings
from svc_core.convert import ConvertSettings
from svc_core.f0 import EXTRACTOR_NAMES

__all__ = ["ConvertForm"]

OUTPUT_RATES = ("voice rate", "44100", "48000", "32000", "22050", "16000")


def _dspin(lo: float, hi: float, step: float, value: float, decimals: int = 2) -> QDoubleSpinBox:
    s = QDoubleSpinBox(minimum=lo, maximum=hi, singleStep=step, decimals=decimals)
    s.setValue(value)
    return s


class ConvertForm(QWidget):
    """Option panel; ``voice_changed`` fires when another voice is picked."""

    voice_changed = Signal()

    def __init__(self, library: VoiceLibrary, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library, self.app_settings = library, settings
        d = ConvertSettings()
        # voice
        self.voice = QComboBox()
        self.voice.setToolTip("Voices of the library (Voices page)")
        self.speaker = QComboBox()
        self.mix = QCheckBox("Mix speakers")
        self.mix_table = QTableWidget(0, 2)
        self.mix_table.setHorizontalHeaderLabels(["Speaker", "Weight"])
        self.mix_table.horizontalHeader().setStretchLastSection(True)
        self.mix_table.verticalHeader().hide()
        self.mix_table.setMaximumHeight(110)
        self.mix_table.hide()
        g_voice = QGroupBox("Voice")
        f = QFormLayout(g_voice)
        f.addRow("Voice", self.voice)
        f.addRow("Speaker", self.speaker)
        f.addRow(self.mix)
        f.addRow(self.mix_table)
        # pitch
        self.transpose_slider = QSlider(Qt.Orientation.Horizontal, minimum=-24, maximum=24, value=int(d.transpose))
        self.transpose = QSpinBox(minimum=-24, maximum=24, value=int(d.transpose))
        self.transpose.setSuffix(" st")
        self.transpose_slider.valueChanged.connect(self.transpose.setValue)
        self.transpose.valueChanged.connect(self.transpose_slider.setValue)
        row = QHBoxLayout()
        row.addWidget(self.transpose_slider, 1)
        row.addWidget(self.transpose)
        self.auto_key = QCheckBox("Auto-key (move to the voice's range)")
        self.auto_key.setChecked(d.auto_key)
        self.f0_method = QComboBox()
        self.f0_method.addItems([n for n in EXTRACTOR_NAMES if n != "crepe"])
        self.f0_method.setCurrentText(d.f0_method or "fcpe")
        g_pitch = QGroupBox("Pitch")
        f = QFormLayout(g_pitch)
        f.addRow("Transpose", row)
        f.addRow(self.auto_key)
        f.addRow("F0 method", self.f0_method)
        # quality
        self.retrieval = _dspin(0.0, 1.0, 0.05, d.retrieval_ratio)
        self.noise = _dspin(0.0, 2.0, 0.05, d.noise_scale)
        self.loudness = _dspin(0.0, 1.0, 0.1, d.match_loudness)
        self.retrieval.setToolTip("Blend of the voice's own features (needs its retrieval index); 0 = off")
        self.loudness.setToolTip("Follow the input's loudness envelope: 0 = off, 1 = fully")
        g_q = QGroupBox("Quality")
        f = QFormLayout(g_q)
        f.addRow("Retrieval ratio", self.retrieval)
        f.addRow("Noise scale", self.noise)
        f.addRow("Loudness match", self.loudness)
        # output
        self.out_rate = QComboBox()
        self.out_rate.addItems(OUTPUT_RATES)
        self.out_format = QComboBox()
        self.out_format.addItems(OUTPUT_FORMATS)
        self.out_format.setCurrentText(settings.output_format)
        self.out_depth = QComboBox()
        self.out_depth.addItems(list(OUTPUT_SUBTYPES))
        self.out_depth.setCurrentText(settings.output_depth)
        self.out_dir = QLineEdit(settings.output_dir)
        self.out_dir.setPlaceholderText("beside each input")
        browse = QPushButton("...")
        browse.setFixedWidth(32)
        browse.clicked.connect(self._browse)
        drow = QHBoxLayout()
        drow.addWidget(self.out_dir, 1)
        drow.addWidget(browse)
        fmt_row = QHBoxLayout()
        fmt_row.addWidget(self.out_format)
        fmt_row.addWidget(self.out_depth)
        g_out = QGroupBox("Output")
        f = QFormLayout(g_out)
        f.addRow("Sample rate", self.out_rate)
        f.addRow("Format", fmt_row)
        f.addRow("Folder", drow)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for g in (g_voice, g_pitch, g_q, g_out):
            lay.addWidget(g)
        lay.addStretch(1)
        self.voice.currentIndexChanged.connect(self._voice_picked)
        self.mix.toggled.connect(self.mix_table.setVisible)
        self.mix.toggled.connect(lambda on: self.speaker.setEnabled(not on))
        self.out_format.currentTextChanged.connect(lambda t: settings.set("app.output_format", t))
        self.out_depth.currentTextChanged.connect(lambda t: settings.set("app.output_depth", t))
        self.out_dir.editingFinished.connect(lambda: settings.set("app.output_dir", self.out_dir.text().strip()))
        library.changed.connect(self.reload_voices)
        self.reload_voices()

    # -- voices --

    def reload_voices(self) -> None:
        """Fill the voice box from the library, keeping the current choice (a voice that does not load is listed
        as such: converting with it shows its error)."""
        keep = self.voice_path() or Path(self.app_settings.get("app.last_voice") or ".")
        self.voice.blockSignals(True)
        self.voice.clear()
        for v in self.library.voices:
            self.voice.addItem(v.name if v.ok else f"{v.name} (does not load)", str(v.path))
        idx = self.voice.findData(str(keep))
        if idx < 0:  # else the first voice that loads
            idx = next((i for i, v in enumerate(self.library.voices) if v.ok), 0 if self.voice.count() else -1)
        self.voice.setCurrentIndex(idx)
        self.voice.blockSignals(False)
        self._voice_picked()

    def voice_path(self) -> Path | None:
        """Path of the chosen voice."""
        data = self.voice.currentData()
        return Path(data) if data else None

    def select_voice(self, path: str | Path) -> bool:
        """Pick the voice at ``path``; False when the library does not list it (or it does not load)."""
        idx = self.voice.findData(str(Path(path)))
        if idx >= 0:
            self.voice.setCurrentIndex(idx)
        return idx >= 0

    def _voice_picked(self) -> None:
        p = self.voice_path()
        v = self.library.find(p) if p else None
        speakers = v.speakers if v else []
        self.speaker.clear()
        self.speaker.addItems(speakers)
        self.mix_table.setRowCount(len(speakers))
        for i, name in enumerate(speakers):
            it = QTableWidgetItem(name)
            it.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.mix_table.setItem(i, 0, it)
            self.mix_table.setCellWidget(i, 1, _dspin(0.0, 1.0, 0.1, 1.0 if i == 0 else 0.0))
        if p:
            self.app_settings.set("app.last_voice", str(p))
        self.voice_changed.emit()

    # -- settings --

    def settings(self) -> ConvertSettings:
        """The ConvertSettings these controls describe."""
        speaker: object = self.speaker.currentText() or None
        if self.mix.isChecked():
            speaker = {self.mix_table.item(i, 0).text(): self.mix_table.cellWidget(i, 1).value()
                       for i in range(self.mix_table.rowCount())}
        rate = self.out_rate.currentText()
        return ConvertSettings(
            speaker=speaker, transpose=float(self.transpose.value()), auto_key=self.auto_key.isChecked(),
            f0_method=self.f0_method.currentText(), retrieval_ratio=self.retrieval.value(),
            noise_scale=self.noise.value(), match_loudness=self.loudness.value(),
            output_sr=int(rate) if rate.isdigit() else None,
            device=None if self.app_settings.device == "auto" else self.app_settings.device,
        )

    def output_for(self, src: Path) -> Path:
        """Output path of input ``src``: <folder>/<stem>_<voice>.<format>."""
        folder = Path(self.out_dir.text().strip()) if self.out_dir.text().strip() else src.parent
        v = self.library.find(self.voice_path()) if self.voice_path() else None
        voice = v.name if v else "converted"
        return folder / f"{src.stem}_{voice}.{self.out_format.currentText()}"

    def subtype(self) -> str | None:
        """soundfile subtype of the chosen bit depth (None for ogg)."""
        return None if self.out_format.currentText() == "ogg" else OUTPUT_SUBTYPES[self.out_depth.currentText()]

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Output folder", self.out_dir.text())
        if d:
            self.out_dir.setText(d)
            self.app_settings.set("app.output_dir", d)
