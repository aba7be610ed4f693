"""f0_to_coarse equals so-vits-svc's (fixture), resample keeps tones and lengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from svc_core.dsp import resample
from svc_core.models.pitch import f0_to_coarse


@pytest.mark.parametrize("variant", ["tiny_44k_vec768", "tiny_e2e_wavlm64"])
def test_f0_to_coarse_matches_reference(fixtures_dir: Path, variant: str) -> None:
    ref = torch.load(fixtures_dir / "sovits41" / variant / "reference.pt", map_location="cpu", weights_only=True)
    assert torch.equal(f0_to_coarse(ref["f0"]), ref["f0_coarse"].long())


def test_f0_to_coarse_edges() -> None:
    c = f0_to_coarse(torch.tensor([0.0, 10.0, 50.0, 1100.0, 5000.0]))
    assert c[0] == 1 and c[1] == 1 and c[2] == 1
    assert c[3] == 255 and c[4] == 255


@pytest.mark.parametrize(("sr_in", "sr_out"), [(44100, 16000), (8000, 48000), (192000, 44100)])
def test_resample_tone_and_length(sr_in: int, sr_out: int) -> None:
    t = np.arange(sr_in) / sr_in
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = resample(x, sr_in, sr_out)
    assert abs(len(y) - sr_out) <= 1
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert abs(np.argmax(spec) * sr_out / len(y) - 440) < 2
    st = resample(np.stack([x, -x]), sr_in, sr_out)
    assert st.shape == (2, len(y))
    np.testing.assert_allclose(st[0], y, atol=1e-6)
    assert resample(np.zeros(0, np.float32), sr_in, sr_out).shape == (0,)
