"""Our WavLM vs transformers' WavLMModel: same random Base+-size weights, same audio, CPU, same run.

Prints one JSON object: wall time of each (min and median over interleaved repeats), the time ratio
ours/transformers (target <= 0.8), the largest output difference, and the peak extra resident memory of one
inference, measured in a fresh child process per implementation.

    python benchmarks/encoder_speed.py                 # 20 s of audio, 2 threads, 3 repeats
    python benchmarks/encoder_speed.py --seconds 2 --repeats 1 --small   # quick check
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def _config(small: bool):
    from transformers import WavLMConfig

    if small:
        return WavLMConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                           conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
    return WavLMConfig()  # Base+ sizes: 12 x 768, 12 heads, 3072 FFN, 512-wide conv stack, 320 buckets / 800


def _load(which: str, folder: Path) -> torch.nn.Module:
    if which == "transformers":
        from transformers import WavLMModel

        return WavLMModel.from_pretrained(folder).eval()
    from vencoder.ssl.load import load_ssl

    if which == "ours-encode":
        from vencoder.registry import load_encoder

        return load_encoder("wavlmbase+", folder, "cpu")
    return load_ssl(folder).model


def _run(which: str, model: torch.nn.Module, wav: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        if which == "ours-encode":  # the ContentEncoder path: chunked beyond 34 s
            return model.encode(wav[0])[None]
        if which == "transformers":
            return model(wav).last_hidden_state
        return model(wav).last


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset the peak-RSS counter (VmHWM) so loading the model does not count; Linux only."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _child(which: str, folder: Path, seconds: float, threads: int) -> None:
    """Peak extra memory of one inference (run in a fresh process so peaks do not mix)."""
    torch.set_num_threads(threads)
    model = _load(which, folder)
    wav = torch.randn(1, int(seconds * 16000), generator=torch.Generator().manual_seed(0)) * 0.1
    gc.collect()
    reset = _reset_peak()
    base = _status_mb("VmRSS")
    _run(which, model, wav)
    peak = _status_mb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_extra_mb": round(peak - base, 1), "rss_before_mb": round(base, 1),
                      "peak_since": "inference start" if reset else "process start"}))


def main() -> None:
    """Parse arguments, run the comparison, print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--small", action="store_true", help="tiny model (smoke test of the script)")
    ap.add_argument("--no-memory", action="store_true", help="skip the child-process memory measurement")
    ap.add_argument("--flat-check", type=float, nargs="*", metavar="SECONDS",
                    help="also measure ContentEncoder.encode peak memory at these lengths (chunked > 34 s)")
    ap.add_argument("--child", choices=("ours", "transformers", "ours-encode"), help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        _child(args.child, args.folder, args.seconds, args.threads)
        return

    from transformers import WavLMModel

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        torch.manual_seed(0)
        WavLMModel(_config(args.small)).eval().save_pretrained(folder)
        models = {name: _load(name, folder) for name in ("transformers", "ours")}
        wav = torch.randn(1, int(args.seconds * 16000), generator=torch.Generator().manual_seed(0)) * 0.1
        outs = {name: _run(name, m, wav) for name, m in models.items()}  # warm-up + correctness
        times: dict[str, list[float]] = {name: [] for name in models}
        cpu: dict[str, list[float]] = {name: [] for name in models}
        for _ in range(args.repeats):
            for name, m in models.items():  # interleaved, so load changes hit both alike
                t0, c0 = time.perf_counter(), time.process_time()
                _run(name, m, wav)
                times[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
        memory: dict[str, object] = {}
        if not args.no_memory:
            for name in models:
                cmd = [sys.executable, __file__, "--child", name, "--folder", str(folder),
                       "--seconds", str(args.seconds), "--threads", str(args.threads)]
                res = subprocess.run(cmd, capture_output=True, text=True, check=False)
                lines = res.stdout.strip().splitlines()
                memory[name] = json.loads(lines[-1]) if res.returncode == 0 and lines else {"error": res.stderr[-300:]}
        for secs in args.flat_check or ():
            cmd = [sys.executable, __file__, "--child", "ours-encode", "--folder", str(folder),
                   "--seconds", str(secs), "--threads", str(args.threads)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            lines = res.stdout.strip().splitlines()
            memory[f"ours_encode_{secs:g}s"] = (
                json.loads(lines[-1]) if res.returncode == 0 and lines else {"error": res.stderr[-300:]}
            )
    import transformers

    result = {
        "benchmark": "encoder_speed",
        "what": "WavLM forward, our vencoder.ssl.SSLModel vs transformers WavLMModel, same random weights",
        "model": "tiny" if args.small else "Base+ size (12x768, gated rel-pos, 320 buckets)",
        "device": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "audio_seconds": args.seconds,
        "frames": int(outs["ours"].shape[1]),
        "repeats": args.repeats,
        "ours_s": {"min": round(min(times["ours"]), 3), "median": round(statistics.median(times["ours"]), 3)},
        "transformers_s": {
            "min": round(min(times["transformers"]), 3),
            "median": round(statistics.median(times["transformers"]), 3),
        },
        "time_ratio_min": round(min(times["ours"]) / min(times["transformers"]), 3),
        "time_ratio_median": round(statistics.median(times["ours"]) / statistics.median(times["transformers"]), 3),
        "cpu_time_ratio_min": round(min(cpu["ours"]) / min(cpu["transformers"]), 3),
        "target_ratio": 0.8,
        "max_abs_diff": float((outs["ours"] - outs["transformers"]).abs().max()),
        "peak_memory": memory,
        "loadavg_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
