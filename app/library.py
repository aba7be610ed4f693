"""The voice library: voices found in the voices folder plus those added by path, each summarised (or its load
error kept) by a job on the engine thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.engine import Engine, JobContext
from app.settings import AppSettings
from svc_core.voices.summary import VoiceSummary, find_voice_folders, summarize_voice

__all__ = ["VoiceLibrary"]


class VoiceLibrary(QObject):
    """List of :class:`VoiceSummary` entries; ``changed`` fires after each scan."""

    changed = Signal()
    scanning = Signal(bool)

    def __init__(self, engine: Engine, settings: AppSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine, self.settings = engine, settings
        self.voices: list[VoiceSummary] = []
        self._job_id = 0
        engine.job_finished.connect(self._on_finished)
        engine.job_failed.connect(self._on_failed)
        settings.changed.connect(self._on_setting)

    def paths(self) -> list[Path]:
        """Voice folders to list: the voices folder's, then the ones added by path (no duplicates)."""
        out: list[Path] = []
        if self.settings.voices_dir:
            out.extend(find_voice_folders(self.settings.voices_dir))
        out.extend(Path(p) for p in self.settings.voice_paths)
        seen: set[Path] = set()
        return [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]

    def refresh(self) -> int:
        """Rescan in the background; returns the job id."""
        paths = self.paths()
        weights = self.settings.weights_dir or None

        def scan(ctx: JobContext) -> list[VoiceSummary]:
            out = []
            for i, p in enumerate(paths):
                ctx.progress(i / max(1, len(paths)), f"reading {p.name}")
                s = summarize_voice(p, weights_dir=weights)
                if s.error:
                    ctx.log(f"voice {p}: {s.error}")
                out.append(s)
            ctx.progress(1.0, "voices read")
            return out

        self._job_id = self.engine.run("read voices", scan).id
        self.scanning.emit(True)
        return self._job_id

    @property
    def job_id(self) -> int:
        """Id of the latest scan job."""
        return self._job_id

    def add_path(self, path: str | Path) -> None:
        """Add a voice folder (or checkpoint) by path (the settings change triggers the rescan)."""
        self.settings.add_voice_path(str(Path(path)))

    def find(self, path: str | Path) -> VoiceSummary | None:
        """The entry for ``path``, if listed."""
        rp = Path(path).resolve()
        return next((v for v in self.voices if v.path.resolve() == rp), None)

    def _on_setting(self, key: str) -> None:
        if key in ("app.voices_dir", "app.voice_paths", "weights_dir"):
            self.refresh()

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id == self._job_id and isinstance(result, list):
            self.voices = result
            self.scanning.emit(False)
            self.changed.emit()

    def _on_failed(self, job_id: int, *_: object) -> None:
        if job_id == self._job_id:
            self.scanning.emit(False)
