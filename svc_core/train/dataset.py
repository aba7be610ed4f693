"""Training data: clips from the feature cache as tensors, padded batches, and the length-bucketed epoch order.

Order (after so-vits-svc's ``data_utils.DistributedBucketSampler``, re-designed): clips are grouped by length
into buckets; each epoch (seeded by ``seed`` and the epoch) the bucket order and the order inside each bucket are
shuffled and concatenated. Global batches are consecutive runs of that order; rank r takes ``batch[r::world]``.
Unlike so-vits-svc nothing is repeated to pad buckets, so every clip is used exactly once per epoch across all
ranks, and because the order does not depend on the number of processes, training resumes from "samples consumed
in this epoch" with any number of processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from svc_core.errors import SvcError
from svc_core.train.cache import load_clip_features
from svc_core.voices.config import VoiceConfig

__all__ = ["Batch", "ClipDataset", "collate", "epoch_order", "global_batches", "rank_share"]


@dataclass
class Batch:
    """Padded batch: c [B, D, T], f0/uv/vol [B, T], spec [B, F, T], wav [B, 1, T*hop], lengths [B], spk [B]."""

    c: torch.Tensor
    f0: torch.Tensor
    uv: torch.Tensor
    spec: torch.Tensor
    wav: torch.Tensor
    lengths: torch.Tensor
    spk: torch.Tensor
    vol: torch.Tensor | None

    @property
    def size(self) -> int:
        """B."""
        return int(self.lengths.shape[0])

    def to(self, device: torch.device) -> Batch:
        """A copy on ``device``."""
        return Batch(*(None if t is None else t.to(device, non_blocking=True) for t in (
            self.c, self.f0, self.uv, self.spec, self.wav, self.lengths, self.spk, self.vol)))


class ClipDataset:
    """Cached clips of a dataset folder; ``item(i, rng)`` crops to ``max_frames`` at a random start."""

    def __init__(self, dataset: Path, files: Sequence[str], cfg: VoiceConfig, frames: dict[str, int],
                 speakers: dict[str, str], max_frames: int | None = None) -> None:
        self.dataset = Path(dataset)
        self.cfg = cfg
        self.hop = cfg.data.hop_length
        seg = cfg.train.segment_size // self.hop
        self.min_frames = seg
        self.files = [f for f in files if frames.get(f, 0) >= seg]
        if not self.files:
            raise SvcError(f"{dataset}: no clip is longer than the training segment ({cfg.train.segment_size} "
                           "samples); lower train.segment_size in config.json")
        self.max_frames = max(seg, int(max_frames)) if max_frames else None
        self.lengths = [min(frames[f], self.max_frames or frames[f]) for f in self.files]
        self.speaker_ids = [cfg.spk[speakers[f]] for f in self.files]

    def __len__(self) -> int:
        return len(self.files)

    def item(self, i: int, rng: np.random.Generator | None = None) -> dict[str, torch.Tensor]:
        """Tensors of clip ``i``: c [D, T], f0/uv/vol [T], spec [F, T], wav [T*hop], spk []."""
        from svc_core.audio import read_audio
        from svc_core.features import stretch_units

        f = self.files[i]
        z = load_clip_features(self.dataset, f)
        n = int(z["f0"].shape[0])
        wav = read_audio(self.dataset / f).mono()
        n = min(n, z["spec"].shape[1], wav.shape[0] // self.hop)
        c = stretch_units(torch.from_numpy(z["units"]).transpose(0, 1), n, self.cfg.data.unit_interpolate_mode)
        start = 0
        if self.max_frames and n > self.max_frames:
            start = int((rng or np.random.default_rng(0)).integers(0, n - self.max_frames + 1))
            n = self.max_frames
        sl = slice(start, start + n)
        return {
            "c": c[:, sl].float(), "f0": torch.from_numpy(z["f0"][sl]), "uv": torch.from_numpy(z["uv"][sl]),
            "vol": torch.from_numpy(z["vol"][sl]), "spec": torch.from_numpy(z["spec"][:, sl]),
            "wav": torch.from_numpy(np.ascontiguousarray(wav[start * self.hop:(start + n) * self.hop])),
            "spk": torch.tensor(self.speaker_ids[i], dtype=torch.long),
        }


def collate(items: Sequence[dict[str, torch.Tensor]], hop: int, vol: bool) -> Batch:
    """Zero-pad a list of items to the longest into a :class:`Batch`."""
    b = len(items)
    t = max(int(it["f0"].shape[0]) for it in items)
    d, fbins = int(items[0]["c"].shape[0]), int(items[0]["spec"].shape[0])
    c = torch.zeros(b, d, t)
    f0, uv, vv = torch.zeros(b, t), torch.zeros(b, t), torch.zeros(b, t)
    spec = torch.zeros(b, fbins, t)
    wav = torch.zeros(b, 1, t * hop)
    lengths = torch.zeros(b, dtype=torch.long)
    for k, it in enumerate(items):
        n = int(it["f0"].shape[0])
        c[k, :, :n], f0[k, :n], uv[k, :n], vv[k, :n] = it["c"], it["f0"], it["uv"], it["vol"]
        spec[k, :, :n] = it["spec"]
        wav[k, 0, : n * hop] = it["wav"][: n * hop]
        lengths[k] = n
    spk = torch.stack([it["spk"] for it in items])
    return Batch(c, f0, uv, spec, wav, lengths, spk, vv if vol else None)


def epoch_order(lengths: Sequence[int], seed: int, epoch: int, bucket_frames: int = 64) -> list[int]:
    """The epoch's clip order: shuffled buckets of similar length, shuffled inside; independent of batch size."""
    rng = np.random.default_rng([int(seed), int(epoch)])
    keys = np.asarray(lengths, np.int64) // max(1, int(bucket_frames))
    out: list[int] = []
    buckets = np.unique(keys)
    for k in buckets[rng.permutation(len(buckets))]:
        members = np.flatnonzero(keys == k)
        out += members[rng.permutation(len(members))].tolist()
    return out


def global_batches(order: Sequence[int], global_batch: int, world: int) -> list[list[int]]:
    """Consecutive runs of ``global_batch`` clips; a final run shorter than half a batch (or than the number of
    processes) joins the one before it, so every clip is used exactly once, no rank gets an empty batch, and the
    batches do not depend on how the global batch is split into processes and micro-batches."""
    if global_batch < world:
        raise SvcError(f"global batch {global_batch} is smaller than the number of processes {world}")
    runs = [list(order[i:i + global_batch]) for i in range(0, len(order), global_batch)]
    if len(runs) > 1 and len(runs[-1]) < max(world, global_batch // 2):
        last = runs.pop()
        runs[-1] += last
    return runs


def rank_share(batch: Sequence[int], rank: int, world: int) -> list[int]:
    """The part of a global batch that process ``rank`` of ``world`` trains on."""
    return list(batch[rank::world])
