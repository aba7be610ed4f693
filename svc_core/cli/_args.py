"""What the subcommands share: the common options (device, F0 extractor) and the text progress bar.

Nothing here imports torch (``svc-studio --help`` stays light); defaults come from the library's own constants.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from svc_core.f0 import DEFAULT_EXTRACTOR, EXTRACTOR_NAMES
from svc_core.jobs import Progress

__all__ = ["ProgressBar", "add_device_option", "add_f0_option"]


def add_device_option(p: argparse.ArgumentParser) -> None:
    """``--device D``."""
    p.add_argument("--device", default=None, metavar="D", help="auto, cpu, cuda, cuda:N or mps (default: auto)")


def add_f0_option(p: argparse.ArgumentParser, dest: str = "f0", choices: bool = True) -> None:
    """``--f0 NAME`` (default None: DEFAULT_EXTRACTOR); ``choices`` makes argparse refuse other names, else the
    library reports them."""
    p.add_argument("--f0", dest=dest, choices=EXTRACTOR_NAMES if choices else None, default=None, metavar="NAME",
                   help=f"F0 extractor: {', '.join(EXTRACTOR_NAMES)} (default: {DEFAULT_EXTRACTOR})")


class ProgressBar:
    """A one-line text progress bar on a stream; call it with each :class:`Progress`, then :meth:`end`."""

    def __init__(self, stream: TextIO, label: str, enabled: bool = True) -> None:
        self.stream, self.label, self.enabled = stream, label, enabled
        self._last = -1

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        frac = float(p.fraction)
        pct = int(frac * 100)
        if pct == self._last:
            return
        self._last = pct
        n = int(frac * 30)
        self.stream.write(f"\r  [{'#' * n}{'.' * (30 - n)}] {pct:3d}% {p.stage:<10} {self.label}")
        self.stream.flush()

    def end(self) -> None:
        """Finish the line (if anything was drawn)."""
        if self.enabled and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()
