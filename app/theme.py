"""Dark and light themes: a Qt style sheet from ``assets/themes/<name>.qss`` plus the plot colours."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["PLOT_COLORS", "apply_theme", "plot_colors", "style_sheet"]

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "themes"

PLOT_COLORS: dict[str, dict[str, str]] = {
    "dark": {"bg": "#1b1e24", "fg": "#c9ced6", "grid": "#3a404b", "black_key": "#22262d", "input": "#5aa9e6",
             "output": "#f2a65a", "source": "#8a93a3", "target": "#ff6b8b", "selection": "#5aa9e640",
             "cursor": "#ffffff"},
    "light": {"bg": "#ffffff", "fg": "#2b2f36", "grid": "#d5d9e0", "black_key": "#f0f2f5", "input": "#1f6fb2",
              "output": "#c8611b", "source": "#7b8494", "target": "#d6204e", "selection": "#1f6fb230",
              "cursor": "#000000"},
}
_current = ["dark"]


def style_sheet(name: str) -> str:
    """The style sheet text of theme ``name``."""
    return (ASSETS / f"{name}.qss").read_text(encoding="utf-8")


def plot_colors(name: str | None = None) -> dict[str, str]:
    """Plot colours of theme ``name`` (default: the theme in use)."""
    return PLOT_COLORS[name or _current[0]]


def apply_theme(app: QApplication, name: str, root: QWidget | None = None) -> None:
    """Apply theme ``name`` to the application and re-colour the plots under ``root``."""
    if name not in PLOT_COLORS:
        name = "dark"
    _current[0] = name
    c = PLOT_COLORS[name]
    pal = QPalette()
    base, text = QColor(c["bg"]), QColor(c["fg"])
    window = base.lighter(115) if name == "dark" else QColor("#f4f5f7")
    for role, col in ((QPalette.ColorRole.Window, window), (QPalette.ColorRole.Base, base),
                      (QPalette.ColorRole.Text, text), (QPalette.ColorRole.WindowText, text),
                      (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.Button, window)):
        pal.setColor(role, col)
    app.setPalette(pal)
    app.setStyleSheet(style_sheet(name))
    if root is not None:
        for w in root.findChildren(QWidget):
            fn = getattr(w, "apply_plot_theme", None)
            if callable(fn):
                fn(c)
