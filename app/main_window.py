"""The main window: a side bar of pages, the status bar (device, engine state), the log panel, Settings and
About, keyboard shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QStackedWidget,
    QWidget,
)

from app.dialogs import SettingsDialog, show_about
from app.engine import Engine
from app.jobs import device_job, versions_job
from app.library import VoiceLibrary
from app.pages import PAGE_MODULES, AppContext, load_pages
from app.settings import AppSettings
from app.theme import apply_theme
from app.widgets.error_dialog import show_error

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    """Owns the engine, the settings and the library; pages come from :mod:`app.pages`."""

    def __init__(self, settings: AppSettings | None = None, pages: tuple[str, ...] = PAGE_MODULES) -> None:
        super().__init__()
        self.setWindowTitle("SVC Studio")
        self.resize(1280, 800)
        self.settings = settings or AppSettings()
        self.engine = Engine(self)
        self.library = VoiceLibrary(self.engine, self.settings, self)
        self.errors: list[tuple[str, str]] = []  # (title, message) of every error shown, newest last
        self.ctx = AppContext(self.engine, self.settings, self.library, self.show_error)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(150)
        self.stack = QStackedWidget()
        self.pages: dict[str, QWidget] = {}
        for key, title, widget in load_pages(self.ctx, pages):
            self.pages[key] = widget
            self.sidebar.addItem(title)
            self.stack.addWidget(widget)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.sidebar)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        # log panel
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText("Engine log (select and copy with Ctrl+C)")
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("logDock")
        self.log_dock.setWidget(self.log)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.resizeDocks([self.log_dock], [110], Qt.Orientation.Vertical)
        # status bar
        self.device_label = QLabel("device: ...")
        self.state_label = QLabel("engine: idle")
        self.statusBar().addWidget(self.state_label, 1)
        self.statusBar().addPermanentWidget(self.device_label)
        self._versions: dict[str, str] = {}
        self._device_job = 0
        self._versions_job = 0
        self._menus()
        e = self.engine
        e.log_line.connect(self.log.appendPlainText)
        e.state_changed.connect(lambda s: self.state_label.setText(f"engine: {s}"))
        e.job_finished.connect(self._on_finished)
        e.job_failed.connect(self._on_failed)
        self.settings.changed.connect(self._on_setting)
        self.sidebar.setCurrentRow(0)
        apply_theme(QApplication.instance(), self.settings.theme, self)
        self.refresh_device()
        self._versions_job = e.run("versions", versions_job()).id
        self.library.refresh()

    def _menus(self) -> None:
        m_file = self.menuBar().addMenu("&File")
        act = QAction("&Settings...", self, shortcut=QKeySequence("Ctrl+,"), triggered=self.open_settings)
        m_file.addAction(act)
        m_file.addSeparator()
        m_file.addAction(QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close))
        m_view = self.menuBar().addMenu("&View")
        for i in range(self.sidebar.count()):
            m_view.addAction(QAction(self.sidebar.item(i).text(), self, shortcut=QKeySequence(f"Ctrl+{i + 1}"),
                                     triggered=lambda _=False, i=i: self.sidebar.setCurrentRow(i)))
        log_act = self.log_dock.toggleViewAction()
        log_act.setShortcut(QKeySequence("Ctrl+L"))
        m_view.addAction(log_act)
        m_help = self.menuBar().addMenu("&Help")
        m_help.addAction(QAction("&About", self, shortcut=QKeySequence("F1"), triggered=self.open_about))

    # -- actions --

    def show_page(self, key: str) -> QWidget:
        """Switch to page ``key`` and return it."""
        w = self.pages[key]
        self.sidebar.setCurrentRow(self.stack.indexOf(w))
        return w

    def show_error(self, title: str, message: str, details: str = "") -> None:
        """Error dialog (message, expandable details); the app stays usable."""
        self.errors.append((title, message))
        show_error(self, title, message, details)

    def open_settings(self) -> SettingsDialog:
        """Open the Settings dialog (non-blocking)."""
        dlg = SettingsDialog(self.settings, self)
        dlg.open()
        return dlg

    def open_about(self) -> None:
        """Open the About box."""
        show_about(self, self._versions or {"SVC Studio": "(reading versions...)"})

    def refresh_device(self) -> None:
        """Ask the engine thread which device it uses (and its memory in use)."""
        self._device_job = self.engine.run("device", device_job(self.settings.device)).id

    # -- signals --

    def _on_setting(self, key: str) -> None:
        if key == "app.theme":
            apply_theme(QApplication.instance(), self.settings.theme, self)
        elif key == "device":
            self.refresh_device()

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id == self._device_job:
            self.device_label.setText(f"device: {result.describe()}")
        elif job_id == self._versions_job:
            self._versions = dict(result)
        elif self._device_job and not self.engine.busy:
            self.refresh_device()  # memory in use after a job

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if job_id == self._device_job:
            self.device_label.setText("device: unavailable")
            self.show_error("Compute device", message, details)

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Let the pages stop their work cleanly (a live session, a training run), then stop the engine thread."""
        for page in self.pages.values():
            fn = getattr(page, "prepare_close", None)
            if callable(fn):
                fn()
        self.engine.shutdown(5000)
        super().closeEvent(e)
