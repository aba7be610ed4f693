"""Multi-process training under ``torchrun``: process group from the environment (NCCL on GPUs, gloo on CPU),
DistributedDataParallel wrapping, and the few collectives the loop needs. One process = no-ops."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["Dist", "init_from_env"]


@dataclass
class Dist:
    """This process's rank, the world size and its local device index."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Only rank 0 writes checkpoints, logs and samples."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True under a process group of more than one process."""
        return self.world > 1

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """DDP-wrap ``module`` when distributed (parameters broadcast from rank 0)."""
        if not self.active:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.active:
            torch.distributed.barrier()

    def all_true(self, flag: bool) -> bool:
        """True only when ``flag`` is true on every rank (e.g. 'stop now')."""
        if not self.active:
            return flag
        t = torch.tensor([0 if flag else 1], dtype=torch.int64)
        if torch.distributed.get_backend() == "nccl":
            t = t.cuda()
        torch.distributed.all_reduce(t)
        return int(t.item()) == 0

    def any_true(self, flag: bool) -> bool:
        """True when ``flag`` is true on some rank."""
        return not self.all_true(not flag)

    def close(self) -> None:
        """Destroy the process group."""
        if self.active and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def init_from_env(device_pref: str | None) -> tuple[Dist, torch.device]:
    """Read RANK / WORLD_SIZE / LOCAL_RANK (torchrun), start the process group, pick this rank's device."""
    from svc_core.device import pick_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), pick_device(device_pref)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device_pref)
    if dev.type == "cuda":
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend, rank=rank, world_size=world)
    return Dist(rank, world, local), dev
