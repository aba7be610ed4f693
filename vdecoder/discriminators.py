"""HiFiGAN discriminators as trained by so-vits-svc (``D_*.pth`` key layout).

Port of ``DiscriminatorP``, ``DiscriminatorS`` and ``MultiPeriodDiscriminator`` from so-vits-svc 4.1
``models.py`` (svc-develop-team/so-vits-svc, BSD-3-Clause), from HiFiGAN (jik876/hifi-gan, MIT).
``MultiPeriodDiscriminator`` holds one scale discriminator (``discriminators.0``) then one period
discriminator per period 2, 3, 5, 7, 11 (``discriminators.1..5``), weight norm in legacy layout.
``width_div`` > 1 divides every inner channel count (and conv group count) for tiny CPU training; 1 is
so-vits-svc's network exactly.

Shapes: B batch, T_wav samples; each discriminator returns (logits [B, N], feature maps list).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vdecoder.blocks import LRELU_SLOPE, get_padding
from vdecoder.weight_norm import weight_norm

__all__ = ["DiscriminatorP", "DiscriminatorS", "MultiPeriodDiscriminator", "DiscriminatorOutput"]

DiscriminatorOutput = tuple[list[torch.Tensor], list[torch.Tensor], list[list[torch.Tensor]], list[list[torch.Tensor]]]
"""(real logits, fake logits, real feature maps, fake feature maps), one entry per discriminator."""


def _norm(module: nn.Module, use_spectral_norm: bool) -> nn.Module:
    return nn.utils.spectral_norm(module) if use_spectral_norm else weight_norm(module)


def _div(channels: int, width_div: int) -> int:
    if width_div < 1 or channels % width_div:
        raise ValueError(f"discriminator width_div {width_div} must be a positive divisor of {channels}")
    return channels // width_div


def _conv_stack(convs: nn.ModuleList, conv_post: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Convs with LeakyReLU(0.1), then conv_post; returns (flattened logits [B, N], every layer's output)."""
    fmap = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        fmap.append(x)
    x = conv_post(x)
    fmap.append(x)
    return torch.flatten(x, 1, -1), fmap


class DiscriminatorP(nn.Module):
    """Period discriminator: waveform folded to [B, 1, T_wav / period, period], 2-D convs along time."""

    def __init__(self, period: int, kernel_size: int = 5, stride: int = 3, use_spectral_norm: bool = False,
                 width_div: int = 1) -> None:
        super().__init__()
        self.period = int(period)
        pad = (get_padding(kernel_size, 1), 0)
        chans = [1] + [_div(c, width_div) for c in (32, 128, 512, 1024)]
        convs = [
            nn.Conv2d(a, b, (kernel_size, 1), (stride, 1), padding=pad)
            for a, b in zip(chans[:-1], chans[1:], strict=True)
        ]
        convs.append(nn.Conv2d(chans[-1], chans[-1], (kernel_size, 1), 1, padding=pad))
        self.convs = nn.ModuleList([_norm(c, use_spectral_norm) for c in convs])
        self.conv_post = _norm(nn.Conv2d(chans[-1], 1, (3, 1), 1, padding=(1, 0)), use_spectral_norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """[B, 1, T_wav] -> (logits [B, N], feature maps)."""
        b, c, t = x.shape
        if t % self.period:
            n_pad = self.period - t % self.period
            x = F.pad(x, (0, n_pad), "reflect")
            t += n_pad
        return _conv_stack(self.convs, self.conv_post, x.view(b, c, t // self.period, self.period))


class DiscriminatorS(nn.Module):
    """Scale discriminator on the raw waveform: grouped strided 1-D convs."""

    def __init__(self, use_spectral_norm: bool = False, width_div: int = 1) -> None:
        super().__init__()
        c16, c64, c256, c1024 = (_div(c, width_div) for c in (16, 64, 256, 1024))
        g4, g16, g64, g256 = (max(1, g // width_div) for g in (4, 16, 64, 256))
        convs = [
            nn.Conv1d(1, c16, 15, 1, padding=7),
            nn.Conv1d(c16, c64, 41, 4, groups=g4, padding=20),
            nn.Conv1d(c64, c256, 41, 4, groups=g16, padding=20),
            nn.Conv1d(c256, c1024, 41, 4, groups=g64, padding=20),
            nn.Conv1d(c1024, c1024, 41, 4, groups=g256, padding=20),
            nn.Conv1d(c1024, c1024, 5, 1, padding=2),
        ]
        self.convs = nn.ModuleList([_norm(c, use_spectral_norm) for c in convs])
        self.conv_post = _norm(nn.Conv1d(c1024, 1, 3, 1, padding=1), use_spectral_norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """[B, 1, T_wav] -> (logits [B, N], feature maps)."""
        return _conv_stack(self.convs, self.conv_post, x)


class MultiPeriodDiscriminator(nn.Module):
    """DiscriminatorS followed by DiscriminatorP for each period (so-vits-svc: 2, 3, 5, 7, 11)."""

    def __init__(self, use_spectral_norm: bool = False, periods: Sequence[int] = (2, 3, 5, 7, 11),
                 width_div: int = 1) -> None:
        super().__init__()
        discs: list[nn.Module] = [DiscriminatorS(use_spectral_norm=use_spectral_norm, width_div=width_div)]
        discs += [DiscriminatorP(p, use_spectral_norm=use_spectral_norm, width_div=width_div) for p in periods]
        self.discriminators = nn.ModuleList(discs)

    def forward(self, y: torch.Tensor, y_hat: torch.Tensor) -> DiscriminatorOutput:
        """Real y and generated y_hat [B, 1, T_wav] -> (real logits, fake logits, real fmaps, fake fmaps)."""
        if y.shape != y_hat.shape or y.dim() != 3 or y.shape[1] != 1:
            raise ValueError(
                f"discriminator: y and y_hat must both be [B, 1, T], got {tuple(y.shape)}, {tuple(y_hat.shape)}"
            )
        out: DiscriminatorOutput = ([], [], [], [])
        for d in self.discriminators:
            r, fr = d(y)
            g, fg = d(y_hat)
            out[0].append(r)
            out[1].append(g)
            out[2].append(fr)
            out[3].append(fg)
        return out
