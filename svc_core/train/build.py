"""Networks and optimizers of a training run from the config, and warm start from a pretrained G/D pair
(so-vits-svc base models ``G_0.pth`` / ``D_0.pth``: tensors whose name and shape fit are copied, the rest named)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from svc_core.errors import SvcError
from svc_core.voices.config import VoiceConfig

__all__ = ["build_networks", "build_optimizers", "warm_start"]

log = logging.getLogger(__name__)


def build_networks(cfg: VoiceConfig, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """(generator with posterior encoder, multi-period discriminator) on ``device``, in train mode."""
    from svc_core.models.synthesizer import SynthesizerTrn
    from vdecoder.discriminators import MultiPeriodDiscriminator

    try:
        g = SynthesizerTrn(cfg.data.filter_length // 2 + 1, cfg.train.segment_size // cfg.data.hop_length,
                           **cfg.model.synthesizer_kwargs())
        d = MultiPeriodDiscriminator(cfg.model.use_spectral_norm,
                                     width_div=int(cfg.train.extra.get("disc_width_div", 1)))
    except ValueError as e:
        raise SvcError(f"config.json: cannot build the networks: {e}") from None
    return g.to(device).train(), d.to(device).train()


def build_optimizers(cfg: VoiceConfig, g: nn.Module, d: nn.Module) -> tuple[torch.optim.Optimizer, ...]:
    """AdamW for G and D and their exponential LR decay (so-vits-svc: gamma = lr_decay per epoch)."""
    t = cfg.train
    opts = [torch.optim.AdamW(m.parameters(), t.learning_rate, betas=tuple(t.betas), eps=t.eps) for m in (g, d)]
    scheds = [torch.optim.lr_scheduler.ExponentialLR(o, gamma=t.lr_decay) for o in opts]
    return opts[0], opts[1], scheds[0], scheds[1]


def warm_start(module: nn.Module, path: Path, what: str) -> list[str]:
    """Copy the fitting tensors of ``path``'s ``model`` into ``module``; returns notes on what did not fit."""
    from vencoder.safe_load import load_torch_file

    obj = load_torch_file(path)
    sd = obj.get("model") if isinstance(obj, dict) else None
    if not isinstance(sd, dict):
        raise SvcError(f"{path}: not a so-vits-svc {what} checkpoint (no 'model' state dict)")
    own = module.state_dict()
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    fit = {k: v for k, v in sd.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    if len(fit) < 0.5 * len(own):
        raise SvcError(f"{path}: only {len(fit)} of {len(own)} {what} tensors fit this config (a base model for "
                       "another encoder or preset?)")
    own.update({k: v.to(own[k].dtype) for k, v in fit.items()})
    module.load_state_dict(own)
    skipped = sorted(k for k in own if k not in fit)
    notes = [f"warm start {what} from {path.name}: {len(fit)} tensors loaded"]
    if skipped:
        notes.append(f"  {len(skipped)} kept fresh (no fitting tensor): {', '.join(skipped[:6])}"
                     + (" ..." if len(skipped) > 6 else ""))
    for n in notes:
        log.info("%s", n)
    return notes
