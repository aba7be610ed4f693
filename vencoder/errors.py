"""Checkpoint error types (no torch import: the engine's error module and the GUI can import them cheaply)."""

from __future__ import annotations

import os

__all__ = ["CheckpointError", "UnsafeCheckpointError"]


class CheckpointError(ValueError):
    """A model file cannot be loaded: missing, truncated, corrupt or of the wrong kind."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnsafeCheckpointError(CheckpointError):
    """A model file needs to run pickled code to load; it was refused, nothing was executed."""
