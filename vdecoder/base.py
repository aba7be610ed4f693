"""Vocoder interface: latent frames + F0 (+ speaker) -> waveform."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Vocoder"]


class Vocoder(nn.Module):
    """A waveform generator conditioned on F0.

    Shapes: B batch, C = ``inter_channels`` latent channels, T frames, G = ``gin_channels``,
    T_wav = T * ``hop_length`` samples at ``sampling_rate``.

    Attributes every implementation sets: ``hop_length`` (samples per frame, the product of the upsample
    rates) and ``sampling_rate`` (Hz, the rate the F0 source assumes).
    """

    hop_length: int
    sampling_rate: int

    def forward(self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """x [B, C, T], f0 [B, T] in Hz (0 = unvoiced), g [B, G, 1] or None -> waveform [B, 1, T_wav] in [-1, 1].

        Random draws (the excitation's phases and noise) come from ``generator`` (None: torch's global RNG)."""
        raise NotImplementedError

    def remove_weight_norm(self) -> None:
        """Fold weight normalisation into plain weights for inference (output changes < 1e-5)."""
        raise NotImplementedError
