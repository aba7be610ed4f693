"""Command line: ``svc-studio <subcommand>``. Subcommands import their work lazily (``--help`` loads no
torch). Only this module exits the process; the library raises."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from svc_core import __version__

Handler = Callable[[argparse.Namespace], int]


def _cmd_doctor(args: argparse.Namespace) -> int:
    from svc_core.doctor import run_doctor

    return run_doctor(weights_dir=args.weights_dir, out=sys.stdout)


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="print versions, the compute device and which weights are found")
    p.set_defaults(func=_cmd_doctor)


# Further subcommands live in their own modules ``svc_core.cli_<name>``; each exposes
# ``add_parser(sub)`` and must not import torch at module level (``--help`` stays light).
SUBCOMMAND_MODULES: tuple[str, ...] = ("convert", "pitch")


def _subcommand_adders() -> list[Callable[[argparse._SubParsersAction], None]]:
    import importlib

    adders: list[Callable[[argparse._SubParsersAction], None]] = [_add_doctor]
    for name in SUBCOMMAND_MODULES:
        adders.append(importlib.import_module(f"svc_core.cli_{name}").add_parser)
    adders.append(importlib.import_module("svc_core.train.cli").add_parsers)
    return adders


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _subcommand_adders():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``svc-studio`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from svc_core.errors import SvcError
    from vencoder.safe_load import CheckpointError

    try:
        return int(args.func(args) or 0)
    except (SvcError, CheckpointError) as e:
        sys.stderr.write(f"svc-studio: error: {e}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("svc-studio: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
