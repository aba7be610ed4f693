"""Error dialog: the message, with the details (traceback or long text) expandable; never blocks the engine."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["show_error"]


def show_error(parent: QWidget | None, title: str, message: str, details: str = "") -> QMessageBox:
    """Open a window-modal error box (returns at once) and return it."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, message.splitlines()[0] if message else title,
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    rest = "\n".join(message.splitlines()[1:])
    if rest:
        box.setInformativeText(rest)
    if details:
        box.setDetailedText(details)
    box.setTextInteractionFlags(box.textInteractionFlags())
    box.open()
    return box
