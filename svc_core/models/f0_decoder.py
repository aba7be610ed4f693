"""Automatic F0 predictor of so-vits-svc 4.x (``f0_decoder.*``): predicts the target speaker's log-F0 contour from
content features, the mean-removed source log-F0 and the speaker embedding.

Port of so-vits-svc 4.1-Stable ``models.F0Decoder`` and ``utils.normalize_f0`` (svc-develop-team/so-vits-svc,
AGPL-3.0). Same parameter names and arithmetic.
"""

from __future__ import annotations

import torch
from torch import nn

from svc_core.models.attentions import FFT

__all__ = ["F0Decoder", "hz_to_lf0", "lf0_to_hz", "normalize_f0"]


def hz_to_lf0(f0: torch.Tensor) -> torch.Tensor:
    """so-vits-svc's scaled mel log-F0: 2595*log10(1 + f0/700)/500 (same shape)."""
    return 2595.0 * torch.log10(1.0 + f0 / 700.0) / 500


def lf0_to_hz(lf0: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hz_to_lf0`."""
    return 700 * (torch.pow(10, lf0 * 500 / 2595) - 1)


def normalize_f0(
    lf0: torch.Tensor, x_mask: torch.Tensor, uv: torch.Tensor, random_scale: bool = True
) -> torch.Tensor:
    """Remove the voiced mean per item (and scale by U(0.8, 1.2) when ``random_scale``): lf0 [B, 1, T], uv [B, T]."""
    uv_sum = torch.sum(uv, dim=1, keepdim=True)
    uv_sum = torch.where(uv_sum == 0, torch.full_like(uv_sum, 9999), uv_sum)
    means = torch.sum(lf0[:, 0, :] * uv, dim=1, keepdim=True) / uv_sum
    if random_scale:
        factor = torch.empty(lf0.shape[0], 1).uniform_(0.8, 1.2).to(lf0.device)
    else:
        factor = torch.ones(lf0.shape[0], 1, device=lf0.device)
    f0_norm = (lf0 - means.unsqueeze(-1)) * factor.unsqueeze(-1)
    if torch.isnan(f0_norm).any():
        raise ValueError("F0 normalisation produced NaN (check the f0 and uv inputs)")
    return f0_norm * x_mask


class F0Decoder(nn.Module):
    """Content + normalised log-F0 + speaker -> absolute scaled log-F0 (keys ``prenet``, ``decoder``, ``proj``,
    ``f0_prenet``, ``cond``)."""

    def __init__(
        self,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        spk_channels: int = 0,
    ) -> None:
        super().__init__()
        self.prenet = nn.Conv1d(hidden_channels, hidden_channels, 3, padding=1)
        self.decoder = FFT(hidden_channels, filter_channels, n_heads, n_layers, kernel_size, p_dropout)
        self.proj = nn.Conv1d(hidden_channels, out_channels, 1)
        self.f0_prenet = nn.Conv1d(1, hidden_channels, 3, padding=1)
        self.cond = nn.Conv1d(spk_channels, hidden_channels, 1)

    def forward(
        self, x: torch.Tensor, norm_f0: torch.Tensor, x_mask: torch.Tensor, spk_emb: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x [B, H, T] (detached), norm_f0 [B, 1, T], x_mask [B, 1, T], spk_emb [B, gin, 1 or T] -> [B, 1, T]."""
        x = torch.detach(x)
        if spk_emb is not None:
            x = x + self.cond(spk_emb)
        x = x + self.f0_prenet(norm_f0)
        x = self.prenet(x) * x_mask
        x = self.decoder(x * x_mask, x_mask)
        return self.proj(x) * x_mask
