"""Feature cache: per clip the content units of the speech encoder, F0 + voiced mask (through ``svc_core.f0``), the
linear spectrogram and the volume envelope, stored as ``<clip>.feat.npz`` next to the clip (numpy, no pickle).

``DATASET/features.json`` keys every clip by its audio hash and the feature settings (encoder, F0 method, STFT
sizes, version), so a changed clip or setting recomputes only what changed. It also holds the train/validation
split and per-speaker F0 statistics (what ``Voice.f0_stats`` / auto-key read).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from svc_core.atomic import atomic_write
from svc_core.errors import SvcError
from svc_core.jobs import CancelToken, Progress
from svc_core.train.preprocess import MANIFEST as PREPROCESS_MANIFEST
from svc_core.train.sources import read_json, write_json

__all__ = ["FEATURES", "FeatureSettings", "compute_features", "load_clip_features", "dataset_clips"]

FEATURES = "features.json"
VERSION = 1
ENCODER_SR = 16000


class EncoderLike(Protocol):
    """A content encoder: ``encode(wav_16k [T_wav]) -> [T_c, dim]`` at 50 frames/s (``vencoder`` encoders)."""

    dim: int

    def encode(self, wav_16k: Any) -> Any: ...


class F0Like(Protocol):
    """An F0 extractor: ``extract(wav, sr, hop, f0_min, f0_max) -> (f0 [T], voiced [T])`` on the model grid."""

    def extract(self, wav: np.ndarray, sr: int, hop: int, f0_min: float = 50.0,
                f0_max: float = 1100.0) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class FeatureSettings:
    """Everything the cached features depend on (a change recomputes them)."""

    speech_encoder: str
    f0_method: str
    sr: int
    hop: int
    filter_length: int
    win_length: int
    f0_min: float = 50.0
    f0_max: float = 1100.0
    encoder_id: str = ""  # e.g. the weights file name and size, so swapping weights recomputes

    def key(self) -> str:
        """Short hash of the settings and the cache version."""
        return hashlib.sha256(json.dumps({"v": VERSION, **asdict(self)}, sort_keys=True).encode()).hexdigest()[:16]


def dataset_clips(dataset: Path) -> list[dict[str, Any]]:
    """Clips listed by the preprocess manifest (each with ``file``, ``sha256``, ``speaker``, ...), in order."""
    man = read_json(dataset / PREPROCESS_MANIFEST)
    if not man or "sources" not in man:
        raise SvcError(f"{dataset}: not a preprocessed dataset (no {PREPROCESS_MANIFEST}); run svc-studio preprocess")
    out = []
    for entry in man["sources"].values():
        for c in entry.get("clips", []):
            out.append({**c, "speaker": entry["speaker"]})
    if not out:
        raise SvcError(f"{dataset}: the dataset holds no usable clips (see the rejected files in its report)")
    return out


def _feature_path(dataset: Path, clip_file: str) -> Path:
    return dataset / (clip_file[: -len(".wav")] + ".feat.npz")


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def extract_clip(y: np.ndarray, s: FeatureSettings, encoder: EncoderLike, f0: F0Like) -> dict[str, np.ndarray]:
    """Features of one clip (mono float32 at ``s.sr``): units [T_c, D], f0/uv/vol [T], spec [F, T], T frames."""
    import torch

    from svc_core.dsp import resample
    from svc_core.f0.post import interpolate_unvoiced, postprocess
    from svc_core.features import volume_frames
    from vdecoder.mel import spectrogram_torch

    with torch.no_grad():  # not inference_mode: vdecoder.mel caches its windows, which training reuses
        spec = spectrogram_torch(torch.from_numpy(y)[None], s.filter_length, s.sr, s.hop, s.win_length)[0]
        x16 = resample(y, s.sr, ENCODER_SR)
        units = encoder.encode(torch.from_numpy(x16)).float().cpu().numpy()
    f0_raw, voiced = f0.extract(y, s.sr, s.hop, s.f0_min, s.f0_max)
    n = min(spec.shape[1], f0_raw.shape[0])
    f0_raw, voiced = np.asarray(f0_raw[:n], np.float32), np.asarray(voiced[:n], bool)
    f0_clean = postprocess(f0_raw, voiced)
    return {
        "units": units.astype(np.float32),
        "f0": interpolate_unvoiced(f0_clean, voiced),
        "uv": voiced.astype(np.float32),
        "vol": volume_frames(y, s.hop, n),
        "spec": spec[:, :n].numpy().astype(np.float32),
    }


def _split(clips: list[dict[str, Any]], per_speaker: int = 2) -> dict[str, list[str]]:
    """Validation: up to ``per_speaker`` clips per speaker (by hash order), never a speaker's only clip."""
    by: dict[str, list[dict[str, Any]]] = {}
    for c in clips:
        by.setdefault(c["speaker"], []).append(c)
    val: list[str] = []
    for group in by.values():
        ordered = sorted(group, key=lambda c: c["sha256"])
        val += [c["file"] for c in ordered[: min(per_speaker, len(ordered) - 1)]]
    return {"train": [c["file"] for c in clips if c["file"] not in val], "val": val}


def _f0_stats(voiced_f0: list[np.ndarray]) -> dict[str, float] | None:
    v = np.concatenate(voiced_f0) if voiced_f0 else np.zeros(0)
    if v.size == 0:
        return None
    p5, med, p95 = np.percentile(v, [5, 50, 95])
    return {"median_hz": round(float(med), 3), "p5_hz": round(float(p5), 3), "p95_hz": round(float(p95), 3)}


def compute_features(dataset: str | os.PathLike[str], settings: FeatureSettings, encoder: EncoderLike,
                     f0: F0Like, cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Generator job: compute missing / stale features of every clip, then the split and F0 statistics.

    Returns (StopIteration.value) the number of clips computed (the rest came from the cache).
    """
    from svc_core.audio import read_audio

    ds = Path(dataset)
    clips = dataset_clips(ds)
    man_path = ds / FEATURES
    old = read_json(man_path) or {}
    cached: dict[str, Any] = old.get("clips", {}) if old.get("version") == VERSION else {}
    key = settings.key()
    entries: dict[str, Any] = {}
    computed = 0
    by_speaker: dict[str, list[np.ndarray]] = {}
    for i, c in enumerate(clips):
        if cancel is not None:
            cancel.check()
        yield Progress(i / len(clips), f"features {i + 1}/{len(clips)}: {c['file']}")
        fpath = _feature_path(ds, c["file"])
        prev = cached.get(c["file"])
        if prev and prev.get("sha256") == c["sha256"] and prev.get("key") == key and fpath.is_file():
            entries[c["file"]] = prev
            with np.load(fpath, allow_pickle=False) as z:
                f0v, uv = z["f0"], z["uv"]
        else:
            audio = read_audio(ds / c["file"])
            if audio.sr != settings.sr:
                raise SvcError(f"{ds / c['file']}: clip is {audio.sr} Hz but the features are for {settings.sr} Hz "
                               "(rerun svc-studio preprocess with the same --sr)")
            feats = extract_clip(audio.mono(), settings, encoder, f0)
            _save_npz(fpath, **feats)
            f0v, uv = feats["f0"], feats["uv"]
            entries[c["file"]] = {"sha256": c["sha256"], "key": key, "frames": int(f0v.shape[0]),
                                  "units": int(feats["units"].shape[0]), "speaker": c["speaker"]}
            computed += 1
            if computed % 8 == 0:
                write_json(man_path, {"version": VERSION, "settings": asdict(settings), "clips": entries})
        by_speaker.setdefault(c["speaker"], []).append(np.asarray(f0v)[np.asarray(uv) > 0.5])
    speakers = sorted(by_speaker)
    stats = {spk: _f0_stats(by_speaker[spk]) for spk in speakers}
    write_json(man_path, {"version": VERSION, "settings": asdict(settings), "clips": entries,
                                 "speakers": speakers, "f0_stats": stats,
                                 "all_f0_stats": _f0_stats([v for spk in speakers for v in by_speaker[spk]]),
                                 "split": _split(clips)})
    yield Progress(1.0, f"features: {computed} computed, {len(clips) - computed} cached")
    return computed


def load_clip_features(dataset: Path, clip_file: str) -> dict[str, np.ndarray]:
    """The cached arrays of one clip (units, f0, uv, vol, spec)."""
    path = _feature_path(dataset, clip_file)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise SvcError(f"{path}: unreadable feature file ({e}); rerun svc-studio preprocess") from e
