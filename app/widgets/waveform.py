"""Waveform view: a peak envelope further peak-downsampled by pyqtgraph to the visible range, so a 10-minute
file draws at interactive speed, with a play-position cursor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.widgets.plot_base import ThemedPlot
from svc_core.audio.preview import peak_envelope

__all__ = ["WaveformView"]


class WaveformView(ThemedPlot):
    """One channel of audio against time (s)."""

    def __init__(self, title: str, color_key: str = "input", parent: QWidget | None = None) -> None:
        self._color_key = color_key
        self._curve = pg.PlotDataItem()
        self._cursor = pg.InfiniteLine(pos=0.0, angle=90, movable=False)
        super().__init__(parent, y_label=title)
        self.addItem(self._curve)
        self.addItem(self._cursor)
        self._cursor.hide()
        self.setYRange(-1.0, 1.0, padding=0.02)
        self.duration = 0.0

    def colors_changed(self, c: dict[str, str]) -> None:
        """Theme colours for the trace and the cursor."""
        self._curve.setPen(pg.mkPen(c[self._color_key], width=1))
        self._cursor.setPen(pg.mkPen(c["cursor"], width=1))

    def set_audio(self, samples: np.ndarray | None, sr: int = 1) -> None:
        """Show mono ``samples`` [N] at ``sr`` (None clears); see :meth:`set_envelope`."""
        if samples is None or len(samples) == 0:
            self.set_envelope(np.zeros(0), np.zeros(0), 0.0)
            return
        self.set_envelope(*peak_envelope(samples, sr), len(samples) / float(sr))

    def set_envelope(self, t: np.ndarray, y: np.ndarray, duration: float) -> None:
        """Show a peak envelope (``svc_core.audio.preview.peak_envelope``, computed off the GUI thread) of a clip
        ``duration`` s long; pyqtgraph peak-downsamples it further to the visible range and width."""
        self.duration = float(duration)
        self._curve.setData(t, y, autoDownsample=True, downsampleMethod="peak", clipToView=True)
        peak = float(np.abs(y).max()) if len(y) else 0.0
        self.setYRange(-max(peak, 1e-3), max(peak, 1e-3), padding=0.05)  # quiet outputs stay visible
        if duration > 0:
            self.setXRange(0.0, self.duration, padding=0.0)

    def point_count(self) -> int:
        """Points drawn at the current zoom (after peak downsampling)."""
        x, _ = self._curve.getData()
        return 0 if x is None else int(len(x))

    def set_cursor(self, t: float | None) -> None:
        """Move the play cursor to ``t`` s (None hides it)."""
        if t is None:
            self._cursor.hide()
        else:
            self._cursor.setPos(float(t))
            self._cursor.show()
