"""Exceptions raised by the engine; the CLI and GUI turn them into messages, never tracebacks."""

from __future__ import annotations

from vencoder.errors import CheckpointError, UnsafeCheckpointError

__all__ = [
    "AudioError",
    "Cancelled",
    "CheckpointError",
    "SvcError",
    "UnsafeCheckpointError",
    "VoiceError",
    "WeightsNotFoundError",
]


class SvcError(Exception):
    """Base class of every error the engine reports to a user."""


class VoiceError(SvcError):
    """A voice folder or checkpoint is missing, broken or does not fit its config."""


class AudioError(SvcError):
    """An audio file cannot be read, holds invalid samples, or an output cannot be written."""


class Cancelled(SvcError):
    """A job was cancelled by the user."""


class WeightsNotFoundError(SvcError, FileNotFoundError):
    """A pretrained weights file was not found in any of the places looked at."""

    def __init__(self, name: str, searched: list[str], where_to_get: str) -> None:
        self.name = name
        self.searched = list(searched)
        self.where_to_get = where_to_get
        places = "\n".join(f"  - {p}" for p in self.searched) or "  (no places configured)"
        super().__init__(
            f"pretrained weights '{name}' not found. Looked in:\n{places}\n"
            f"Get it from: {where_to_get}\n"
            "Put it in one of those places, set $SVC_STUDIO_WEIGHTS to its folder, or pass its path."
        )
