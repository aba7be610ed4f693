"""``python -m app``: open SVC Studio; ``--screenshot DIR`` renders every page at 1280x800 to DIR/<page>.png."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m app", description="SVC Studio desktop app")
    p.add_argument("--screenshot", metavar="DIR", default=None,
                   help="render every page at 1280x800 to DIR/<page>.png offscreen and exit")
    p.add_argument("--theme", choices=("dark", "light"), default=None, help="theme for this run")
    p.add_argument("files", nargs="*", help="audio files to put on the Convert page")
    return p


def screenshot(window, out_dir: Path, wait_ms: int = 30000) -> list[Path]:
    """Let the start-up jobs finish (at most ``wait_ms``), then grab every page to ``out_dir``/<key>.png."""
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QThread

    out_dir.mkdir(parents=True, exist_ok=True)
    deadline = QDeadlineTimer(wait_ms)
    while window.engine.busy and not deadline.hasExpired():
        QCoreApplication.processEvents()
        QThread.msleep(10)
    written = []
    for key, page in window.pages.items():
        window.show_page(key)
        states = getattr(page, "screenshot_states", None)
        for suffix, action in (states() if callable(states) else [("", None)]):
            if action is not None:
                action()
            for _ in range(5):
                QCoreApplication.processEvents()
            path = out_dir / (f"{key}-{suffix}.png" if suffix else f"{key}.png")
            if not window.grab().save(str(path)):
                raise OSError(f"cannot write {path}")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m app`` and ``svc-studio gui``."""
    args = _parser().parse_args(argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import AppSettings
    from svc_core.threads import configure_threads, resolve_thread_setting

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SVC Studio")
    settings = AppSettings()
    # Thread count and a passive OpenMP wait before the engine thread first loads torch (svc_core.threads).
    configure_threads(resolve_thread_setting(None, settings.core.threads))
    if args.theme:
        settings.core.extra["app.theme"] = args.theme  # this run only: not saved
    win = MainWindow(settings)
    if args.files:
        win.pages["convert"].files.add_paths([Path(f) for f in args.files])
    if args.screenshot:
        win.resize(1280, 800)
        win.show()
        for p in screenshot(win, Path(args.screenshot)):
            sys.stdout.write(f"{p}\n")
        win.close()
        win.deleteLater()  # delete the window while the QApplication lives (not in interpreter shutdown)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return 0
    win.show()
    # Start-up objects live as long as the app: keep them out of the collector's full scans, whose pauses hold the
    # GIL and would stall the GUI thread while the engine thread works.
    gc.collect()
    gc.freeze()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
