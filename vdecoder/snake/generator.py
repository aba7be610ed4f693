"""NSF-HiFiGAN with anti-aliased Snake activations (so-vits-svc ``vocoder_name: nsf-snake-hifigan``).

Port of ``Generator`` from so-vits-svc 4.1 ``vdecoder/hifiganwithsnake/models.py`` (svc-develop-team/so-vits-svc,
BSD-3-Clause); Snake and the alias-free resampling come from BigVGAN (MIT) / alias-free-torch (Apache-2.0).
Keys: ``snakes.{i}.*`` before each upsampling layer, ``snake_post.*`` before conv_post, and
``resblocks.{j}.activations.{k}.*`` inside the residual blocks.

Shapes: B batch, C = inter_channels, T frames, G = gin_channels, T_wav = T * hop_length samples.
"""

from __future__ import annotations

from torch import nn

from vdecoder.blocks import ActivationFactory
from vdecoder.nsf_hifigan.generator import NSFHiFiGANGenerator
from vdecoder.snake.activation import SnakeBeta
from vdecoder.snake.alias_free import AliasFreeActivation1d

__all__ = ["SnakeHiFiGANGenerator", "snake_alias"]


def snake_alias(channels: int) -> AliasFreeActivation1d:
    """so-vits-svc's ``SnakeAlias``: log-scale SnakeBeta inside 2x up / 2x down, 12-tap Kaiser sinc filters."""
    return AliasFreeActivation1d(SnakeBeta(channels, alpha_logscale=True), 2, 2, 12, 12)


class SnakeHiFiGANGenerator(NSFHiFiGANGenerator):
    """NSF-HiFiGAN whose activations are anti-aliased SnakeBeta: [B, C, T] (+ f0, g) -> [B, 1, T_wav]."""

    up_activation_attr = "snakes"
    post_activation_attr = "snake_post"

    def make_up_activation(self, channels: int) -> nn.Module:
        """Anti-aliased Snake before each upsampling layer."""
        return snake_alias(channels)

    def make_post_activation(self, channels: int) -> nn.Module:
        """Anti-aliased Snake before conv_post."""
        return snake_alias(channels)

    def resblock_activation(self) -> ActivationFactory:
        """Anti-aliased Snake inside the residual blocks."""
        return snake_alias
