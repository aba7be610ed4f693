"""The CI proof of issue 16: the tiny preset trains on corpus clips on CPU (validation mel loss after 200 steps at
least 30 % below step 10, fixed seed) and the voice folder converts a clip of another voice through
``svc-studio convert`` (length right, finite); the files keep so-vits-svc's layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import svc_core.cli
from svc_core.train.logs import read_metrics


@pytest.mark.slow
def test_tiny_preset_learns_and_converts(tiny_dataset: Path, tmp_path: Path, weights_env: Path,
                                         corpus_dir: Path, capsys: pytest.CaptureFixture) -> None:
    voice = tmp_path / "voice"
    code = svc_core.cli.main(["train", str(tiny_dataset), "-o", str(voice), "--steps", "200", "--eval-interval",
                              "10", "--log-interval", "50", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    val = {r["step"]: r["mel"] for r in read_metrics(voice / "logs", "val")}
    assert val[200] <= 0.7 * val[10], val
    assert sorted(p.name for p in voice.glob("G_*.pth")) == ["G_180.pth", "G_190.pth", "G_200.pth"]  # keep 3
    g = torch.load(voice / "G_200.pth", map_location="cpu", weights_only=True)
    assert {"model", "optimizer", "learning_rate", "iteration"} <= set(g)
    assert any(k.startswith("enc_q.") for k in g["model"]) and "emb_g.weight" in g["model"]
    assert (voice / "index.json").is_file() and json.loads((voice / "f0_stats.json").read_text())["median_hz"] > 50
    assert list((voice / "logs").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (voice / "samples" / "step_200").iterdir())

    src = corpus_dir / "czech_dita" / "czech_dita_06.flac"
    out = tmp_path / "converted.wav"
    assert svc_core.cli.main(["convert", str(src), "-m", str(voice), "-o", str(out), "--f0", "pm"]) == 0
    y, sr = sf.read(out, dtype="float32")
    info = sf.info(src)
    assert sr == 16000
    assert abs(y.shape[0] - info.frames * sr / info.samplerate) <= 320
    assert np.isfinite(y).all() and np.abs(y).max() > 1e-3
