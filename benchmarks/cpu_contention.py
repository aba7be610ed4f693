"""CPU speed next to a busy program: one workload alone and next to a CPU hog (one busy core), per thread policy.

Policies (each trial a fresh process, since libgomp reads its wait policy when torch loads):

- ``old``: torch's defaults (threads = CPUs, libgomp's spinning wait: GOMP_SPINCOUNT 300000);
- ``new``: ``svc_core.threads.configure_threads("auto")`` (passive wait, threads = every available CPU);
- ``free``: ``configure_threads("free")`` (passive wait, threads = the CPUs other processes leave free);
- ``one_thread``: ``OMP_NUM_THREADS=1`` with the default wait (the reference the issue's target names);
- ``short_spin_all`` (not run by default): ``GOMP_SPINCOUNT=10000`` (a short spin, then sleep), all CPUs.

Workloads: ``synth`` (the default-size so-vits-svc 4.1 synthesizer ``infer`` on N s of frames, random weights;
one warm-up call on the same length, then the timed calls) or ``convert`` (a whole ``convert_file`` of an N s
sung-like WAV: default-size voice, HuBERT-Base-size encoder, default F0 extractor, random weights; a 3 s file is
converted first as warm-up). The hog is a separate ``while True: pass`` process started before the trial's
process (the busy program was there first) and stopped after it.

Trials run interleaved (round by round, the policy order reversed every other round) so that changes in the
machine's other load hit every policy alike; the JSON gives every trial, medians, min/max and CPU seconds.
Caveat: on a shared machine other processes load the CPU unpredictably; the spread is part of the result.

    python benchmarks/cpu_contention.py                                  # synth, 10 s, 3 rounds
    python benchmarks/cpu_contention.py --workload convert --seconds 60 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

POLICIES = ("old", "new", "free", "one_thread", "short_spin_all")
DEFAULT_POLICIES = POLICIES[:4]
_OMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "SVC_STUDIO_THREADS")


def _policy_env(policy: str) -> dict[str, str]:
    """The environment a trial process starts with (``new``/``free`` configure themselves at start)."""
    env = {k: v for k, v in os.environ.items() if k not in _OMP_VARS}
    if policy == "one_thread":
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if policy == "short_spin_all":
        env.update(GOMP_SPINCOUNT="10000")
    return env


def _apply_in_worker(policy: str) -> dict[str, Any]:
    """Run before torch is imported: the thread policy of ``policy`` (``old``/``one_thread`` leave torch's own)."""
    if policy not in ("new", "free", "short_spin_all"):
        return {}
    from svc_core.threads import configure_threads

    plan = configure_threads("free" if policy == "free" else "auto")
    return {"plan": plan.describe(), "busy_cpus_at_plan": None if plan.busy != plan.busy else round(plan.busy, 2)}


def _synth_trial(seconds: float, repeats: int) -> list[tuple[float, float]]:
    import torch
    from synth_speed import _inputs, _prepare

    net = _prepare("ours", small=False)
    x = _inputs(seconds, net.ssl_dim)
    out = []
    with torch.inference_mode():
        net.infer(x["c"], x["f0"], x["uv"], g=x["g"])
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            net.infer(x["c"], x["f0"], x["uv"], g=x["g"])
            out.append((time.perf_counter() - t, time.process_time() - c))
    return out


def _convert_trial(root: Path, seconds: float, repeats: int) -> list[tuple[float, float]]:
    import torch

    from svc_core.convert import Converter, ConvertSettings
    from svc_core.f0 import DEFAULT_EXTRACTOR, get_extractor
    from svc_core.voices import load_voice
    from vencoder.ssl.config import SSLConfig
    from vencoder.ssl.model import SSLModel
    from vencoder.ssl_encoder import SSLContentEncoder

    torch.manual_seed(0)
    enc = SSLContentEncoder(SSLModel(SSLConfig()), name="vec768l12", layer=12).eval()
    conv = Converter(load_voice(root / "voice", device="cpu"), enc, get_extractor(DEFAULT_EXTRACTOR, device="cpu"),
                     ConvertSettings(f0_method=DEFAULT_EXTRACTOR), device="cpu")
    with tempfile.TemporaryDirectory(prefix="svc-contention-out-") as tmp:
        conv.convert_file(root / "warm.wav", Path(tmp) / "warm_out.wav")
        out = []
        for r in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            conv.convert_file(root / f"in_{seconds:g}.wav", Path(tmp) / f"out_{r}.wav")
            out.append((time.perf_counter() - t, time.process_time() - c))
    return out


def worker(policy: str, workload: str, seconds: float, repeats: int, root: str) -> dict[str, Any]:
    """One trial in this (fresh) process: apply the policy, build the workload, time it."""
    info = _apply_in_worker(policy)
    import torch

    times = (_synth_trial(seconds, repeats) if workload == "synth"
             else _convert_trial(Path(root), seconds, repeats))
    wait = os.environ.get("OMP_WAIT_POLICY") or f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '300000 (default)')}"
    return {**info, "torch_threads": torch.get_num_threads(), "omp_wait_policy": wait,
            "wall_s": [round(w, 3) for w, _ in times], "cpu_s": [round(c, 3) for _, c in times]}


def _start_hog() -> subprocess.Popen:
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.5)
    return hog


def _trial(policy: str, scenario: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    hog = _start_hog() if scenario == "hog" else None
    load0 = Path("/proc/loadavg").read_text().split()[0]
    try:
        cmd = [sys.executable, __file__, "--worker", policy, args.workload, str(args.seconds), str(args.repeats),
               str(root)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=_policy_env(policy), check=False,
                             timeout=args.trial_timeout)
    except subprocess.TimeoutExpired:
        return {"policy": policy, "scenario": scenario, "error": f"timed out after {args.trial_timeout} s"}
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    if res.returncode != 0:
        return {"policy": policy, "scenario": scenario, "error": res.stderr.strip()[-1500:]}
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return {"policy": policy, "scenario": scenario, "loadavg_1min_before": float(load0), **out}


def _summarise(trials: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for scenario in ("alone", "hog"):
        for policy in POLICIES:
            rows = [t for t in trials if t["scenario"] == scenario and t["policy"] == policy and "wall_s" in t]
            wall = [w for t in rows for w in t["wall_s"]]
            cpu = [c for t in rows for c in t["cpu_s"]]
            if wall:
                summary.setdefault(scenario, {})[policy] = {
                    "median_wall_s": round(statistics.median(wall), 3), "min_wall_s": min(wall),
                    "max_wall_s": max(wall), "median_cpu_s": round(statistics.median(cpu), 3), "n": len(wall),
                    "threads": sorted({t["torch_threads"] for t in rows})}
    ratios: dict[str, float] = {}
    hog = summary.get("hog", {})
    alone = summary.get("alone", {})
    for p in ("old", "new", "free", "short_spin_all"):
        if p in hog and "one_thread" in hog:
            ratios[f"hog_{p}_over_hog_one_thread"] = round(
                hog[p]["median_wall_s"] / hog["one_thread"]["median_wall_s"], 3)
        if p in hog and p in alone:
            ratios[f"{p}_hog_over_alone"] = round(hog[p]["median_wall_s"] / alone[p]["median_wall_s"], 3)
    if "new" in alone and "old" in alone:
        ratios["alone_new_over_old"] = round(alone["new"]["median_wall_s"] / alone["old"]["median_wall_s"], 3)
    if "free" in alone and "old" in alone:
        ratios["alone_free_over_old"] = round(alone["free"]["median_wall_s"] / alone["old"]["median_wall_s"], 3)
    summary["ratios"] = ratios
    summary["target"] = "hog_new_over_hog_one_thread <= 1.0"
    return summary


def main() -> None:
    """Parent: prepare inputs, run the interleaved trials, print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=("synth", "convert"), default="synth")
    ap.add_argument("--seconds", type=float, default=10.0, help="audio length of one timed call")
    ap.add_argument("--repeats", type=int, default=2, help="timed calls per trial process")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each runs every policy/scenario)")
    ap.add_argument("--policies", nargs="+", choices=POLICIES, default=list(DEFAULT_POLICIES))
    ap.add_argument("--scenarios", nargs="+", choices=("alone", "hog"), default=["alone", "hog"])
    ap.add_argument("--trial-timeout", type=float, default=600.0)
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        policy, workload, seconds, repeats, root = args.worker
        print(json.dumps(worker(policy, workload, float(seconds), int(repeats), root)))
        return
    with tempfile.TemporaryDirectory(prefix="svc-contention-") as tmp:
        root = Path(tmp)
        if args.workload == "convert":
            from convert_bench import make_input, make_voice

            make_voice(root / "voice")
            make_input(root / "warm.wav", 3.0)
            make_input(root / f"in_{args.seconds:g}.wav", args.seconds)
        trials = []
        combos = [(s, p) for s in args.scenarios for p in args.policies]
        for r in range(args.rounds):
            for scenario, policy in combos if r % 2 == 0 else combos[::-1]:
                trials.append({"round": r, **_trial(policy, scenario, args, root)})
                print(json.dumps(trials[-1]), file=sys.stderr, flush=True)  # progress: one line per trial
    from svc_core.threads import available_cpus

    print(json.dumps({
        "benchmark": "cpu_contention", "workload": args.workload, "seconds": args.seconds,
        "cpus": available_cpus(), "cpu_model": _cpu_model(), "repeats_per_trial": args.repeats,
        "rounds": args.rounds, "summary": _summarise(trials), "trials": trials,
        "caveat": "shared machine: other processes' load varies during the run; see loadavg_1min_before and spread",
    }, indent=2))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
