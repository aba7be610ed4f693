"""The training config of a dataset: write it from a preset (``train-config``), read and check it for training."""

from __future__ import annotations

import os
from pathlib import Path

from svc_core.errors import SvcError
from svc_core.train.cache import FEATURES
from svc_core.train.presets import build_config
from svc_core.train.sources import read_json
from svc_core.voices.config import VoiceConfig

__all__ = ["check_against_dataset", "write_train_config"]


def _features_manifest(dataset: Path) -> dict:
    man = read_json(dataset / FEATURES)
    if not man or "split" not in man:
        raise SvcError(f"{dataset}: no computed features ({FEATURES}); run svc-studio preprocess first")
    return man


def write_train_config(dataset: str | os.PathLike[str], preset: str = "default", *,
                       output: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """Write ``config.json`` (default ``DATASET/config.json``) for the dataset's speakers, rate and encoder."""
    import numpy as np

    ds = Path(dataset)
    man = _features_manifest(ds)
    s = man["settings"]
    path = Path(output) if output else ds / "config.json"
    if path.exists() and not force:
        raise SvcError(f"{path}: exists (edit it, or pass --force to replace it)")
    first = next(iter(man["clips"]))
    with np.load(ds / (first[: -len(".wav")] + ".feat.npz"), allow_pickle=False) as z:
        dim = int(z["units"].shape[1])
    cfg = build_config(preset, sampling_rate=int(s["sr"]), speakers=list(man["speakers"]),
                       speech_encoder=s["speech_encoder"], ssl_dim=dim)
    cfg["data"]["training_files"] = "train"
    cfg["data"]["validation_files"] = "val"
    VoiceConfig.from_dict(cfg, source=str(path)).save(path)
    return path


def check_against_dataset(cfg: VoiceConfig, dataset: Path, source: str) -> dict:
    """Refuse a config that does not fit the dataset's features (rate, hop, STFT, encoder width, speakers)."""
    man = _features_manifest(dataset)
    s = man["settings"]
    pairs = [("data.sampling_rate", cfg.data.sampling_rate, s["sr"]), ("data.hop_length", cfg.data.hop_length,
             s["hop"]), ("data.filter_length", cfg.data.filter_length, s["filter_length"]),
             ("data.win_length", cfg.data.win_length, s["win_length"])]
    for name, a, b in pairs:
        if int(a) != int(b):
            raise SvcError(f"{source}: {name} is {a} but the dataset's features were made with {b} (sample-rate "
                           "mismatch between dataset and config: rerun preprocess with --sr, or train-config)")
    if cfg.model.speech_encoder and cfg.model.speech_encoder != s["speech_encoder"]:
        raise SvcError(f"{source}: model.speech_encoder is {cfg.model.speech_encoder!r} but the dataset's features "
                       f"come from {s['speech_encoder']!r}")
    missing = [spk for spk in man["speakers"] if spk not in cfg.spk]
    if missing:
        raise SvcError(f"{source}: speakers {', '.join(missing)} of the dataset are not in spk")
    if max(cfg.spk.values(), default=0) >= cfg.model.n_speakers:
        raise SvcError(f"{source}: spk ids reach {max(cfg.spk.values())} but model.n_speakers is "
                       f"{cfg.model.n_speakers}")
    return man
