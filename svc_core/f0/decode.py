"""Decoding of pitch salience maps (RMVPE, FCPE, CREPE style: one bin per 20 cents) into Hz, vectorised."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch

from svc_core.dsp import resample
from svc_core.f0.base import F0Extractor

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


class SalienceExtractor(F0Extractor):
    """F0 from a 16 kHz, 10 ms-hop network that outputs salience over cent bins (RMVPE, FCPE).

    Subclasses give ``salience_with_cents`` and ``frame_offset`` (samples from ``i * hop`` to frame i's centre);
    resampling, local-average decoding and frame times are shared here.
    """

    sample_rate = 16000
    hop = 160
    frame_offset = 0.0
    threshold: float

    @abstractmethod
    def salience_with_cents(self, wav16: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Salience [1, N, n_bins] for 16 kHz audio [T_wav] and the cents of each bin [n_bins]."""

    def extract_native(
        self, wav: np.ndarray, sr: int, f0_min: float, f0_max: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pitch on the network's own 10 ms grid: (frame centres s [N], f0 Hz [N], voiced bool [N])."""
        x = resample(wav, sr, self.sample_rate)
        if x.shape[0] == 0:
            x = np.zeros(1, np.float32)
        sal, cents = self.salience_with_cents(x)
        f0, voiced, _ = local_average_decode(sal, cents, self.threshold)
        f0_np = f0[0].cpu().double().numpy()
        times = (np.arange(f0_np.shape[0]) * self.hop + self.frame_offset) / self.sample_rate
        return times, f0_np, voiced[0].cpu().numpy()
