"""Validation during training: mel L1 of the validation clips through the conversion path (``infer``: prior, flow,
decoder; fixed seed) and through the posterior path (reconstruction), plus rendered samples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from svc_core.train.dataset import ClipDataset, collate
from vdecoder.mel import mel_spectrogram_torch, spec_to_mel_torch

__all__ = ["Validation", "validate"]


@dataclass
class Validation:
    """Mean mel L1 (log-mel, not multiplied by c_mel) over the validation clips, and the rendered audio."""

    mel: float
    mel_recon: float
    samples: dict[str, np.ndarray] = field(default_factory=dict)


@torch.no_grad()
def validate(net_g: nn.Module, data: ClipDataset, mel_cfg: dict, device: torch.device, n_samples: int = 2,
             seed: int = 1234) -> Validation:
    """Run every validation clip (one at a time) and return the mean losses; restores train mode after."""
    g = net_g.module if hasattr(net_g, "module") else net_g
    was_training = g.training
    g.eval()
    rng_state = torch.get_rng_state()
    m = mel_cfg
    hop = data.hop
    mel_inf, mel_rec, samples = [], [], {}
    try:
        for i in range(len(data)):
            b = collate([data.item(i)], hop, g.vol_embedding).to(device)
            target = spec_to_mel_torch(b.spec, m["n_fft"], m["n_mels"], m["sr"], m["fmin"], m["fmax"])
            y, _ = g.infer(b.c, b.f0, b.uv, g=b.spk, noice_scale=0.35, seed=seed, vol=b.vol)
            y = y[:, 0].float()
            torch.manual_seed(seed)
            gemb = g.speaker_embedding(b.spk, batch=1)
            z, _, _, mask = g.enc_q(b.spec, b.lengths, g=gemb)
            y_rec = g.dec(z * mask, b.f0, gemb)[:, 0].float()
            for out, acc in ((y, mel_inf), (y_rec, mel_rec)):
                mel = mel_spectrogram_torch(out, m["n_fft"], m["n_mels"], m["sr"], hop, m["win"], m["fmin"], m["fmax"])
                n = min(mel.shape[-1], target.shape[-1])
                acc.append(float(F.l1_loss(mel[..., :n], target[..., :n])))
            if i < n_samples:
                samples[data.files[i]] = y[0].cpu().numpy()
    finally:
        torch.set_rng_state(rng_state)
        g.train(was_training)
    return Validation(float(np.mean(mel_inf)), float(np.mean(mel_rec)), samples)
