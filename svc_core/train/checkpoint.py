"""Checkpoints in so-vits-svc's layout, written atomically, resumed from the newest intact pair, last K kept.

``G_<step>.pth`` / ``D_<step>.pth`` hold so-vits-svc 4.1's ``{"model", "optimizer", "learning_rate", "iteration"}``
(``iteration`` = epoch, as so-vits-svc writes it) plus ``"svc_studio"``: step, scheduler, grad-scaler and sampler
state, so so-vits-svc loads our files and we resume exactly. Each file is written to a temp file in the same folder,
fsynced, then renamed: D first, then G, so a G file only exists once its pair is complete. so-vits-svc writes in
place and restarts from step 0 when the newest file is truncated; here a damaged newest pair is reported and the
previous intact one is used.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from svc_core.errors import CheckpointError, SvcError

__all__ = ["Resumed", "clean_partial", "find_resumable", "prune", "save_pair", "state_is_finite"]

log = logging.getLogger(__name__)
_G_RE = re.compile(r"G_(\d+)\.pth")


def _atomic_save(obj: Any, path: Path) -> None:
    from svc_core.atomic import atomic_write

    with atomic_write(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def state_is_finite(module: torch.nn.Module) -> bool:
    """True when every floating parameter and buffer is finite."""
    return all(bool(torch.isfinite(t).all()) for t in list(module.parameters()) + list(module.buffers())
               if t.is_floating_point())


def save_pair(folder: Path, step: int, epoch: int, learning_rate: float, g: dict[str, Any], d: dict[str, Any],
              state: dict[str, Any]) -> Path:
    """Write ``D_<step>.pth`` then ``G_<step>.pth``; ``g``/``d`` hold ``model`` and ``optimizer`` state dicts."""
    meta = {"format": "svc-studio-train", "version": 1, **state, "step": int(step)}
    d_obj = {"model": d["model"], "optimizer": d["optimizer"], "learning_rate": float(learning_rate),
             "iteration": int(epoch), "svc_studio": {"step": int(step), "scheduler": d.get("scheduler")}}
    g_obj = {"model": g["model"], "optimizer": g["optimizer"], "learning_rate": float(learning_rate),
             "iteration": int(epoch), "svc_studio": {**meta, "scheduler": g.get("scheduler")}}
    _atomic_save(d_obj, folder / f"D_{step}.pth")
    _atomic_save(g_obj, folder / f"G_{step}.pth")
    _fsync_dir(folder)
    return folder / f"G_{step}.pth"


def _steps(folder: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in folder.glob("G_*.pth") if (m := _G_RE.fullmatch(p.name)))


def clean_partial(folder: Path) -> list[Path]:
    """Delete temp files of interrupted writes and D files without their G; returns what was removed."""
    removed = []
    for p in folder.glob(".[GD]_*.pth.*.part"):
        p.unlink(missing_ok=True)
        removed.append(p)
    have_g = set(_steps(folder))
    for p in folder.glob("D_*.pth"):
        m = re.fullmatch(r"D_(\d+)\.pth", p.name)
        if m and int(m.group(1)) not in have_g and int(m.group(1)) != 0:
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


@dataclass
class Resumed:
    """The checkpoint pair training continues from, and notes on any damaged newer ones skipped."""

    step: int
    g: dict[str, Any]
    d: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _load(path: Path) -> dict[str, Any]:
    from vencoder.safe_load import load_torch_file

    obj = load_torch_file(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("model"), dict):
        raise CheckpointError(path, "not a so-vits-svc checkpoint (no 'model' state dict)")
    return obj


def find_resumable(folder: Path) -> Resumed | None:
    """The newest step whose G and D both load intact (step 0 = a warm-start pair is not resumed from)."""
    notes: list[str] = []
    for step in reversed(_steps(folder)):
        if step == 0:
            continue
        try:
            g = _load(folder / f"G_{step}.pth")
            d = _load(folder / f"D_{step}.pth")
            if "svc_studio" not in g:
                raise CheckpointError(folder / f"G_{step}.pth", "holds no training state (not written by svc-studio)")
        except CheckpointError as e:
            notes.append(f"{e}; using an older checkpoint")
            log.warning("%s", notes[-1])
            continue
        return Resumed(step, g, d, notes)
    if notes:
        raise SvcError(f"{folder}: no intact checkpoint to resume from:\n  " + "\n  ".join(notes))
    return None


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` pairs (``keep`` <= 0 keeps all; a G_0/D_0 warm-start pair stays)."""
    if keep <= 0:
        return []
    removed = []
    for step in [s for s in _steps(folder) if s != 0][:-keep]:
        for p in (folder / f"G_{step}.pth", folder / f"D_{step}.pth"):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
