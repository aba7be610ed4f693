"""The Live page's settings form: devices (host API, input, output, rate), timing (block, crossfade, context with
the algorithmic latency), and the voice controls (passthrough, voice, speaker, transpose, F0 method, gate)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.library import VoiceLibrary
from app.live_jobs import DeviceInfo, list_audio_devices, model_rate
from svc_core.errors import SvcError
from svc_core.f0 import EXTRACTOR_NAMES
from svc_core.live.infer import LIVE_DEFAULT_F0
from svc_core.live.settings import LiveSettings

__all__ = ["LiveForm", "RUNTIME_KEYS"]

RATES = (16000, 22050, 32000, 44100, 48000, 96000)
RUNTIME_KEYS = ("transpose", "speaker", "gate_db")  # applied to a running engine in place; the rest restart it


class LiveForm(QWidget):
    """Emits ``changed(kind)``: "runtime" for a setting the engine takes while running, "restart" otherwise."""

    changed = Signal(str)

    def __init__(self, library: VoiceLibrary, base: LiveSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.devices: list[DeviceInfo] = []
        self.device_error = ""
        self.hostapi, self.input, self.output, self.rate = QComboBox(), QComboBox(), QComboBox(), QComboBox()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the audio devices again (after plugging one in or out)")
        g_dev = QGroupBox("Audio devices")
        f = QFormLayout(g_dev)
        row = QHBoxLayout()
        row.addWidget(self.hostapi, 1)
        row.addWidget(self.refresh_button)
        f.addRow("Host API", row)
        f.addRow("Input", self.input)
        f.addRow("Output", self.output)
        f.addRow("Sample rate", self.rate)

        def spin(lo: float, hi: float, val: float, step: float, suffix: str, dec: int = 0) -> QDoubleSpinBox:
            s = QDoubleSpinBox(minimum=lo, maximum=hi, value=val, singleStep=step, decimals=dec, suffix=suffix)
            s.setKeyboardTracking(False)
            return s

        self.block = spin(20, 2000, base.block_ms, 10, " ms")
        self.crossfade = spin(0, 500, base.crossfade_ms, 5, " ms")
        self.context = spin(0, 10000, base.context_ms, 100, " ms")
        self.latency_label = QLabel()
        self.latency_label.setObjectName("hint")
        self.latency_label.setWordWrap(True)
        self.calibrate_button = QPushButton("Calibrate")
        self.calibrate_button.setToolTip("Time the voice on this machine and pick the shortest block that keeps up")
        g_time = QGroupBox("Timing")
        f = QFormLayout(g_time)
        f.addRow("Block", self.block)
        f.addRow("Crossfade", self.crossfade)
        f.addRow("Extra context", self.context)
        f.addRow(self.latency_label)
        f.addRow(self.calibrate_button)

        self.passthrough = QCheckBox("Passthrough (no voice: hear the input as it is)")
        self.voice = QComboBox()
        self.speaker = QComboBox()
        self.transpose = spin(-24, 24, base.transpose, 1, " st", 1)
        self.f0_method = QComboBox()
        self.f0_method.addItems(list(EXTRACTOR_NAMES))
        self.f0_method.setCurrentText(base.f0_method or LIVE_DEFAULT_F0)
        self.gate = spin(-120, 0, base.gate_db, 1, " dBFS")
        self.gate.setToolTip("Blocks quieter than this give silence and skip the model")
        g_voice = QGroupBox("Voice")
        f = QFormLayout(g_voice)
        f.addRow(self.passthrough)
        f.addRow("Voice", self.voice)
        f.addRow("Speaker", self.speaker)
        f.addRow("Transpose", self.transpose)
        f.addRow("F0 method", self.f0_method)
        f.addRow("Silence gate", self.gate)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for g in (g_dev, g_time, g_voice):
            lay.addWidget(g)
        lay.addStretch(1)

        self.refresh_button.clicked.connect(lambda: self.refresh_devices(rescan=True))
        self.hostapi.currentIndexChanged.connect(self._fill_devices)
        for w in (self.input, self.output, self.rate, self.f0_method, self.voice):
            w.currentIndexChanged.connect(lambda _=0: self._changed("restart"))
        self.voice.currentIndexChanged.connect(self._fill_speakers)
        self.passthrough.toggled.connect(lambda _on: self._changed("restart"))
        self.passthrough.toggled.connect(lambda on: [w.setEnabled(not on) for w in (self.voice, self.speaker,
                                                                                    self.f0_method)])
        for s in (self.block, self.crossfade, self.context):
            s.valueChanged.connect(lambda _v: self._changed("restart"))
        self.speaker.currentIndexChanged.connect(lambda _=0: self._changed("runtime"))
        for s in (self.transpose, self.gate):
            s.valueChanged.connect(lambda _v: self._changed("runtime"))
        library.changed.connect(self._fill_voices)
        self._filling = False
        self.refresh_devices()
        self._fill_voices()

    # -- devices --

    def refresh_devices(self, rescan: bool = False) -> None:
        """Read the device list (an error is kept in ``device_error`` and shown by the page)."""
        try:
            apis, self.devices, self._defaults = list_audio_devices(rescan)
            self.device_error = ""
        except (SvcError, OSError) as e:
            apis, self.devices, self._defaults = [], [], (-1, -1)
            self.device_error = str(e)
        self._filling = True
        cur = self.hostapi.currentText()
        self.hostapi.clear()
        self.hostapi.addItems(apis)
        default_api = next((d.hostapi for d in self.devices if d.index == self._defaults[0]), "")
        self.hostapi.setCurrentText(cur if cur in apis else default_api)
        self._filling = False
        self._fill_devices()

    def _fill_devices(self) -> None:
        api = self.hostapi.currentText()
        was = self._filling
        self._filling = True
        for combo, key, default in ((self.input, "inputs", self._defaults[0]),
                                    (self.output, "outputs", self._defaults[1])):
            keep = combo.currentData()
            combo.clear()
            for d in self.devices:
                if d.hostapi == api and getattr(d, key) > 0:
                    combo.addItem(f"{d.index}: {d.name}", d.index)
            i = combo.findData(keep if keep is not None else default)
            combo.setCurrentIndex(i if i >= 0 else (combo.findData(default) if combo.findData(default) >= 0 else 0))
        dev = self.input_device_info()
        keep_rate = self.rate.currentData()
        self.rate.clear()
        rates = sorted({*RATES, dev.default_sr} if dev else set(RATES))
        for r in rates:
            self.rate.addItem(f"{r} Hz" + (" (device default)" if dev and r == dev.default_sr else ""), r)
        want = keep_rate if keep_rate in rates else (dev.default_sr if dev else 44100)
        self.rate.setCurrentIndex(self.rate.findData(want))
        self._filling = was
        self._changed("restart")

    def input_device_info(self) -> DeviceInfo | None:
        """The chosen input device."""
        idx = self.input.currentData()
        return next((d for d in self.devices if d.index == idx), None)

    def select_device(self, spec: int | str) -> None:
        """Choose the device ``spec`` (index or name part) for input and output (tests, CLI-like use)."""
        d = next((d for d in self.devices if str(d.index) == str(spec) or str(spec).lower() in d.name.lower()),
                 None)
        if d is None:
            return
        self.hostapi.setCurrentText(d.hostapi)
        for combo in (self.input, self.output):
            i = combo.findData(d.index)
            if i >= 0:
                combo.setCurrentIndex(i)

    # -- voices --

    def _fill_voices(self) -> None:
        keep = self.voice.currentData()
        self._filling = True
        self.voice.clear()
        for v in self.library.voices:
            if v.ok:
                self.voice.addItem(v.name, str(v.path))
        i = self.voice.findData(keep)
        self.voice.setCurrentIndex(max(0, i))
        self._filling = False
        if self.voice.count() == 0:
            self.passthrough.setChecked(True)
        self._fill_speakers()

    def _fill_speakers(self) -> None:
        v = self.library.find(self.voice.currentData()) if self.voice.currentData() else None
        was = self._filling
        self._filling = True
        self.speaker.clear()
        self.speaker.addItems(v.speakers if v else [])
        self._filling = was

    def voice_path(self) -> Path | None:
        """The voice to run, or None for passthrough."""
        if self.passthrough.isChecked() or not self.voice.currentData():
            return None
        return Path(self.voice.currentData())

    # -- settings --

    def samplerate(self) -> int:
        """The chosen device rate."""
        return int(self.rate.currentData() or 44100)

    def settings(self, base: LiveSettings) -> LiveSettings:
        """``base`` with the form's values (raises SvcError for an invalid combination)."""
        return base.with_changes(
            block_ms=self.block.value(), crossfade_ms=min(self.crossfade.value(), self.block.value()),
            context_ms=self.context.value(), transpose=self.transpose.value(),
            speaker=self.speaker.currentText() or None, gate_db=self.gate.value(),
            f0_method=self.f0_method.currentText(), samplerate=self.samplerate(),
            input_device=self.input.currentData(), output_device=self.output.currentData())

    def runtime_values(self) -> dict[str, object]:
        """The settings a running engine takes in place."""
        return {"transpose": self.transpose.value(), "speaker": self.speaker.currentText() or None,
                "gate_db": self.gate.value()}

    def update_latency(self, base: LiveSettings) -> None:
        """Show the algorithmic latency the timing gives (computed by the live engine's own sizes)."""
        from svc_core.live.engine import LiveEngine, Passthrough

        sr = self.samplerate()
        m_sr, hop = model_rate(self.voice_path(), sr)
        try:
            eng = LiveEngine(self.settings(base), sr, Passthrough(m_sr, hop))
        except SvcError as e:
            self.latency_label.setText(str(e))
            return
        lat = eng.latency
        self.latency_label.setText(f"Algorithmic latency {lat.total_ms:.0f} ms (block {lat.block_ms:.0f} + "
                                   f"crossfade {lat.crossfade_ms:.0f} + search {lat.search_ms:.0f} + resampler "
                                   f"{lat.resampler_ms:.0f}); the devices add their own buffers")
        self.algorithmic_ms = lat.total_ms

    def apply_timing(self, s: LiveSettings) -> None:
        """Show a calibrated timing choice."""
        self.block.setValue(s.block_ms)
        self.crossfade.setValue(s.crossfade_ms)
        self.context.setValue(s.context_ms)

    def _changed(self, kind: str) -> None:
        if not self._filling:
            self.changed.emit(kind)
