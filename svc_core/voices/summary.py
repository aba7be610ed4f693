"""What a voice library lists about each voice folder: identity, format, which files it needs and has, or why it
does not load (the message of :func:`svc_core.voices.load_voice`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["VoiceSummary", "find_voice_folders", "summarize_voice"]


@dataclass
class VoiceSummary:
    """One library entry. ``error`` is set (and the model fields may be empty) when the voice does not load."""

    path: Path
    name: str
    error: str | None = None
    speakers: list[str] = field(default_factory=list)
    sampling_rate: int | None = None
    speech_encoder: str | None = None
    vocoder: str | None = None
    encoder_weights: Path | None = None
    encoder_missing: str | None = None  # which weights file is missing and where it was looked for
    has_index: bool = False
    has_f0_stats: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the voice loaded."""
        return self.error is None


def find_voice_folders(root: str | os.PathLike[str]) -> list[Path]:
    """Voice folders in ``root``: the folder itself if it holds a config.json, else its sub-folders that do
    (sorted by name); a missing root gives an empty list."""
    r = Path(root)
    if not r.is_dir():
        return []
    if (r / "config.json").is_file():
        return [r]
    return sorted((d for d in r.iterdir() if d.is_dir() and (d / "config.json").is_file()), key=lambda d: d.name)


def summarize_voice(path: str | os.PathLike[str], *, weights_dir: str | os.PathLike[str] | None = None) -> VoiceSummary:
    """Load the voice on the CPU and describe it; a voice that fails to load gives a summary with ``error``."""
    from svc_core.errors import CheckpointError, SvcError, WeightsNotFoundError
    from svc_core.retrieval import find_index
    from svc_core.voices import load_voice
    from svc_core.weights import find_weights
    from vencoder.registry import UnsupportedEncoderError, weights_key_for

    p = Path(path)
    folder = p if p.is_dir() else p.parent
    s = VoiceSummary(path=p, name=folder.name if p.is_dir() else p.stem)
    try:
        voice = load_voice(p, device="cpu")
    except (SvcError, CheckpointError, OSError) as e:
        s.error = str(e)
        return s
    s.speakers = list(voice.speakers)
    s.sampling_rate = int(voice.sampling_rate)
    s.speech_encoder = voice.speech_encoder
    s.vocoder = voice.config.model.vocoder_name
    s.has_index = find_index(voice.folder) is not None
    s.has_f0_stats = voice.f0_stats is not None
    s.notes = list(voice.notes)
    del voice
    try:
        s.encoder_weights = find_weights(weights_key_for(s.speech_encoder or ""), voice_dir=folder,
                                         weights_dir=weights_dir)
    except WeightsNotFoundError as e:
        s.encoder_missing = str(e)
    except UnsupportedEncoderError as e:
        s.encoder_missing = str(e)
    return s
