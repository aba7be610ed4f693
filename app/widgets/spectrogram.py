"""Spectrogram view (pyqtgraph ImageItem) on the same time axis as the waveforms and the pitch editor."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.widgets.plot_base import ThemedPlot
from svc_core.audio.preview import Spectrogram

__all__ = ["SpectrogramView"]


class SpectrogramView(ThemedPlot):
    """dB image, time (s) across, frequency (Hz) up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._image = pg.ImageItem(axisOrder="row-major")
        super().__init__(parent, y_label="Hz")
        self._image.setColorMap(pg.colormap.get("inferno"))
        self.addItem(self._image)
        self.spectrogram: Spectrogram | None = None
        self.setYRange(0.0, 8000.0, padding=0.0)

    def set_spectrogram(self, spec: Spectrogram | None) -> None:
        """Show ``spec`` (None clears)."""
        self.spectrogram = spec
        if spec is None or spec.db.size == 0:
            self._image.clear()
            return
        self._image.setImage(spec.db.T, levels=(-80.0, 0.0))
        dt = float(spec.times[1] - spec.times[0]) if len(spec.times) > 1 else 0.01
        t1 = float(spec.times[-1]) + dt
        f1 = float(spec.freqs[-1]) if len(spec.freqs) else 1.0
        self._image.setRect(0.0, 0.0, t1, f1)
        self.setYRange(0.0, f1, padding=0.0)
        self.setXRange(0.0, t1, padding=0.0)
