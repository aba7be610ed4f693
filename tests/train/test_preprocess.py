"""Preprocess + dataset doctor on data made to trigger every case: mixed formats and rates, a corrupt, a silent, a
clipped, a NaN and a too-short file, a 40-minute file (read in blocks, never whole), non-ASCII names, a
duplicate across speakers, a noisy speaker, a pitch at the extractor's limit. Rerun is a no-op, an interrupted
run resumes, a changed file alone is redone, feature cache hits, and the report lists every rejection."""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from svc_core.cli.train import drive
from svc_core.errors import Cancelled
from svc_core.jobs import CancelToken
from svc_core.train.cache import FeatureSettings, compute_features
from svc_core.train.doctor import report_markdown, write_report
from svc_core.train.preprocess import PreprocessSettings, run_preprocess
from svc_core.train.sources import read_json

SR = 16000


class TinyEncoder:
    """16 kHz -> [T, 4] log energies of 4 sub-blocks per 400-sample frame, hop 320."""

    dim = 4

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        x = wav.reshape(-1).float()
        n = (x.numel() - 400) // 320 + 1
        return torch.log(x.unfold(0, 400, 320)[:n].reshape(n, 4, 100).pow(2).mean(-1) + 1e-6)


def tone(sr: int, seconds: float, hz: float = 220.0, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * hz * t) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t)) / 1.2).astype(np.float32)


def phrase(sr: int) -> np.ndarray:
    z = np.zeros(int(0.6 * sr), np.float32)
    return np.concatenate([z, tone(sr, 3.0, 220), z, tone(sr, 2.5, 330), z])


def _long_file(path: Path, minutes: int = 40, sr: int = 8000) -> None:
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for m in range(minutes):
            block = np.zeros(60 * sr, np.float32)
            if m in (1, 20, minutes - 1):
                block[5 * sr: 10 * sr] = tone(sr, 5.0, 196)
            f.write(block)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pp") / "in"
    a, b, n = root / "Sängerin", root / "Tenor", root / "Noisy"
    for d in (a, b, n):
        d.mkdir(parents=True)
    sf.write(a / "Ünïcødé_歌.wav", phrase(22050), 22050, subtype="PCM_16")
    st = phrase(48000)
    sf.write(a / "take2.flac", np.stack([st, 0.5 * st], 1), 48000, subtype="PCM_24")
    sf.write(a / "take3.ogg", tone(32000, 4.0, 262), 32000, format="OGG", subtype="VORBIS")
    (a / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 20)
    sf.write(a / "silence.wav", np.zeros(3 * SR, np.float32), SR, subtype="PCM_16")
    sf.write(a / "hot.wav", np.clip(tone(SR, 4.0, 220, amp=2.0), -1, 1), SR, subtype="PCM_16")
    nan = tone(SR, 4.0)
    nan[1000] = np.nan
    sf.write(a / "nan.wav", nan, SR, subtype="FLOAT")
    sf.write(a / "short.wav", tone(SR, 1.0), SR, subtype="PCM_16")
    _long_file(a / "long40.wav")
    shutil.copy(a / "Ünïcødé_歌.wav", b / "dup.wav")
    edge = tone(SR, 4.0, 1085, amp=0.4)
    edge[::4000] = 1.0  # a few full-scale samples (0.025 %): clips, not rejected
    sf.write(b / "edge.wav", edge, SR, subtype="PCM_16")
    rng = np.random.default_rng(0)
    ph = phrase(SR)
    sf.write(n / "hiss.wav", ph + 0.03 * rng.standard_normal(ph.shape[0]).astype(np.float32), SR, subtype="PCM_16")
    return root


def test_preprocess_doctor_and_cache(inputs: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    s = PreprocessSettings(sr=SR)
    cancel = CancelToken()
    with pytest.raises(Cancelled):
        for i, _ in enumerate(run_preprocess(inputs, ds, s, cancel=cancel)):
            if i == 3:
                cancel.cancel()  # interrupted after 4 of 12 files
    assert not list(ds.rglob("*.part"))
    tracemalloc.start()
    res = drive(run_preprocess(inputs, ds, s))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 30e6, f"peak {peak / 1e6:.1f} MB: the 40-minute file (77 MB as float32) must not be read whole"
    assert res.skipped == 4 and res.processed == 8
    rejected = dict(res.rejected)
    assert rejected["Sängerin/broken.wav"].startswith("corrupt")
    assert rejected["Sängerin/silence.wav"].startswith("silent")
    assert rejected["Sängerin/nan.wav"].startswith("invalid samples")
    assert "clipped" in rejected["Sängerin/hot.wav"]
    assert "too short" in rejected["Sängerin/short.wav"]
    man = read_json(ds / "preprocess.json")["sources"]
    assert len(man["Sängerin/long40.wav"]["clips"]) == 3 and man["Sängerin/long40.wav"]["duration_s"] == 2400
    clips = sorted(p.relative_to(ds).as_posix() for p in ds.rglob("*.wav"))
    assert "Sängerin/Ünïcødé_歌_000.wav" in clips and len(clips) == 12
    for c in clips:
        info = sf.info(ds / c)
        assert info.samplerate == SR and info.channels == 1 and 2.0 <= info.duration <= 15.0
    mtimes = {c: (ds / c).stat().st_mtime_ns for c in clips}

    again = drive(run_preprocess(inputs, ds, s))
    assert (again.processed, again.skipped, again.clips) == (0, 12, 12)
    assert {c: (ds / c).stat().st_mtime_ns for c in clips} == mtimes

    fs = FeatureSettings("tiny", "pm", SR, 320, 1280, 1280)
    from svc_core.f0 import get_extractor

    assert drive(compute_features(ds, fs, TinyEncoder(), get_extractor("pm"))) == 12
    assert drive(compute_features(ds, fs, TinyEncoder(), get_extractor("pm"))) == 0  # all cached
    feats = read_json(ds / "features.json")
    assert set(feats["split"]["val"]) <= set(feats["clips"]) and feats["speakers"] == ["Noisy", "Sängerin", "Tenor"]
    z = np.load(ds / "Sängerin" / "take3_000.feat.npz")
    assert z["units"].shape[1] == 4 and z["spec"].shape == (641, z["f0"].shape[0]) == (641, z["vol"].shape[0])

    rep = write_report(ds)
    w = "\n".join(rep["warnings"])
    assert "30+ min recommended" in w
    assert "speakers Sängerin and Tenor share the same clips" in w
    assert "Tenor: 33 % of clips clip" in w
    assert "Noisy: noisy recordings" in w
    assert "Sängerin: 1 file(s) at 8 kHz, below the model's 16 kHz" in w
    assert "Tenor: pitch range exceeds the extractor's limit" in w
    listed = {r["file"].split(" ")[0] for r in rep["rejected"]}
    assert {f"Sängerin/{n}" for n in ("broken.wav", "silence.wav", "nan.wav", "hot.wav", "short.wav")} <= listed
    md = (ds / "report.md").read_text(encoding="utf-8")
    assert md == report_markdown(rep) and "Sängerin/broken.wav: corrupt" in md

    sf.write(inputs / "Sängerin" / "take3.ogg", tone(32000, 4.5, 262), 32000, format="OGG", subtype="VORBIS")
    changed = drive(run_preprocess(inputs, ds, s))
    assert (changed.processed, changed.skipped) == (1, 11)
    assert drive(compute_features(ds, fs, TinyEncoder(), get_extractor("pm"))) == 1


def test_cancel_raises_cancelled(inputs: Path, tmp_path: Path) -> None:
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        next(run_preprocess(inputs, tmp_path / "ds", PreprocessSettings(sr=SR), cancel=cancel))
