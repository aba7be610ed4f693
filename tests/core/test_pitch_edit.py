"""F0 curve edits (shift, flatten, smooth, snap, unvoice), undo/redo and the --f0-curve TSV round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from svc_core import pitch_edit as pe
from svc_core.convert import load_f0_curve
from svc_core.errors import SvcError


def curve() -> pe.F0Curve:
    t = np.arange(200) * 0.01 + 0.005
    f = 220.0 * 2 ** (0.3 * np.sin(2 * np.pi * 5 * t) / 12)  # A3 with +-30 cent vibrato
    f[50:60] = 0.0  # a gap
    return pe.F0Curve(t, f)


def test_notes() -> None:
    assert pe.note_name(60) == "C4" and pe.note_name(69) == "A4" and pe.note_name(70.6) == "B4"
    assert pe.hz_to_midi(440.0) == pytest.approx(69.0) and np.isnan(pe.hz_to_midi(0.0))
    assert pe.midi_to_hz(57) == pytest.approx(220.0)


def test_shift_touches_voiced_frames_in_range_only() -> None:
    c = curve()
    s = pe.shift(c, 0.3, 1.0, 12.0)
    m = c.mask(0.3, 1.0)
    np.testing.assert_allclose(s.f0[m], 2 * c.f0[m])
    np.testing.assert_array_equal(s.f0[~m], c.f0[~m])
    assert (s.f0[50:60] == 0).all()
    np.testing.assert_allclose(pe.shift(c, 1.0, 0.3, -0.5).f0[m], c.f0[m] * 2 ** (-0.5 / 12))  # reversed range, cents


def test_flatten_smooth_snap_unvoice() -> None:
    c = curve()
    f = pe.flatten(c, 0.0, 0.4)
    m = c.mask(0.0, 0.4) & c.voiced
    assert np.allclose(f.f0[m], 220.0)  # median note A3
    sm = pe.smooth(c, 0.6, 1.8, width=21)  # 21 frames = one vibrato period: averages it out
    inner = c.mask(0.8, 1.6)
    assert np.abs(1200 * np.log2(sm.f0[inner] / 220.0)).max() < 5
    assert np.abs(1200 * np.log2(c.f0[inner] / 220.0)).max() > 25
    half = pe.snap(c, 0.0, 2.0, 0.5)
    cents = 1200 * np.log2(c.f0[c.voiced] / 220.0)
    np.testing.assert_allclose(1200 * np.log2(half.f0[c.voiced] / 220.0), cents / 2, atol=1e-6)
    np.testing.assert_allclose(pe.snap(c, 0, 2, 1.0).f0[c.voiced], 220.0)
    with pytest.raises(SvcError):
        pe.snap(c, 0, 1, 1.5)
    u = pe.unvoice(c, 1.0, 1.2)
    assert (u.f0[c.mask(1.0, 1.2)] == 0).all() and u.voiced.sum() < c.voiced.sum()


def test_history_undo_redo() -> None:
    c = curve()
    h = pe.EditHistory(c)
    assert not h.can_undo() and not h.can_redo()
    a = h.push(pe.shift(c, 0, 1, 2))
    b = h.push(pe.unvoice(a, 0, 0.5))
    assert h.undo() is a and h.undo() is c and h.undo() is c
    assert h.redo() is a and h.can_redo()
    h.push(pe.flatten(a, 0, 1))
    assert not h.can_redo() and h.current is not b


def test_tsv_round_trip_is_what_the_converter_reads(tmp_path: Path) -> None:
    c = curve()
    p = pe.save_f0_curve(tmp_path / "x.f0.tsv", c)
    assert p.read_text().startswith("time_s\tf0_hz\n")
    t, f = load_f0_curve(p)
    np.testing.assert_allclose(t, c.times, atol=1e-6)
    np.testing.assert_allclose(f, c.f0, atol=1e-4)
    back = pe.F0Curve(t, f).on_grid(c.times)
    np.testing.assert_allclose(back.f0, c.f0, atol=1e-4)
    coarse = pe.F0Curve(c.times[::2], c.f0[::2]).on_grid(c.times)  # another grid: interpolated like --f0-curve
    assert coarse.voiced[c.voiced].mean() > 0.9
    assert list(tmp_path.iterdir()) == [p]  # no temp file left
    with pytest.raises(SvcError, match="does not exist"):
        pe.save_f0_curve(tmp_path / "no" / "x.tsv", c)
    with pytest.raises(SvcError, match="increasing"):
        pe.F0Curve(np.array([0.0, 0.0]), np.array([1.0, 1.0]))
