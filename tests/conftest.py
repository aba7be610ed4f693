"""Fixtures shared by every test: paths to ../shared fixtures and corpus, isolated user settings, and the CPU as
the device unless a test is marked ``cuda``. Helpers (not fixtures) live in tests/support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import CORPUS, FIXTURES


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's real settings and weights folders out of every test."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("SVC_STUDIO_CONFIG_DIR", str(cfg))
    monkeypatch.delenv("SVC_STUDIO_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cfg / "hf-empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _cpu_unless_marked_cuda(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """"auto" means the CPU in tests (same results on every machine); ``@pytest.mark.cuda`` tests get the GPU and
    are skipped where there is none."""
    if request.node.get_closest_marker("cuda") is None:
        monkeypatch.setenv("SVC_STUDIO_DEVICE", "cpu")
        return
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    monkeypatch.delenv("SVC_STUDIO_DEVICE", raising=False)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """../shared/fixtures (fail if the shared folder is not beside the checkout)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES}; set SVC_STUDIO_SHARED")
    return FIXTURES


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus (sung clips with exact F0)."""
    if not CORPUS.is_dir():
        pytest.fail(f"shared corpus not found at {CORPUS}; set SVC_STUDIO_SHARED")
    return CORPUS


@pytest.fixture
def tiny_weights(tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights folder holding the tiny WavLM under the name users have for WavLM Base+ ($SVC_STUDIO_WEIGHTS)."""
    import shutil

    w = tmp_path / "weights"
    w.mkdir()
    shutil.copy(fixtures_dir / "wavlm" / "wavlm_tiny_base_plus" / "WavLM-tiny.pt", w / "WavLM-Base+.pt")
    monkeypatch.setenv("SVC_STUDIO_WEIGHTS", str(w))
    return w
