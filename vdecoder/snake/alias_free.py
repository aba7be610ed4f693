"""Anti-aliased activation: upsample with a Kaiser-windowed sinc, activate, low-pass and downsample.

Port of alias-free-torch (junjun3518/alias-free-torch, Apache-2.0) as used by BigVGAN (MIT) and by so-vits-svc
``vdecoder/hifiganwithsnake/alias/{filter,resample,act}.py`` (BSD-3-Clause). Buffers ``upsample.filter`` and
``downsample.lowpass.filter`` keep their names, so so-vits-svc tensors load strictly.

Speed: channels are folded into the batch (the filter is shared by all channels) and both resamplers are
polyphase convolutions: upsampling by r is one conv1d with r output phases and K/r taps, and when up and down
ratios match the activation runs on the phase-major layout and the decimating low-pass is one conv1d over the
r phases, so the interleaved 2x signal is never materialised or padded. Equal to the reference to rounding.

Shapes: B batch, C channels, T time at the input rate.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["kaiser_sinc_filter1d", "UpSample1d", "LowPassFilter1d", "DownSample1d", "AliasFreeActivation1d"]


def kaiser_sinc_filter1d(cutoff: float, half_width: float, kernel_size: int) -> torch.Tensor:
    """Kaiser-windowed sinc low-pass (cutoff in cycles/sample, sums to 1) as [1, 1, kernel_size]."""
    even = kernel_size % 2 == 0
    half_size = kernel_size // 2
    delta_f = 4 * half_width
    attenuation = 2.285 * (half_size - 1) * math.pi * delta_f + 7.95
    if attenuation > 50.0:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21.0:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21.0)
    else:
        beta = 0.0
    window = torch.kaiser_window(kernel_size, beta=beta, periodic=False)
    time = torch.arange(-half_size, half_size) + 0.5 if even else torch.arange(kernel_size) - half_size
    if cutoff == 0:
        return torch.zeros(1, 1, kernel_size)
    filt = 2 * cutoff * window * torch.sinc(2 * cutoff * time)
    filt /= filt.sum()
    return filt.view(1, 1, kernel_size)


def _fold_channels(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0] * x.shape[1], 1, x.shape[2])


class UpSample1d(nn.Module):
    """Upsample by ``ratio`` with a Kaiser sinc (replicate-padded edges): [B, C, T] -> [B, C, T * ratio]."""

    def __init__(self, ratio: int = 2, kernel_size: int | None = None) -> None:
        super().__init__()
        self.ratio = int(ratio)
        self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else int(kernel_size)
        if self.kernel_size % self.ratio:
            raise ValueError(f"UpSample1d: kernel_size {self.kernel_size} must be a multiple of ratio {ratio}")
        self.pad = self.kernel_size // self.ratio - 1
        self.register_buffer("filter", kaiser_sinc_filter1d(0.5 / ratio, 0.6 / ratio, self.kernel_size))

    def phase_weight(self) -> torch.Tensor:
        """Polyphase weight [ratio, 1, K / ratio] (times ratio): phase p of out = conv1d(padded x, w[p])."""
        taps = self.kernel_size // self.ratio
        f = self.filter.reshape(taps, self.ratio).t().flip(-1)  # w[p, i] = f[ratio * (taps - 1 - i) + p]
        return (f * self.ratio).unsqueeze(1)

    def phases(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> phase-major [B * C, ratio, T + 2 * pad + 1 - K / ratio]; see ``forward`` for the crop."""
        xp = F.pad(_fold_channels(x), (self.pad, self.pad), mode="replicate")
        return F.conv1d(xp, self.phase_weight().to(x.dtype))

    def crop_start(self) -> int:
        """Index in the interleaved phase signal where the reference output starts."""
        return (self.kernel_size - self.ratio) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T * ratio]."""
        bsz, ch, length = x.shape
        u = self.phases(x)  # [N, r, L]
        inter = u.transpose(1, 2).reshape(bsz, ch, -1)
        start = self.crop_start()
        return inter[..., start : start + length * self.ratio]


class LowPassFilter1d(nn.Module):
    """Kaiser-sinc low-pass, optionally strided, replicate-padded: [B, C, T] -> [B, C, ceil(T / stride)]."""

    def __init__(self, cutoff: float = 0.5, half_width: float = 0.6, stride: int = 1, kernel_size: int = 12) -> None:
        super().__init__()
        if cutoff < 0.0 or cutoff > 0.5:
            raise ValueError(f"LowPassFilter1d: cutoff must be in [0, 0.5], got {cutoff}")
        self.kernel_size = int(kernel_size)
        self.even = self.kernel_size % 2 == 0
        self.pad_left = self.kernel_size // 2 - int(self.even)
        self.pad_right = self.kernel_size // 2
        self.stride = int(stride)
        self.register_buffer("filter", kaiser_sinc_filter1d(cutoff, half_width, self.kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T_out]."""
        bsz, ch, _ = x.shape
        xp = F.pad(_fold_channels(x), (self.pad_left, self.pad_right), mode="replicate")
        return F.conv1d(xp, self.filter.to(x.dtype), stride=self.stride).view(bsz, ch, -1)

    def phase_weight(self, phases: int) -> torch.Tensor:
        """Weight [1, phases, ceil(K / phases)] so that conv1d over phase-major input equals the strided filter."""
        taps = -(-self.kernel_size // phases)
        f = F.pad(self.filter.reshape(-1), (0, taps * phases - self.kernel_size))
        return f.reshape(taps, phases).t().unsqueeze(0)


class DownSample1d(nn.Module):
    """Low-pass and decimate by ``ratio``: [B, C, T] -> [B, C, T / ratio]."""

    def __init__(self, ratio: int = 2, kernel_size: int | None = None) -> None:
        super().__init__()
        self.ratio = int(ratio)
        self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else int(kernel_size)
        self.lowpass = LowPassFilter1d(0.5 / ratio, 0.6 / ratio, stride=ratio, kernel_size=self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T / ratio]."""
        return self.lowpass(x)


class AliasFreeActivation1d(nn.Module):
    """Wrap any activation: upsample, activate, low-pass, downsample. [B, C, T] -> [B, C, T].

    ``activation`` maps [B, C, T'] -> [B, C, T'] elementwise along time (e.g. ``SnakeBeta``).
    """

    def __init__(
        self,
        activation: nn.Module,
        up_ratio: int = 2,
        down_ratio: int = 2,
        up_kernel_size: int = 12,
        down_kernel_size: int = 12,
    ) -> None:
        super().__init__()
        self.act = activation
        self.upsample = UpSample1d(up_ratio, up_kernel_size)
        self.downsample = DownSample1d(down_ratio, down_kernel_size)
        r = self.upsample.ratio
        lp = self.downsample.lowpass
        # fused polyphase path: same ratio both ways and the down filter's left pad lands on the up crop
        self.fused = (
            self.downsample.ratio == r
            and self.upsample.kernel_size == lp.kernel_size
            and self.upsample.crop_start() == lp.pad_left
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T]."""
        if not self.fused:
            return self.downsample(self.act(self.upsample(x)))
        bsz, ch, length = x.shape
        r = self.upsample.ratio
        lp = self.downsample.lowpass
        u = self.upsample.phases(x)  # [N, r, L]; interleaved index m = r * t + p
        ncols = u.shape[2]
        # replicate padding of the reference's cropped signal = clamp interleaved index to [c, c + r*T - 1]
        first, last = lp.pad_left, lp.pad_left + r * length - 1
        left = u[:, first % r, first // r : first // r + 1].clone()
        right = u[:, last % r, last // r : last // r + 1].clone()
        for p in range(r):
            n_left = max(0, -(-(first - p) // r))
            start_right = max(0, -(-(last + 1 - p) // r))
            if n_left:
                u[:, p, :n_left] = left
            if start_right < ncols:
                u[:, p, start_right:] = right
        v = self.act(u.view(bsz, ch, r * ncols)).view(bsz * ch, r, ncols)
        out = F.conv1d(v, lp.phase_weight(r).to(x.dtype))
        return out[..., :length].reshape(bsz, ch, length)
