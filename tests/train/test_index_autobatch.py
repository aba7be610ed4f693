"""``svc-studio train-index`` builds a retrieval index the converter loads; ``--batch-size auto`` searches the
batch ladder (trial steps injected here: CI has no GPU) and keeps headroom; off CUDA it keeps the config's size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import svc_core.cli
from svc_core.errors import SvcError
from svc_core.retrieval import load_index
from svc_core.train.autobatch import _fits, find_batch_size
from svc_core.train.dataset import ClipDataset
from svc_core.train.sources import read_json
from svc_core.train.step import Precision
from svc_core.voices.config import VoiceConfig


def _data(ds: Path) -> tuple[VoiceConfig, ClipDataset]:
    cfg = VoiceConfig.from_file(ds / "config.json")
    man = read_json(ds / "features.json")
    frames = {f: e["frames"] for f, e in man["clips"].items()}
    spk = {f: e["speaker"] for f, e in man["clips"].items()}
    return cfg, ClipDataset(ds, man["split"]["train"], cfg, frames, spk, max_frames=cfg.train.max_speclen)


def test_train_index_cli(tiny_dataset: Path, tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    assert svc_core.cli.main(["train-index", str(tiny_dataset), "-o", str(voice)]) == 0
    index = load_index(voice / "index.json")
    z = np.load(tiny_dataset / "kal" / "kal_diphone_00_000.feat.npz")
    assert index.dim == 64 and index.speech_encoder == "wavlmbase+"
    n_units = sum(e["units"] for e in read_json(tiny_dataset / "features.json")["clips"].values())
    assert index.for_speaker(0).ntotal == n_units
    _, ix = index.for_speaker(0).index.search(np.ascontiguousarray(z["units"][:5]), 1)
    assert (ix[:, 0] >= 0).all()


def test_batch_size_auto(tiny_dataset: Path) -> None:
    cfg, data = _data(tiny_dataset)
    cpu, p = torch.device("cpu"), Precision(None, False)
    assert find_batch_size(cfg, data, cpu, p) == min(cfg.train.batch_size, len(data))
    data.lengths, data.files, data.speaker_ids = [data.lengths[0]] * 200, [data.files[0]] * 200, [0] * 200
    assert find_batch_size(cfg, data, cpu, p, fits=lambda n: n <= 20) == 12  # 16 fits, one rung back
    assert find_batch_size(cfg, data, cpu, p, fits=lambda n: n <= 4) == 4
    with pytest.raises(SvcError, match="even at batch size 1"):
        find_batch_size(cfg, data, cpu, p, fits=lambda n: False)
    assert _fits(cfg, data, cpu, p, 2)  # a real trial step runs on this device
