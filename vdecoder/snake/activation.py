"""Snake activation with separate frequency and magnitude parameters (SnakeBeta).

Port of ``SnakeBeta`` from BigVGAN (NVIDIA/BigVGAN ``activations.py``, MIT licence) as used by so-vits-svc
(``vdecoder/hifiganwithsnake/alias/act.py``, BSD-3-Clause): snake(x) = x + 1/beta * sin(alpha * x)^2, with
per-channel alpha and beta (stored as logs when ``alpha_logscale``). Parameter names ``alpha``/``beta``.

Shapes: B batch, C channels, T time.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SnakeBeta"]


class SnakeBeta(nn.Module):
    """x + 1 / (beta + 1e-9) * sin(alpha * x)^2 per channel: [B, C, T] -> [B, C, T]."""

    no_div_by_zero = 1e-9

    def __init__(self, channels: int, alpha: float = 1.0, alpha_trainable: bool = True, alpha_logscale: bool = True):
        super().__init__()
        self.channels = int(channels)
        self.alpha_logscale = bool(alpha_logscale)
        init = torch.zeros(channels) if alpha_logscale else torch.ones(channels) * alpha
        self.alpha = nn.Parameter(init.clone(), requires_grad=alpha_trainable)
        self.beta = nn.Parameter(init.clone(), requires_grad=alpha_trainable)

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha, 1 / (beta + 1e-9)) as [C, 1] tensors, after the log-scale exponent if any."""
        alpha, beta = self.alpha, self.beta
        if self.alpha_logscale:
            alpha, beta = torch.exp(alpha), torch.exp(beta)
        return alpha.unsqueeze(-1), (1.0 / (beta + self.no_div_by_zero)).unsqueeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T]; in place on a temporary when autograd is off."""
        alpha, inv_beta = self.coefficients()
        if torch.is_grad_enabled() and (x.requires_grad or self.alpha.requires_grad):
            return x + inv_beta * torch.sin(x * alpha) ** 2
        t = torch.mul(x, alpha).sin_()
        if self.alpha_logscale:  # inv_beta > 0: inv_beta * sin^2 = (sqrt(inv_beta) * sin)^2, one pass fewer
            t.mul_(inv_beta.sqrt())
            return torch.addcmul(x, t, t, out=t)
        return t.square_().mul_(inv_beta).add_(x)
