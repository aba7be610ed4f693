"""Choice of compute device: cuda, else mps, else cpu; overridable everywhere ($SVC_STUDIO_DEVICE names what
"auto" means, e.g. ``cpu`` to keep a GPU machine's runs on the CPU; the test suite sets it)."""

from __future__ import annotations

import os

import torch

from svc_core.errors import SvcError


def pick_device(preference: str | None = None) -> torch.device:
    """Return the device named by ``preference`` ("auto"/None picks cuda > mps > cpu)."""
    pref = (preference or "auto").strip().lower()
    if pref == "auto" and os.environ.get("SVC_STUDIO_DEVICE", "").strip():
        preference = os.environ["SVC_STUDIO_DEVICE"].strip()
        pref = preference.lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(pref)
    except RuntimeError as e:
        raise SvcError(f"unknown device {preference!r}: use auto, cpu, cuda, cuda:N or mps") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SvcError(f"device {preference!r} requested but CUDA is not available on this machine")
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise SvcError(f"device {preference!r} requested but MPS is not available on this machine")
    return dev
