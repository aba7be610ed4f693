"""Live test fixtures: a real full-duplex audio device (the virtual loopback of shared/tools/virtual_audio.sh in
CI), the tiny random-weight voice with its tiny WavLM."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import duplex_device_or_skip

TINY_VOICE = "sovits41/tiny_e2e_wavlm64"


@pytest.fixture(scope="session")
def duplex_device() -> int | str:
    """A device with input and output channels (skip without one, fail when REQUIRE_AUDIO_DEVICE=1)."""
    return duplex_device_or_skip()


@pytest.fixture
def tiny_voice(fixtures_dir: Path, tiny_weights: Path) -> Path:
    """The tiny so-vits-svc 4.1 voice folder (random weights, WavLM-64 content, volume embedding, 2 speakers)."""
    return fixtures_dir / TINY_VOICE
