"""The Convert page's result view: input and output waveforms, a spectrogram and the pitch editor on one time
axis, with play / stop / A-B (input or output) and "open the output folder"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.jobs import Preview
from app.widgets.pitch_editor import PitchEditor
from app.widgets.spectrogram import SpectrogramView
from app.widgets.waveform import WaveformView
from svc_core.audio.playback import Player
from svc_core.errors import SvcError

__all__ = ["ResultsView"]


class ResultsView(QWidget):
    """Plots and transport for one converted file."""

    def __init__(self, show_error: Callable[[str, str, str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._show_error = show_error
        self.preview: Preview | None = None
        self.player = Player()
        self.wave_in = WaveformView("input", "input")
        self.wave_out = WaveformView("output", "output")
        self.spec = SpectrogramView()
        self.pitch = PitchEditor()
        for w in (self.wave_out, self.spec):  # one time axis per tab (pyqtgraph links views in screen geometry,
            w.setXLink(self.wave_in)  # so views in a hidden tab would get a skewed range)
        waves = QSplitter(Qt.Orientation.Vertical)
        waves.addWidget(self.wave_in)
        waves.addWidget(self.wave_out)
        waves.addWidget(self.spec)
        pitch_tab = QSplitter(Qt.Orientation.Vertical)
        self.spec_small = SpectrogramView()
        self.spec_small.setXLink(self.pitch.plot)
        pitch_tab.addWidget(self.spec_small)
        pitch_tab.addWidget(self.pitch)
        pitch_tab.setSizes([150, 400])
        self.tabs = QTabWidget()
        self.tabs.addTab(waves, "Waveforms && spectrogram")
        self.tabs.addTab(pitch_tab, "Pitch editor")
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Play from the start (Space)")
        self.stop_button = QPushButton("Stop")
        self.ab_button = QPushButton("A/B: output")
        self.ab_button.setCheckable(True)
        self.ab_button.setToolTip("Switch between the output (B) and the input (A); playback keeps its position")
        self.open_button = QPushButton("Open output folder")
        self.info = QLabel("No result yet: add a file, pick a voice and press Convert.")
        self.info.setObjectName("hint")
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar = QHBoxLayout()
        for b in (self.play_button, self.stop_button, self.ab_button, self.open_button):
            bar.addWidget(b)
        bar.addWidget(self.info, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs, 1)
        lay.addLayout(bar)
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button.clicked.connect(self.stop)
        self.ab_button.toggled.connect(self._ab_toggled)
        self.open_button.clicked.connect(self.open_folder)
        self._timer = QTimer(self, interval=50)
        self._timer.timeout.connect(self._tick)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        for b in (self.play_button, self.stop_button, self.ab_button, self.open_button):
            b.setEnabled(on)

    def show_preview(self, p: Preview, keep_pitch: bool = False) -> None:
        """Draw ``p``; ``keep_pitch`` keeps the editor's curve and history (after a re-render)."""
        self.stop()
        self.preview = p
        self.wave_in.set_envelope(*p.input_envelope, p.input_audio.shape[0] / p.input_sr)
        self.wave_out.set_envelope(*p.output_envelope, p.output_audio.shape[0] / p.output_sr)
        self._show_spec()
        if p.source_f0 is not None and not keep_pitch:
            self.pitch.set_curves(p.source_f0, p.semitones)
        self.info.setText(f"{p.output_path.name}: {p.output_audio.shape[0] / p.output_sr:.2f} s at "
                          f"{p.output_sr} Hz, transpose {p.semitones:+.2f} st")
        self.info.setToolTip(str(p.output_path))
        self._set_enabled(True)

    def _show_spec(self) -> None:
        if self.preview is None:
            return
        s = self.preview.input_spec if self.ab_button.isChecked() else self.preview.output_spec
        self.spec.set_spectrogram(s)
        self.spec_small.set_spectrogram(s)

    # -- transport --

    def _clip(self) -> tuple[object, int]:
        p = self.preview
        if self.ab_button.isChecked():
            return p.input_audio, p.input_sr
        return p.output_audio, p.output_sr

    def toggle_play(self) -> None:
        """Play from the start, or stop when playing."""
        if self.player.playing:
            self.stop()
        else:
            self._play(0.0)

    def _play(self, start: float) -> None:
        if self.preview is None:
            return
        x, sr = self._clip()
        try:
            self.player.play(x, sr, start)
        except SvcError as e:
            self._show_error("Playback", str(e), "")
            return
        self.play_button.setText("Pause")
        self._timer.start()

    def stop(self) -> None:
        """Stop playback."""
        self.player.stop()
        self._timer.stop()
        self.play_button.setText("Play")
        for w in (self.wave_in, self.wave_out):
            w.set_cursor(None)

    def _ab_toggled(self, on: bool) -> None:
        self.ab_button.setText("A/B: input" if on else "A/B: output")
        self._show_spec()
        if self.player.playing:
            self._play(self.player.position_s)

    def _tick(self) -> None:
        if not self.player.playing:
            self.stop()
            return
        t = self.player.position_s
        for w in (self.wave_in, self.wave_out):
            w.set_cursor(t)

    def open_folder(self) -> None:
        """Open the output's folder in the file manager."""
        if self.preview is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.preview.output_path.parent)))
