"""The Convert page driven as a user would: pick a voice, drop a corpus clip, Convert, watch the progress;
cancel a long conversion; a broken voice; the GUI thread stays responsive while the engine thread works."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from app_helpers import CLIP
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent

pytestmark = pytest.mark.gui


def drop_files(widget, paths: list[Path]) -> None:
    """Deliver a drop of ``paths`` on ``widget`` the way a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    ev = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(ev)


def pick_voice(page, root: Path, name: str) -> None:
    assert page.form.select_voice(root / name), [page.form.voice.itemText(i) for i in range(page.form.voice.count())]


def run_convert(qtbot, page, timeout: int = 120000) -> list[float]:
    """Press Convert and wait for the conversion and its preview; returns the bar values (0..1) seen while the
    conversion job ran."""
    seen: list[float] = []
    job = [0]

    def on_value(v: int) -> None:
        if page.progress.job_id and page.progress.job_id == job[0]:
            seen.append(v / 1000.0)

    page.progress.bar.valueChanged.connect(on_value)
    qtbot.mouseClick(page.convert_button, Qt.MouseButton.LeftButton)
    job[0] = page._job
    assert page.running
    qtbot.waitUntil(lambda: not page.running, timeout=timeout)
    page.progress.bar.valueChanged.disconnect(on_value)
    return seen


def test_convert_a_dropped_clip(qtbot, window, convert_page, voices_root: Path, corpus_dir: Path,
                                tmp_path: Path) -> None:
    page = convert_page
    pick_voice(page, voices_root, "tiny")
    assert page.form.speaker.count() == 2
    drop_files(page.files, [corpus_dir / CLIP])
    assert page.files.paths() == [corpus_dir / CLIP]
    seen = run_convert(qtbot, page)
    assert window.errors == []
    assert seen[-1] == 1.0 and seen == sorted(seen), seen  # reaches 100 %, never goes back
    out = tmp_path / "out" / "kal_diphone_06_tiny.wav"
    y, sr = sf.read(out, dtype="float32")
    assert sr == 44100 and y.shape[0] == sf.info(corpus_dir / CLIP).frames  # 44.1 kHz in and out: same length
    assert np.isfinite(y).all() and np.abs(y).max() > 0
    assert page.files.status(0).startswith("done")
    # the result view shows both signals and the source pitch
    p = page.last_preview
    assert p is not None and p.output_path == out and p.output_audio.shape[0] == y.shape[0]
    assert page.results.pitch.curve() is not None and page.results.pitch.source.voiced.mean() > 0.3
    assert page.results.wave_out.duration == pytest.approx(y.shape[0] / sr)
    assert "kal_diphone_06" in window.log.toPlainText()


def test_cancel_a_long_conversion_leaves_no_output(qtbot, window, convert_page, voices_root: Path,
                                                   corpus_dir: Path, tmp_path: Path) -> None:
    x, sr = sf.read(corpus_dir / CLIP, dtype="float32")
    long_in = tmp_path / "long.wav"
    sf.write(long_in, np.tile(x, 20), sr)  # about 62 s
    page = convert_page
    pick_voice(page, voices_root, "tiny")
    page.files.add_paths([long_in])
    qtbot.mouseClick(page.convert_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress.fraction > 0.1, timeout=120000)
    with qtbot.waitSignal(window.engine.job_cancelled, timeout=60000):
        qtbot.mouseClick(page.progress.cancel_button, Qt.MouseButton.LeftButton)
    assert not page.running and page.convert_button.isEnabled()
    assert page.progress.stage.text() == "Cancelled"
    out_dir = tmp_path / "out"
    assert not out_dir.exists() or list(out_dir.iterdir()) == []  # no output, no temp file
    assert window.errors == []


def test_broken_voice_message_dialog_then_next_conversion_works(qtbot, window, convert_page, voices_root: Path,
                                                                corpus_dir: Path, tmp_path: Path) -> None:
    broken = window.library.find(voices_root / "broken")
    assert broken is not None and not broken.ok and "G_100.pth" in broken.error
    voices_page = window.show_page("voices")
    texts = [voices_page.tree.topLevelItem(i).text(5) for i in range(voices_page.tree.topLevelItemCount())]
    assert any(t.startswith("does not load:") for t in texts), texts
    page = window.show_page("convert")
    pick_voice(page, voices_root, "broken")
    page.files.add_paths([corpus_dir / CLIP])
    run_convert(qtbot, page)
    qtbot.waitUntil(lambda: bool(window.errors), timeout=5000)
    title, message = window.errors[-1]
    assert title == "Conversion failed" and "G_100.pth" in message
    box = window.findChild(object, "errorDialog")
    assert box is not None and box.isVisible()
    box.close()
    assert page.files.status(0).startswith("failed")
    pick_voice(page, voices_root, "tiny")
    run_convert(qtbot, page)
    assert len(window.errors) == 1
    assert (tmp_path / "out" / "kal_diphone_06_tiny.wav").is_file()


def test_gui_thread_stays_responsive_during_a_conversion(qtbot, window, convert_page, voices_root: Path,
                                                         corpus_dir: Path, tmp_path: Path) -> None:
    x, sr = sf.read(corpus_dir / CLIP, dtype="float32")
    src = tmp_path / "long.wav"
    sf.write(src, np.tile(x, 12), sr)  # 36 s: seconds of engine work even on a quiet, fast machine
    page = convert_page
    pick_voice(page, voices_root, "tiny")
    page.files.add_paths([src])
    gc.collect()  # the garbage of earlier tests' windows is not this conversion's
    gc.freeze()  # as app.__main__ does after start-up: earlier tests' live objects leave the full GC scans
    ticks: list[float] = []
    done: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.engine.job_finished.connect(lambda jid, _r: done.append(time.perf_counter()) if jid == job else None)
    timer.start()
    t0 = time.perf_counter()
    job = page.convert()
    try:
        qtbot.waitUntil(lambda: bool(done), timeout=120000)
    finally:
        gc.unfreeze()
    t1 = done[0]
    timer.stop()
    qtbot.waitUntil(lambda: not page.running, timeout=60000)
    assert window.errors == []
    ticks = [t for t in ticks if t <= t1]
    assert t1 - t0 > 1.0, "the conversion was too short to test anything"
    gaps = np.diff([t0, *ticks, t1])  # from pressing Convert to the engine's "finished" arriving
    print(f"responsiveness: {t1 - t0:.2f} s conversion, {len(ticks)} ticks, max gap {gaps.max() * 1000:.0f} ms, "
          f"p99 {np.quantile(gaps, 0.99) * 1000:.0f} ms, worst at {np.argmax(gaps) / len(gaps):.0%} of the run")
    assert gaps.max() < 0.1, f"GUI event loop stalled {gaps.max() * 1000:.0f} ms"
