"""The retrieval index of a trained voice from its dataset's cached content units (``svc_core.retrieval``):
one faiss index per speaker id, written as ``index.json`` + ``index*.faiss`` into the voice folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from svc_core.errors import SvcError
from svc_core.train.cache import FEATURES, load_clip_features
from svc_core.train.sources import read_json
from svc_core.voices.config import VoiceConfig

__all__ = ["build_voice_index"]


def build_voice_index(dataset: str | Path, voice_dir: str | Path, cfg: VoiceConfig | None = None) -> Path:
    """Build and save the index from every training clip's units; returns the ``index.json`` path."""
    from svc_core.retrieval import build_index

    ds, out = Path(dataset), Path(voice_dir)
    man = read_json(ds / FEATURES)
    if not man or "clips" not in man:
        raise SvcError(f"{ds}: no computed features ({FEATURES}); run svc-studio preprocess first")
    if cfg is None:
        cfg_path = out / "config.json" if (out / "config.json").is_file() else ds / "config.json"
        cfg = VoiceConfig.from_file(cfg_path)
    feats: dict[int, list[np.ndarray]] = {}
    for f, e in man["clips"].items():
        sid = cfg.spk.get(e["speaker"])
        if sid is None:
            continue
        feats.setdefault(sid, []).append(load_clip_features(ds, f)["units"])
    if not feats:
        raise SvcError(f"{ds}: no clip of the config's speakers to index")
    index = build_index({sid: np.concatenate(v) for sid, v in feats.items()},
                        speech_encoder=man["settings"]["speech_encoder"])
    out.mkdir(parents=True, exist_ok=True)
    return index.save(out)
