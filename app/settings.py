"""The app's settings, bound to the one settings file of :mod:`svc_core.settings` (GUI keys live in its
``extra`` section under ``app.*`` names, so the CLI and the GUI read the same weights folder and device)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from svc_core.settings import Settings

__all__ = ["AppSettings", "OUTPUT_FORMATS", "OUTPUT_SUBTYPES", "THEMES"]

THEMES = ("dark", "light")
OUTPUT_FORMATS = ("wav", "flac", "ogg")
#: bit depth shown -> soundfile subtype (ogg ignores it)
OUTPUT_SUBTYPES = {"16-bit": "PCM_16", "24-bit": "PCM_24", "32-bit float": "FLOAT"}

_DEFAULTS: dict[str, Any] = {
    "app.voices_dir": "",
    "app.voice_paths": [],  # voices added by path
    "app.output_dir": "",
    "app.output_format": "wav",
    "app.output_depth": "16-bit",
    "app.theme": "dark",
    "app.last_voice": "",
    "app.train_run": {},  # the Train wizard's options while a run is unfinished (reopening offers to resume)
}


class AppSettings(QObject):
    """Typed accessors over :class:`svc_core.settings.Settings`; every change is saved at once."""

    changed = Signal(str)  # the key that changed

    def __init__(self, path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = path
        self.core = Settings.load(path)

    # -- generic --

    def get(self, key: str) -> Any:
        """Value of an ``app.*`` key (its default when unset or of the wrong type)."""
        default = _DEFAULTS[key]
        v = self.core.extra.get(key, default)
        return v if isinstance(v, type(default)) else default

    def set(self, key: str, value: Any) -> None:
        """Store an ``app.*`` key and save."""
        if key not in _DEFAULTS:
            raise KeyError(key)
        if self.core.extra.get(key) == value:
            return
        self.core.extra[key] = value
        self.save()
        self.changed.emit(key)

    def save(self) -> None:
        """Write the settings file."""
        self.core.save(self._path)

    # -- core keys --

    @property
    def device(self) -> str:
        """auto / cpu / cuda / cuda:N / mps."""
        return self.core.device or "auto"

    @device.setter
    def device(self, value: str) -> None:
        if value != self.core.device:
            self.core.device = value
            self.save()
            self.changed.emit("device")

    @property
    def weights_dir(self) -> str:
        """Folder of pretrained weights ('' = none set)."""
        return self.core.weights_dir or ""

    @weights_dir.setter
    def weights_dir(self, value: str) -> None:
        v = value or None
        if v != self.core.weights_dir:
            self.core.weights_dir = v
            self.save()
            self.changed.emit("weights_dir")

    # -- app keys --

    @property
    def theme(self) -> str:
        """dark or light."""
        t = self.get("app.theme")
        return t if t in THEMES else "dark"

    @property
    def voices_dir(self) -> str:
        """Folder scanned for voices."""
        return self.get("app.voices_dir")

    @property
    def voice_paths(self) -> list[str]:
        """Voices added one by one."""
        return [str(p) for p in self.get("app.voice_paths")]

    def add_voice_path(self, path: str) -> None:
        """Remember a voice added by path."""
        paths = self.voice_paths
        if path not in paths:
            self.set("app.voice_paths", [*paths, path])

    @property
    def output_dir(self) -> str:
        """Where converted files go ('' = beside each input)."""
        return self.get("app.output_dir")

    @property
    def output_format(self) -> str:
        """wav, flac or ogg."""
        f = self.get("app.output_format")
        return f if f in OUTPUT_FORMATS else "wav"

    @property
    def output_depth(self) -> str:
        """A key of OUTPUT_SUBTYPES."""
        d = self.get("app.output_depth")
        return d if d in OUTPUT_SUBTYPES else "16-bit"
