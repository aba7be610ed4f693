"""Untrusted model files: weights_only loading, clear errors, and no code ever runs."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from vencoder.safe_load import CheckpointError, UnsafeCheckpointError, load_torch_file


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (os.system, (f"touch {self.marker}",))


def test_loads_plain_checkpoint(tmp_path: Path) -> None:
    p = tmp_path / "ok.pth"
    torch.save({"model": {"w": torch.ones(3)}, "iteration": 7}, p)
    ck = load_torch_file(p)
    assert ck["iteration"] == 7 and torch.equal(ck["model"]["w"], torch.ones(3))


def test_malicious_pickle_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pth"
    torch.save({"model": {}, "payload": _Evil(marker)}, p)
    with pytest.raises(UnsafeCheckpointError) as e:
        load_torch_file(p)
    assert not marker.exists()
    assert "refused" in str(e.value) and str(p) in str(e.value)


def test_legacy_raw_pickle_with_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned2"
    p = tmp_path / "evil_legacy.pt"
    p.write_bytes(pickle.dumps(_Evil(marker), protocol=2))
    with pytest.raises(CheckpointError):
        load_torch_file(p)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "empty"),
        (b"hello world, not a model", "not a PyTorch checkpoint"),
        (b"\x80" + bytes(range(256)) * 8, "not a PyTorch checkpoint"),  # 0x80-led garbage (issue 13, item 5)
        (b"\x80\x02" + bytes(range(255, -1, -1)) * 8, "not a PyTorch checkpoint (the data is not a valid pickle"),
    ],
)
def test_bad_bytes(tmp_path: Path, content: bytes, needle: str) -> None:
    p = tmp_path / "bad.pth"
    p.write_bytes(content)
    with pytest.raises(CheckpointError) as e:
        load_torch_file(p)
    assert needle in str(e.value)
    assert not isinstance(e.value, UnsafeCheckpointError) and "run code" not in str(e.value)


def test_truncated_checkpoint(tmp_path: Path) -> None:
    p = tmp_path / "full.pth"
    torch.save({"model": {"w": torch.randn(1000, 100)}}, p)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(CheckpointError) as e:
        load_torch_file(cut)
    assert "truncated" in str(e.value) or "corrupt" in str(e.value)


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_torch_file(tmp_path / "nope.pth")
    with pytest.raises(CheckpointError, match="folder"):
        load_torch_file(tmp_path)


def test_safetensors_roundtrip_and_corrupt(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    p = tmp_path / "m.safetensors"
    save_file({"a": torch.arange(4.0)}, str(p))
    assert torch.equal(load_torch_file(p)["a"], torch.arange(4.0))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(p.read_bytes()[:-8])
    with pytest.raises(CheckpointError):
        load_torch_file(bad)
