"""One-line descriptions of the compute device and the runtime versions (for status bars and About boxes)."""

from __future__ import annotations

import platform
from dataclasses import dataclass

from svc_core import __version__


@dataclass(frozen=True)
class DeviceInfo:
    """The device a preference resolves to: ``kind`` (cuda/mps/cpu), a display name and memory figures."""

    kind: str
    name: str
    memory_used_gib: float | None = None
    memory_total_gib: float | None = None

    def describe(self) -> str:
        """Short text such as ``CUDA: NVIDIA H200 - 1.2 / 139.8 GiB`` or ``CPU (2 threads)``."""
        if self.memory_total_gib is not None and self.memory_used_gib is not None:
            return f"{self.name} - {self.memory_used_gib:.1f} / {self.memory_total_gib:.1f} GiB"
        return self.name


def device_info(preference: str | None = None) -> DeviceInfo:
    """Resolve ``preference`` (auto/cpu/cuda[:N]/mps) and describe it; raises SvcError for an unusable choice."""
    import torch

    from svc_core.device import pick_device

    dev = pick_device(preference)
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        used = torch.cuda.memory_allocated(idx) / 2**30
        return DeviceInfo("cuda", f"CUDA: {props.name}", used, props.total_memory / 2**30)
    if dev.type == "mps":
        return DeviceInfo("mps", "MPS (Apple GPU)")
    return DeviceInfo("cpu", f"CPU ({torch.get_num_threads()} threads)")


def runtime_versions() -> dict[str, str]:
    """Versions shown in the About box: app, Python, torch, CUDA (or 'none')."""
    import torch

    return {
        "SVC Studio": __version__,
        "Python": platform.python_version(),
        "torch": torch.__version__,
        "CUDA": torch.version.cuda or "none",
        "platform": platform.platform(),
    }
