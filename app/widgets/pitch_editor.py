"""Pitch view and editor: source and target F0 on a piano-roll grid (note names on the axis, voiced frames only);
select a time range and shift / flatten / smooth / snap / unvoice it, undo and redo, export or import the curve
as the TSV ``svc-studio convert --f0-curve`` reads. The edits themselves are :mod:`svc_core.pitch_edit`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.widgets.plot_base import ThemedPlot
from svc_core import pitch_edit as pe
from svc_core.convert import load_f0_curve

__all__ = ["NoteAxis", "PitchEditor", "PitchPlot"]


class NoteAxis(pg.AxisItem):
    """Left axis in MIDI numbers drawn as note names (C4, D#4 ...)."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802, N803 - pyqtgraph API
        span = maxVal - minVal
        major = 12 if span > 30 else (2 if span > 12 else 1)
        first = int(np.ceil(minVal / major) * major)
        return [(major, list(range(first, int(maxVal) + 1, major)))]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 - pyqtgraph API
        return [pe.note_name(v) for v in values]


def _nan_unvoiced(curve: pe.F0Curve) -> np.ndarray:
    return pe.hz_to_midi(curve.f0)  # NaN where unvoiced: drawn with gaps


class PitchPlot(ThemedPlot):
    """The piano roll: semitone rows (black keys shaded), source and target curves, a selection region."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.source_item = pg.PlotDataItem(connect="finite")
        self.target_item = pg.PlotDataItem(connect="finite")
        self.region = pg.LinearRegionItem(values=(0.0, 0.0), movable=True)
        self._rows: list[pg.LinearRegionItem] = []
        super().__init__(parent, axis_items={"left": NoteAxis("left")}, x_label="time (s)")
        self.showGrid(x=True, y=False, alpha=0.25)
        self.setMouseEnabled(x=True, y=True)
        self.addItem(self.source_item)
        self.addItem(self.target_item)
        self.addItem(self.region)
        self.region.setZValue(10)
        self.setYRange(48, 72, padding=0)

    def colors_changed(self, c: dict[str, str]) -> None:
        """Theme colours for curves, selection and key rows."""
        self.source_item.setPen(pg.mkPen(c["source"], width=1.5))
        self.target_item.setPen(pg.mkPen(c["target"], width=2.5))
        self.region.setBrush(pg.mkBrush(c["selection"]))
        for r in self._rows:
            r.setBrush(pg.mkBrush(c["black_key"]))
        self._black = c["black_key"]

    def draw_rows(self, lo: int, hi: int) -> None:
        """Shade the black-key rows between MIDI ``lo`` and ``hi``."""
        for r in self._rows:
            self.removeItem(r)
        self._rows = []
        for m in range(lo, hi + 1):
            if m % 12 in (1, 3, 6, 8, 10):
                r = pg.LinearRegionItem(values=(m - 0.5, m + 0.5), orientation="horizontal", movable=False,
                                        brush=pg.mkBrush(self._black), pen=pg.mkPen(None))
                r.setZValue(-10)
                self.addItem(r)
                self._rows.append(r)


class PitchEditor(QWidget):
    """The editor: a :class:`PitchPlot` and its tool bar. ``rerender_requested`` asks the page for a render with
    :meth:`curve`; ``edited`` fires after every change."""

    edited = Signal()
    rerender_requested = Signal()
    export_requested = Signal()
    import_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = PitchPlot()
        self.source: pe.F0Curve | None = None
        self.history: pe.EditHistory | None = None
        self._rows_span = (0, 0)
        self.shift_spin = QDoubleSpinBox(decimals=2, minimum=-24.0, maximum=24.0, singleStep=1.0, value=12.0)
        self.shift_spin.setSuffix(" st")
        self.shift_spin.setToolTip("Semitones to shift the selection by (0.01 = 1 cent)")
        self.snap_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=100)
        self.snap_slider.setFixedWidth(90)
        self.snap_slider.setToolTip("Snap strength: 0 = unchanged, 100 % = exactly on the semitone")
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        bar2 = QHBoxLayout()
        bar.addWidget(QLabel("Selection:"))
        for key, text, tip in (("shift", "Shift", "Shift the selection by the semitones beside"),
                               ("flatten", "Flatten", "Set the selection to its median note"),
                               ("smooth", "Smooth", "Remove vibrato and jitter in the selection"),
                               ("snap", "Snap", "Pull the selection towards the nearest semitones"),
                               ("unvoice", "Unvoice", "Mark the selection unvoiced"),
                               ("undo", "Undo", "Undo the last edit (Ctrl+Z)"),
                               ("redo", "Redo", "Redo (Ctrl+Shift+Z)"),
                               ("import", "Import...", "Load an F0 curve TSV"),
                               ("export", "Export...", "Save the curve as a TSV that --f0-curve reads (Ctrl+E)"),
                               ("rerender", "Re-render", "Convert again with the edited curve (Ctrl+R)")):
            b = QPushButton(text)
            b.setToolTip(tip)
            self.buttons[key] = b
            if key == "shift":
                bar.addWidget(self.shift_spin)
            (bar if key in ("shift", "flatten", "smooth", "snap", "unvoice") else bar2).addWidget(b)
            if key == "snap":
                bar.addWidget(self.snap_slider)
            if key in ("redo", "export"):
                bar2.addSpacing(12)
        bar.addStretch(1)
        bar2.addStretch(1)
        self.buttons["rerender"].setObjectName("primary")
        self.status = QLabel("Convert a file to see and edit its pitch.")
        self.status.setObjectName("hint")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addLayout(bar2)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.status)
        b = self.buttons
        b["shift"].clicked.connect(lambda: self.apply(pe.shift, self.shift_spin.value()))
        b["flatten"].clicked.connect(lambda: self.apply(pe.flatten))
        b["smooth"].clicked.connect(lambda: self.apply(pe.smooth))
        b["snap"].clicked.connect(lambda: self.apply(pe.snap, self.snap_slider.value() / 100.0))
        b["unvoice"].clicked.connect(lambda: self.apply(pe.unvoice))
        b["undo"].clicked.connect(self.undo)
        b["redo"].clicked.connect(self.redo)
        b["rerender"].clicked.connect(self.rerender_requested)
        b["export"].clicked.connect(self.export_requested)
        b["import"].clicked.connect(self.import_requested)
        self._update_buttons()

    # -- data --

    def set_curves(self, source: pe.F0Curve, semitones: float = 0.0) -> None:
        """Show ``source`` and start editing the target = source transposed by ``semitones`` (history reset)."""
        self.source = source
        self.history = pe.EditHistory(source.with_f0(source.f0 * 2.0 ** (semitones / 12.0)))
        t0 = float(source.times[0]) if source.times.size else 0.0
        t1 = float(source.times[-1]) if source.times.size else 0.0
        span = t1 - t0
        self.plot.region.setRegion((t0 + 0.25 * span, t0 + 0.5 * span))
        self._redraw(fit=True)
        self.status.setText(f"{source.times.size} frames, {int(source.voiced.sum())} voiced; transpose "
                            f"{semitones:+.2f} st. Drag the blue band to select a range.")

    def clear(self) -> None:
        """No curve."""
        self.source, self.history = None, None
        self.plot.source_item.setData([], [])
        self.plot.target_item.setData([], [])
        self._update_buttons()

    def curve(self) -> pe.F0Curve | None:
        """The edited target curve."""
        return self.history.current if self.history is not None else None

    def selection(self) -> tuple[float, float]:
        """Selected time range (s)."""
        a, b = self.plot.region.getRegion()
        return float(a), float(b)

    def set_selection(self, t0: float, t1: float) -> None:
        """Select [t0, t1] s."""
        self.plot.region.setRegion((t0, t1))

    # -- edits --

    def apply(self, op: Callable[..., pe.F0Curve], *args: float) -> None:
        """Apply ``op(curve, t0, t1, *args)`` to the selection and record it."""
        if self.history is None:
            return
        t0, t1 = self.selection()
        self.history.push(op(self.history.current, t0, t1, *args))
        self._redraw()

    def undo(self) -> None:
        """Undo one edit."""
        if self.history is not None:
            self.history.undo()
            self._redraw()

    def redo(self) -> None:
        """Redo one edit."""
        if self.history is not None:
            self.history.redo()
            self._redraw()

    def export_curve(self, path: str | Path) -> Path:
        """Save the edited curve as an ``--f0-curve`` TSV."""
        c = self.curve()
        if c is None:
            raise ValueError("no curve to export")
        return pe.save_f0_curve(path, c)

    def import_curve(self, path: str | Path) -> None:
        """Load an ``--f0-curve`` TSV onto the source's frame grid as a new edit (SvcError for a bad file)."""
        times, f0 = load_f0_curve(path)
        if self.history is None or self.source is None:
            raise ValueError("convert a file first: the curve is placed on its frame grid")
        self.history.push(pe.F0Curve(times, f0).on_grid(self.source.times))
        self._redraw()

    # -- drawing --

    def _redraw(self, fit: bool = False) -> None:
        cur = self.curve()
        if self.source is None or cur is None:
            return
        self.plot.source_item.setData(self.source.times, _nan_unvoiced(self.source))
        self.plot.target_item.setData(cur.times, _nan_unvoiced(cur))
        both = np.concatenate([pe.hz_to_midi(self.source.f0[self.source.voiced]), pe.hz_to_midi(cur.f0[cur.voiced])])
        lo, hi = (float(np.nanmin(both)), float(np.nanmax(both))) if both.size else (55.0, 67.0)
        lo, hi = int(np.floor(lo)) - 3, int(np.ceil(hi)) + 3
        if fit or (lo, hi) != self._rows_span:  # keep every note of both curves in view
            self._rows_span = (lo, hi)
            self.plot.draw_rows(lo, hi)
            self.plot.setYRange(lo, hi, padding=0)
        if fit:
            self.plot.setXRange(float(cur.times[0]), float(cur.times[-1]), padding=0.01)
        self._update_buttons()
        self.edited.emit()

    def _update_buttons(self) -> None:
        has = self.history is not None
        for key in ("shift", "flatten", "smooth", "snap", "unvoice", "export", "rerender"):
            self.buttons[key].setEnabled(has)
        self.buttons["import"].setEnabled(has)
        self.buttons["undo"].setEnabled(has and self.history.can_undo())
        self.buttons["redo"].setEnabled(has and self.history.can_redo())
