"""Command line: ``svc-studio <subcommand>``. One module per subcommand (``svc_core.cli.<name>``, each exposing
``add_parser(sub)`` and importing its work lazily, so ``--help`` loads no torch); shared options and the progress
bar live in :mod:`svc_core.cli._args`. Only this module exits the process; the library raises."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from svc_core import __version__

__all__ = ["SUBCOMMAND_MODULES", "build_parser", "main"]

#: Subcommand modules under svc_core.cli, in --help order; each exposes ``add_parser(sub)`` and imports no torch
#: at module level.
SUBCOMMAND_MODULES: tuple[str, ...] = ("doctor", "convert", "pitch", "live", "train", "gui")


def _subcommand_adders() -> list[Callable[[argparse._SubParsersAction], None]]:
    import importlib

    return [importlib.import_module(f"svc_core.cli.{name}").add_parser for name in SUBCOMMAND_MODULES]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (no heavy imports)."""
    parser = argparse.ArgumentParser(
        prog="svc-studio",
        description="SVC Studio: singing voice conversion (convert, live, train); loads so-vits-svc 4.x voices.",
    )
    parser.add_argument("--version", action="version", version=f"svc-studio {__version__}")
    parser.add_argument(
        "--weights-dir",
        metavar="DIR",
        default=None,
        help="folder holding pretrained weights (WavLM-Base+.pt, checkpoint_best_legacy_500.pt, rmvpe.pt, ...)",
    )
    parser.add_argument(
        "--threads",
        metavar="N",
        default=None,
        help="CPU threads: auto (every CPU; waiting threads sleep), free (the CPUs other programs leave free) or a "
        "number (default: $SVC_STUDIO_THREADS, else the threads setting, else auto)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _subcommand_adders():
        add(sub)
    return parser


def _configure_threads(cli_value: str | None) -> None:
    """The CPU thread policy (count and non-spinning wait), set before any subcommand imports torch."""
    from svc_core.settings import Settings
    from svc_core.threads import configure_threads, resolve_thread_setting

    configure_threads(resolve_thread_setting(cli_value, Settings.load().threads))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``svc-studio`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from svc_core.cli._signals import Terminated, exit_on_signals
    from svc_core.errors import CheckpointError, SvcError

    try:
        _configure_threads(args.threads)
        with exit_on_signals():
            return int(args.func(args) or 0)
    except (SvcError, CheckpointError) as e:
        sys.stderr.write(f"svc-studio: error: {e}\n")
        return 1
    except Terminated as e:
        sys.stderr.write(f"svc-studio: stopped by {e.name}; unfinished outputs removed\n")
        return 128 + e.signum
    except KeyboardInterrupt:
        sys.stderr.write("svc-studio: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
