"""The Convert page: input files (drop files or folders), the options, Convert / Cancel with progress, and the
result view (waveforms, spectrogram, playback, pitch editor with re-render)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.jobs import BatchResult, ConvertRequest, FileStatus, Preview, convert_job, preview_job
from app.pages import AppContext
from app.pages.convert_form import ConvertForm
from app.pages.convert_results import ResultsView
from app.widgets.file_list import FileList
from app.widgets.progress import JobProgress
from svc_core.audio import AUDIO_EXTENSIONS
from svc_core.convert import ConvertResult
from svc_core.errors import SvcError

KEY = "convert"
TITLE = "Convert"


class ConvertPage(QWidget):
    """Files, options, run, results."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setAcceptDrops(True)
        self.files = FileList()
        self.form = ConvertForm(ctx.library, ctx.settings)
        self.results = ResultsView(ctx.show_error)
        self.progress = JobProgress(ctx.engine)
        self.convert_button = QPushButton("Convert")
        self.convert_button.setObjectName("primary")
        self.convert_button.setToolTip("Convert the files with the chosen voice (Ctrl+Enter)")
        self.convert_button.setMinimumWidth(120)
        self.last_batch: BatchResult | None = None
        self.last_preview: Preview | None = None
        self._job = 0
        self._preview_job = 0
        self._rerender = False
        self._items: list[tuple[Path, Path]] = []
        self._request: ConvertRequest | None = None

        b_add, b_dir, b_clear = QPushButton("Add files..."), QPushButton("Add folder..."), QPushButton("Clear")
        b_add.setToolTip("Add audio files (Ctrl+O), or drop files and folders on the list")
        row = QHBoxLayout()
        for b in (b_add, b_dir, b_clear):
            row.addWidget(b)
        g_in = QGroupBox("Input files")
        gl = QVBoxLayout(g_in)
        gl.addWidget(self.files, 1)
        gl.addLayout(row)
        self.files.setMinimumHeight(90)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 6, 0)
        ll.addWidget(g_in)
        ll.addWidget(self.form)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(360)
        run_row = QHBoxLayout()
        run_row.addWidget(self.convert_button)
        run_row.addWidget(self.progress, 1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addLayout(run_row)
        rl.addWidget(self.results, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setSizes([380, 880])
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(split)

        b_add.clicked.connect(self._add_files_dialog)
        b_dir.clicked.connect(self._add_folder_dialog)
        b_clear.clicked.connect(self.files.clear_files)
        self.convert_button.clicked.connect(self.convert)
        self.files.currentRowChanged.connect(self._row_changed)
        ed = self.results.pitch
        ed.rerender_requested.connect(self.rerender)
        ed.export_requested.connect(self._export_dialog)
        ed.import_requested.connect(self._import_dialog)
        e = ctx.engine
        e.job_event.connect(self._on_event)
        e.job_finished.connect(self._on_finished)
        e.job_failed.connect(self._on_failed)
        e.job_cancelled.connect(self._on_cancelled)
        for keys, fn in (("Ctrl+O", self._add_files_dialog), ("Ctrl+Return", self.convert),
                         ("Escape", self.progress.cancel), ("Space", self.results.toggle_play),
                         ("Ctrl+Z", ed.undo), ("Ctrl+Shift+Z", ed.redo), ("Ctrl+R", self.rerender),
                         ("Ctrl+E", self._export_dialog)):
            QShortcut(QKeySequence(keys), self, fn)

    # -- running --

    @property
    def running(self) -> bool:
        """True while a conversion or preview of this page is queued or running."""
        return bool(self._job or self._preview_job)

    def convert(self) -> int:
        """Convert every listed file; returns the job id (0 when nothing to do)."""
        if self._job:
            return 0
        voice = self.form.voice_path()
        paths = self.files.paths()
        if voice is None or not paths:
            self.ctx.show_error("Nothing to convert", "Add at least one audio file and pick a voice "
                                "(the Voices page lists the voices found).", "")
            return 0
        items = [(p, self.form.output_for(p)) for p in paths]
        return self._submit(ConvertRequest(voice, self.form.settings(), items, self.form.out_format.currentText(),
                                           self.form.subtype(), self.ctx.settings.weights_dir or None), False)

    def rerender(self) -> int:
        """Convert the previewed file again with the edited pitch curve; returns the job id."""
        curve = self.results.pitch.curve()
        p = self.last_preview
        if self._job or curve is None or p is None or self._request is None:
            return 0
        req = ConvertRequest(self._request.voice, self._request.settings, [(p.input_path, p.output_path)],
                             self._request.format, self._request.subtype, self._request.weights_dir, curve)
        return self._submit(req, True)

    def _submit(self, req: ConvertRequest, rerender: bool) -> int:
        try:
            req.settings.validate()
        except SvcError as e:
            self.ctx.show_error("Invalid setting", str(e), "")
            return 0
        self._items, self._rerender = req.items, rerender
        if not rerender:
            self._request = req
        for i, (src, _dst) in enumerate(req.items):
            row = self.files.paths().index(src) if src in self.files.paths() else i
            self.files.set_status(row, "queued")
        job = self.ctx.engine.run("re-render" if rerender else "convert", convert_job(req))
        self._job = job.id
        self.progress.track(job.id)
        self.convert_button.setEnabled(False)
        return job.id

    def _row_of(self, index: int) -> int:
        src = self._items[index][0]
        paths = self.files.paths()
        return paths.index(src) if src in paths else -1

    def _on_event(self, job_id: int, payload: object) -> None:
        if job_id == self._job and isinstance(payload, FileStatus):
            r = payload.result
            text = (f"done: {r.output_path.name} ({r.output_frames / r.output_sr:.2f} s)" if r is not None
                    else f"failed: {(payload.error or '').splitlines()[0]}")
            self.files.set_status(self._row_of(payload.index), text, r is not None)

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id == self._preview_job and isinstance(result, Preview):
            self._preview_job = 0
            self.last_preview = result
            self.results.show_preview(result, keep_pitch=result.source_f0 is None)
            return
        if job_id != self._job or not isinstance(result, BatchResult):
            return
        self._job = 0
        self.convert_button.setEnabled(True)
        self.last_batch = result
        if len(self._items) == 1 and result.results and result.results[0] is not None:
            self.files.set_status(self._row_of(0), f"done: {result.results[0].output_path.name}", True)
        if result.failed:
            msgs = "\n".join(f"{src.name}: {e}" for (src, _), e in zip(self._items, result.errors, strict=True) if e)
            self.ctx.show_error("Some files failed", f"{result.failed} of {len(self._items)} file(s) failed.", msgs)
        self._preview(self._pick_result(result), with_pitch=not self._rerender)

    def _pick_result(self, batch: BatchResult) -> ConvertResult | None:
        row = self.files.currentRow()
        for i, r in enumerate(batch.results):
            if r is not None and self._row_of(i) == row:
                return r
        return next((r for r in batch.results if r is not None), None)

    def _preview(self, result: ConvertResult | None, with_pitch: bool = True) -> None:
        if result is None or self._request is None:
            return
        req = self._request
        job = self.ctx.engine.run("preview", preview_job(req.voice, req.settings, result, req.weights_dir,
                                                         with_pitch))
        self._preview_job = job.id
        self.progress.track(job.id, "preview")

    def _row_changed(self, row: int) -> None:
        if self.last_batch is None or self._job or row < 0:
            return
        for i, r in enumerate(self.last_batch.results):
            if r is not None and i < len(self._items) and self._row_of(i) == row and (
                    self.last_preview is None or self.last_preview.input_path != r.input_path):
                self._preview(r)

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if job_id == self._preview_job:
            self._preview_job = 0
            self.ctx.show_error("Preview failed", message, details)
        elif job_id == self._job:
            self._job = 0
            self.convert_button.setEnabled(True)
            for i in range(len(self._items)):
                if self.files.status(self._row_of(i)) in ("queued", "converting"):
                    self.files.set_status(self._row_of(i), f"failed: {message.splitlines()[0]}", False)
            self.ctx.show_error("Conversion failed", message, details)

    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self._preview_job:
            self._preview_job = 0
        elif job_id == self._job:
            self._job = 0
            self.convert_button.setEnabled(True)
            for i in range(len(self._items)):
                if self.files.status(self._row_of(i)) == "queued":
                    self.files.set_status(self._row_of(i), "cancelled")

    # -- dialogs and drops --

    def _add_files_dialog(self) -> None:
        pattern = " ".join(f"*{e}" for e in sorted(AUDIO_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Audio files", "", f"Audio ({pattern})")
        self.files.add_paths([Path(f) for f in files])

    def _add_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of audio files")
        if d:
            self.files.add_paths([Path(d)])

    def _export_dialog(self) -> None:
        if self.results.pitch.curve() is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export F0 curve", "pitch.f0.tsv", "F0 curve (*.tsv *.txt)")
        if path:
            try:
                self.results.pitch.export_curve(path)
            except SvcError as e:
                self.ctx.show_error("Export failed", str(e), "")

    def _import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import F0 curve", "", "F0 curve (*.tsv *.txt *.csv)")
        if path:
            try:
                self.results.pitch.import_curve(path)
            except (SvcError, ValueError) as e:
                self.ctx.show_error("Import failed", str(e), "")

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:  # noqa: N802 - Qt API
        self.files.add_paths([Path(u.toLocalFile()) for u in e.mimeData().urls() if u.isLocalFile()])
        e.acceptProposedAction()


def create(ctx: AppContext) -> QWidget:
    """The page widget."""
    return ConvertPage(ctx)
