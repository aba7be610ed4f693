"""Convert-page options: ConvertSettings' defaults, speaker mix, output rate / format / bit depth, a batch with a
bad file, voice folders dropped on the library, playback through a stand-in PortAudio."""

from __future__ import annotations

import sys
import types
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from app_helpers import CLIP
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from svc_core.convert import ConvertSettings

pytestmark = pytest.mark.gui


def drop(widget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    widget.dropEvent(QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))


def test_form_defaults_are_convert_settings_defaults(window) -> None:
    page = window.show_page("convert")
    got, want = page.form.settings(), ConvertSettings()
    for f in fields(ConvertSettings):
        if f.name in ("speaker", "f0_method", "device"):
            continue  # the form names the speaker and extractor it shows; device comes from the settings
        assert getattr(got, f.name) == getattr(want, f.name), f.name
    assert got.f0_method == "fcpe" and got.speaker == "spk0" and got.device == "cpu"
    page.form.mix.setChecked(True)
    page.form.mix_table.cellWidget(1, 1).setValue(0.5)
    assert page.form.settings().speaker == {"spk0": 1.0, "spk1": 0.5}
    page.form.transpose_slider.setValue(-7)
    assert page.form.transpose.value() == -7 and page.form.settings().transpose == -7.0


def test_batch_output_options_and_a_bad_file(qtbot, window, voices_root: Path, corpus_dir: Path,
                                             tmp_path: Path) -> None:
    folder = tmp_path / "takes"
    folder.mkdir()
    x, sr = sf.read(corpus_dir / CLIP, dtype="float32")
    sf.write(folder / "a.wav", x[: sr * 2], sr)
    (folder / "b.wav").write_bytes(b"RIFF....WAVEfmt " + b"\0" * 10)
    page = window.show_page("convert")
    page.form.f0_method.setCurrentText("pm")
    assert page.form.select_voice(voices_root / "tiny")
    drop(page, [folder])  # a folder dropped on the page: its audio files
    assert [p.name for p in page.files.paths()] == ["a.wav", "b.wav"]
    page.form.out_rate.setCurrentText("22050")
    page.form.out_format.setCurrentText("flac")
    page.form.out_depth.setCurrentText("24-bit")
    page.convert()
    qtbot.waitUntil(lambda: not page.running, timeout=120000)
    out = tmp_path / "out" / "a_tiny.flac"
    info = sf.info(out)
    assert (info.samplerate, info.subtype, info.frames) == (22050, "PCM_24", sr)  # 2 s at 22.05 kHz
    assert page.files.status(0).startswith("done") and page.files.status(1).startswith("failed")
    assert window.errors and window.errors[-1][0] == "Some files failed"
    assert not (tmp_path / "out" / "b_tiny.flac").exists()
    assert window.settings.output_format == "flac"  # remembered


def test_voice_folder_dropped_on_the_library(qtbot, window, voices_root: Path, tmp_path: Path,
                                             fixtures_dir: Path) -> None:
    import shutil

    extra = tmp_path / "elsewhere" / "bass"
    shutil.copytree(voices_root / "tiny", extra)
    page = window.show_page("voices")
    drop(page, [extra])
    qtbot.waitUntil(lambda: window.library.find(extra) is not None and not window.engine.busy, timeout=30000)
    assert window.library.find(extra).ok and str(extra) in window.settings.voice_paths
    names = [page.tree.topLevelItem(i).text(0) for i in range(page.tree.topLevelItemCount())]
    assert "bass" in names
    conv = window.pages["convert"]
    assert conv.form.select_voice(extra)


class _FakeStream:
    """Stands in for sounddevice.OutputStream: pulls the callback in 512-frame blocks on start."""

    def __init__(self, samplerate, channels, dtype, callback) -> None:
        self.callback, self.channels, self.blocks = callback, channels, []

    def start(self) -> None:
        stop = sys.modules["sounddevice"].CallbackStop
        try:
            for _ in range(3):
                out = np.zeros((512, self.channels), np.float32)
                self.blocks.append(out)
                self.callback(out, 512, None, None)
        except stop:
            pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_player_copies_blocks_and_tracks_position(monkeypatch: pytest.MonkeyPatch) -> None:
    from svc_core.audio.playback import Player

    fake = types.SimpleNamespace(OutputStream=_FakeStream, CallbackStop=type("CallbackStop", (Exception,), {}))
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    p = Player()
    x = np.arange(2000, dtype=np.float32) / 2000
    p.play(x, 1000, start_s=0.5)
    assert p.position_s == pytest.approx(2.0) and p.playing is False  # 500 + 3 * 512 > 2000: ran to the end
    blk = p._stream.blocks if p._stream else None
    assert blk is not None and np.array_equal(blk[0][:, 0], x[500:1012])
    assert blk[2][:, 0][-1] == 0.0  # zero padding after the end
    p.stop()
