"""Channels-last ([B, T, C] in memory) building blocks for the HiFiGAN-family inference path.

The generators' modules keep so-vits-svc's layout and names (so checkpoints load strictly); these functions run
the same maths from those modules' weights, laid out for speed on CPU:

- strided single-channel convs (the NSF noise convs) as one matmul over strided frames of the source signal,
  producing channels-last output directly (oneDNN runs a 1-input-channel conv poorly, and builds a new primitive
  for every new input length: about 0.35 s per noise conv per new length on 2 cores);
- transposed-conv upsampling as one matmul ``x @ W`` followed by an overlap-add of ``ceil(k / u)`` taps;
- the residual-block convs as ``conv2d`` on a channels-last 4-D view ([B, C, 1, T] with channel stride 1), which
  oneDNN runs without reordering to and from its blocked layout.

Shapes: B batch, T time steps, C channels. "cl" tensors are [B, T, C] contiguous; "cl4" are their
[B, C, 1, T] views (``torch.channels_last``), which ``conv2d`` keeps channels-last.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["as_cl4", "from_cl4", "conv1d_cl4", "frames_conv_cl", "conv_transpose1d_cl", "leaky_slope"]


def as_cl4(x: torch.Tensor) -> torch.Tensor:
    """[B, T, C] -> its [B, C, 1, T] channels-last view (copies only when ``x`` is not contiguous)."""
    return x.contiguous().transpose(1, 2).unsqueeze(2)


def from_cl4(x4: torch.Tensor) -> torch.Tensor:
    """[B, C, 1, T] channels-last -> [B, T, C] (a view when ``x4`` is channels-last)."""
    return x4.squeeze(2).transpose(1, 2)


def conv1d_cl4(conv: nn.Conv1d, x4: torch.Tensor) -> torch.Tensor:
    """``conv`` (any padding, dilation, stride, groups) applied to a channels-last [B, C, 1, T] signal."""
    if isinstance(conv.padding, str):
        raise ValueError("conv1d_cl4 needs numeric padding")
    return F.conv2d(
        x4, conv.weight.unsqueeze(2), conv.bias, stride=(1, conv.stride[0]), padding=(0, conv.padding[0]),
        dilation=(1, conv.dilation[0]), groups=conv.groups,
    )


def frames_conv_cl(conv: nn.Conv1d, signal: torch.Tensor, extra_bias: torch.Tensor | None = None) -> torch.Tensor:
    """Single-input-channel ``conv`` on ``signal`` [B, L] as a matmul over strided frames -> [B, T_out, C_out].

    ``extra_bias`` [C_out] is added in the same matmul (e.g. the bias of the layer the result is summed with).
    """
    if conv.in_channels != 1 or conv.groups != 1 or conv.dilation[0] != 1 or isinstance(conv.padding, str):
        raise ValueError("frames_conv_cl needs a 1-input-channel, undilated, ungrouped conv with numeric padding")
    (k,), (s,), (p,) = conv.kernel_size, conv.stride, conv.padding
    x = F.pad(signal, (p, p)) if p else signal.contiguous()
    n_out = (x.shape[-1] - k) // s + 1
    if n_out < 1:
        raise ValueError(f"signal of {signal.shape[-1]} samples is shorter than the kernel ({k})")
    frames = x.as_strided((x.shape[0], n_out, k), (x.stride(0), s, 1))
    bias = conv.bias
    if extra_bias is not None:
        bias = extra_bias if bias is None else bias + extra_bias
    return F.linear(frames, conv.weight[:, 0, :], bias)


def conv_transpose1d_cl(conv: nn.ConvTranspose1d, x: torch.Tensor, with_bias: bool = True) -> torch.Tensor:
    """``conv`` (stride u, kernel k >= u, padding p) on channels-last x [B, T, C_in] -> [B, (T-1)u + k - 2p, C_out].

    Tap j of the kernel (u samples wide) maps input step m to output steps (m + j)u ... (m + j + 1)u - 1, so the
    whole layer is ``ceil(k / u)`` matmuls accumulated into shifted slices of one buffer (no intermediate).
    The result may be a non-contiguous time slice of a larger buffer.
    """
    if conv.groups != 1 or conv.dilation[0] != 1 or conv.output_padding[0] != 0 or isinstance(conv.padding, str):
        raise ValueError("conv_transpose1d_cl needs an ungrouped, undilated conv without output padding")
    c_in, c_out, k = conv.weight.shape
    (u,), (p,) = conv.stride, conv.padding
    if k < u:
        raise ValueError(f"conv_transpose1d_cl needs kernel >= stride, got {k} < {u}")
    b, t, _ = x.shape
    n = -(-k // u)
    w = conv.weight if n * u == k else F.pad(conv.weight, (0, n * u - k))
    taps = w.view(c_in, c_out, n, u).permute(2, 0, 3, 1).reshape(n, c_in, u * c_out)  # tap j: [C_in, u * C_out]
    y = x.new_empty(b, t + n - 1, u * c_out)  # u output steps per input step, before cropping the padding
    for i in range(b):  # batch items (usually one); each tap's matmul accumulates straight into the output
        torch.mm(x[i], taps[0], out=y[i, :t])
        y[i, t:] = 0
        for j in range(1, n):  # ceil(k / u) taps (2 for HiFiGAN's k = 2u), not a loop over time
            y[i, j : j + t].addmm_(x[i], taps[j])
    y = y.view(b, (t + n - 1) * u, c_out)[:, p : (t - 1) * u + k - p]
    if with_bias and conv.bias is not None:
        y = y + conv.bias
    return y


def leaky_slope(module: nn.Module) -> float | None:
    """Negative slope of an ``nn.LeakyReLU`` (``None`` for any other activation)."""
    return float(module.negative_slope) if isinstance(module, nn.LeakyReLU) else None
