"""Every knob of a live session (defaults live here only; the CLI, GUI and calibration override them), and the
calibrated block/context choice saved in the user settings file (``svc_core.settings``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from svc_core.errors import SvcError

__all__ = ["LATE_FILLS", "LiveSettings", "apply_calibrated", "load_calibrated", "save_calibrated"]

LATE_FILLS = ("dry", "silence")
_SETTINGS_KEY = "live"  # key of the saved live settings in settings.json
_CALIBRATED = ("block_ms", "context_ms", "crossfade_ms", "search_ms", "lookahead_ms")


@dataclass
class LiveSettings:
    """One live session: timing (ms), pitch, gate, speaker, devices. Timing is rounded to whole model frames."""

    block_ms: float = 250.0  # new audio per step (RVC's default block)
    crossfade_ms: float = 50.0  # SOLA equal-power crossfade between consecutive outputs
    search_ms: float = 10.0  # SOLA search range
    context_ms: float = 2500.0  # extra left context fed to the content encoder
    lookahead_ms: float = 0.0  # future audio waited for before a block is synthesized
    f0_margin_ms: float = 80.0  # F0 recomputed on the new audio plus this much before it
    transpose: float = 0.0  # semitones
    speaker: int | str | None = None  # None: the voice's first speaker
    retrieval_ratio: float = 0.0
    gate_db: float = -50.0  # block RMS below this (dBFS) gives silence and skips the model
    f0_method: str | None = None  # None: a fast default that keeps up on CPU (see svc_core.live.infer)
    late_fill: str = "dry"  # what a late block is filled with: "dry" input or "silence"
    queue_blocks: int = 4  # bounded input queue of the inference thread (drop the oldest when full)
    samplerate: int | None = None  # device rate; None: the device's default
    input_device: int | str | None = None
    output_device: int | str | None = None
    device: str | None = None  # compute device: auto, cpu, cuda, ...

    def validate(self) -> None:
        """Raise SvcError naming the first invalid setting."""
        checks = [
            (5.0 <= self.block_ms <= 2000.0, f"block must be 5-2000 ms, got {self.block_ms}"),
            (0.0 <= self.crossfade_ms <= 500.0, f"crossfade must be 0-500 ms, got {self.crossfade_ms}"),
            (0.0 <= self.search_ms <= 100.0, f"SOLA search must be 0-100 ms, got {self.search_ms}"),
            (0.0 <= self.context_ms <= 10000.0, f"context must be 0-10000 ms, got {self.context_ms}"),
            (0.0 <= self.lookahead_ms <= 1000.0, f"lookahead must be 0-1000 ms, got {self.lookahead_ms}"),
            (0.0 <= self.f0_margin_ms <= 1000.0, f"F0 margin must be 0-1000 ms, got {self.f0_margin_ms}"),
            (math.isfinite(self.transpose) and abs(self.transpose) <= 48, "transpose must be within +-48 semitones"),
            (0.0 <= self.retrieval_ratio <= 1.0, "retrieval ratio must be between 0 and 1"),
            (math.isfinite(self.gate_db) and -150.0 <= self.gate_db <= 0.0, "gate must be -150..0 dBFS"),
            (self.late_fill in LATE_FILLS, f"late fill must be one of {', '.join(LATE_FILLS)}"),
            (1 <= int(self.queue_blocks) <= 64, "queue must hold 1-64 blocks"),
            (self.samplerate is None or 8000 <= int(self.samplerate) <= 192000, "sample rate must be 8000-192000"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SvcError(f"invalid live setting: {msg}")

    def with_changes(self, **changes: Any) -> LiveSettings:
        """A validated copy with ``changes`` applied (unknown names raise SvcError)."""
        known = {f.name for f in fields(self)}
        bad = sorted(set(changes) - known)
        if bad:
            raise SvcError(f"unknown live setting(s): {', '.join(bad)}")
        out = replace(self, **changes)
        out.validate()
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


def load_calibrated(path: Path | None = None) -> dict[str, Any] | None:
    """The block/context choice last saved by ``--calibrate`` (with its reasons), or None."""
    from svc_core.settings import Settings

    raw = Settings.load(path).extra.get(_SETTINGS_KEY)
    if not isinstance(raw, dict) or not isinstance(raw.get("calibrated"), dict):
        return None
    return dict(raw["calibrated"])


def save_calibrated(choice: LiveSettings, report: dict[str, Any], path: Path | None = None) -> None:
    """Store the calibrated timing of ``choice`` (+ the measurement ``report``) in the user settings file."""
    from svc_core.settings import Settings

    s = Settings.load(path)
    live = s.extra.get(_SETTINGS_KEY)
    live = dict(live) if isinstance(live, dict) else {}
    live["calibrated"] = {**{k: getattr(choice, k) for k in _CALIBRATED}, "report": report}
    s.extra[_SETTINGS_KEY] = live
    s.save(path)


def apply_calibrated(base: LiveSettings, saved: dict[str, Any] | None) -> LiveSettings:
    """``base`` with the saved calibrated timing applied (ignores missing or invalid values)."""
    if not saved:
        return base
    vals = {k: float(saved[k]) for k in _CALIBRATED if isinstance(saved.get(k), (int, float))}
    try:
        return base.with_changes(**vals)
    except SvcError:
        return base
