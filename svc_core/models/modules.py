"""Building blocks of the so-vits-svc 4.1 synthesizer: channel LayerNorm, WaveNet-style WN stack, residual coupling
layer, Flip, depthwise-separable conv and legacy weight-norm helpers.

Port of so-vits-svc 4.1-Stable ``modules/modules.py``, ``modules/DSConv.py`` and ``modules/commons.py``
(svc-develop-team/so-vits-svc, AGPL-3.0; itself derived from VITS, jaywalnut310/vits, MIT). Re-implemented with the
same parameter names and arithmetic so so-vits-svc checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vdecoder.weight_norm import has_weight_norm as _has_wn
from vdecoder.weight_norm import remove_weight_norm as _remove_wn
from vdecoder.weight_norm import weight_norm as _weight_norm

__all__ = [
    "DepthwiseSeparableConv1d",
    "Flip",
    "LayerNorm",
    "ResidualCouplingLayer",
    "WN",
    "apply_weight_norm",
    "conv1d_model",
    "gated_tanh_sigmoid",
    "has_weight_norm",
    "remove_all_weight_norm",
    "sequence_mask",
]


def apply_weight_norm(module: nn.Module) -> nn.Module:
    """Weight norm on ``weight`` in the legacy layout (keys ``weight_g``/``weight_v``, like so-vits-svc's
    ``torch.nn.utils.weight_norm``; shared implementation from ``vdecoder.weight_norm``, deep-copyable)."""
    if isinstance(module, DepthwiseSeparableConv1d):
        module.depth_conv = apply_weight_norm(module.depth_conv)
        module.point_conv = apply_weight_norm(module.point_conv)
        return module
    return _weight_norm(module, dim=0)


def has_weight_norm(module: nn.Module) -> bool:
    """True if ``module`` itself carries a legacy-layout weight-norm hook."""
    return _has_wn(module)


def remove_all_weight_norm(root: nn.Module, skip: tuple[nn.Module, ...] = ()) -> int:
    """Fold every legacy weight norm below ``root`` into plain weights (shared modules once); returns the count."""
    skipped: set[int] = set()
    for s in skip:
        skipped.update(id(m) for m in s.modules())
    n = 0
    for m in root.modules():  # deduplicated: a shared WN is visited once
        if id(m) in skipped:
            continue
        if has_weight_norm(m):
            _remove_wn(m)
            n += 1
    return n


def sequence_mask(lengths: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
    """Boolean mask [B, T]: position < length."""
    if max_length is None:
        max_length = int(lengths.max())
    x = torch.arange(max_length, dtype=lengths.dtype, device=lengths.device)
    return x.unsqueeze(0) < lengths.unsqueeze(1)


def gated_tanh_sigmoid(x: torch.Tensor, n_channels: int) -> torch.Tensor:
    """WaveNet gate: tanh(first half) * sigmoid(second half) along channels; [B, 2C, T] -> [B, C, T]."""
    return torch.tanh(x[:, :n_channels]) * torch.sigmoid(x[:, n_channels:])


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """'same' padding of a dilated odd kernel."""
    return int((kernel_size * dilation - dilation) / 2)


class LayerNorm(nn.Module):
    """Layer norm over the channel axis of [B, C, T] (parameters ``gamma``/``beta`` as in VITS)."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T]."""
        x = F.layer_norm(x.transpose(1, -1), (self.channels,), self.gamma, self.beta, self.eps)
        return x.transpose(1, -1)


class DepthwiseSeparableConv1d(nn.Module):
    """Depthwise conv (groups=in) followed by a 1x1 conv; keys ``depth_conv.*`` / ``point_conv.*`` (so-vits DSConv)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.depth_conv = nn.Conv1d(
            in_channels, in_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=in_channels, bias=bias,
        )
        self.point_conv = nn.Conv1d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, T] -> [B, C_out, T']."""
        return self.point_conv(self.depth_conv(x))


def conv1d_model(use_depthwise_conv: bool) -> type[nn.Module]:
    """The conv class so-vits-svc's ``set_Conv1dModel`` selects."""
    return DepthwiseSeparableConv1d if use_depthwise_conv else nn.Conv1d


class WN(nn.Module):
    """Non-causal WaveNet stack with gated activations and optional global conditioning (VITS ``WN``)."""

    def __init__(
        self,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
        p_dropout: float = 0.0,
        use_depthwise_conv: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"WN kernel_size must be odd, got {kernel_size}")
        self.hidden_channels = hidden_channels
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.n_layers = n_layers
        self.gin_channels = gin_channels
        self.p_dropout = p_dropout
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        self.drop = nn.Dropout(p_dropout)
        if gin_channels != 0:
            self.cond_layer = apply_weight_norm(nn.Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1))
        conv = conv1d_model(use_depthwise_conv)
        for i in range(n_layers):
            dilation = dilation_rate**i
            padding = int((kernel_size * dilation - dilation) / 2)
            self.in_layers.append(
                apply_weight_norm(conv(hidden_channels, 2 * hidden_channels, kernel_size, dilation=dilation,
                                       padding=padding))
            )
            res_skip_channels = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
            self.res_skip_layers.append(apply_weight_norm(nn.Conv1d(hidden_channels, res_skip_channels, 1)))

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, H, T], x_mask [B, 1, T], g [B, gin, 1 or T] -> [B, H, T]."""
        h = self.hidden_channels
        output = torch.zeros_like(x)
        if g is not None:
            g = self.cond_layer(g)
        for i in range(self.n_layers):
            x_in = self.in_layers[i](x)
            if g is not None:
                x_in = x_in + g[:, i * 2 * h : (i + 1) * 2 * h, :]
            acts = self.drop(gated_tanh_sigmoid(x_in, h))
            res_skip = self.res_skip_layers[i](acts)
            if i < self.n_layers - 1:
                x = (x + res_skip[:, :h, :]) * x_mask
                output = output + res_skip[:, h:, :]
            else:
                output = output + res_skip
        return output * x_mask


class Flip(nn.Module):
    """Reverse the channel order (a volume-preserving flow step)."""

    def forward(
        self, x: torch.Tensor, *args: object, reverse: bool = False, **kwargs: object
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """[B, C, T] -> [B, C, T] (and a zero log-determinant [B] when not reverse)."""
        x = torch.flip(x, [1])
        if reverse:
            return x
        return x, torch.zeros(x.size(0), dtype=x.dtype, device=x.device)


class AffineCoupling(nn.Module):
    """Affine coupling: the second channel half is shifted (and scaled) by ``enc`` applied to the first half.

    ``enc`` is the conditioner (a WN or a causal transformer), built by the subclass or shared between layers.
    """

    def __init__(self, channels: int, hidden_channels: int, enc: nn.Module, mean_only: bool) -> None:
        if channels % 2 != 0:
            raise ValueError(f"coupling channels must be even, got {channels}")
        super().__init__()
        self.channels = channels
        self.hidden_channels = hidden_channels
        self.half_channels = channels // 2
        self.mean_only = mean_only
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = enc
        self.post = nn.Conv1d(hidden_channels, self.half_channels * (2 - int(mean_only)), 1)
        self.post.weight.data.zero_()
        self.post.bias.data.zero_()

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x [B, C, T] -> x' [B, C, T] (plus log-determinant [B] when not reverse)."""
        return coupling_step(self, x, x_mask, g, reverse)


class ResidualCouplingLayer(AffineCoupling):
    """Affine coupling whose conditioner is a WN (non-causal dilated conv stack)."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        p_dropout: float = 0.0,
        gin_channels: int = 0,
        mean_only: bool = False,
        wn_sharing_parameter: nn.Module | None = None,
        use_depthwise_conv: bool = False,
    ) -> None:
        enc = wn_sharing_parameter if wn_sharing_parameter is not None else WN(
            hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels=gin_channels, p_dropout=p_dropout,
            use_depthwise_conv=use_depthwise_conv,
        )
        super().__init__(channels, hidden_channels, enc, mean_only)


def coupling_step(
    layer: nn.Module, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None, reverse: bool
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Shared affine-coupling arithmetic of the residual and transformer coupling layers."""
    half = layer.half_channels
    x0, x1 = torch.split(x, [half, half], 1)
    h = layer.pre(x0) * x_mask
    h = layer.enc(h, x_mask, g=g)
    stats = layer.post(h) * x_mask
    if layer.mean_only:
        m = stats
        logs = torch.zeros_like(m)
    else:
        m, logs = torch.split(stats, [half, half], 1)
    if not reverse:
        x1 = m + x1 * torch.exp(logs) * x_mask
        return torch.cat([x0, x1], 1), torch.sum(logs, [1, 2])
    x1 = (x1 - m) * torch.exp(-logs) * x_mask
    return torch.cat([x0, x1], 1)
