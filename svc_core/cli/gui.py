"""``svc-studio gui``: open the desktop app (Qt is imported only when the subcommand runs)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``gui`` subcommand."""
    p = sub.add_parser("gui", help="open the SVC Studio desktop app")
    p.add_argument("--screenshot", metavar="DIR", default=None,
                   help="render every page at 1280x800 to DIR/<page>.png offscreen and exit")
    p.add_argument("--theme", choices=("dark", "light"), default=None, help="theme for this run")
    p.add_argument("files", nargs="*", metavar="FILE", help="audio files to put on the Convert page")
    p.set_defaults(func=_cmd_gui)


def _cmd_gui(args: argparse.Namespace) -> int:
    import importlib

    from svc_core.errors import SvcError

    try:
        app_main = importlib.import_module("app.__main__").main  # the GUI package, installed with svc_core
    except ImportError as e:
        raise SvcError(f"the desktop app cannot start: {e} (reinstall with pip install -e .)") from e
    argv = list(args.files)
    if args.screenshot:
        argv += ["--screenshot", args.screenshot]
    if args.theme:
        argv += ["--theme", args.theme]
    return int(app_main(argv))
