"""Errors of voice loading (no torch import): bad checkpoint files and checkpoints that do not fit their config."""

from __future__ import annotations

from pathlib import Path

from svc_core.errors import CheckpointError, UnsafeCheckpointError, VoiceError

__all__ = ["CheckpointMismatchError", "UnsafeVoiceFileError", "VoiceFileError"]


class VoiceFileError(VoiceError, CheckpointError):
    """A voice's checkpoint is missing, empty, truncated, corrupt or not a so-vits-svc generator."""

    def __init__(self, path: str | Path, reason: str) -> None:
        CheckpointError.__init__(self, path, reason)


class UnsafeVoiceFileError(VoiceFileError, UnsafeCheckpointError):
    """A voice's checkpoint would run code when unpickled; it was refused and nothing was executed."""


class CheckpointMismatchError(VoiceError):
    """The checkpoint's keys or shapes do not fit the network config.json describes."""

    def __init__(self, message: str, missing: list[str], unexpected: list[str],
                 mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]], causes: list[str]) -> None:
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched
        self.causes = causes
