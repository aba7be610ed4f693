"""The pitch editor end to end: convert with an F0-following voice, shift a selection +12 semitones, re-render
through the manual-F0-curve path and measure the output's F0; export/import of the curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from app_helpers import CLIP
from PySide6.QtCore import Qt

from svc_core.convert import load_f0_curve
from svc_core.f0 import get_extractor

pytestmark = pytest.mark.gui

SEL = (1.0, 2.0)  # seconds


def measured_f0(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frame times, F0 Hz with 0 = unvoiced) of a rendered file, by WORLD harvest at 10 ms."""
    y, sr = sf.read(path, dtype="float32")
    hop = sr // 100
    f0, voiced = get_extractor("harvest").extract(y, sr, hop)
    return (np.arange(len(f0)) * hop + hop / 2) / sr, np.where(voiced, f0, 0.0)


def rerender(qtbot, window, page) -> None:
    n_before = len(window.errors)
    qtbot.mouseClick(page.results.pitch.buttons["rerender"], Qt.MouseButton.LeftButton)
    assert page.running
    qtbot.waitUntil(lambda: not page.running, timeout=120000)
    assert len(window.errors) == n_before, window.errors


def test_shift_a_selection_an_octave_and_rerender(qtbot, window, convert_page, voices_root: Path,
                                                  corpus_dir: Path, tmp_path: Path) -> None:
    page = convert_page
    assert page.form.select_voice(voices_root / "sine")
    page.files.add_paths([corpus_dir / CLIP])
    qtbot.mouseClick(page.convert_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.running, timeout=120000)
    assert window.errors == []
    ed = page.results.pitch
    out = page.last_preview.output_path
    # the unedited curve first: the same render path as the edited one
    rerender(qtbot, window, page)
    base_t, base_f0 = measured_f0(out)
    encoder = window.engine.resource("convert").loaded("encoder")
    misses = encoder.cache.misses
    ed.set_selection(*SEL)
    ed.shift_spin.setValue(12.0)
    qtbot.mouseClick(ed.buttons["shift"], Qt.MouseButton.LeftButton)
    edited = ed.curve()
    inside = edited.mask(*SEL) & edited.voiced
    np.testing.assert_allclose(edited.f0[inside], 2 * ed.source.f0[inside], rtol=1e-9)
    rerender(qtbot, window, page)
    assert encoder.cache.misses == misses, "the re-render ran the content encoder again"
    t, f0 = measured_f0(out)
    assert np.array_equal(t, base_t)
    both = (f0 > 0) & (base_f0 > 0)
    cents = 1200 * np.log2(np.where(both, f0, 1) / np.where(both, base_f0, 1))
    margin = 0.06  # frames this close to a selection edge mix both pitches (F0 is interpolated across the edge)
    in_sel = both & (t > SEL[0] + margin) & (t < SEL[1] - margin)
    out_sel = both & ((t < SEL[0] - margin) | (t > SEL[1] + margin))
    assert in_sel.sum() > 40 and out_sel.sum() > 80, (in_sel.sum(), out_sel.sum())
    err_in = np.abs(cents[in_sel] - 1200)
    err_out = np.abs(cents[out_sel])
    print(f"pitch edit: inside {in_sel.sum()} frames, |cents-1200| median {np.median(err_in):.2f} p95 "
          f"{np.quantile(err_in, 0.95):.2f}; outside {out_sel.sum()} frames, |cents| median {np.median(err_out):.2f} "
          f"p95 {np.quantile(err_out, 0.95):.2f} max {err_out.max():.2f}")
    assert np.quantile(err_in, 0.95) < 20, f"inside: {np.quantile(err_in, [0.5, 0.95])} cents"
    assert np.quantile(err_out, 0.95) < 20, f"outside: {np.quantile(err_out, [0.5, 0.95])} cents"
    # undo brings the original curve back
    qtbot.mouseClick(ed.buttons["undo"], Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(ed.curve().f0, ed.history._done[0].f0)


def test_curve_export_import_round_trip(qtbot, window, convert_page, voices_root: Path, corpus_dir: Path,
                                        tmp_path: Path) -> None:
    page = convert_page
    assert page.form.select_voice(voices_root / "tiny")
    page.form.transpose.setValue(-3)
    page.files.add_paths([corpus_dir / CLIP])
    page.convert()
    qtbot.waitUntil(lambda: not page.running, timeout=120000)
    ed = page.results.pitch
    src = ed.source
    np.testing.assert_allclose(ed.curve().f0, src.f0 * 2 ** (-3 / 12))  # target = source after transpose
    ed.set_selection(0.5, 1.5)
    qtbot.mouseClick(ed.buttons["flatten"], Qt.MouseButton.LeftButton)
    ed.set_selection(2.0, 2.4)
    qtbot.mouseClick(ed.buttons["unvoice"], Qt.MouseButton.LeftButton)
    edited = ed.curve()
    path = ed.export_curve(tmp_path / "pitch.f0.tsv")
    times, f0 = load_f0_curve(path)  # what svc-studio convert --f0-curve reads
    np.testing.assert_allclose(times, edited.times, atol=1e-6)
    np.testing.assert_allclose(f0, edited.f0, atol=1e-4)
    qtbot.mouseClick(ed.buttons["undo"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(ed.buttons["undo"], Qt.MouseButton.LeftButton)
    assert not np.allclose(ed.curve().f0, edited.f0)
    ed.import_curve(path)
    np.testing.assert_allclose(ed.curve().f0, edited.f0, atol=1e-4)
    np.testing.assert_array_equal(ed.curve().voiced, edited.voiced)
