"""Finding the training audio of a folder (one sub-folder per speaker, or a flat folder = one speaker) and the
small file helpers the dataset steps share (content hash, atomic JSON)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svc_core.audio import is_audio_path
from svc_core.errors import SvcError

__all__ = ["Source", "file_sha256", "find_sources", "read_json", "write_json"]


@dataclass(frozen=True)
class Source:
    """One input file: its speaker, path, key (``speaker/relative path``) and the stem its clips are named by."""

    speaker: str
    path: Path
    key: str
    stem: str


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_audio_path(p) and not p.name.startswith("."))


def find_sources(in_dir: str | os.PathLike[str]) -> list[Source]:
    """Audio under ``in_dir``: each sub-folder holding audio is a speaker; files directly inside belong to a speaker
    named after ``in_dir`` itself. Clip stems are made unique per speaker (a short hash is added on collisions)."""
    root = Path(in_dir)
    if not root.is_dir():
        raise SvcError(f"{root}: input folder not found")
    found: list[tuple[str, Path, Path]] = []
    for p in sorted(root.iterdir()):
        if p.is_dir() and not p.name.startswith("."):
            found += [(p.name, f, f.relative_to(p)) for f in _audio_files(p)]
    found += [(root.resolve().name or "speaker", f, Path(f.name))
              for f in sorted(root.iterdir()) if f.is_file() and is_audio_path(f)]
    if not found:
        raise SvcError(f"{root}: no audio files found (looked for .wav, .flac, .mp3, .ogg, ... recursively)")
    stems: dict[tuple[str, str], int] = {}
    for spk, _, rel in found:
        stems[(spk, rel.stem)] = stems.get((spk, rel.stem), 0) + 1
    out = []
    for spk, f, rel in found:
        stem = rel.stem
        if stems[(spk, stem)] > 1:
            stem = f"{stem}-{hashlib.sha1(str(rel).encode()).hexdigest()[:6]}"
        out.append(Source(spk, f, f"{spk}/{rel.as_posix()}", stem))
    return out


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                return h.hexdigest()
            h.update(b)


def read_json(path: Path) -> Any:
    """JSON content of ``path`` or None when missing or unreadable (a damaged manifest means: start over)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, obj: Any) -> Path:
    """Write a manifest / report as JSON atomically (``svc_core.atomic``), non-ASCII names kept readable."""
    from svc_core.atomic import write_json_atomic

    return write_json_atomic(path, obj, indent=1, ensure_ascii=False, newline=True)
