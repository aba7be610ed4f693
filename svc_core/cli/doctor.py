"""``svc-studio doctor``: versions, the compute device and which pretrained weights are found."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``doctor`` subcommand."""
    p = sub.add_parser("doctor", help="print versions, the compute device and which weights are found")
    p.set_defaults(func=_cmd_doctor)


def _cmd_doctor(args: argparse.Namespace) -> int:
    from svc_core.doctor import run_doctor

    return run_doctor(weights_dir=args.weights_dir, out=sys.stdout)
