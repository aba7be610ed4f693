"""Synthesizer ``infer()`` speed and peak memory: our inference path vs a so-vits-svc-style reference run.

Default so-vits-svc 4.1 44.1 kHz config (hidden 192, filter 768, 6 layers, 2 heads, upsample_initial_channel 512,
rates [8, 8, 2, 2, 2], gin 768, ssl_dim 768 / vec768l12, F0 decoder on, NSF-HiFiGAN), random weights, CPU,
2 threads. Two modes of the same model and weights, each timed in a fresh child process (so peak memory is its own):

- ``ours``: weight norm removed, ``torch.inference_mode``, exact linear-memory windowed attention.
- ``reference``: how so-vits-svc runs it: weight norm kept, ``torch.no_grad``, O(T^2) attention maths
  (relative logits over [T, 2T-1]) over the whole input.

so-vits-svc itself cannot run here (no network), so its own figure from PEERS.md is printed for context, labelled
as not measured in this run. Prints one JSON object.

    python benchmarks/synth_speed.py                                  # 10 s and 60 s, median of 5
    python benchmarks/synth_speed.py --seconds 2 --repeats 1 --small  # quick check
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

SR = 44100
DEFAULT_MODEL: dict[str, Any] = dict(
    inter_channels=192, hidden_channels=192, filter_channels=768, n_heads=2, n_layers=6, kernel_size=3,
    p_dropout=0.1, resblock="1", resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5]] * 3,
    upsample_rates=[8, 8, 2, 2, 2], upsample_initial_channel=512, upsample_kernel_sizes=[16, 16, 4, 4, 4],
    gin_channels=768, ssl_dim=768, n_speakers=1, vocoder_name="nsf-hifigan", use_automatic_f0_prediction=True,
)
SMALL_MODEL: dict[str, Any] = dict(DEFAULT_MODEL, inter_channels=32, hidden_channels=32, filter_channels=64,
                                   n_layers=2, upsample_initial_channel=64, gin_channels=32)
PEERS = {
    "source": "shared/PEERS.md (so-vits-svc 4.1 on a 2-core CPU, torch 2.11; NOT measured in this run)",
    "10s": {"rtf": 0.28, "peak_gib": 2.0},
    "60s": {"rtf": 0.61, "peak_gib": 5.1},
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _build(small: bool) -> Any:
    from svc_core.models.synthesizer import SynthesizerTrn

    torch.manual_seed(0)
    net = SynthesizerTrn(1025, 20, **(SMALL_MODEL if small else DEFAULT_MODEL), posterior_encoder=False)
    with torch.no_grad():  # the flow couplings start as the identity; make them do real work
        for name, p in net.named_parameters():
            if name.startswith("flow.") and ".post." in name:
                p.normal_(0, 0.02)
    return net.eval()


def _inputs(seconds: float, ssl_dim: int) -> dict[str, torch.Tensor]:
    t = max(1, math.ceil(seconds * SR / 512))
    g = torch.Generator().manual_seed(1)
    f0 = 110 * 2 ** (torch.rand(1, t, generator=g) * 2)
    return {"c": torch.randn(1, ssl_dim, t, generator=g), "f0": f0, "uv": torch.ones(1, t),
            "g": torch.zeros(1, dtype=torch.long)}


def _worker(mode: str, seconds: float, repeats: int, threads: int, small: bool, out_path: str) -> None:
    torch.set_num_threads(threads)
    net = _build(small)
    if mode == "ours":
        net.remove_weight_norm()
        ctx = torch.inference_mode
    else:
        net.set_attention_impl("reference")
        ctx = torch.no_grad
    rss_model = _status_kib("VmRSS")
    warm = _inputs(1.0, net.ssl_dim)
    with ctx():
        net.infer(warm["c"], warm["f0"], warm["uv"], g=warm["g"])
    x = _inputs(seconds, net.ssl_dim)
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        with ctx():
            out, _ = net.infer(x["c"], x["f0"], x["uv"], g=x["g"])
        times.append(time.perf_counter() - t0)
    # one more pass, stage by stage (same maths as infer)
    stages: dict[str, float] = {}
    with ctx():
        torch.manual_seed(52468)
        t0 = time.perf_counter()
        gg = net.speaker_embedding(x["g"])
        mask = torch.ones(1, 1, x["c"].size(2))
        h = net.content_prenet(x["c"], x["uv"], mask)
        from svc_core.models.pitch import f0_to_coarse

        z_p, _, _, _ = net.enc_p(h, mask, f0=f0_to_coarse(x["f0"]), noice_scale=0.35)
        t1 = time.perf_counter()
        z = net.flow(z_p, mask, g=gg, reverse=True)
        t2 = time.perf_counter()
        net.dec(z, x["f0"], gg)
        t3 = time.perf_counter()
    stages = {"prior_enc_p_s": t1 - t0, "flow_s": t2 - t1, "decoder_s": t3 - t2}
    torch.save(out, out_path)
    med = statistics.median(times)
    print(json.dumps({
        "mode": mode, "seconds_audio": seconds, "frames": int(x["c"].size(2)), "repeats": repeats,
        "median_s": med, "min_s": min(times), "rtf": med / seconds,
        "stages_one_pass": stages,
        "peak_rss_mib": _status_kib("VmHWM") / 1024, "model_rss_mib": rss_model / 1024,
    }))


def _run_child(mode: str, seconds: float, args: argparse.Namespace, out_path: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", mode, "--seconds", str(seconds), "--repeats", str(args.repeats),
           "--threads", str(args.threads), "--out", str(out_path)] + (["--small"] if args.small else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"mode": mode, "error": (res.stderr or res.stdout).strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run every (duration, mode) in its own process and print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--small", action="store_true", help="tiny model (quick check of the script)")
    ap.add_argument("--modes", nargs="+", default=["ours", "reference"], choices=["ours", "reference"])
    ap.add_argument("--worker", choices=["ours", "reference"], help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker, args.seconds[0], args.repeats, args.threads, args.small, args.out)
        return
    torch.set_num_threads(args.threads)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in args.seconds:
            key = f"{seconds:g}s"
            entry: dict[str, Any] = {}
            outs = {}
            for mode in args.modes:
                path = Path(tmp) / f"{mode}_{key}.pt"
                entry[mode] = _run_child(mode, seconds, args, path)
                if path.exists():
                    outs[mode] = torch.load(path, weights_only=True)
            if "ours" in outs and "reference" in outs:
                entry["time_ratio_ours_over_reference"] = entry["ours"]["median_s"] / entry["reference"]["median_s"]
                entry["peak_ratio_ours_over_reference"] = (entry["ours"]["peak_rss_mib"]
                                                           / entry["reference"]["peak_rss_mib"])
                entry["max_abs_output_diff"] = float((outs["ours"] - outs["reference"]).abs().max())
            results[key] = entry
    ours = {k: v["ours"]["rtf"] for k, v in results.items() if "rtf" in v.get("ours", {})}
    print(json.dumps({
        "benchmark": "synth_speed",
        "device": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": args.threads,
        "model": "tiny (--small)" if args.small else "so-vits-svc 4.1 default 44.1 kHz, random weights",
        "results": results,
        "ours_rtf_by_length": ours,
        "peers_so_vits_svc_not_same_run": PEERS,
    }, indent=2))


if __name__ == "__main__":
    main()
