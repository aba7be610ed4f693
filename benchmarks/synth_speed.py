"""Synthesizer ``infer()`` speed and peak memory: our inference path vs a so-vits-svc-style reference run.

Default so-vits-svc 4.1 44.1 kHz config (hidden 192, filter 768, 6 layers, 2 heads, upsample_initial_channel 512,
rates [8, 8, 2, 2, 2], gin 768, ssl_dim 768 / vec768l12, F0 decoder on, NSF-HiFiGAN), random weights, CPU,
2 threads. Two modes of the same model and weights, timed interleaved in one process (the first mode alternates),
each repeat on a new length (the slices of a real conversion all differ) and on one length repeated:

- ``ours``: weight norm removed, ``torch.inference_mode``, exact linear-memory windowed attention, the
  channels-last NSF-HiFiGAN inference path (``vdecoder.channels_last``).
- ``reference``: how so-vits-svc runs it: weight norm kept, ``torch.no_grad``, O(T^2) attention maths
  (relative logits over [T, 2T-1]) over the whole input, the decoder as so-vits-svc's channels-first convs.
  (It shares our vectorised SineGen, which is cheaper than so-vits-svc's, so the reference is if anything fast.)

Peak memory of one inference per mode is measured in fresh child processes (see ``_memory``).

so-vits-svc itself cannot run here (no network), so its own figure from PEERS.md is printed for context, labelled
as not measured in this run. Prints one JSON object.

    python benchmarks/synth_speed.py                                  # 10 s and 60 s, median of 5
    python benchmarks/synth_speed.py --seconds 2 --repeats 1 --small  # quick check
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

import torch
from _flops import counted_flops, nsf_decoder_flops
from _machine import fp32_peak, sgemm_gflops
from _timing import interleaved_times

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


def _prepare(mode: str, small: bool) -> Any:
    """The model as each mode runs it: ``ours`` (weight norm removed) or ``reference`` (so-vits-svc's way)."""
    net = _build(small)
    if mode == "ours":
        net.remove_weight_norm()
    else:
        net.set_attention_impl("reference")
    return net


def _infer(mode: str, net: Any, x: dict[str, torch.Tensor]) -> torch.Tensor:
    ctx = torch.inference_mode if mode == "ours" else torch.no_grad
    with ctx():
        return net.infer(x["c"], x["f0"], x["uv"], g=x["g"])[0]


def _stages(net: Any, x: dict[str, torch.Tensor]) -> dict[str, float]:
    """One pass of our path, stage by stage (same maths as infer)."""
    from svc_core.models.pitch import f0_to_coarse

    with torch.inference_mode():
        torch.manual_seed(52468)
        t0 = time.perf_counter()
        gg = net.speaker_embedding(x["g"])
        mask = torch.ones(1, 1, x["c"].size(2))
        h = net.content_prenet(x["c"], x["uv"], mask)
        z_p, _, _, _ = net.enc_p(h, mask, f0=f0_to_coarse(x["f0"]), noice_scale=0.35)
        t1 = time.perf_counter()
        z = net.flow(z_p, mask, g=gg, reverse=True)
        t2 = time.perf_counter()
        net.dec(z, x["f0"], gg)
        t3 = time.perf_counter()
    return {"prior_enc_p_s": t1 - t0, "flow_s": t2 - t1, "decoder_s": t3 - t2}


def _flops_entry(net: Any, x: dict[str, torch.Tensor], call_s: float, repeats: int) -> dict[str, Any]:
    """FLOPs of one ``infer`` (counted from the matmul/conv shapes torch runs), the decoder's from its layer shapes,
    and the FLOP/s reached: whole call at ``call_s``, decoder alone at the median of ``repeats`` stage passes."""
    total, per_module = counted_flops(lambda: _infer("ours", net, x), depth=1)
    dec_counted = per_module.get(type(net.dec).__name__, float("nan"))
    dec_shapes = nsf_decoder_flops(net.dec, x["c"].shape[2])
    dec_s = statistics.median(_stages(net, x)["decoder_s"] for _ in range(repeats))
    return {
        "gflop_per_call_counted": round(total / 1e9, 2),
        "gflop_by_module_counted": {k: round(v / 1e9, 3) for k, v in per_module.items() if "." not in k},
        "decoder_gflop_from_layer_shapes": {k: round(v / 1e9, 3) for k, v in dec_shapes.items()},
        "decoder_window_overhead": round(dec_counted / dec_shapes["total"] - 1, 4),
        "call_gflops_achieved": round(total / call_s / 1e9, 1),
        "decoder_median_s": round(dec_s, 3),
        "decoder_gflops_achieved": round(dec_counted / dec_s / 1e9, 1),
    }


def _memory_worker(mode: str, seconds: float, threads: int, small: bool) -> None:
    """Peak resident memory of one inference of ``mode`` (fresh process, so peaks do not mix)."""
    torch.set_num_threads(threads)
    net = _prepare(mode, small)
    rss_model = _status_kib("VmRSS")
    _infer(mode, net, _inputs(seconds, net.ssl_dim))
    print(json.dumps({"peak_rss_mib": _status_kib("VmHWM") / 1024, "model_rss_mib": rss_model / 1024}))


def _memory_once(mode: str, seconds: float, args: argparse.Namespace, env: dict[str, str]) -> float | str:
    cmd = [sys.executable, __file__, "--memory-worker", mode, "--seconds", str(seconds),
           "--threads", str(args.threads)] + (["--small"] if args.small else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ, **env})
    if res.returncode != 0:
        return " ".join((res.stderr or res.stdout).strip().splitlines()[-1:])
    return float(json.loads(res.stdout.strip().splitlines()[-1])["peak_rss_mib"])


def _memory(mode: str, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS (MiB) of one inference: 3 fresh processes with glibc's default allocator, whose dynamic mmap
    threshold makes the peak vary by +-30 % run to run (freed 28 MB blocks stay in fragmented heaps), and one with
    a fixed 1 MiB mmap threshold, where every large block goes back on free, so the peak follows the live tensors."""
    default = [_memory_once(mode, seconds, args, {}) for _ in range(3)]
    fixed = _memory_once(mode, seconds, args, {"MALLOC_MMAP_THRESHOLD_": str(1 << 20)})
    ok = [v for v in default if isinstance(v, float)]
    out: dict[str, Any] = {"default_malloc_runs": default, "mmap_threshold_1mib": fixed}
    if ok:
        out["default_malloc_median"] = statistics.median(ok)
    return out


def _summary(times: list[float], seconds: float) -> dict[str, float]:
    med = statistics.median(times)
    return {"median_s": round(med, 3), "min_s": round(min(times), 3), "rtf": round(med / seconds, 3)}


def _time_modes(nets: dict[str, Any], seconds: float, repeats: int, new_lengths: bool) -> dict[str, list[float]]:
    """Interleaved wall times (the first mode alternates). ``new_lengths``: every repeat is one frame longer, as the
    slices of a real conversion differ in length (oneDNN builds new kernels for every new shape)."""
    dim = next(iter(nets.values())).ssl_dim
    xs = [_inputs(seconds + (r + 1) * 512 / SR if new_lengths else seconds, dim) for r in range(repeats)]
    fns = {mode: (lambda r, mode=mode: _infer(mode, nets[mode], xs[r])) for mode in nets}
    return {mode: wall for mode, (wall, _) in interleaved_times(fns, dict.fromkeys(nets, repeats)).items()}


def main() -> None:
    """Time both modes interleaved in one process, measure peak memory in child processes, print one JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--small", action="store_true", help="tiny model (quick check of the script)")
    ap.add_argument("--no-memory", action="store_true", help="skip the child-process peak-memory measurement")
    ap.add_argument("--memory-worker", choices=["ours", "reference"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_worker:
        _memory_worker(args.memory_worker, args.seconds[0], args.threads, args.small)
        return
    torch.set_num_threads(args.threads)
    nets = {mode: _prepare(mode, args.small) for mode in ("ours", "reference")}
    warm = _inputs(1.0, nets["ours"].ssl_dim)
    for mode, net in nets.items():
        _infer(mode, net, warm)
    peak = fp32_peak(args.threads)
    peak["sgemm_gflops_measured"] = round(sgemm_gflops(), 1)
    results: dict[str, Any] = {}
    for seconds in args.seconds:
        x = _inputs(seconds, nets["ours"].ssl_dim)
        outs = {}
        for mode, net in nets.items():
            torch.manual_seed(1234)
            outs[mode] = _infer(mode, net, x)  # same seed: same noise draws, so outputs must agree
        entry: dict[str, Any] = {"max_abs_output_diff": float((outs["ours"] - outs["reference"]).abs().max())}
        for key, new in (("new_length_each_repeat", True), ("same_length_repeated", False)):
            times = _time_modes(nets, seconds, args.repeats, new)
            entry[key] = {mode: _summary(t, seconds) for mode, t in times.items()}
            entry[key]["time_ratio_ours_over_reference"] = round(
                statistics.median(times["ours"]) / statistics.median(times["reference"]), 3)
        entry["ours_stages_one_pass"] = {k: round(v, 3) for k, v in _stages(nets["ours"], x).items()}
        fl = _flops_entry(nets["ours"], x, entry["same_length_repeated"]["ours"]["median_s"], args.repeats)
        fl["call_fraction_of_peak"] = round(fl["call_gflops_achieved"] / peak["fp32_peak_gflops"], 3)
        fl["decoder_fraction_of_peak"] = round(fl["decoder_gflops_achieved"] / peak["fp32_peak_gflops"], 3)
        fl["decoder_fraction_of_sgemm"] = round(fl["decoder_gflops_achieved"] / peak["sgemm_gflops_measured"], 3)
        entry["flops"] = fl
        if not args.no_memory:
            mem = {mode: _memory(mode, seconds, args) for mode in nets}
            entry["peak_memory"] = mem
            for key in ("default_malloc_median", "mmap_threshold_1mib"):
                if all(isinstance(m.get(key), float) for m in mem.values()):
                    entry[f"peak_ratio_ours_over_reference_{key}"] = round(
                        mem["ours"][key] / mem["reference"][key], 3)
        results[f"{seconds:g}s"] = entry
    print(json.dumps({
        "benchmark": "synth_speed",
        "device": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": args.threads,
        "model": "tiny (--small)" if args.small else "so-vits-svc 4.1 default 44.1 kHz, random weights",
        "repeats": args.repeats,
        "machine_peak": peak,
        "results": results,
        "peers_so_vits_svc_not_same_run": PEERS,
    }, indent=2))


if __name__ == "__main__":
    main()
