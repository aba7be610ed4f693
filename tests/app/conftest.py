"""GUI test fixtures: offscreen Qt, a voices folder (a tiny random voice, an F0-following voice, a broken voice),
a weights folder with the tiny WavLM under the name users have for WavLM Base+, and a main window over them."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from app_helpers import CLIP, TINY, make_f0_following  # noqa: E402,F401

from tests.support import duplex_device_or_skip  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_qt_garbage(qapp):
    """Free each test's widgets (signal-lambda cycles) while the QApplication lives, never in interpreter
    shutdown, where PySide6 can crash collecting them."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture(scope="session")
def voices_root(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Path:
    """voices/{tiny, sine, broken}: a tiny random voice, the F0-following voice and a voice whose checkpoint is
    not a checkpoint."""
    root = tmp_path_factory.mktemp("voices")
    shutil.copytree(fixtures_dir / TINY, root / "tiny", ignore=shutil.ignore_patterns("reference.pt"))
    make_f0_following(fixtures_dir / TINY, root / "sine")
    (root / "broken").mkdir()
    cfg = json.loads((fixtures_dir / TINY / "config.json").read_text())
    (root / "broken" / "config.json").write_text(json.dumps(cfg))
    (root / "broken" / "G_100.pth").write_bytes(b"this is not a checkpoint")
    return root


@pytest.fixture(scope="session")
def weights_root(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Path:
    """A weights folder holding the tiny random WavLM as WavLM-Base+.pt."""
    w = tmp_path_factory.mktemp("weights")
    shutil.copy(fixtures_dir / "wavlm" / "wavlm_tiny_base_plus" / "WavLM-tiny.pt", w / "WavLM-Base+.pt")
    return w


@pytest.fixture
def app_settings(voices_root: Path, weights_root: Path, tmp_path: Path):
    """AppSettings (in the isolated config folder) pointing at the test voices, weights and an output folder."""
    from app.settings import AppSettings

    s = AppSettings()
    s.weights_dir = str(weights_root)
    s.device = "cpu"
    s.set("app.voices_dir", str(voices_root))
    s.set("app.output_dir", str(tmp_path / "out"))
    return s


@pytest.fixture
def window(qtbot, app_settings):
    """The main window with the library read."""
    from app.main_window import MainWindow

    win = MainWindow(app_settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitUntil(lambda: len(win.library.voices) == 3 and not win.engine.busy, timeout=60000)
    yield win
    win.close()  # closeEvent stops the engine thread
    win.deleteLater()


@pytest.fixture
def convert_page(window):
    """The Convert page with the F0 method set to a fast one."""
    page = window.show_page("convert")
    page.form.f0_method.setCurrentText("pm")  # fast, needs no weights
    return page


@pytest.fixture(scope="session")
def duplex_device() -> int | str:
    """A device with input and output channels: the same rule as tests/live's fixture (the virtual loopback of
    shared/tools/virtual_audio.sh in CI; skip without one, fail when REQUIRE_AUDIO_DEVICE=1)."""
    return duplex_device_or_skip()
