"""Does the installed stack actually load? Each native dependency is imported and made to run one tiny operation;
a failure names the package, the installed versions and the command that fixes it.

Used by ``svc-studio doctor`` (all checks) and before a conversion (the checks that conversion needs), so a broken
install (e.g. torchaudio built for another torch: ``OSError: Could not load this library``) is reported once, not
as a raw ``OSError`` per file.
"""

from __future__ import annotations

import importlib.metadata as md
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from svc_core.errors import SvcError

__all__ = [
    "CHECK_NAMES", "CheckResult", "InstallError", "check_install", "format_failures", "needed_for_conversion",
    "require_working",
]


class InstallError(SvcError):
    """A dependency is installed but does not load (or is missing)."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: ``error`` is None when the package loaded and ran."""

    name: str  # what is checked: the import name, or "PortAudio" / "libsndfile"
    distribution: str  # the pip distribution that provides it
    version: str | None  # its installed version (None: not installed)
    error: str | None
    fix: str  # the command that fixes it (empty when it works)

    @property
    def ok(self) -> bool:
        """True when it loaded and ran."""
        return self.error is None


def _torch() -> None:
    import torch

    _ = (torch.zeros(2) + 1).sum().item()


def _torchaudio() -> None:
    import torch
    import torchaudio.functional as taf

    taf.resample(torch.zeros(1, 320), 16000, 8000)


def _torchfcpe() -> None:
    import torchfcpe  # noqa: F401 (the import loads torchaudio's library)


def _torchcrepe() -> None:
    import torchcrepe  # noqa: F401


def _faiss() -> None:
    import faiss
    import numpy as np

    index = faiss.IndexFlatL2(2)
    index.add(np.zeros((1, 2), np.float32))


def _soundfile() -> None:
    import soundfile  # raises OSError when libsndfile is missing

    _ = soundfile.__libsndfile_version__


def _portaudio() -> None:
    import sounddevice  # raises OSError when the PortAudio library is missing

    _ = sounddevice.get_portaudio_version()


_SYSTEM_FIX = {
    "libsndfile": "sudo apt install libsndfile1  (macOS: brew install libsndfile; Fedora: sudo dnf install libsndfile)",
    "PortAudio": "sudo apt install libportaudio2  (macOS: brew install portaudio; Fedora: sudo dnf install portaudio)",
}
#: (name shown, distribution, check). Order: what others need comes first.
_CHECKS: tuple[tuple[str, str, Callable[[], None]], ...] = (
    ("torch", "torch", _torch),
    ("torchaudio", "torchaudio", _torchaudio),
    ("torchfcpe", "torchfcpe", _torchfcpe),
    ("torchcrepe", "torchcrepe", _torchcrepe),
    ("faiss", "faiss-cpu", _faiss),
    ("libsndfile", "soundfile", _soundfile),
    ("PortAudio", "sounddevice", _portaudio),
)
CHECK_NAMES: tuple[str, ...] = tuple(c[0] for c in _CHECKS)


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _pinned(dist: str) -> str | None:
    """The requirement svc-studio declares for ``dist`` (e.g. ``torchaudio==2.11.0``), when installed as a package."""
    try:
        reqs = md.requires("svc-studio") or []
    except md.PackageNotFoundError:
        return None
    for req in reqs:
        m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*([^;]*)", req)
        if m and m.group(1).lower().replace("_", "-") == dist.lower() and "extra ==" not in req:
            return (m.group(1) + m.group(2).replace(" ", "")).strip()
    return None


def _fix(name: str, dist: str) -> str:
    if name in _SYSTEM_FIX:
        return _SYSTEM_FIX[name]
    if dist in ("torch", "torchaudio", "torchfcpe", "torchcrepe"):  # torchaudio must match torch exactly
        pins = [_pinned(d) or d for d in ("torch", "torchaudio")]
        return "pip install --force-reinstall --no-cache-dir " + " ".join(f'"{p}"' for p in pins) + (
            f' "{_pinned(dist) or dist}"' if dist not in ("torch", "torchaudio") else "")
    return f'pip install --force-reinstall "{_pinned(dist) or dist}"'


def _run(name: str, dist: str, check: Callable[[], None]) -> CheckResult:
    version = _version(dist)
    try:
        check()
    except Exception as e:  # noqa: BLE001 (any failure to load is the finding: OSError, ImportError, RuntimeError...)
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        return CheckResult(name, dist, version, msg[:400], _fix(name, dist))
    return CheckResult(name, dist, version, None, "")


def check_install(names: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the checks called ``names`` (default: all of CHECK_NAMES), in dependency order."""
    wanted = set(CHECK_NAMES if names is None else names)
    unknown = wanted - set(CHECK_NAMES)
    if unknown:
        raise ValueError(f"unknown install check(s) {sorted(unknown)}; known: {', '.join(CHECK_NAMES)}")
    return [_run(n, d, c) for n, d, c in _CHECKS if n in wanted]


def format_failures(results: Iterable[CheckResult]) -> str:
    """One paragraph per failed check: package and versions, the error, the fixing command."""
    results = list(results)
    versions = ", ".join(f"{r.distribution} {r.version or 'not installed'}" for r in results
                         if r.distribution in ("torch", "torchaudio"))
    parts = []
    for r in results:
        if r.ok:
            continue
        what = f"{r.name} ({r.distribution} {r.version or 'not installed'})"
        line = f"{what} does not load: {r.error}"
        if r.distribution in ("torch", "torchaudio", "torchfcpe", "torchcrepe") and versions:
            line += f"\n    installed: {versions}"
        parts.append(f"{line}\n    fix: {r.fix}")
    return "\n".join(parts)


def require_working(names: Iterable[str]) -> None:
    """Raise InstallError naming every package of ``names`` that does not load (with versions and the fix)."""
    failed = [r for r in check_install(names) if not r.ok]
    if failed:
        raise InstallError("this installation is broken:\n" + format_failures(failed))


def needed_for_conversion(f0_name: str, retrieval: bool) -> tuple[str, ...]:
    """The checks a conversion with extractor ``f0_name`` (and a retrieval index when ``retrieval``) depends on."""
    names = ["torch", "libsndfile"]
    key = (f0_name or "").lower()
    if key == "fcpe":
        names += ["torchaudio", "torchfcpe"]
    elif key.startswith("crepe"):
        names += ["torchaudio", "torchcrepe"]
    if retrieval:
        names.append("faiss")
    return tuple(names)
