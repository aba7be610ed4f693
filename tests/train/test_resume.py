"""Training survives kill -9: killed between checkpoints and killed while writing one, the rerun resumes at the
last complete checkpoint's step, never reads a partial file, and repeats the same loss curve (deterministic
resume). A damaged newest checkpoint is reported and the previous intact pair is used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from svc_core.train import checkpoint as ckpt
from svc_core.train.logs import read_metrics

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ["--steps", "24", "--eval-interval", "8", "--log-interval", "1", "--device", "cpu", "--no-index",
         "--keep", "2"]
KILL_IN_SAVE = """
import os, signal, sys, torch
import svc_core.cli
real, calls = torch.save, []
def save(obj, f, *a, **k):
    calls.append(1)
    if len(calls) == 4:  # D_8, G_8, D_16, then half of G_16
        real(obj, f, *a, **k)
        f.flush()
        f.truncate(f.tell() // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(obj, f, *a, **k)
torch.save = save
sys.exit(svc_core.cli.main(sys.argv[1:]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _train(ds: Path, voice: Path, *, script: str | None = None) -> subprocess.Popen:
    head = [sys.executable, "-c", script] if script else [sys.executable, "-m", "svc_core"]
    return subprocess.Popen([*head, "train", str(ds), "-o", str(voice), *TRAIN], env=_env(), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _mel_by_step(voice: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["g/mel"]) for r in read_metrics(voice / "logs", "train")]


def _resume_and_check(ds: Path, voice: Path, expect_step: int) -> None:
    before = dict(_mel_by_step(voice))
    proc = _train(ds, voice)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"resumed from G_{expect_step}.pth (step {expect_step}" in err
    starts = read_metrics(voice / "logs", "start")
    assert [s["resumed"] for s in starts] == [False, True] and starts[1]["step"] == expect_step
    after = _mel_by_step(voice)[len(before):]
    assert after[0][0] == expect_step + 1 and after[-1][0] == 24
    again = [(s, m) for s, m in after if s in before]
    assert again, "the killed run should have logged steps after the checkpoint"
    for s, m in again:  # the same state and seeds: the loss curve continues exactly where it was
        assert m == pytest.approx(before[s], rel=1e-4, abs=1e-5), s
    assert not list(voice.glob(".*.part"))
    assert sorted(p.name for p in voice.glob("G_*.pth")) == ["G_16.pth", "G_24.pth"]


@pytest.mark.slow
def test_kill_between_checkpoints_resumes(tiny_dataset: Path, tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    proc = _train(tiny_dataset, voice)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        steps = [s for s, _ in _mel_by_step(voice)] if (voice / "logs").is_dir() else []
        if (voice / "G_8.pth").is_file() and steps and steps[-1] >= 11:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert not (voice / "G_16.pth").exists()
    _resume_and_check(tiny_dataset, voice, 8)


@pytest.mark.slow
def test_kill_during_checkpoint_write_resumes(tiny_dataset: Path, tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    proc = _train(tiny_dataset, voice, script=KILL_IN_SAVE)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert list(voice.glob(".G_16.pth.*.part")) and (voice / "D_16.pth").is_file()
    assert not (voice / "G_16.pth").exists()
    _resume_and_check(tiny_dataset, voice, 8)


@pytest.mark.slow
def test_ctrl_c_stops_with_a_checkpoint_and_resumes(tiny_dataset: Path, tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    proc = _train(tiny_dataset, voice)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        steps = [s for s, _ in _mel_by_step(voice)] if (voice / "logs").is_dir() else []
        if steps and steps[-1] >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    stopped = int(out.split("stopped at step ")[1].split(";")[0])
    assert 3 <= stopped < 24 and (voice / f"G_{stopped}.pth").is_file() and (voice / f"D_{stopped}.pth").is_file()
    proc = _train(tiny_dataset, voice)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and f"resumed from G_{stopped}.pth" in err


def test_damaged_newest_checkpoint_falls_back(tmp_path: Path) -> None:
    import torch

    sd = {"w": torch.ones(64, 64)}
    for step in (10, 20):
        ckpt.save_pair(tmp_path, step, 1, 1e-4, {"model": sd, "optimizer": {}}, {"model": sd, "optimizer": {}},
                       {"epoch": 1, "consumed": 0, "skipped": 0})
    g20 = tmp_path / "G_20.pth"
    g20.write_bytes(g20.read_bytes()[: g20.stat().st_size // 2])  # what so-vits-svc's in-place write leaves
    res = ckpt.find_resumable(tmp_path)
    assert res is not None and res.step == 10
    assert len(res.notes) == 1 and "G_20.pth" in res.notes[0] and "older checkpoint" in res.notes[0]
    assert res.g["svc_studio"]["step"] == 10 and set(res.g) >= {"model", "optimizer", "learning_rate", "iteration"}
    (tmp_path / "G_10.pth").write_bytes(b"garbage")
    from svc_core.errors import SvcError

    with pytest.raises(SvcError, match="no intact checkpoint"):
        ckpt.find_resumable(tmp_path)
