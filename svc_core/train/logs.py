"""Training logs: one JSON object per line in ``logs/metrics.jsonl`` plus TensorBoard event files (the field's
standard viewer: ``tensorboard --logdir VOICE_DIR/logs``). Only rank 0 writes."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MetricsLog", "read_metrics"]


class MetricsLog:
    """Appends metrics (JSONL, flushed per line) and mirrors scalars and audio to TensorBoard."""

    def __init__(self, folder: Path, tensorboard: bool = True) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._f = open(self.folder / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(self.folder))

    def write(self, step: int, kind: str, values: dict[str, Any]) -> None:
        """One record: ``{"step", "kind", "time", **values}``; numeric values also go to TensorBoard."""
        rec = {"step": int(step), "kind": kind, "time": round(time.time(), 3)}
        for k, v in values.items():
            rec[k] = round(float(v), 6) if isinstance(v, float) and math.isfinite(v) else v
        self._f.write(json.dumps(rec) + "\n")
        self._f.flush()
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)):
                    self._tb.add_scalar(f"{kind}/{k}", float(v), int(step))

    def audio(self, tag: str, step: int, y: np.ndarray, sr: int) -> None:
        """A rendered sample in TensorBoard."""
        if self._tb is not None:
            import torch

            self._tb.add_audio(tag, torch.from_numpy(np.asarray(y, np.float32)).reshape(1, -1), int(step), sr)

    def close(self) -> None:
        """Flush and close both outputs."""
        self._f.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(folder: Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl`` (optionally of one kind); a torn last line (killed writer) is skipped."""
    p = Path(folder) / "metrics.jsonl"
    out = []
    if not p.is_file():
        return out
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if kind is None or rec.get("kind") == kind:
            out.append(rec)
    return out
