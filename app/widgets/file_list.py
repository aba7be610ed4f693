"""Input file list: drag and drop of audio files and folders, one status line per file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from svc_core.audio import is_audio_path

__all__ = ["FileList", "audio_files_in"]


def audio_files_in(paths: list[Path]) -> list[Path]:
    """Audio files among ``paths``; folders contribute their audio files (sorted, not recursive)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.is_file() and is_audio_path(q)))
        elif p.is_file() and is_audio_path(p):
            out.append(p)
    return out


class FileList(QListWidget):
    """Files to convert; ``files_changed`` fires when files are added or removed."""

    files_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setToolTip("Drop audio files or folders here")
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._paths: list[Path] = []

    def paths(self) -> list[Path]:
        """Files in list order."""
        return list(self._paths)

    def add_paths(self, paths: list[Path]) -> int:
        """Add audio files (and the audio files of folders); returns how many were new."""
        new = [p for p in audio_files_in([Path(p) for p in paths]) if p not in self._paths]
        for p in new:
            self._paths.append(p)
            item = QListWidgetItem(f"{p.name}  -  ready")
            item.setToolTip(str(p))
            self.addItem(item)
        if new:
            if self.currentRow() < 0:
                self.setCurrentRow(0)
            self.files_changed.emit()
        return len(new)

    def clear_files(self) -> None:
        """Remove every file."""
        self._paths.clear()
        self.clear()
        self.files_changed.emit()

    def set_status(self, row: int, text: str, ok: bool | None = None) -> None:
        """Status text of file ``row`` (ok False colours it as an error)."""
        item = self.item(row)
        if item is None:
            return
        item.setText(f"{self._paths[row].name}  -  {text}")
        if ok is False:
            item.setForeground(QColor("#e05555"))
        else:
            item.setData(Qt.ItemDataRole.ForegroundRole, None)

    def status(self, row: int) -> str:
        """Status text of file ``row``."""
        item = self.item(row)
        return item.text().split("  -  ", 1)[-1] if item is not None else ""

    # -- drag and drop --

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            e.acceptProposedAction()
        else:
            super().dragEnterEvent(e)

    def dragMoveEvent(self, e: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            e.acceptProposedAction()
        else:
            super().dragMoveEvent(e)

    def dropEvent(self, e: QDropEvent) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            self.add_paths([Path(u.toLocalFile()) for u in e.mimeData().urls() if u.isLocalFile()])
            e.acceptProposedAction()
        else:
            super().dropEvent(e)
