"""F0 (pitch) extraction: one interface over fcpe, crepe, rmvpe, harvest, dio and a Praat-style tracker,
plus shared post-processing and a pitch report. Extractor modules are imported when first asked for."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from svc_core.errors import SvcError
from svc_core.f0.base import F0Extractor

if TYPE_CHECKING:
    import torch

__all__ = ["DEFAULT_EXTRACTOR", "EXTRACTOR_NAMES", "F0Extractor", "get_extractor", "release_models"]

#: Every extractor name accepted by :func:`get_extractor` ("crepe" is crepe-full).
EXTRACTOR_NAMES: tuple[str, ...] = ("fcpe", "crepe", "crepe-full", "crepe-tiny", "rmvpe", "harvest", "dio", "pm")
#: Chosen from benchmarks/f0_bench.py: best accuracy on the corpus at RTF well under 0.05 on CPU, no user weights.
DEFAULT_EXTRACTOR = "fcpe"


def release_models() -> None:
    """Drop the cached F0 networks (FCPE, RMVPE) so their memory can be freed; the next use loads them again."""
    import sys

    for name in ("svc_core.f0.fcpe", "svc_core.f0.rmvpe"):
        mod = sys.modules.get(name)
        if mod is not None:
            mod.release_models()


def get_extractor(
    name: str,
    *,
    device: str | torch.device | None = None,
    weights_dir: str | os.PathLike[str] | None = None,
    voice_dir: str | os.PathLike[str] | None = None,
    rmvpe_path: str | os.PathLike[str] | None = None,
) -> F0Extractor:
    """Build the extractor called ``name`` (see EXTRACTOR_NAMES) on ``device`` (None/"auto" picks one)."""
    key = (name or "").strip().lower()
    if key not in EXTRACTOR_NAMES:
        raise SvcError(f"unknown F0 extractor {name!r}; choose one of: {', '.join(EXTRACTOR_NAMES)}")
    if key in ("harvest", "dio"):
        from svc_core.f0.world import WorldExtractor

        return WorldExtractor(key)
    if key == "pm":
        from svc_core.f0.pm import PraatAcExtractor

        return PraatAcExtractor()
    import torch

    from svc_core.device import pick_device

    dev = device if isinstance(device, torch.device) else pick_device(device)
    if key == "fcpe":
        from svc_core.f0.fcpe import FcpeExtractor

        return FcpeExtractor(dev)
    if key in ("crepe", "crepe-full", "crepe-tiny"):
        from svc_core.f0.crepe import CrepeExtractor

        return CrepeExtractor("tiny" if key == "crepe-tiny" else "full", dev)
    from svc_core.f0.rmvpe import RmvpeExtractor

    return RmvpeExtractor(rmvpe_path, dev, voice_dir=voice_dir, weights_dir=weights_dir)
