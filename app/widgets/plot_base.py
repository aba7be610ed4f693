"""A pyqtgraph plot that follows the app theme (background, axes, grid)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from app.theme import plot_colors

__all__ = ["ThemedPlot"]


class ThemedPlot(pg.PlotWidget):
    """PlotWidget with theme colours, no context menu and a fixed y range unless told otherwise."""

    def __init__(self, parent: QWidget | None = None, *, axis_items: dict | None = None, y_label: str = "",
                 x_label: str = "") -> None:
        super().__init__(parent, axisItems=axis_items)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(x=True, y=False)
        self.setMinimumHeight(60)
        self._labels = (x_label, y_label)
        for name in ("left", "bottom"):
            self.getPlotItem().getAxis(name).enableAutoSIPrefix(False)
        self.getPlotItem().getAxis("left").setWidth(62)  # one width for every plot: linked time axes line up
        self.setXRange(0.0, 10.0, padding=0.0)
        self.apply_plot_theme(plot_colors())

    def apply_plot_theme(self, c: dict[str, str]) -> None:
        """Re-colour for theme colours ``c`` (see app.theme.PLOT_COLORS)."""
        self.setBackground(c["bg"])
        for name in ("left", "bottom"):
            ax = self.getPlotItem().getAxis(name)
            ax.setPen(pg.mkPen(c["grid"]))
            ax.setTextPen(pg.mkPen(c["fg"]))
        x_label, y_label = self._labels
        if x_label:
            self.setLabel("bottom", x_label, color=c["fg"])
        if y_label:
            self.setLabel("left", y_label, color=c["fg"])
        self.colors_changed(c)

    def colors_changed(self, c: dict[str, str]) -> None:
        """Hook for subclasses to re-colour their items."""
