"""Shared test fixtures: paths to ../shared fixtures and corpus, isolated user settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SVC_STUDIO_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
CORPUS = SHARED / "corpus"
SOVITS41_VARIANTS = (  # the voices in ../shared/fixtures/sovits41
    "tiny_44k_vec768",
    "tiny_44k_wavlm_vol_snake",
    "tiny_44k_vec256_flowshare",
    "tiny_44k_transformer_flow",
    "tiny_e2e_wavlm64",
)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's real settings and weights folders out of every test."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("SVC_STUDIO_CONFIG_DIR", str(cfg))
    monkeypatch.delenv("SVC_STUDIO_WEIGHTS", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cfg / "hf-empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """../shared/fixtures (skip if the shared folder is not beside the checkout)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES}; set SVC_STUDIO_SHARED")
    return FIXTURES


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus (sung clips with exact F0)."""
    if not CORPUS.is_dir():
        pytest.fail(f"shared corpus not found at {CORPUS}; set SVC_STUDIO_SHARED")
    return CORPUS
