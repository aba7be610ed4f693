"""Vocoder speed: NSF-HiFiGAN and Snake generators at so-vits-svc's default 44.1 kHz decoder size.

Prints one JSON object. For each generator: real-time factor (seconds of compute per second of audio) of
the optimised path (weight norm removed, inference_mode) against a naive baseline (same weights, weight norm
kept, plain no_grad as so-vits-svc runs it; for Snake also so-vits-svc's depthwise conv_transpose1d / conv1d
resampling algorithm), the ratio between them, and the Snake / NSF time ratio (target <= 2, so-vits-svc ~6).

    python benchmarks/vocoder_speed.py               # 10 s of audio, median of 3, 2 threads
    python benchmarks/vocoder_speed.py --seconds 1 --repeats 1   # quick check
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import types
from collections.abc import Callable

import torch
from _timing import interleaved_times

from vdecoder.registry import build_vocoder
from vdecoder.snake.alias_free import AliasFreeActivation1d, reference_alias_free

SR = 44100
DEFAULT_DECODER = dict(
    sampling_rate=SR,
    inter_channels=192,
    resblock="1",
    resblock_kernel_sizes=[3, 7, 11],
    resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    upsample_rates=[8, 8, 2, 2, 2],
    upsample_initial_channel=512,
    upsample_kernel_sizes=[16, 16, 4, 4, 4],
    gin_channels=768,
)


def _use_reference_resampling(model: torch.nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, AliasFreeActivation1d):
            module.forward = types.MethodType(reference_alias_free, module)


def _measure(name: str, seconds: float, repeats: int, baseline_repeats: int) -> dict:
    frames = round(seconds * SR / 512)
    torch.manual_seed(0)
    x = torch.randn(1, 192, frames)
    f0 = (220 * 2 ** (torch.sin(torch.linspace(0, 20, frames)) / 2)).reshape(1, frames)
    f0[:, frames // 3 : frames // 3 + frames // 10] = 0  # an unvoiced stretch
    g = torch.randn(1, 768, 1)
    audio_s = frames * 512 / SR

    model = build_vocoder(name, **DEFAULT_DECODER).eval()
    naive = build_vocoder(name, **DEFAULT_DECODER).eval()
    naive.load_state_dict(model.state_dict())
    if name == "nsf-snake-hifigan":
        _use_reference_resampling(naive)
    model.remove_weight_norm()

    def run(m: torch.nn.Module, ctx: Callable[[], contextlib.AbstractContextManager]) -> torch.Tensor:
        torch.manual_seed(1)
        with ctx():
            return m(x, f0, g)

    diff = (run(model, torch.inference_mode) - run(naive, torch.no_grad)).abs().max().item()
    fns = {"fast": lambda _: run(model, torch.inference_mode), "base": lambda _: run(naive, torch.no_grad)}
    for fn in fns.values():
        fn(0)  # warm-up (allocator, oneDNN primitive cache, filter matrices)
    times = interleaved_times(fns, {"fast": repeats, "base": baseline_repeats})
    (fast, fast_cpu), (base, base_cpu) = (tuple(map(statistics.median, times[k])) for k in ("fast", "base"))
    return {
        "audio_seconds": round(audio_s, 3),
        "optimised_s": round(fast, 4),
        "optimised_rtf": round(fast / audio_s, 4),
        "optimised_cpu_s": round(fast_cpu, 4),
        "naive_s": round(base, 4),
        "naive_rtf": round(base / audio_s, 4),
        "naive_cpu_s": round(base_cpu, 4),
        "naive_over_optimised": round(base / fast, 3),
        "naive_over_optimised_cpu": round(base_cpu / fast_cpu, 3),
        "max_abs_diff_vs_naive": diff,
    }


def main() -> None:
    """Run both generators and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per configuration, median (default 3)")
    parser.add_argument("--baseline-repeats", type=int, default=None, help="runs for the naive baseline")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base_rep = args.baseline_repeats or args.repeats
    results = {
        name: _measure(name, args.seconds, args.repeats, base_rep) for name in ("nsf-hifigan", "nsf-snake-hifigan")
    }
    nsf, snake = results["nsf-hifigan"], results["nsf-snake-hifigan"]
    report = {
        "benchmark": "vocoder_speed",
        "device": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "seconds": args.seconds,
        "repeats": args.repeats,
        "baseline_repeats": base_rep,
        "decoder": json.dumps(DEFAULT_DECODER),
        "results": results,
        "snake_over_nsf_optimised": round(snake["optimised_s"] / nsf["optimised_s"], 3),
        "snake_over_nsf_optimised_cpu": round(snake["optimised_cpu_s"] / nsf["optimised_cpu_s"], 3),
        "snake_over_nsf_naive": round(snake["naive_s"] / nsf["naive_s"], 3),
        "snake_target": "<= 2 (PEERS.md; so-vits-svc ~6)",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
