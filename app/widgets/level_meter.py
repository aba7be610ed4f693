"""A horizontal level meter in dBFS (green / amber / red zones, a peak-hold tick)."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["LevelMeter", "rms_db"]

FLOOR_DB = -60.0


def rms_db(rms: float) -> float:
    """RMS (linear, full scale 1) -> dBFS, clamped at the meter floor."""
    return max(FLOOR_DB, 20.0 * math.log10(rms)) if rms > 0 else FLOOR_DB


class LevelMeter(QWidget):
    """Shows one level in dBFS from FLOOR_DB to 0; :meth:`set_level` takes linear RMS."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = FLOOR_DB
        self.peak_db = FLOOR_DB
        self.updates = 0  # levels received (tests: the meter moves)
        self.setMinimumHeight(18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """A thin bar."""
        return QSize(200, 16)

    def set_level(self, rms: float) -> None:
        """Show ``rms``; the peak tick falls back 1 dB per update."""
        self.db = rms_db(float(rms))
        self.peak_db = max(self.db, self.peak_db - 1.0)
        self.updates += 1
        self.update()

    def reset(self) -> None:
        """Back to silence."""
        self.db = self.peak_db = FLOOR_DB
        self.update()

    def paintEvent(self, e: QPaintEvent) -> None:  # noqa: N802 - Qt API
        """Bar, zones and the peak tick."""
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(self.palette().color(self.foregroundRole()).darker(200))
        p.setBrush(self.palette().color(self.backgroundRole()).darker(130))
        p.drawRect(r)

        def x_of(db: float) -> float:
            return r.left() + r.width() * (db - FLOOR_DB) / -FLOOR_DB

        p.setPen(Qt.PenStyle.NoPen)
        for lo, hi, col in ((FLOOR_DB, -18.0, "#3fae5a"), (-18.0, -6.0, "#e0b040"), (-6.0, 0.0, "#e05050")):
            if self.db > lo:
                p.setBrush(QColor(col))
                p.drawRect(QRectF(x_of(lo), r.top() + 1, x_of(min(self.db, hi)) - x_of(lo), r.height() - 2))
        if self.peak_db > FLOOR_DB:
            p.setBrush(QColor("#ffffff") if self.palette().window().color().lightness() < 128 else QColor("#000000"))
            p.drawRect(QRectF(x_of(self.peak_db) - 1, r.top() + 1, 2, r.height() - 2))
        p.setPen(self.palette().color(self.foregroundRole()))
        text = "silence" if self.db <= FLOOR_DB else f"{self.db:.0f} dBFS"
        p.drawText(r.adjusted(0, 0, -4, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        p.end()
