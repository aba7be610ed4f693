"""One GAN training step (so-vits-svc 4.1 ``train.py`` composition): discriminator update on detached audio, then
generator update with ``gen + fm + c_mel * L1(mel) + c_kl * KL (+ MSE(log-F0) with the F0 decoder)``.

Mixed precision: ``autocast`` in bf16 or fp16 (fp16 with a ``GradScaler``); gradients are unscaled, clipped by
norm, and a step whose gradient norm is NaN/inf is skipped (counted in ``StepResult.skipped``) instead of writing
non-finite values into the weights. A step may run several micro-batches (shards) whose gradients are accumulated
with weights ``n_shard / n_total``, each with its own RNG seed; that is exactly what DDP ranks do, so one process
over the same global batch gives the same update as N processes.

``kl_loss`` is so-vits-svc ``modules/losses.py`` (BSD-3-Clause / VITS, MIT) re-written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from svc_core.train.dataset import Batch
from vdecoder.losses import discriminator_loss, feature_loss, generator_loss
from vdecoder.mel import mel_spectrogram_torch, spec_to_mel_torch

__all__ = ["Precision", "StepParts", "StepResult", "kl_loss", "pick_precision", "slice_segments", "train_step"]


def kl_loss(z_p: torch.Tensor, logs_q: torch.Tensor, m_p: torch.Tensor, logs_p: torch.Tensor,
            z_mask: torch.Tensor) -> torch.Tensor:
    """KL(q || p) per masked element: z_p, logs_q [B, C, T] from the posterior, m_p, logs_p from the prior."""
    z_p, logs_q, m_p, logs_p, z_mask = (t.float() for t in (z_p, logs_q, m_p, logs_p, z_mask))
    kl = logs_p - logs_q - 0.5 + 0.5 * (z_p - m_p) ** 2 * torch.exp(-2.0 * logs_p)
    return torch.sum(kl * z_mask) / torch.sum(z_mask)


def slice_segments(x: torch.Tensor, ids: torch.Tensor, size: int) -> torch.Tensor:
    """x [B, C, T] -> [B, C, size] starting at ids [B]."""
    idx = ids.long().unsqueeze(1) + torch.arange(size, device=x.device).unsqueeze(0)
    return torch.gather(x, 2, idx.unsqueeze(1).expand(x.shape[0], x.shape[1], size))


@dataclass(frozen=True)
class Precision:
    """Autocast dtype (None = float32) and whether a grad scaler is used."""

    dtype: torch.dtype | None
    scaler: bool

    @property
    def name(self) -> str:
        """fp32, bf16 or fp16."""
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]


def pick_precision(name: str, device: torch.device) -> Precision:
    """``auto``: bf16 on CUDA where supported, else fp16 + scaler; float32 elsewhere. Or fp32 / bf16 / fp16."""
    name = (name or "auto").lower()
    if name == "auto":
        if device.type != "cuda":
            return Precision(None, False)
        name = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if name == "fp32":
        return Precision(None, False)
    if name == "bf16":
        return Precision(torch.bfloat16, False)
    if name == "fp16":
        return Precision(torch.float16, True)
    raise ValueError(f"unknown precision {name!r}: use auto, fp32, bf16 or fp16")


@dataclass
class StepParts:
    """What a step needs: networks (maybe DDP-wrapped), optimizers, scaler, config values."""

    net_g: nn.Module
    net_d: nn.Module
    optim_g: torch.optim.Optimizer
    optim_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    precision: Precision
    device: torch.device
    hop: int
    segment_size: int
    mel: dict[str, Any]
    c_mel: float
    c_kl: float
    grad_clip: float | None
    use_f0_loss: bool


@dataclass
class StepResult:
    """Losses (floats), gradient norms, and whether the update was skipped for non-finite gradients."""

    losses: dict[str, float] = field(default_factory=dict)
    grad_norm_g: float = 0.0
    grad_norm_d: float = 0.0
    skipped: bool = False


def _autocast(p: StepParts) -> contextlib.AbstractContextManager[Any]:
    if p.precision.dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(p.device.type, dtype=p.precision.dtype)


def _unwrap(m: nn.Module) -> nn.Module:
    return m.module if hasattr(m, "module") else m


def _generator_pass(p: StepParts, b: Batch) -> dict[str, Any]:
    with _autocast(p):
        y_hat, ids, z_mask, (_, z_p, m_p, logs_p, _, logs_q), pred_lf0, _, lf0 = p.net_g(
            b.c, b.f0, b.uv, b.spec, g=b.spk, c_lengths=b.lengths, spec_lengths=b.lengths, vol=b.vol)
    m = p.mel
    frames = p.segment_size // p.hop
    mel = spec_to_mel_torch(b.spec, m["n_fft"], m["n_mels"], m["sr"], m["fmin"], m["fmax"])
    y_mel = slice_segments(mel, ids, frames)
    y_hat_mel = mel_spectrogram_torch(y_hat.squeeze(1).float(), m["n_fft"], m["n_mels"], m["sr"], p.hop,
                                      m["win"], m["fmin"], m["fmax"])
    y = slice_segments(b.wav, ids * p.hop, p.segment_size)
    return {"y": y, "y_hat": y_hat, "y_mel": y_mel, "y_hat_mel": y_hat_mel, "z_p": z_p, "m_p": m_p,
            "logs_p": logs_p, "logs_q": logs_q, "z_mask": z_mask, "pred_lf0": pred_lf0, "lf0": lf0}


def _clip(params: list[torch.Tensor], max_norm: float | None) -> float:
    grads = [q for q in params if q.grad is not None]
    if not grads:
        return 0.0
    if max_norm:
        return float(torch.nn.utils.clip_grad_norm_(grads, max_norm))
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(q.grad.float()) for q in grads])))


def _generator_update(p: StepParts, disc: nn.Module, o: dict[str, Any], w: float, acc: dict[str, float]) -> None:
    """G loss of one shard (so-vits-svc's terms) and its backward; the real audio through D without a graph."""
    fake, fmap_r, fmap_g = [], [], []
    with _autocast(p):
        for d in disc.discriminators:
            with torch.no_grad():
                fmap_r.append(d(o["y"])[1])
            logits, fm = d(o["y_hat"])
            fake.append(logits)
            fmap_g.append(fm)
    terms = {
        "g/mel": F.l1_loss(o["y_mel"], o["y_hat_mel"]) * p.c_mel,
        "g/kl": kl_loss(o["z_p"], o["logs_q"], o["m_p"], o["logs_p"], o["z_mask"]) * p.c_kl,
        "g/fm": feature_loss(fmap_r, fmap_g),
        "g/gen": generator_loss(fake)[0],
    }
    if p.use_f0_loss:
        terms["g/lf0"] = F.mse_loss(o["pred_lf0"].float(), o["lf0"].float())
    loss_g = sum(terms.values())
    p.scaler.scale(loss_g * w).backward()
    for k, v in {**terms, "g/total": loss_g}.items():
        acc[k] = acc.get(k, 0.0) + float(v.detach()) * w


def train_step(p: StepParts, shards: Sequence[Batch], seeds: Sequence[int], rank_weight: float = 1.0) -> StepResult:
    """One D then G update over ``shards`` (micro-batches, each seeded); returns losses and whether it was skipped.

    ``rank_weight`` = (this rank's clips x world) / global batch, so DDP's mean over ranks weighs every clip alike.
    """
    total = sum(b.size for b in shards)
    weights = [b.size / total * rank_weight for b in shards]
    outs = []
    for b, seed in zip(shards, seeds, strict=True):
        torch.manual_seed(int(seed))
        outs.append(_generator_pass(p, b))
    res = StepResult()
    acc: dict[str, float] = {}

    p.optim_d.zero_grad(set_to_none=True)
    for o, w in zip(outs, weights, strict=True):
        with _autocast(p):
            real, fake, _, _ = p.net_d(o["y"], o["y_hat"].detach())
        loss_d, _, _ = discriminator_loss(real, fake)
        p.scaler.scale(loss_d * w).backward()
        acc["d/total"] = acc.get("d/total", 0.0) + float(loss_d.detach()) * w
    p.scaler.unscale_(p.optim_d)
    res.grad_norm_d = _clip(list(p.net_d.parameters()), p.grad_clip)
    d_ok = torch.isfinite(torch.tensor(res.grad_norm_d)).item()
    if d_ok:
        p.scaler.step(p.optim_d)

    p.optim_g.zero_grad(set_to_none=True)
    # The G loss needs gradients through D to y_hat, not D's own weight gradients (so-vits-svc computes and then
    # discards them), and the real branch needs no graph at all: less memory and compute, the same G update.
    disc = _unwrap(p.net_d)
    disc.requires_grad_(False)
    try:
        for o, w in zip(outs, weights, strict=True):
            _generator_update(p, disc, o, w, acc)
    finally:
        disc.requires_grad_(True)
    p.scaler.unscale_(p.optim_g)

    res.grad_norm_g = _clip(list(p.net_g.parameters()), p.grad_clip)
    g_ok = torch.isfinite(torch.tensor(res.grad_norm_g)).item()
    if g_ok:
        p.scaler.step(p.optim_g)
    p.scaler.update()
    res.skipped = not (d_ok and g_ok)
    res.losses = acc
    return res
