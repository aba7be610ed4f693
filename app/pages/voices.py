"""The voice library page: voices of the voices folder and those added by path, what each needs and has, or the
message of why it does not load. Voice folders can be dropped on it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.pages import AppContext
from app.widgets.progress import JobProgress
from svc_core.voices.summary import VoiceSummary

KEY = "voices"
TITLE = "Voices"

COLUMNS = ("Voice", "Speakers", "Rate", "Speech encoder", "Vocoder", "Encoder weights", "Index", "F0 stats")


def _row(v: VoiceSummary) -> list[str]:
    if not v.ok:
        first = (v.error or "").splitlines()[0] if v.error else ""
        return [v.name, "-", "-", "-", "-", f"does not load: {first}", "-", "-"]
    weights = str(v.encoder_weights.name) if v.encoder_weights else "MISSING"
    return [v.name, ", ".join(v.speakers), f"{v.sampling_rate} Hz", v.speech_encoder or "?", v.vocoder or "?",
            weights, "yes" if v.has_index else "no", "yes" if v.has_f0_stats else "no"]


def _details(v: VoiceSummary) -> str:
    lines = [f"{v.name}", f"path: {v.path}"]
    if not v.ok:
        return "\n".join([*lines, "", "This voice does not load:", v.error or ""])
    lines += [f"speakers: {', '.join(v.speakers)}", f"sample rate: {v.sampling_rate} Hz",
              f"speech encoder: {v.speech_encoder}", f"vocoder: {v.vocoder}"]
    lines.append(f"encoder weights: {v.encoder_weights}" if v.encoder_weights else
                 f"encoder weights missing:\n{v.encoder_missing}")
    lines.append(f"retrieval index: {'present' if v.has_index else 'none'}")
    lines.append(f"F0 statistics (auto-key): {'present' if v.has_f0_stats else 'none'}")
    lines += [f"note: {n}" for n in v.notes]
    return "\n".join(lines)


class VoicesPage(QWidget):
    """Tree of voices with a details pane."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setAcceptDrops(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(False)
        for i, w in enumerate((150, 110, 80, 125, 100, 240, 55, 70)):
            self.tree.setColumnWidth(i, w)
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText("Select a voice to see its details.")
        self.folder_label = QLabel()
        self.folder_label.setObjectName("hint")
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        b_folder = QPushButton("Voices folder...")
        b_add = QPushButton("Add voice...")
        b_refresh = QPushButton("Rescan")
        b_folder.setToolTip("Choose the folder whose sub-folders are voices")
        b_add.setToolTip("Add one voice folder by path (or drop voice folders here)")
        self.progress = JobProgress(ctx.engine)
        self.progress.setMaximumWidth(420)
        self.progress.hide()
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.progress)
        for b in (b_folder, b_add, b_refresh):
            top.addWidget(b)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.details)
        split.setSizes([480, 220])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        b_folder.clicked.connect(self._choose_folder)
        b_add.clicked.connect(self._add_voice)
        b_refresh.clicked.connect(ctx.library.refresh)
        self.tree.currentItemChanged.connect(self._show_details)
        ctx.library.changed.connect(self.reload)
        ctx.library.scanning.connect(self._scanning)
        self.reload()

    def reload(self) -> None:
        """Redraw from the library."""
        folder = self.ctx.settings.voices_dir
        self.folder_label.setText(f"Voices folder: {folder}" if folder else
                                  "No voices folder set: choose one, add a voice, or drop voice folders here.")
        self.tree.clear()
        for v in self.ctx.library.voices:
            item = QTreeWidgetItem(_row(v))
            item.setData(0, Qt.ItemDataRole.UserRole, str(v.path))
            item.setToolTip(0, str(v.path))
            if not v.ok or v.encoder_weights is None:
                col = QColor("#e05555") if not v.ok else QColor("#d9a441")
                for c in range(len(COLUMNS)):
                    item.setForeground(c, col)
                item.setToolTip(5, v.error or v.encoder_missing or "")
            self.tree.addTopLevelItem(item)
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))

    def _scanning(self, on: bool) -> None:
        self.progress.setVisible(on)
        if on:
            self.progress.track(self.ctx.library.job_id, "reading voices")
            self.details.setPlainText("Reading voices...")

    def _show_details(self, item: QTreeWidgetItem | None, _prev: object = None) -> None:
        if item is None:
            self.details.clear()
            return
        v = self.ctx.library.find(item.data(0, Qt.ItemDataRole.UserRole))
        self.details.setPlainText(_details(v) if v else "")

    def _choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Voices folder", self.ctx.settings.voices_dir)
        if d:
            self.ctx.settings.set("app.voices_dir", d)

    def _add_voice(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Voice folder (config.json + G_*.pth)")
        if d:
            self.ctx.library.add_path(d)

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:  # noqa: N802 - Qt API
        for u in e.mimeData().urls():
            p = Path(u.toLocalFile())
            if p.is_dir():
                self.ctx.library.add_path(p)
        e.acceptProposedAction()


def create(ctx: AppContext) -> QWidget:
    """The page widget."""
    return VoicesPage(ctx)
