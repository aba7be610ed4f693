"""FLOPs of one call, two ways: counted from every matmul/conv torch runs (their shapes), and, for the NSF-HiFiGAN
decoder, computed from its layer shapes alone (the useful work, without the windowed path's context overlap)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

aten = torch.ops.aten


def _addmm_flops(self_shape: Any, a_shape: Any, b_shape: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """2 m k n for ``self += a @ b`` (torch's table has the out-of-place addmm only)."""
    (m, k), (_, n) = a_shape, b_shape
    return 2 * m * k * n


def counted_flops(fn: Callable[[], Any], depth: int = 2) -> tuple[float, dict[str, float]]:
    """Run ``fn`` under torch's FlopCounterMode (in-place ``addmm_`` counted too) -> (total, per module path).

    Module paths start at the outermost module called ("Global" is everything); ``depth`` limits only the display.
    """
    counter = FlopCounterMode(display=False, depth=depth, custom_mapping={aten.addmm_: _addmm_flops})
    with counter:
        fn()
    per_module = {name: float(sum(ops.values())) for name, ops in counter.get_flop_counts().items()}
    return float(counter.get_total_flops()), per_module


def _conv_flops(conv: torch.nn.Module, steps_out: float) -> float:
    """2 x C_out x C_in / groups x kernel per output step (a transposed conv: per input step)."""
    w = conv.weight
    if isinstance(conv, torch.nn.ConvTranspose1d):
        c_in, c_out, k = w.shape
        return 2.0 * c_in * c_out * k * steps_out
    c_out, c_in_g, k = w.shape
    return 2.0 * c_out * c_in_g * k * steps_out


def nsf_decoder_flops(dec: torch.nn.Module, frames: int) -> dict[str, float]:
    """FLOPs of an NSF-HiFiGAN generator on ``frames`` frames from its layer shapes, by part."""
    parts = {"conv_pre": _conv_flops(dec.conv_pre, frames), "cond": 0.0, "upsampling": 0.0, "noise_convs": 0.0,
             "resblocks": 0.0, "conv_post": 0.0}
    if dec.cond is not None:
        parts["cond"] = _conv_flops(dec.cond, 1)
    steps = float(frames)
    for i, up in enumerate(dec.ups):
        parts["upsampling"] += _conv_flops(up, steps)
        steps *= up.stride[0]
        parts["noise_convs"] += _conv_flops(dec.noise_convs[i], steps)
        for block in dec.resblocks[i * dec.num_kernels : (i + 1) * dec.num_kernels]:
            parts["resblocks"] += sum(_conv_flops(m, steps) for m in block.modules() if isinstance(m, torch.nn.Conv1d))
    parts["conv_post"] = _conv_flops(dec.conv_post, steps)
    parts["total"] = math.fsum(parts.values())
    return parts
