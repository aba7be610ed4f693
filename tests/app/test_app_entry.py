"""Entry points: ``svc-studio gui`` is a CLI subcommand whose --help loads no Qt; the window's modules load no
torch (the engine thread imports it when the first job needs it); generator jobs on the engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from svc_core.jobs import Progress

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]


def _heavy_after(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(sorted({m.split('.')[0] for m in sys.modules"
                        " if m.split('.')[0] in ('torch', 'PySide6', 'vdecoder', 'app')}))"],
                       capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"},
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_cli_help_loads_no_qt_and_lists_gui() -> None:
    code = ("import contextlib, io, svc_core.cli as c\nbuf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):\n    c.main(['--help'])\n"
            "assert ' gui ' in buf.getvalue(), buf.getvalue()")
    assert _heavy_after(code) == "[]"


def test_window_modules_load_no_torch() -> None:
    assert _heavy_after("import app.main_window, app.pages.convert, app.pages.voices, app.pages.live, app.pages.train"
                        ", app.live_jobs, app.train_jobs") == "['PySide6', 'app']"


def test_svc_studio_gui_screenshot(tmp_path: Path) -> None:
    from svc_core.cli import main

    assert main(["gui", "--screenshot", str(tmp_path), "--theme", "light"]) == 0
    assert QImage(str(tmp_path / "voices.png")).width() == 1280


def test_engine_drives_generator_jobs(qtbot) -> None:
    from app.engine import Engine

    e = Engine()
    fractions: list[float] = []
    e.job_progress.connect(lambda jid, f, stage: fractions.append(f))

    def job(ctx):
        for i in range(4):
            yield Progress(i / 4, "step")
        return "result"

    try:
        with qtbot.waitSignal(e.job_finished, timeout=10000) as b:
            e.run("gen", job)
        assert b.args[1] == "result" and fractions == [0.0, 0.25, 0.5, 0.75]
    finally:
        e.shutdown()
        e.deleteLater()
