"""Audio I/O, silence slicing and loudness helpers (numpy/soundfile/soxr; no model code)."""

from svc_core.audio.io import (
    AUDIO_EXTENSIONS,
    AudioData,
    AudioInfo,
    AudioReader,
    AudioWriter,
    info,
    is_audio_path,
    iter_blocks,
    read_audio,
    write_audio,
)

__all__ = [
    "AUDIO_EXTENSIONS",
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
