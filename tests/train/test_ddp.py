"""DDP on CPU: ``torchrun --nproc_per_node 2`` (gloo) gives the same weights after N steps as one process over the
same global batch (2 micro-batches of the same clips with the same seeds), within float tolerance; the 2-process
run then resumes in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
COMMON = ["--steps", "3", "--eval-interval", "3", "--log-interval", "1", "--batch-size", "2", "--device", "cpu",
          "--no-index"]


def _run(argv: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stderr


@pytest.mark.slow
def test_two_process_gloo_equals_one_process(tiny_dataset: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    _run([sys.executable, "-m", "svc_core", "train", str(tiny_dataset), "-o", str(one), "--micro-batches", "2",
          *COMMON])
    _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "svc_core",
          "train", str(tiny_dataset), "-o", str(two), *COMMON])
    for name in ("G_3.pth", "D_3.pth"):
        a = torch.load(one / name, map_location="cpu", weights_only=True)
        b = torch.load(two / name, map_location="cpu", weights_only=True)
        assert a["model"].keys() == b["model"].keys()
        assert not any(k.startswith("module.") for k in b["model"])
        worst = max(float((a["model"][k] - b["model"][k]).abs().max()) for k in a["model"])
        assert worst < 1e-5, (name, worst)
    g = torch.load(two / "G_3.pth", map_location="cpu", weights_only=True)["svc_studio"]
    assert g["world"] == 2 and g["consumed"] > 0
    assert not (two / "logs" / "metrics.jsonl").read_text().count('"kind": "start"') > 1  # rank 0 logs alone
    more = ["--steps", "5", *COMMON[2:]]
    err = _run([sys.executable, "-m", "svc_core", "train", str(tiny_dataset), "-o", str(two), *more])
    assert "resumed from G_3.pth (step 3" in err
    assert torch.load(two / "G_5.pth", map_location="cpu", weights_only=True)["svc_studio"]["world"] == 1
