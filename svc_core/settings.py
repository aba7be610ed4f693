"""User settings stored as JSON (unknown keys kept); defaults live on the dataclass only."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from svc_core.atomic import write_json_atomic


def config_dir() -> Path:
    """Folder of the settings file ($SVC_STUDIO_CONFIG_DIR, else XDG config home)."""
    env = os.environ.get("SVC_STUDIO_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "svc-studio"


@dataclass
class Settings:
    """Persistent user settings."""

    weights_dir: str | None = None
    weights: dict[str, str] = field(default_factory=dict)
    device: str = "auto"
    #: CPU threads for torch: "auto" (every CPU), "free" (the CPUs other programs leave free) or a count.
    threads: str | int = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or unreadable file gives defaults."""
        p = path or config_dir() / "settings.json"
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in raw.items() if k in known}
        s = cls(**kwargs)
        s.extra = {k: v for k, v in raw.items() if k not in known}
        if not isinstance(s.weights, dict):
            s.weights = {}
        return s

    def save(self, path: Path | None = None) -> None:
        """Write settings atomically, keeping unknown keys."""
        p = path or config_dir() / "settings.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        write_json_atomic(p, data)
