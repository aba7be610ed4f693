"""Voices: so-vits-svc 4.x voice folders (config.json + G_*.pth) loaded safely and strictly."""

from __future__ import annotations

from svc_core.voices.config import ConfigError, VoiceConfig
from svc_core.voices.load import (
    CheckpointMismatchError,
    F0Stats,
    UnsafeVoiceFileError,
    Voice,
    VoiceFileError,
    load_voice,
)

__all__ = [
    "CheckpointMismatchError",
    "ConfigError",
    "F0Stats",
    "UnsafeVoiceFileError",
    "Voice",
    "VoiceConfig",
    "VoiceFileError",
    "load_voice",
]
