"""Audio file I/O: reading (:mod:`svc_core.audio.read`) and atomic writing (:mod:`svc_core.audio.write`) under
the one import path callers use."""

from svc_core.audio.read import (
    AUDIO_EXTENSIONS,
    DEFAULT_BLOCK,
    MAX_SR,
    MIN_SR,
    AudioData,
    AudioInfo,
    AudioReader,
    info,
    is_audio_path,
    iter_blocks,
    read_audio,
)
from svc_core.audio.write import WRITE_FORMATS, AudioWriter, write_audio

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_BLOCK",
    "MAX_SR",
    "MIN_SR",
    "WRITE_FORMATS",
    "AudioData",
    "AudioInfo",
    "AudioReader",
    "AudioWriter",
    "info",
    "is_audio_path",
    "iter_blocks",
    "read_audio",
    "write_audio",
]
