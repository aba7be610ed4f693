"""Fixtures of the F0 tests."""

from __future__ import annotations

import numpy as np
import pytest
from f0_signals import harmonic, track_on_grid, vibrato_track


@pytest.fixture(scope="session")
def tone_44k() -> tuple[np.ndarray, np.ndarray, int, int]:
    """1.5 s harmonic tone at 44.1 kHz: 220 Hz with 50-cent vibrato; (wav, true f0 on the grid, sr, hop)."""
    sr, hop = 44100, 512
    track = vibrato_track(220.0, 1.5, sr)
    return harmonic(track, sr), track_on_grid(track, hop), sr, hop
