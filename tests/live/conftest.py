"""Live test fixtures: a real full-duplex audio device (the virtual loopback of shared/tools/virtual_audio.sh in
CI), the tiny random-weight voice with its tiny WavLM."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import duplex_device_or_skip

TINY_VOICE = "sovits41/tiny_e2e_wavlm64"


@pytest.fixture(scope="session")
def duplex_device() -> int | str:
    """A device with input and output channels (skip without one, fail when REQUIRE_AUDIO_DEVICE=1)."""
    return duplex_device_or_skip()


@pytest.fixture
def tiny_weights(tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights folder holding the tiny WavLM under the name users have for WavLM Base+."""
    w = tmp_path / "weights"
    w.mkdir()
    shutil.copy(fixtures_dir / "wavlm" / "wavlm_tiny_base_plus" / "WavLM-tiny.pt", w / "WavLM-Base+.pt")
    monkeypatch.setenv("SVC_STUDIO_WEIGHTS", str(w))
    return w


@pytest.fixture
def tiny_voice(fixtures_dir: Path, tiny_weights: Path) -> Path:
    """The tiny so-vits-svc 4.1 voice folder (random weights, WavLM-64 content, volume embedding, 2 speakers)."""
    return fixtures_dir / TINY_VOICE
