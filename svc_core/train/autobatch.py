"""``--batch-size auto``: the largest batch whose training step fits the device's memory.

On CUDA, batch sizes 1, 2, 4, ... are tried with real steps on the longest training clips until one runs out of
memory (or the dataset is used up); the largest that ran, less one step of the ladder for headroom above 4, wins.
Networks and optimizers are throw-away copies, so trials leave the run untouched. Off CUDA memory is not the
limit: the config's batch size is used, capped by the number of clips.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from svc_core.train.dataset import ClipDataset, collate
from svc_core.train.step import Precision
from svc_core.voices.config import VoiceConfig

__all__ = ["find_batch_size"]

LADDER = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


def _fits(cfg: VoiceConfig, data: ClipDataset, device: torch.device, precision: Precision, n: int) -> bool:
    from svc_core.train.build import build_networks, build_optimizers
    from svc_core.train.loop import _mel_cfg
    from svc_core.train.step import StepParts, train_step

    longest = sorted(range(len(data)), key=lambda i: -data.lengths[i])
    idx = [longest[k % len(longest)] for k in range(n)]
    g = d = parts = None
    try:
        g, d = build_networks(cfg, device)
        og, od, _, _ = build_optimizers(cfg, g, d)
        scaler = torch.amp.GradScaler(device.type, enabled=precision.scaler)
        parts = StepParts(g, d, og, od, scaler, precision, device, cfg.data.hop_length, cfg.train.segment_size,
                          _mel_cfg(cfg), float(cfg.train.c_mel), float(cfg.train.c_kl), None,
                          bool(cfg.model.use_automatic_f0_prediction))
        b = collate([data.item(i) for i in idx], cfg.data.hop_length, cfg.model.vol_embedding).to(device)
        train_step(parts, [b], [0])
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return True
    except torch.OutOfMemoryError:
        return False
    finally:
        del g, d, parts
        if device.type == "cuda":
            torch.cuda.empty_cache()


def find_batch_size(cfg: VoiceConfig, data: ClipDataset, device: torch.device, precision: Precision,
                    fits: Callable[[int], bool] | None = None) -> int:
    """The batch size to train with on ``device`` (see the module docstring); ``fits(n)`` replaces the trial step
    (tests)."""
    if device.type != "cuda" and fits is None:
        return max(1, min(int(cfg.train.batch_size), len(data)))
    trial = fits or (lambda n: _fits(cfg, data, device, precision, n))
    best = 0
    for n in LADDER:
        if n > len(data) and best:
            break
        if not trial(n):
            break
        best = n
    if best == 0:
        from svc_core.errors import SvcError

        raise SvcError(f"out of memory on {device} even at batch size 1 (segment {cfg.train.segment_size} samples, "
                       f"max_speclen {cfg.train.max_speclen}): use a smaller preset or --precision bf16/fp16")
    i = LADDER.index(best)
    return LADDER[i - 1] if best > 4 else best
