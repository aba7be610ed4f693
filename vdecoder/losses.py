"""GAN losses of HiFiGAN / so-vits-svc (least squares adversarial, L1 feature matching, L1 mel).

Port of ``feature_loss``, ``discriminator_loss`` and ``generator_loss`` from so-vits-svc 4.1
``modules/losses.py`` (svc-develop-team/so-vits-svc, BSD-3-Clause; from HiFiGAN, MIT). Per-discriminator
terms are returned as detached tensors instead of Python floats (no device sync per term).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["feature_loss", "discriminator_loss", "generator_loss", "mel_l1_loss"]


def feature_loss(fmap_r: Sequence[Sequence[torch.Tensor]], fmap_g: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """2 * sum over discriminators and layers of mean |real - fake| (real detached)."""
    loss = torch.zeros((), device=fmap_g[0][0].device)
    for dr, dg in zip(fmap_r, fmap_g, strict=True):
        for rl, gl in zip(dr, dg, strict=True):
            loss = loss + torch.mean(torch.abs(rl.float().detach() - gl.float()))
    return loss * 2


def discriminator_loss(
    disc_real_outputs: Sequence[torch.Tensor], disc_generated_outputs: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """LSGAN discriminator loss: sum of mean (1 - D(real))^2 + mean D(fake)^2 -> (total, real terms, fake terms)."""
    loss = torch.zeros((), device=disc_real_outputs[0].device)
    r_losses, g_losses = [], []
    for dr, dg in zip(disc_real_outputs, disc_generated_outputs, strict=True):
        r_loss = torch.mean((1 - dr.float()) ** 2)
        g_loss = torch.mean(dg.float() ** 2)
        loss = loss + r_loss + g_loss
        r_losses.append(r_loss.detach())
        g_losses.append(g_loss.detach())
    return loss, r_losses, g_losses


def generator_loss(disc_outputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """LSGAN generator loss: sum of mean (1 - D(fake))^2 -> (total, per-discriminator terms)."""
    loss = torch.zeros((), device=disc_outputs[0].device)
    gen_losses = []
    for dg in disc_outputs:
        term = torch.mean((1 - dg.float()) ** 2)
        gen_losses.append(term)
        loss = loss + term
    return loss, gen_losses


def mel_l1_loss(mel_real: torch.Tensor, mel_fake: torch.Tensor) -> torch.Tensor:
    """L1 between log-mel spectrograms [B, n_mels, frames] (so-vits-svc multiplies it by c_mel = 45)."""
    if mel_real.shape != mel_fake.shape:
        raise ValueError(f"mel_l1_loss: shapes differ {tuple(mel_real.shape)} vs {tuple(mel_fake.shape)}")
    return F.l1_loss(mel_fake, mel_real)
