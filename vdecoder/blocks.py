"""HiFiGAN residual blocks shared by both generators (activation injected, not hard-coded).

Port of the ResBlock1 / ResBlock2 of HiFiGAN (jik876/hifi-gan, MIT licence) as used by so-vits-svc
(svc-develop-team/so-vits-svc, BSD-3-Clause) in ``vdecoder/hifigan/models.py`` and
``vdecoder/hifiganwithsnake/models.py``; parameter names follow those files so checkpoints load strictly.

Shapes: B batch, C channels, T time steps at the block's rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vdecoder.channels_last import conv1d_cl4, leaky_slope
from vdecoder.weight_norm import remove_weight_norm, weight_norm

__all__ = ["LRELU_SLOPE", "ActivationFactory", "get_padding", "leaky_relu_factory", "ResBlock1", "ResBlock2"]

LRELU_SLOPE = 0.1

ActivationFactory = Callable[[int], nn.Module]
"""Builds an activation module for a given channel count ([B, C, T] -> [B, C, T])."""


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """'Same' padding of a dilated odd-kernel convolution."""
    return (kernel_size * dilation - dilation) // 2


def leaky_relu_factory(channels: int) -> nn.Module:
    """HiFiGAN's default activation: LeakyReLU(0.1) (parameter-free, adds no state-dict keys)."""
    return nn.LeakyReLU(LRELU_SLOPE)


def _wn_conv(channels: int, kernel_size: int, dilation: int) -> nn.Conv1d:
    return weight_norm(
        nn.Conv1d(channels, channels, kernel_size, 1, dilation=dilation, padding=get_padding(kernel_size, dilation))
    )


class _ResBlock(nn.Module):
    """What both residual blocks share: ``activations`` and the channels-last inference check."""

    activations: nn.ModuleList

    def supports_channels_last(self) -> bool:
        """Whether ``forward_cl4`` applies: every activation is a LeakyReLU."""
        return all(leaky_slope(a) is not None for a in self.activations)


class ResBlock1(_ResBlock):
    """Three (act, dilated conv, act, conv) residual units: [B, C, T] -> [B, C, T].

    ``activations[2i]`` precedes ``convs1[i]`` and ``activations[2i+1]`` precedes ``convs2[i]`` (the order of
    so-vits-svc's Snake ResBlock1; parameter-free activations add no keys).
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        dilation: Sequence[int] = (1, 3, 5),
        activation: ActivationFactory = leaky_relu_factory,
    ) -> None:
        super().__init__()
        if len(dilation) < 3:
            raise ValueError(f"ResBlock1 needs 3 dilations, got {list(dilation)}")
        dilation = tuple(dilation[:3])  # so-vits-svc builds exactly three units and ignores extra values
        self.convs1 = nn.ModuleList([_wn_conv(channels, kernel_size, d) for d in dilation])
        self.convs2 = nn.ModuleList([_wn_conv(channels, kernel_size, 1) for _ in dilation])
        self.activations = nn.ModuleList([activation(channels) for _ in range(2 * len(dilation))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T]."""
        for i, (c1, c2) in enumerate(zip(self.convs1, self.convs2, strict=True)):
            xt = c1(self.activations[2 * i](x))
            x = c2(self.activations[2 * i + 1](xt)).add_(x)
        return x

    def forward_cl4(self, x: torch.Tensor) -> torch.Tensor:
        """Inference on a channels-last [B, C, 1, T] signal (LeakyReLU activations only) -> [B, C, 1, T]."""
        for i, (c1, c2) in enumerate(zip(self.convs1, self.convs2, strict=True)):
            xt = conv1d_cl4(c1, F.leaky_relu(x, leaky_slope(self.activations[2 * i])))
            x = conv1d_cl4(c2, F.leaky_relu(xt, leaky_slope(self.activations[2 * i + 1]), inplace=True)).add_(x)
        return x

    def remove_weight_norm(self) -> None:
        """Fold weight norm of every conv (inference)."""
        for conv in [*self.convs1, *self.convs2]:
            remove_weight_norm(conv)


class ResBlock2(_ResBlock):
    """Two (act, dilated conv) residual units: [B, C, T] -> [B, C, T]."""

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        dilation: Sequence[int] = (1, 3),
        activation: ActivationFactory = leaky_relu_factory,
    ) -> None:
        super().__init__()
        if len(dilation) < 2:
            raise ValueError(f"ResBlock2 needs 2 dilations, got {list(dilation)}")
        dilation = tuple(dilation[:2])  # so-vits-svc builds exactly two units and ignores extra values
        self.convs = nn.ModuleList([_wn_conv(channels, kernel_size, d) for d in dilation])
        self.activations = nn.ModuleList([activation(channels) for _ in dilation])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T]."""
        for conv, act in zip(self.convs, self.activations, strict=True):
            x = conv(act(x)).add_(x)
        return x

    def forward_cl4(self, x: torch.Tensor) -> torch.Tensor:
        """Inference on a channels-last [B, C, 1, T] signal (LeakyReLU activations only) -> [B, C, 1, T]."""
        for conv, act in zip(self.convs, self.activations, strict=True):
            x = conv1d_cl4(conv, F.leaky_relu(x, leaky_slope(act))).add_(x)
        return x

    def remove_weight_norm(self) -> None:
        """Fold weight norm of every conv (inference)."""
        for conv in self.convs:
            remove_weight_norm(conv)
