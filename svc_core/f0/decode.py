"""Decoding of pitch salience maps (RMVPE, FCPE, CREPE style: one bin per 20 cents) into Hz, vectorised."""

from __future__ import annotations

import torch

#: Cents (relative to 10 Hz) of bin 0 of the CREPE/RMVPE 360-bin grid; bin i is at 20*i + this.
CENTS_BIN0 = 1997.3794084376191
N_BINS = 360


def cents_table(n_bins: int = N_BINS, step: float = 20.0, offset: float = CENTS_BIN0) -> torch.Tensor:
    """Cents relative to 10 Hz of each salience bin [n_bins]."""
    return torch.arange(n_bins, dtype=torch.float64).mul(step).add(offset).float()


def cents_to_hz(cents: torch.Tensor) -> torch.Tensor:
    """Cents relative to 10 Hz -> Hz (same shape)."""
    return 10.0 * torch.pow(2.0, cents / 1200.0)


def local_average_decode(
    salience: torch.Tensor, cents: torch.Tensor, threshold: float, *, radius: int = 4
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decode salience [B, T, N] with bin cents [N] to (f0 Hz [B, T], voiced bool [B, T], confidence [B, T]).

    Takes the argmax bin c of each frame and the salience-weighted mean of the cents of bins c-radius..c+radius
    (clipped to the grid). A frame is voiced when its maximum salience is above ``threshold``; f0 is 0 elsewhere.
    """
    if salience.dim() != 3:
        raise ValueError(f"salience must be [B, T, N], got shape {tuple(salience.shape)}")
    n = salience.shape[-1]
    if cents.shape[-1] != n:
        raise ValueError(f"cents table has {cents.shape[-1]} bins, salience has {n}")
    sal = salience.float()
    conf, idx = sal.max(dim=-1)
    offsets = torch.arange(-radius, radius + 1, device=sal.device)
    win = (idx.unsqueeze(-1) + offsets).clamp(0, n - 1)  # [B, T, 2r+1]
    w = torch.gather(sal, -1, win)
    c = cents.to(sal.device, torch.float32)[win]
    denom = w.sum(-1)
    avg = torch.where(denom > 0, (w * c).sum(-1) / denom.clamp_min(1e-12), c[..., radius])
    voiced = conf > threshold
    f0 = torch.where(voiced, cents_to_hz(avg), torch.zeros_like(avg))
    return f0, voiced, conf
