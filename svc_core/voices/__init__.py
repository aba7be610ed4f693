"""Voices: so-vits-svc 4.x voice folders (config.json + G_*.pth) loaded safely and strictly.

The config, file resolution and error types import no torch; ``Voice`` and ``load_voice`` (which need torch) are
imported on first use, so ``import svc_core.voices.config`` stays light for the GUI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from svc_core.voices.config import ConfigError, VoiceConfig
from svc_core.voices.errors import CheckpointMismatchError, UnsafeVoiceFileError, VoiceFileError
from svc_core.voices.files import F0Stats, find_checkpoint

if TYPE_CHECKING:
    from svc_core.voices.load import load_voice
    from svc_core.voices.voice import Voice

__all__ = [
    "CheckpointMismatchError",
    "ConfigError",
    "F0Stats",
    "UnsafeVoiceFileError",
    "Voice",
    "VoiceConfig",
    "VoiceFileError",
    "find_checkpoint",
    "load_voice",
]

_LAZY = {"Voice": "svc_core.voices.voice", "load_voice": "svc_core.voices.load"}


def __getattr__(name: str) -> Any:
    """Import the torch-backed names on first access."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
