"""Training-test fixtures: a tiny prepared dataset (corpus clips at 16 kHz, tiny WavLM as wavlmbase+, pm F0,
tiny preset) built once per session, and a weights folder holding the tiny WavLM."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TRAIN_CLIPS = [f"kal_diphone/kal_diphone_{i:02d}.flac" for i in range(6)]


def make_weights(folder: Path, fixtures_dir: Path) -> Path:
    """A weights folder where the tiny WavLM fixture is found as WavLM-Base+.pt."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(fixtures_dir / "wavlm" / "wavlm_tiny_base_plus" / "WavLM-tiny.pt", folder / "WavLM-Base+.pt")
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path, corpus_dir: Path) -> Path:
    """DATASET folder: preprocessed kal clips, features, config.json (tiny preset). Read it, do not modify it."""
    import svc_core.cli

    root = tmp_path_factory.mktemp("tiny_ds")
    src = root / "in" / "kal"
    src.mkdir(parents=True)
    for c in TRAIN_CLIPS:
        shutil.copy(corpus_dir / c, src / Path(c).name)
    weights = make_weights(root / "weights", fixtures_dir)
    ds = root / "ds"
    argv = ["--weights-dir", str(weights), "preprocess", str(root / "in"), "-o", str(ds), "--sr", "16000",
            "--encoder", "wavlmbase+", "--f0", "pm", "--device", "cpu"]
    assert svc_core.cli.main(argv) == 0
    assert svc_core.cli.main(["train-config", str(ds), "--preset", "tiny"]) == 0
    return ds


@pytest.fixture
def weights_env(tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$SVC_STUDIO_WEIGHTS pointing at a folder with the tiny WavLM as WavLM-Base+.pt."""
    w = make_weights(tmp_path / "weights", fixtures_dir)
    monkeypatch.setenv("SVC_STUDIO_WEIGHTS", str(w))
    return w
