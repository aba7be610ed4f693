"""``svc-studio doctor``: versions, compute device and which pretrained weights are found."""

from __future__ import annotations

import importlib.metadata as md
import platform
from typing import TextIO

PACKAGES = (
    "torch", "torchaudio", "numpy", "soundfile", "soxr", "pyworld", "torchfcpe", "torchcrepe",
    "faiss-cpu", "transformers", "sounddevice", "PySide6-Essentials",
)


def package_versions() -> dict[str, str | None]:
    """Installed version of each runtime dependency (None when missing)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def run_doctor(*, weights_dir: str | None, out: TextIO) -> int:
    """Print a health report; return 0 when every runtime dependency is installed, else 1."""
    from svc_core import __version__
    from svc_core.device import pick_device
    from svc_core.weights import KNOWN_WEIGHTS, list_found, search_dirs

    out.write(f"svc-studio {__version__}\n")
    out.write(f"python {platform.python_version()} on {platform.platform()}\n\nPackages:\n")
    versions = package_versions()
    for name, ver in versions.items():
        out.write(f"  {name:20s} {ver or 'MISSING'}\n")
    ok = all(versions.values())
    tv, tav = versions.get("torch"), versions.get("torchaudio")
    if tv and tav and tv.split("+")[0].rsplit(".", 1)[0] != tav.split("+")[0].rsplit(".", 1)[0]:
        out.write(f"  WARNING: torch {tv} and torchaudio {tav} are different releases\n")
        ok = False
    from svc_core.install_check import check_install, format_failures

    checks = check_install()
    out.write("\nLoads:\n" + "".join(
        f"  {r.name:20s} {'ok' if r.ok else 'FAILED'}  ({r.distribution} {r.version or 'not installed'})\n"
        for r in checks))
    if not all(r.ok for r in checks):
        out.write("\n" + format_failures(checks) + "\n")
        ok = False
    try:
        import torch

        dev = pick_device("auto")
        out.write(f"\nDevice: {dev}")
        if dev.type == "cuda":
            out.write(f" ({torch.cuda.get_device_name(dev)})")
        out.write(f"; CPU threads: {torch.get_num_threads()}\n")
    except (ImportError, OSError) as e:
        out.write(f"\nDevice: torch cannot be imported ({e})\n")
        ok = False
    out.write("\nWeights search path:\n")
    for d in search_dirs(weights_dir=weights_dir):
        out.write(f"  {d}{'' if d.is_dir() else '  (absent)'}\n")
    out.write("\nPretrained weights:\n")
    for key, path in list_found(weights_dir=weights_dir).items():
        spec = KNOWN_WEIGHTS[key]
        out.write(f"  {spec.description:45s} {path if path else 'not found (' + spec.filenames[0] + ')'}\n")
    out.write("  torchfcpe / torchcrepe weights ship inside their packages (work offline)\n")
    return 0 if ok else 1
