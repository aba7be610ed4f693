"""NSF source: exact frequency, exact phase on long inputs, so-vits-svc's formula and random-draw order."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vdecoder.nsf_hifigan.source import SineGen, SourceModuleHnNSF

SR = 44100


def _peak_hz(signal: np.ndarray, sr: int) -> float:
    """FFT peak with a Hann window and parabolic interpolation on the log magnitude."""
    win = np.hanning(len(signal))
    mag = np.abs(np.fft.rfft(signal * win))
    k = int(np.argmax(mag[1:])) + 1
    a, b, c = np.log(mag[k - 1 : k + 2] + 1e-30)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * sr / len(signal)


@pytest.mark.parametrize("hz", [220.0, 440.0, 880.0])
def test_constant_f0_gives_that_pitch_within_one_cent(hz: float) -> None:
    gen = SineGen(SR, harmonic_num=8)
    frames = 2**17 // 512
    torch.manual_seed(0)
    waves, uv = gen(torch.full((1, frames), hz), 512)
    assert waves.shape == (1, frames * 512, 9) and uv.shape == (1, frames * 512, 1)
    assert bool((uv == 1).all())
    for k in (1, 3):  # fundamental and the 3rd harmonic column
        peak = _peak_hz(waves[0, :, k - 1].double().numpy(), SR)
        assert abs(1200 * math.log2(peak / (k * hz))) < 1.0, (k, peak)


def test_unvoiced_is_noise_only_with_so_vits_amplitudes() -> None:
    gen = SineGen(SR, harmonic_num=0)
    torch.manual_seed(0)
    f0 = torch.cat([torch.zeros(1, 40), torch.full((1, 40), 300.0)], dim=1)
    waves, uv = gen(f0, 512)
    unvoiced, voiced = waves[0, : 40 * 512, 0], waves[0, 40 * 512 :, 0]
    assert uv[0, : 40 * 512].sum() == 0 and bool((uv[0, 40 * 512 :] == 1).all())
    assert abs(unvoiced.std().item() - 0.1 / 3) < 2e-3  # std sine_amp / 3
    assert abs(voiced.abs().max().item() - 0.1) < 0.02  # sine_amp 0.1 (+ noise std 0.003)


def _reference_phase(f0: torch.Tensor, upp: int, harmonics: int, rand_ini: torch.Tensor) -> torch.Tensor:
    """so-vits-svc's phase in float64: inclusive cumsum of per-sample float32 increments, plus initial phase."""
    k = torch.arange(1, harmonics + 1, dtype=torch.float32)
    inc = torch.remainder(f0.float().repeat_interleave(upp, dim=1).unsqueeze(-1) * k / SR, 1.0)
    return torch.remainder(torch.cumsum(inc.double(), dim=1) + rand_ini.double().unsqueeze(1), 1.0)


def _circular_diff(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    d = torch.remainder(a.double() - b.double(), 1.0)
    return torch.minimum(d, 1 - d)


def test_phases_equal_float64_reference_on_varying_f0() -> None:
    gen = SineGen(SR, harmonic_num=8)
    g = torch.Generator().manual_seed(3)
    f0 = 100 + 900 * torch.rand(2, 73, generator=g)
    f0[:, 10:20] = 0
    torch.manual_seed(11)
    phase = gen.phases(f0, 512).reshape(2, 73 * 512, 9)
    torch.manual_seed(11)
    rand_ini = torch.rand(2, 9)
    rand_ini[:, 0] = 0
    ref = _reference_phase(f0, 512, 9, rand_ini)
    assert _circular_diff(phase, ref).max().item() < 2e-6


def test_source_module_formula_and_draw_order() -> None:
    """SourceModuleHnNSF = tanh(linear(sin*0.1*uv + noise_amp*randn)), draws: rand, randn [.., 9], randn [.., 1]."""
    src = SourceModuleHnNSF(SR, harmonic_num=8)
    f0 = torch.tensor([[0.0, 180.0, 181.5, 0.0, 400.0, 410.0, 420.0]])
    torch.manual_seed(5)
    merge, noise, uv = src(f0, 64)
    torch.manual_seed(5)
    rand_ini = torch.rand(1, 9)
    rand_ini[:, 0] = 0
    sine_noise = torch.randn(1, 7 * 64, 9)
    branch = torch.randn(1, 7 * 64, 1)
    uv_ref = (f0 > 0).double().repeat_interleave(64, dim=1).unsqueeze(-1)
    sines = torch.sin(2 * math.pi * _reference_phase(f0, 64, 9, rand_ini)) * 0.1 * uv_ref
    sines = sines + (uv_ref * 0.003 + (1 - uv_ref) * 0.1 / 3) * sine_noise.double()
    w, b = src.l_linear.weight.double(), src.l_linear.bias.double()
    expected = torch.tanh(sines @ w.t() + b)
    assert torch.equal(uv, uv_ref.float())
    assert (merge.double() - expected).abs().max().item() < 1e-5
    assert torch.allclose(noise, branch * 0.1 / 3)


def test_ten_minutes_of_constant_f0_still_a_clean_tone_at_the_end() -> None:
    """Phase of the last second of a 10-minute input equals the exact float64 phase (no drift, no jumps)."""
    hz, upp = 441.37, 512
    frames = 600 * SR // upp
    gen = SineGen(SR, harmonic_num=0)
    torch.manual_seed(0)
    phase = gen.phases(torch.full((1, frames), hz), upp).reshape(-1)
    tail = phase[-SR:]
    inc = float(torch.remainder(torch.tensor(hz, dtype=torch.float32) / SR, 1.0))  # so-vits' float32 increment
    n = torch.arange(phase.numel() - SR, phase.numel(), dtype=torch.float64)
    ideal = torch.remainder((n + 1) * inc, 1.0)
    assert _circular_diff(tail, ideal).max().item() < 1e-6
    wave = torch.sin(2 * math.pi * tail.double())
    assert (wave - torch.sin(2 * math.pi * ideal)).abs().max().item() < 1e-5
    # the sample-to-sample phase advance stays constant (no phase jumps)
    step = torch.remainder(tail[1:].double() - tail[:-1].double(), 1.0)
    assert (step - inc).abs().max().item() < 1e-6
    # the check is sensitive: a plain float32 running sum (what so-vits-svc accumulates) has drifted by far more
    naive = torch.remainder(torch.cumsum(torch.full((phase.numel(),), inc, dtype=torch.float32), 0)[-SR:], 1.0)
    assert _circular_diff(naive, ideal).max().item() > 1e-3


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="sampling_rate"):
        SineGen(0)
    with pytest.raises(ValueError, match="f0 must be"):
        SineGen(SR)(torch.zeros(1, 1, 5), 4)
    with pytest.raises(ValueError, match="upp"):
        SineGen(SR)(torch.zeros(1, 5), 0)
