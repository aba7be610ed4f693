"""Voice file resolution (no torch import): which config.json and generator checkpoint a path means, and the
optional ``f0_stats.json`` beside them."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from svc_core.errors import VoiceError
from svc_core.jobs import warn
from svc_core.voices.config import ConfigError

__all__ = ["F0Stats", "find_checkpoint", "load_f0_stats", "resolve_voice_files"]

@dataclass(frozen=True)
class F0Stats:
    """Pitch statistics of the voice's training data (``f0_stats.json``), used for automatic key."""

    median_hz: float
    p5_hz: float
    p95_hz: float


_G_RE = re.compile(r"G_(\d+)\.pth")


def find_checkpoint(folder: Path) -> Path:
    """Newest ``G_<step>.pth`` by step; else a single ``*_release*.pth``; else the only ``.pth`` (not D_*)."""
    steps = [(int(m.group(1)), p) for p in folder.glob("G_*.pth") if (m := _G_RE.fullmatch(p.name)) and p.is_file()]
    if steps:
        return max(steps)[1]
    release = sorted(p for p in folder.glob("*_release*.pth") if p.is_file())
    if len(release) > 1:
        full = [p for p in release if "half" not in p.name]
        release = full if len(full) == 1 else release
    if len(release) == 1:
        return release[0]
    candidates = sorted(p for p in folder.glob("*.pth") if p.is_file() and not p.name.startswith("D_"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise VoiceError(f"{folder}: no generator checkpoint (G_<step>.pth or another .pth file) in the voice folder")
    names = ", ".join(p.name for p in candidates[:8])
    raise VoiceError(f"{folder}: several .pth files and none named G_<step>.pth ({names}); name the one to use")


def resolve_voice_files(path: str | Path, checkpoint: str | Path | None) -> tuple[Path, Path, Path]:
    """(folder, config.json, checkpoint) for a voice folder, its config.json or a checkpoint file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise VoiceError(f"{p}: voice not found (expected a folder with config.json and G_*.pth, or a .pth file)")
    if p.is_dir():
        folder = p
        ck = None
    elif p.suffix.lower() == ".json":
        folder, ck = p.parent, None
    else:
        folder, ck = p.parent, p
    config_path = p if p.suffix.lower() == ".json" and p.is_file() else folder / "config.json"
    if checkpoint is not None:
        ck = Path(checkpoint).expanduser()
        if not ck.is_absolute() and not ck.exists():
            ck = folder / ck
        if not ck.is_file():
            raise VoiceError(f"{ck}: checkpoint not found")
    if not config_path.is_file():
        raise ConfigError(
            f"{folder}: no config.json (so-vits-svc voices need the config.json written by training, e.g. "
            "logs/44k/config.json or configs/config.json, next to the checkpoint)"
        )
    if ck is None:
        ck = find_checkpoint(folder)
    return folder, config_path, ck


def load_f0_stats(folder: Path, notes: list[str]) -> F0Stats | None:
    """``folder/f0_stats.json`` if present and valid; a broken one is noted in ``notes`` and ignored."""
    p = folder / "f0_stats.json"
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
        vals = [float(d[k]) for k in ("median_hz", "p5_hz", "p95_hz")]
        if not all(math.isfinite(v) and v > 0 for v in vals):
            raise ValueError("values must be positive numbers")
        return F0Stats(*vals)
    except (OSError, ValueError, KeyError, TypeError) as e:
        notes.append(f"{p.name} ignored: {e}")
        warn(f"{p}: ignored ({e})")
        return None
