"""Fixtures of the content-encoder tests (helpers live in tests/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture
def wavlm_fixture(fixtures_dir: Path):
    """Callable: variant name -> (checkpoint path, reference dict)."""

    def get(variant: str) -> tuple[Path, dict]:
        d = fixtures_dir / "wavlm" / variant
        return d / "WavLM-tiny.pt", torch.load(d / "reference.pt", map_location="cpu", weights_only=True)

    return get
