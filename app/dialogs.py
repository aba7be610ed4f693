"""Settings dialog (device, weights folder with what svc_core.weights finds there, voices and output folders,
output format, theme) and the About box (app, torch and CUDA versions)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.settings import OUTPUT_FORMATS, OUTPUT_SUBTYPES, THEMES, AppSettings

__all__ = ["SettingsDialog", "about_text"]

DEVICES = ("auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps")


def _folder_row(edit: QLineEdit, parent: QWidget, title: str) -> QHBoxLayout:
    b = QPushButton("...")
    b.setFixedWidth(32)

    def pick() -> None:
        d = QFileDialog.getExistingDirectory(parent, title, edit.text())
        if d:
            edit.setText(d)

    b.clicked.connect(pick)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(b)
    return row


def weights_report(weights_dir: str) -> str:
    """Which known pretrained weights are found with ``weights_dir`` (and the other standard places)."""
    from svc_core.weights import KNOWN_WEIGHTS, list_found

    lines = []
    for key, path in list_found(weights_dir=weights_dir or None).items():
        spec = KNOWN_WEIGHTS[key]
        lines.append(f"{spec.description}:\n    {path if path else 'not found (' + spec.filenames[0] + ')'}")
    return "\n".join(lines)


class SettingsDialog(QDialog):
    """Edits :class:`AppSettings`; OK saves."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(620)
        self.settings = settings
        self.device = QComboBox(editable=True)
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.weights = QLineEdit(settings.weights_dir)
        self.voices = QLineEdit(settings.voices_dir)
        self.output = QLineEdit(settings.output_dir)
        self.output.setPlaceholderText("beside each input")
        self.fmt = QComboBox()
        self.fmt.addItems(OUTPUT_FORMATS)
        self.fmt.setCurrentText(settings.output_format)
        self.depth = QComboBox()
        self.depth.addItems(list(OUTPUT_SUBTYPES))
        self.depth.setCurrentText(settings.output_depth)
        self.theme = QComboBox()
        self.theme.addItems(THEMES)
        self.theme.setCurrentText(settings.theme)
        self.found = QPlainTextEdit(readOnly=True)
        self.found.setMinimumHeight(150)
        check = QPushButton("Check weights")
        check.clicked.connect(self.refresh_found)
        form = QFormLayout()
        form.addRow("Compute device", self.device)
        form.addRow("Weights folder", _folder_row(self.weights, self, "Weights folder"))
        form.addRow("", check)
        form.addRow("Found", self.found)
        form.addRow("Voices folder", _folder_row(self.voices, self, "Voices folder"))
        form.addRow("Output folder", _folder_row(self.output, self, "Output folder"))
        fr = QHBoxLayout()
        fr.addWidget(self.fmt)
        fr.addWidget(self.depth)
        form.addRow("Output format", fr)
        form.addRow("Theme", self.theme)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.refresh_found()

    def refresh_found(self) -> None:
        """List what the weights search finds for the folder typed."""
        self.found.setPlainText(weights_report(self.weights.text().strip()))

    def accept(self) -> None:
        """Save every field."""
        s = self.settings
        s.device = self.device.currentText().strip() or "auto"
        s.weights_dir = self.weights.text().strip()
        s.set("app.voices_dir", self.voices.text().strip())
        s.set("app.output_dir", self.output.text().strip())
        s.set("app.output_format", self.fmt.currentText())
        s.set("app.output_depth", self.depth.currentText())
        s.set("app.theme", self.theme.currentText())
        super().accept()


def about_text(versions: dict[str, str]) -> str:
    """HTML of the About box."""
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;{v}</td></tr>" for k, v in versions.items())
    return ("<h3>SVC Studio</h3><p>Singing voice conversion: convert, live and train; loads so-vits-svc 4.x "
            f"voices.</p><table>{rows}</table>")


def show_about(parent: QWidget, versions: dict[str, str]) -> QMessageBox:
    """Open the About box (non-blocking)."""
    box = QMessageBox(QMessageBox.Icon.Information, "About SVC Studio", about_text(versions),
                      QMessageBox.StandardButton.Ok, parent)
    box.open()
    return box
