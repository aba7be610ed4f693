"""The Train wizard driven through the GUI: preprocess three corpus clips, read the report, train the tiny preset
(loss curve gets points), Stop (a loadable checkpoint), resume from the offer, finish at 20 steps: the voice is in
the library and converts a clip on the Convert page."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from app_helpers import CLIP
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.slow]
CLIPS = [f"kal_diphone/kal_diphone_{i:02d}.flac" for i in range(3)]


def test_wizard_trains_stops_resumes_and_converts(qtbot, window, corpus_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "clips" / "kal"
    src.mkdir(parents=True)
    for c in CLIPS:
        shutil.copy(corpus_dir / c, src / Path(c).name)
    page = window.show_page("train")
    page.source.voices_dir = str(tmp_path / "voices")
    page.source.folder.setText(str(src))
    page.source.rate.setCurrentIndex(page.source.rate.findData(16000))
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert page.step == 1
    qtbot.waitUntil(lambda: page.step == 2, timeout=120000)
    assert page.report.speakers.rowCount() == 1 and page.report.speakers.item(0, 0).text() == "kal"
    assert int(page.report.speakers.item(0, 2).text()) >= 3
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    o = page.opts
    o.encoder.setCurrentText("wavlmbase+")
    o.f0.setCurrentText("pm")
    o.preset.setCurrentText("tiny")
    o.steps.setValue(20)
    o.eval_every.setValue(10)
    o.device.setCurrentText("cpu")
    qtbot.mouseClick(page.next_button, Qt.MouseButton.LeftButton)
    assert page.training and page.step == 4
    voice = tmp_path / "voices" / "kal"
    qtbot.waitUntil(lambda: page.view.points >= 8 or not page.training, timeout=300000)
    qtbot.mouseClick(page.view.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.training, timeout=120000)
    assert page.outcome is not None and page.outcome.stopped and 0 < page.outcome.step < 20, page.problem.text()
    ck = voice / f"G_{page.outcome.step}.pth"
    g = torch.load(ck, map_location="cpu", weights_only=True)
    assert "model" in g and all(torch.isfinite(v).all() for v in g["model"].values() if v.is_floating_point())
    from svc_core.voices import load_voice

    assert load_voice(voice, checkpoint=ck, device="cpu") is not None
    assert page.source.resume_box.isVisibleTo(page.source) and "stopped at step" in page.source.resume_label.text()

    page.show_step(0)
    qtbot.mouseClick(page.source.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.step == 5 or not page.training, timeout=300000)
    assert page.step == 5, page.problem.text() or page.view.stage.text()
    assert page.outcome.step == 20 and not page.outcome.stopped and (voice / "G_20.pth").is_file()
    assert page.view.points > 20 and page.view.samples.count() > 0  # train + val points, step-20 samples
    assert window.settings.get("app.train_run") == {}
    qtbot.waitUntil(lambda: window.library.find(voice) is not None and not window.engine.busy, timeout=60000)
    assert window.library.find(voice).ok, window.library.find(voice).error

    qtbot.mouseClick(page.use_button, Qt.MouseButton.LeftButton)
    conv = window.pages["convert"]
    assert window.stack.currentWidget() is conv and conv.form.voice_path() == voice
    conv.form.f0_method.setCurrentText("pm")
    conv.files.add_paths([corpus_dir / CLIP])
    conv.convert()
    qtbot.waitUntil(lambda: not conv.running, timeout=120000)
    assert conv.last_batch is not None and conv.last_batch.failed == 0, window.errors
    out = conv.last_batch.results[0].output_path
    y, sr = sf.read(out, dtype="float32")
    assert sr == 16000 and np.isfinite(y).all() and y.shape[0] > 0.9 * sf.info(corpus_dir / CLIP).duration * sr
    assert window.errors == []


def test_closing_during_training_stops_cleanly_and_reopening_offers_resume(qtbot, app_settings, corpus_dir: Path,
                                                                           tmp_path: Path) -> None:
    from app.main_window import MainWindow

    src = tmp_path / "clips" / "kal"
    src.mkdir(parents=True)
    for c in CLIPS[:2]:
        shutil.copy(corpus_dir / c, src / Path(c).name)
    win = MainWindow(app_settings)
    qtbot.addWidget(win)
    page = win.show_page("train")
    page.source.voices_dir = str(tmp_path / "voices")
    page.source.folder.setText(str(src))
    page.source.rate.setCurrentIndex(page.source.rate.findData(16000))
    page.preprocess()
    qtbot.waitUntil(lambda: page.step == 2, timeout=120000)
    o = page.opts
    o.encoder.setCurrentText("wavlmbase+")
    o.f0.setCurrentText("pm")
    o.preset.setCurrentText("tiny")
    o.steps.setValue(1000)
    o.device.setCurrentText("cpu")
    page.show_step(3)
    page.train()
    qtbot.waitUntil(lambda: page.view.points >= 2, timeout=300000)
    win.close()  # the page stops the run after its step (checkpoint written) before the engine shuts down
    assert not page.training
    voice = tmp_path / "voices" / "kal"
    steps = sorted(int(p.stem[2:]) for p in voice.glob("G_*.pth"))
    assert steps and 0 < steps[-1] < 1000
    assert app_settings.get("app.train_run")["voice_dir"] == str(voice)
    win.deleteLater()

    win2 = MainWindow(app_settings)
    qtbot.addWidget(win2)
    page2 = win2.pages["train"]
    assert page2.source.resume_box.isVisibleTo(page2.source)
    assert f"stopped at step {steps[-1]} of 1000" in page2.source.resume_label.text()
    win2.close()
    win2.deleteLater()
