"""Safe loading of untrusted checkpoint files: weights_only torch.load or safetensors, clear errors."""

from __future__ import annotations

import contextlib
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from vencoder.errors import CheckpointError, UnsafeCheckpointError

__all__ = ["CheckpointError", "UnsafeCheckpointError", "load_torch_file", "load_safetensors_file"]


_ZIP_MAGIC = b"PK\x03\x04"


def _sniff(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(8)
    if not head:
        raise CheckpointError(path, "the file is empty (0 bytes)")
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head[:1] == b"\x80":
        return "pickle"
    if len(head) == 8 and int.from_bytes(head, "little") < 100_000_000:
        with path.open("rb") as f:
            f.seek(8)
            if f.read(1) == b"{":
                return "safetensors"
    return "unknown"


@contextlib.contextmanager
def _allowed(globals_: Iterable[Any]) -> Iterator[None]:
    extra = list(globals_)
    if extra:
        with torch.serialization.safe_globals(extra):
            yield
    else:
        yield


def load_torch_file(
    path: str | os.PathLike[str],
    *,
    allowed_globals: Iterable[Any] = (),
    mmap: bool | None = None,
    map_location: str | torch.device = "cpu",
) -> Any:
    """Load a torch file with ``weights_only=True`` (optionally allow-listing inert classes)."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(p, "file not found")
    if p.is_dir():
        raise CheckpointError(p, "is a folder, expected a model file")
    kind = _sniff(p)
    if kind == "safetensors":
        return load_safetensors_file(p)
    if kind == "zip":
        try:
            with zipfile.ZipFile(p) as zf:
                bad = zf.testzip()
            if bad is not None:
                raise CheckpointError(p, f"corrupt archive member {bad!r} (damaged download?)")
        except zipfile.BadZipFile as e:
            raise CheckpointError(p, f"truncated or corrupt torch archive ({e}); download it again") from e
    elif kind == "unknown":
        raise CheckpointError(p, "not a PyTorch checkpoint (unknown file signature)")
    if mmap is None:
        mmap = kind == "zip" and p.stat().st_size > 256 * 1024 * 1024
    try:
        with _allowed(allowed_globals):
            return torch.load(p, map_location=map_location, weights_only=True, mmap=bool(mmap and kind == "zip"))
    except pickle_errors() as e:
        msg = str(e)
        if "Weights only load failed" in msg or "Unsupported global" in msg or "unsupported" in msg.lower():
            culprit = _culprit(msg)
            raise UnsafeCheckpointError(
                p,
                "refused: loading it would run code stored in the file"
                + (f" ({culprit})" if culprit else "")
                + ". Model files from the internet are untrusted; nothing was executed.",
            ) from None
        raise CheckpointError(p, f"corrupt or truncated checkpoint ({_first_line(msg)})") from None


def pickle_errors() -> tuple[type[BaseException], ...]:
    """Exception types torch.load raises on bad or unsafe pickles."""
    import pickle

    return (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError, KeyError, TypeError)


def _first_line(msg: str) -> str:
    return msg.strip().splitlines()[0][:300] if msg.strip() else "unknown error"


def _culprit(msg: str) -> str:
    """The global the weights-only unpickler refused, read from torch's message (either wording)."""
    m = re.search(r"GLOBAL ([\w.]+)", msg)
    if m:
        return m.group(1)
    for line in msg.splitlines():
        line = line.strip()
        if line.startswith("WeightsUnpickler error:"):
            return line.removeprefix("WeightsUnpickler error:").strip()[:300]
    return ""


def load_safetensors_file(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Load a safetensors file into a CPU state dict, with a clear error when it is damaged."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(path, f"corrupt or truncated safetensors file ({e})") from None
