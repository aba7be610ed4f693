"""Editing an F0 curve (the pitch a voice will sing): shift, flatten, smooth, snap to semitones, unvoice a time
range, with undo/redo, and the TSV file ``svc-studio convert --f0-curve`` reads (numpy only, no model code).

A curve is frame times (s, ascending) and F0 in Hz with 0 where unvoiced. Every edit returns a new curve and
touches voiced frames inside [t0, t1] only (``unvoice`` is the exception by design).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svc_core.errors import SvcError

__all__ = [
    "EditHistory",
    "F0Curve",
    "flatten",
    "hz_to_midi",
    "midi_to_hz",
    "note_name",
    "save_f0_curve",
    "shift",
    "smooth",
    "snap",
    "unvoice",
]

_NOTES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def hz_to_midi(hz: np.ndarray | float) -> np.ndarray:
    """Hz -> MIDI note number (float; 69 = A4 = 440 Hz); 0 Hz gives NaN."""
    h = np.asarray(hz, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(h > 0, 69.0 + 12.0 * np.log2(h / 440.0), np.nan)


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray:
    """MIDI note number -> Hz."""
    return 440.0 * 2.0 ** ((np.asarray(midi, np.float64) - 69.0) / 12.0)


def note_name(midi: float) -> str:
    """Name of the nearest note, e.g. 60 -> 'C4', 69 -> 'A4'."""
    m = int(round(midi))
    return f"{_NOTES[m % 12]}{m // 12 - 1}"


@dataclass(frozen=True)
class F0Curve:
    """Frame times [T] (s, strictly increasing) and F0 [T] in Hz (0 = unvoiced)."""

    times: np.ndarray
    f0: np.ndarray

    def __post_init__(self) -> None:
        t = np.asarray(self.times, np.float64)
        f = np.asarray(self.f0, np.float64)
        if t.ndim != 1 or t.shape != f.shape:
            raise SvcError(f"F0 curve: times and f0 must be 1-D of one length, got {t.shape} and {f.shape}")
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise SvcError("F0 curve: times must be strictly increasing")
        if not (np.isfinite(f).all() and (f >= 0).all()):
            raise SvcError("F0 curve: f0 must be finite and >= 0")
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "f0", f)

    @property
    def voiced(self) -> np.ndarray:
        """Voiced mask [T]."""
        return self.f0 > 0

    def mask(self, t0: float, t1: float) -> np.ndarray:
        """Frames inside [min(t0, t1), max(t0, t1)]."""
        a, b = min(t0, t1), max(t0, t1)
        return (self.times >= a) & (self.times <= b)

    def with_f0(self, f0: np.ndarray) -> F0Curve:
        """Same times, new F0."""
        return F0Curve(self.times, f0)

    def on_grid(self, times: np.ndarray) -> F0Curve:
        """This curve read at ``times`` the way the converter reads an ``--f0-curve`` file: voiced from the nearest
        row (and only within 50 ms of the curve's ends), F0 linear between voiced rows."""
        from svc_core.convert.f0_curve import curve_on_grid

        t = np.asarray(times, np.float64)
        if self.times.shape == t.shape and np.allclose(self.times, t, rtol=0.0, atol=1e-5):
            return F0Curve(t, self.f0)  # the same grid (as written to a file): values as they are
        if self.times.size == 0:
            return F0Curve(t, np.zeros(t.shape))
        f0, _voiced = curve_on_grid(self.times, self.f0, t)
        return F0Curve(t, np.asarray(f0, np.float64))


def _voiced_in(curve: F0Curve, t0: float, t1: float) -> np.ndarray:
    return curve.mask(t0, t1) & curve.voiced


def shift(curve: F0Curve, t0: float, t1: float, semitones: float) -> F0Curve:
    """Voiced frames in [t0, t1] moved by ``semitones`` (fractions are cents / 100)."""
    if not math.isfinite(semitones):
        raise SvcError("pitch shift must be a finite number of semitones")
    m = _voiced_in(curve, t0, t1)
    f = curve.f0.copy()
    f[m] *= 2.0 ** (semitones / 12.0)
    return curve.with_f0(f)


def flatten(curve: F0Curve, t0: float, t1: float) -> F0Curve:
    """Voiced frames in [t0, t1] set to the semitone nearest their median pitch."""
    m = _voiced_in(curve, t0, t1)
    if not m.any():
        return curve
    target = float(midi_to_hz(np.round(np.median(hz_to_midi(curve.f0[m])))))
    f = curve.f0.copy()
    f[m] = target
    return curve.with_f0(f)


def smooth(curve: F0Curve, t0: float, t1: float, width: int = 9) -> F0Curve:
    """Voiced frames in [t0, t1] replaced by a ``width``-frame moving average of the pitch (in semitones, over
    voiced neighbours only), which removes vibrato and jitter but keeps note changes as glides."""
    if width < 2:
        return curve
    m = _voiced_in(curve, t0, t1)
    if not m.any():
        return curve
    v = curve.voiced
    midi = np.where(v, hz_to_midi(np.where(v, curve.f0, 1.0)), 0.0)
    k = np.ones(int(width))
    num = np.convolve(midi, k, mode="same")
    den = np.convolve(v.astype(np.float64), k, mode="same")
    f = curve.f0.copy()
    f[m] = midi_to_hz(num[m] / np.maximum(den[m], 1.0))
    return curve.with_f0(f)


def snap(curve: F0Curve, t0: float, t1: float, strength: float = 1.0) -> F0Curve:
    """Voiced frames in [t0, t1] pulled towards their nearest semitone: 0 = unchanged, 1 = exactly on it."""
    if not 0.0 <= strength <= 1.0:
        raise SvcError(f"snap strength must be between 0 and 1, got {strength}")
    m = _voiced_in(curve, t0, t1)
    f = curve.f0.copy()
    midi = hz_to_midi(f[m])
    f[m] = midi_to_hz(midi + strength * (np.round(midi) - midi))
    return curve.with_f0(f)


def unvoice(curve: F0Curve, t0: float, t1: float) -> F0Curve:
    """Every frame in [t0, t1] marked unvoiced (F0 0)."""
    f = curve.f0.copy()
    f[curve.mask(t0, t1)] = 0.0
    return curve.with_f0(f)


class EditHistory:
    """Undo/redo over whole curves (a curve of a 10-minute file is ~50k floats, so snapshots are cheap)."""

    def __init__(self, curve: F0Curve, limit: int = 200) -> None:
        self._done: list[F0Curve] = [curve]
        self._undone: list[F0Curve] = []
        self.limit = int(limit)

    @property
    def current(self) -> F0Curve:
        """The curve after the edits not undone."""
        return self._done[-1]

    def push(self, curve: F0Curve) -> F0Curve:
        """Record an edit (clears redo); returns ``curve``."""
        self._done.append(curve)
        self._undone.clear()
        if len(self._done) > self.limit + 1:
            del self._done[1]
        return curve

    def can_undo(self) -> bool:
        """True when an edit can be undone."""
        return len(self._done) > 1

    def can_redo(self) -> bool:
        """True when an undone edit can be redone."""
        return bool(self._undone)

    def undo(self) -> F0Curve:
        """Step back one edit (no-op at the start)."""
        if self.can_undo():
            self._undone.append(self._done.pop())
        return self.current

    def redo(self) -> F0Curve:
        """Redo the last undone edit (no-op when none)."""
        if self._undone:
            self._done.append(self._undone.pop())
        return self.current


def save_f0_curve(path: str | os.PathLike[str], curve: F0Curve) -> Path:
    """Write the curve atomically as the TSV ``--f0-curve`` reads: a ``time_s<TAB>f0_hz`` header, then one row
    per frame (6 decimals for time, 4 for Hz; 0 = unvoiced)."""
    from svc_core.atomic import write_text_atomic

    p = Path(path)
    if not p.parent.is_dir():
        raise SvcError(f"{p}: the folder {p.parent} does not exist")
    rows = "".join(f"{t:.6f}\t{f:.4f}\n" for t, f in zip(curve.times.tolist(), curve.f0.tolist(), strict=True))
    try:
        return write_text_atomic(p, "time_s\tf0_hz\n" + rows)
    except OSError as e:
        raise SvcError(f"{p}: cannot write the F0 curve ({e.strerror or e})") from e
