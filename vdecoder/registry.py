"""Vocoder registry: so-vits-svc ``model.vocoder_name`` -> generator class."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from vdecoder.nsf_hifigan.generator import NSFHiFiGANGenerator
from vdecoder.snake.generator import SnakeHiFiGANGenerator

__all__ = ["VOCODER_NAMES", "build_vocoder"]

_REGISTRY: dict[str, type[NSFHiFiGANGenerator]] = {
    "nsf-hifigan": NSFHiFiGANGenerator,
    "nsf-snake-hifigan": SnakeHiFiGANGenerator,
}
VOCODER_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def build_vocoder(
    name: str,
    *,
    sampling_rate: int,
    inter_channels: int,
    resblock: str,
    resblock_kernel_sizes: Sequence[int],
    resblock_dilation_sizes: Sequence[Sequence[int]],
    upsample_rates: Sequence[int],
    upsample_initial_channel: int,
    upsample_kernel_sizes: Sequence[int],
    gin_channels: int,
    use_depthwise_conv: bool = False,
) -> nn.Module:
    """Build the generator named ``name`` (state-dict keys = so-vits-svc ``dec.*`` without ``dec.``).

    ``use_depthwise_conv`` is accepted for config compatibility and ignored: so-vits-svc's generators never
    use depthwise convolutions (their ``dec.*`` keys are the same with it on). Raises ValueError for an
    unknown name (listing the known ones) or sizes that cannot work.
    """
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown vocoder {name!r}; known vocoders: {', '.join(VOCODER_NAMES)}") from None
    return cls(
        sampling_rate=sampling_rate,
        inter_channels=inter_channels,
        resblock=resblock,
        resblock_kernel_sizes=resblock_kernel_sizes,
        resblock_dilation_sizes=resblock_dilation_sizes,
        upsample_rates=upsample_rates,
        upsample_initial_channel=upsample_initial_channel,
        upsample_kernel_sizes=upsample_kernel_sizes,
        gin_channels=gin_channels,
    )
