"""The size of the network a config.json asks for, known before anything is allocated: the synthesizer is built on
torch's ``meta`` device (shapes only, no memory), counted, and checked against what is plausible and against the
checkpoint. A config asking for a huge network is refused with its size instead of an allocation of many GB."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import torch

from svc_core.voices.config import ConfigError

__all__ = ["MAX_PARAMETERS", "build_on_meta", "check_plausible_size", "memory_error", "not_enough_memory",
           "parameter_count"]

#: so-vits-svc 4.1's default network has 52.3 M parameters (4.0: 45.1 M); 20x that is not a voice.
MAX_PARAMETERS = 1_000_000_000

M = TypeVar("M", bound=torch.nn.Module)


def build_on_meta(build: Callable[[], M]) -> M:
    """``build()`` with every tensor on the meta device (no memory is allocated)."""
    with torch.device("meta"):
        return build()


def parameter_count(model: torch.nn.Module) -> int:
    """Elements in the model's state dict (parameters and buffers)."""
    return sum(int(t.numel()) for t in model.state_dict().values())


def _fmt(n: int) -> str:
    return f"{n / 1e6:.1f} M parameters ({4 * n / 2**30:.1f} GiB as float32)"


def check_plausible_size(meta_model: torch.nn.Module, sd: Mapping[str, torch.Tensor], config_path: Path) -> int:
    """Raise ConfigError when the configured network is implausibly large; return its parameter count."""
    n = parameter_count(meta_model)
    if n > MAX_PARAMETERS:
        held = sum(int(t.numel()) for t in sd.values())
        raise ConfigError(f"{config_path}: the model section asks for a network of {_fmt(n)}; so-vits-svc voices have "
                          f"about 45-60 M and the checkpoint holds {held / 1e6:.1f} M, so this config does not belong "
                          f"to it (over the limit of {MAX_PARAMETERS / 1e6:.0f} M; check hidden_channels, "
                          "filter_channels, upsample_initial_channel, n_layers)")
    return n


def memory_error(e: BaseException) -> bool:
    """True for an allocation failure (MemoryError, torch's OutOfMemoryError, or its CPU allocator's message)."""
    if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
        return True
    return isinstance(e, RuntimeError) and ("can't allocate memory" in str(e) or "out of memory" in str(e).lower())


def not_enough_memory(folder: Path, n_params: int, device: object, e: BaseException) -> str:
    """The message for a voice that does not fit in memory."""
    return (f"{folder}: not enough memory to load the voice: its network has {_fmt(n_params)} on {device} "
            f"({' '.join(str(e).split())[:200]})")
