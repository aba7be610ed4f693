"""The shell: screenshots of every page, the import boundary of app/, settings persistence and the dialogs, the
status bar, the engine thread's job semantics (order, errors, cancel, no result after cancel)."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from svc_core.errors import SvcError

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_TOP = {"PySide6", "shiboken6", "pyqtgraph", "numpy", "svc_core", "app"}


def test_app_imports_only_qt_and_svc_core() -> None:
    """Every import in app/ (module level or inside functions) is the standard library, Qt, pyqtgraph, numpy or
    svc_core: never torch, vencoder, vdecoder or anything else."""
    bad = []
    for f in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                top = n.split(".")[0]
                if top not in ALLOWED_TOP and top not in sys.stdlib_module_names:
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: {n}")
    assert bad == []


def test_screenshot_cli_renders_every_page(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SVC_STUDIO_CONFIG_DIR": str(tmp_path / "cfg"), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    for theme in ("dark",):  # light: test_app_entry.py renders it through svc-studio gui
        out = tmp_path / theme
        r = subprocess.run([sys.executable, "-m", "app", "--screenshot", str(out), "--theme", theme], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        for page in ("convert", "voices"):
            img = QImage(str(out / f"{page}.png"))
            assert (img.width(), img.height()) == (1280, 800), page
        bg = QImage(str(out / "convert.png")).pixelColor(640, 790).lightness()
        assert (bg < 100) if theme == "dark" else (bg > 150), (theme, bg)


def test_settings_persist_through_the_dialog(qtbot, window, tmp_path: Path) -> None:
    from app.settings import AppSettings

    dlg = window.open_settings()
    assert "WavLM Base+" in dlg.found.toPlainText() and "WavLM-Base+.pt" in dlg.found.toPlainText()
    dlg.theme.setCurrentText("light")
    dlg.fmt.setCurrentText("flac")
    dlg.output.setText(str(tmp_path / "elsewhere"))
    dlg.accept()
    again = AppSettings()  # a fresh read of the one settings file
    assert again.theme == "light" and again.output_format == "flac"
    assert again.output_dir == str(tmp_path / "elsewhere")
    assert again.core.weights_dir == window.settings.weights_dir  # the CLI's key, same file
    assert window.pages["convert"].form.out_format.currentText() == "wav"  # the form keeps its own until changed


def test_status_bar_about_and_log(qtbot, window) -> None:
    assert window.device_label.text().startswith("device: CPU")
    assert window.state_label.text() == "engine: idle"
    qtbot.waitUntil(lambda: bool(window._versions), timeout=10000)
    assert {"SVC Studio", "torch", "CUDA"} <= set(window._versions)
    window.open_about()


def test_engine_runs_jobs_in_order_and_survives_errors(qtbot, window) -> None:
    e = window.engine
    threads: list[str] = []

    def ok(ctx):
        threads.append(threading.current_thread().name)
        ctx.progress(0.5, "half")
        ctx.log("hello from the engine")
        return 42

    def boom(ctx):
        raise SvcError("bad input: x.wav")

    def crash(ctx):
        raise ZeroDivisionError("division by zero")

    seen: list[tuple] = []
    e.job_finished.connect(lambda jid, r: seen.append(("done", jid, r)))
    e.job_failed.connect(lambda jid, msg, det: seen.append(("failed", jid, msg, det)))
    a = e.run("a", ok)
    b = e.run("b", boom)
    c = e.run("c", crash)
    d = e.run("d", ok)
    qtbot.waitUntil(lambda: not e.busy, timeout=10000)
    mine = [s for s in seen if s[1] in (a.id, b.id, c.id, d.id)]
    assert [s[:2] for s in mine] == [("done", a.id), ("failed", b.id), ("failed", c.id), ("done", d.id)]
    assert mine[0][2] == 42 and mine[3][2] == 42
    assert mine[1][2] == "bad input: x.wav" and mine[1][3] == ""
    assert "ZeroDivisionError" in mine[2][2] and "Traceback" in mine[2][3]
    assert threads and all(t != threading.main_thread().name for t in threads)
    assert "hello from the engine" in window.log.toPlainText()


def test_cancelled_job_gives_no_result(qtbot, window) -> None:
    e = window.engine
    gate = threading.Event()
    results: list[int] = []
    e.job_finished.connect(lambda jid, r: results.append(jid))

    def slow(ctx):
        for _ in range(500):
            gate.wait(0.01)
            ctx.progress(0.1, "waiting")  # raises Cancelled once cancelled
        return "never"

    with qtbot.waitSignal(e.job_cancelled, timeout=10000) as b:
        job = e.run("slow", slow)
        queued = e.run("queued", lambda ctx: "not run")
        qtbot.wait(50)
        e.cancel(job.id)
        e.cancel(queued.id)
    assert b.args == [job.id]
    qtbot.waitUntil(lambda: not e.busy, timeout=10000)
    assert job.id not in results and queued.id not in results


def test_waveform_of_a_ten_minute_file_draws_fast(qtbot) -> None:
    import time

    from app.widgets.waveform import WaveformView
    from svc_core.audio.preview import peak_envelope

    sr = 44100
    x = (0.5 * np.sin(np.arange(600 * sr) * 2 * np.pi * 220 / sr)).astype(np.float32)
    env = peak_envelope(x, sr)  # on the engine thread in the app
    assert len(env[0]) <= 200_000
    w = WaveformView("output")
    qtbot.addWidget(w)
    w.resize(900, 200)
    w.show()
    t0 = time.perf_counter()
    w.set_envelope(*env, 600.0)
    w.repaint()
    t_draw = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a in (0.0, 100.0, 300.0, 590.0):
        w.setXRange(a, a + 10.0, padding=0)
        w.repaint()
    t_zoom = (time.perf_counter() - t0) / 4
    assert w.point_count() < 20_000
    assert t_draw < 0.5 and t_zoom < 0.1, (t_draw, t_zoom)
