"""Harmonic-plus-noise excitation of NSF-HiFiGAN: SineGen and SourceModuleHnNSF.

Port of ``SineGen`` / ``SourceModuleHnNSF`` from so-vits-svc 4.1 ``vdecoder/hifigan/models.py``
(svc-develop-team/so-vits-svc, BSD-3-Clause; originally from the NSF work of Xin Wang, nii-yamagishilab).
Same random draws in the same order (``torch.rand`` initial phases, ``torch.randn`` sine noise,
``torch.randn`` noise branch) so seeded outputs match so-vits-svc.

Differences, by design:
- F0 is given per frame with ``upp`` samples per frame (the nearest-neighbour upsampling that so-vits-svc
  does with ``nn.Upsample`` is implicit), so phases are built frame by frame without a per-sample cumsum.
- Phase is exact on any length: per-frame advances are wrapped modulo 1 and accumulated in float64, and the
  within-frame ramp is computed with a split-mantissa product that is exact in float32. so-vits-svc's float32
  cumulative sum drifts and jumps on long inputs.

Shapes: B batch, T frames, T_wav = T * upp samples, D = harmonic_num + 1 (fundamental and overtones).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SineGen", "SourceModuleHnNSF"]


class SineGen(nn.Module):
    """Sines at F0 and its overtones, zero where unvoiced, plus Gaussian noise.

    ``sine_amp`` is the sine amplitude, ``noise_std`` the noise std in voiced parts (unvoiced parts get
    std ``sine_amp / 3``); a frame is voiced when F0 > ``voiced_threshold``.
    """

    def __init__(
        self,
        sampling_rate: int,
        harmonic_num: int = 0,
        sine_amp: float = 0.1,
        noise_std: float = 0.003,
        voiced_threshold: float = 0.0,
    ) -> None:
        super().__init__()
        if sampling_rate <= 0:
            raise ValueError(f"SineGen: sampling_rate must be > 0, got {sampling_rate}")
        if harmonic_num < 0:
            raise ValueError(f"SineGen: harmonic_num must be >= 0, got {harmonic_num}")
        self.sampling_rate = int(sampling_rate)
        self.harmonic_num = int(harmonic_num)
        self.dim = self.harmonic_num + 1
        self.sine_amp = float(sine_amp)
        self.noise_std = float(noise_std)
        self.voiced_threshold = float(voiced_threshold)

    def phases(self, f0: torch.Tensor, upp: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Instantaneous phase in cycles of every harmonic: f0 [B, T] Hz -> [B, T, upp, D] float32.

        Draws ``torch.rand(B, D)`` initial phases (fundamental's set to 0), like so-vits-svc, from ``generator``
        (None: torch's global RNG). Sample n
        of the output has phase ``rand_ini + sum_{m<=n} frac(k * f0[m] / sr)`` (modulo 1, plus < 2).
        """
        if upp < 1 or upp >= 1 << 22:
            raise ValueError(f"SineGen: samples per frame (upp) must be in [1, 2^22), got {upp}")
        f0 = f0.float()
        bsz = f0.shape[0]
        harmonics = torch.arange(1, self.dim + 1, dtype=torch.float32, device=f0.device)
        # per-sample increment in cycles, computed exactly as so-vits-svc does (float32, mod 1)
        inc = torch.remainder(f0.unsqueeze(-1) * harmonics / self.sampling_rate, 1.0)  # [B, T, D]
        rand_ini = torch.rand(bsz, self.dim, device=f0.device, generator=generator)
        rand_ini[:, 0] = 0

        # phase at each frame start: exclusive cumsum of per-frame advances, wrapped, in float64
        acc_device = torch.device("cpu") if f0.device.type == "mps" else f0.device  # mps has no float64
        adv = torch.remainder(inc.to(acc_device, torch.float64) * upp, 1.0)
        start = torch.remainder(torch.cumsum(adv, dim=1) - adv, 1.0).to(f0.device, torch.float32)

        # within-frame ramp (j + 1) * inc, exact: inc = hi + lo with hi on a 2^-frac_bits grid
        frac_bits = 24 - upp.bit_length()
        scale = float(2**frac_bits)
        inc_hi = torch.floor(inc * scale) / scale
        inc_lo = inc - inc_hi
        ramp = torch.arange(1, upp + 1, dtype=torch.float32, device=f0.device).view(1, 1, upp, 1)
        phase = ramp * inc_hi.unsqueeze(2)  # exact product (< 24 significant bits)
        phase.frac_()  # exact: phase >= 0
        phase.addcmul_(ramp, inc_lo.unsqueeze(2))
        phase.add_((start + rand_ini.unsqueeze(1)).unsqueeze(2))
        return phase

    def forward(self, f0: torch.Tensor, upp: int = 1,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """f0 [B, T] Hz (0 = unvoiced), ``upp`` samples per frame -> (sine_waves [B, T_wav, D], uv [B, T_wav, 1]).

        sine_waves = sine_amp * sin(2 pi phase) * uv + noise_amp * randn (noise drawn as [B, T_wav, D]).
        """
        if f0.dim() != 2:
            raise ValueError(f"SineGen: f0 must be [B, T], got shape {tuple(f0.shape)}")
        with torch.no_grad():
            bsz, frames = f0.shape
            phase = self.phases(f0, upp, generator)
            waves = torch.sin(phase.mul_(2 * math.pi), out=phase)  # [B, T, upp, D]
            uv = (f0 > self.voiced_threshold).float()  # [B, T]
            noise = torch.randn(bsz, frames * upp, self.dim, device=f0.device, generator=generator).view_as(waves)
            noise_amp = (uv * self.noise_std + (1 - uv) * (self.sine_amp / 3)).view(bsz, frames, 1, 1)
            waves.mul_((uv * self.sine_amp).view(bsz, frames, 1, 1)).addcmul_(noise, noise_amp)
            uv_wav = uv.view(bsz, frames, 1).expand(bsz, frames, upp).reshape(bsz, frames * upp, 1)
        return waves.view(bsz, frames * upp, self.dim), uv_wav


class SourceModuleHnNSF(nn.Module):
    """Merge the harmonics into one excitation: tanh(l_linear(sine_waves)), plus a noise-branch draw."""

    def __init__(
        self,
        sampling_rate: int,
        harmonic_num: int = 0,
        sine_amp: float = 0.1,
        add_noise_std: float = 0.003,
        voiced_threshold: float = 0.0,
    ) -> None:
        super().__init__()
        self.sine_amp = float(sine_amp)
        self.noise_std = float(add_noise_std)
        self.l_sin_gen = SineGen(sampling_rate, harmonic_num, sine_amp, add_noise_std, voiced_threshold)
        self.l_linear = nn.Linear(harmonic_num + 1, 1)
        self.l_tanh = nn.Tanh()

    def forward(self, f0: torch.Tensor, upp: int = 1,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """f0 [B, T] Hz -> (sine_merge [B, T_wav, 1], noise [B, T_wav, 1], uv [B, T_wav, 1]); random draws from
        ``generator`` (None: torch's global RNG).

        ``noise`` (std sine_amp / 3) is drawn after the sine noise, as in so-vits-svc, which draws it but
        whose generator never uses it; drawing it keeps the global RNG state identical afterwards.
        """
        sine_waves, uv = self.l_sin_gen(f0, upp, generator)  # float32 whatever the model dtype
        sine_merge = self.l_tanh(self.l_linear(sine_waves.to(self.l_linear.weight.dtype)))
        noise = torch.randn(uv.shape, dtype=uv.dtype, device=uv.device, generator=generator) * (self.sine_amp / 3)
        return sine_merge, noise, uv
