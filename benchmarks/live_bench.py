"""Live engine speed and latency: compute time per block / block duration (mean, p99) and the algorithmic latency
for blocks of 20-500 ms, with the default-size voice on CPU (2 threads); plus the measured loopback round trip of
the audio device (the virtual loopback of shared/tools/virtual_audio.sh, when it runs).

Voice: the default so-vits-svc 4.1 size (44.1 kHz, hop 512, hidden 192, NSF-HiFiGAN 512, ssl_dim 768) with
random weights (``convert_bench.make_voice``); content encoder: a ContentVec / HuBERT-Base-size model (12 x 768,
random weights); F0: the live default (``svc_core.live.infer.LIVE_DEFAULT_F0``). Device rate 44.1 kHz. Each
setting runs ``--blocks`` blocks of a sung-like signal after a warm-up; the engine is exactly the live one
(window -> SegmentPipeline decoding only the newest part -> SOLA). A block keeps up when its p99 load < 1;
``--calibrate``'s rule wants p99 load <= 0.7. Prints one JSON object.

    python benchmarks/live_bench.py                          # blocks 20..500 ms, contexts 2500 and 500 ms
    python benchmarks/live_bench.py --blocks-ms 100 250 --contexts-ms 500 --blocks 4   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

THREADS = 2
SR = 44100


def build_model(voice_dir: Path, f0_method: str):
    """The default-size random voice as a live window model."""
    import torch

    from svc_core.convert import ConvertSettings, SegmentPipeline
    from svc_core.f0 import get_extractor
    from svc_core.live.infer import VoiceWindowModel
    from svc_core.voices import load_voice
    from vencoder.ssl.config import SSLConfig
    from vencoder.ssl.model import SSLModel
    from vencoder.ssl_encoder import SSLContentEncoder

    voice = load_voice(voice_dir, device="cpu")
    torch.manual_seed(0)
    enc = SSLContentEncoder(SSLModel(SSLConfig()), name="vec768l12", layer=12).eval()
    pipe = SegmentPipeline(voice, enc, get_extractor(f0_method, device="cpu"), ConvertSettings(f0_method=f0_method))
    return VoiceWindowModel(pipe)


def time_setting(model, block_ms: float, context_ms: float, n_blocks: int) -> dict:
    """Run the live engine for n_blocks blocks (after a warm-up block) -> figures."""
    from svc_core.live.calibrate import calibration_signal, crossfade_for
    from svc_core.live.engine import LiveEngine
    from svc_core.live.settings import LiveSettings

    s = LiveSettings(block_ms=block_ms, context_ms=context_ms, crossfade_ms=crossfade_for(block_ms), gate_db=-90)
    model.reset()
    eng = LiveEngine(s, SR, model)
    b = eng.block_size
    x = calibration_signal(SR, (n_blocks + 3) * b / SR + 1.0)
    eng.warm_up(1)
    cpu = []
    for i in range(n_blocks):
        c0 = time.process_time()
        eng.process(x[i * b:(i + 1) * b])
        cpu.append(time.process_time() - c0)
    t = eng.times.summary()
    return {"block_ms": round(1e3 * b / SR, 1), "context_ms": context_ms, "crossfade_ms": s.crossfade_ms,
            "algorithmic_latency_ms": round(eng.latency.total_ms, 1), "blocks": t.blocks,
            "mean_ms": round(t.mean_ms, 1), "p99_ms": round(t.p99_ms, 1), "load": round(t.load, 3),
            "p99_load": round(t.p99_load, 3), "real_time": t.p99_load < 1.0,
            "cpu_ms_per_block": round(1e3 * float(np.mean(cpu)), 1),  # process CPU time (all threads)
            "cpu_load_2_cores": round(float(np.mean(cpu)) / 2 / (b / SR), 3)}  # if both cores were ours


def loopback() -> dict:
    """Device round trip (clicks) and the whole passthrough live chain on the default duplex device."""
    try:
        from svc_core.live.engine import LiveEngine
        from svc_core.live.latency import click_train, find_delay
        from svc_core.live.measure import measure_round_trip
        from svc_core.live.settings import LiveSettings
        from svc_core.live.stream import LiveStream

        dev = os.environ.get("VAUDIO_DEVICE")
        out: dict = {"device": dev or "default"}
        rts = [measure_round_trip(512, SR, input_device=dev, output_device=dev, seconds=2.5) for _ in range(3)]
        out["device_round_trip_ms"] = [None if r.ms is None else round(r.ms, 1) for r in rts]
        out["portaudio_reported_ms"] = round(rts[0].reported_ms or 0.0, 1)
        eng = LiveEngine(LiveSettings(block_ms=100, crossfade_ms=25, context_ms=0, gate_db=-150), SR)
        probe, onsets = click_train(SR, 3.0)
        st = LiveStream(eng, SR, input_device=dev, output_device=dev, probe=probe, record_s=4.0)
        with st:
            st.wait_recorded(20.0)
        k_out, _ = find_delay(probe[onsets[3]:onsets[3] + 1323], st.recorded_out[onsets[3]:], SR)
        out["passthrough_chain"] = {"block_ms": round(1e3 * eng.block_size / SR, 1),
                                    "algorithmic_ms": round(eng.latency.total_ms, 1),
                                    "measured_click_to_output_ms": round(1e3 * k_out / SR, 1),
                                    "late": st.counters.late}
        return out
    except Exception as e:  # noqa: BLE001 - no device is a result, not a crash
        return {"error": f"{type(e).__name__}: {e}"}


def machine_gflops() -> float:
    """fp32 matmul throughput of this process right now (2 threads): how much of the machine we get."""
    import torch

    a, b = torch.randn(768, 768), torch.randn(200, 768)  # (at the process's torch thread count)
    for _ in range(3):
        b @ a
    t0 = time.perf_counter()
    for _ in range(100):
        b @ a
    return round(100 * 2 * 200 * 768 * 768 / (time.perf_counter() - t0) / 1e9, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks-ms", type=float, nargs="+", default=[20, 40, 60, 100, 150, 250, 350, 500])
    ap.add_argument("--contexts-ms", type=float, nargs="+", default=[2500, 500])
    ap.add_argument("--blocks", type=int, default=8, help="timed blocks per setting")
    ap.add_argument("--f0", default=None, help="F0 extractor (default: the live default)")
    ap.add_argument("--no-loopback", action="store_true")
    ap.add_argument("--threads", type=int, default=THREADS, help="torch threads (default 2)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from convert_bench import make_voice

    from svc_core.live.infer import LIVE_DEFAULT_F0

    f0 = args.f0 or LIVE_DEFAULT_F0
    with tempfile.TemporaryDirectory(prefix="svc-live-bench-") as tmp:
        make_voice(Path(tmp) / "voice")
        model = build_model(Path(tmp) / "voice", f0)
        t0 = time.perf_counter()
        rows = []
        for c in args.contexts_ms:
            for b in args.blocks_ms:
                rows.append(time_setting(model, b, c, args.blocks))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # progress: one line per setting
        bench_s = time.perf_counter() - t0
    best = {}
    for c in args.contexts_ms:
        ok = [r for r in rows if r["context_ms"] == c and r["real_time"]]
        best[str(c)] = min(ok, key=lambda r: r["algorithmic_latency_ms"]) if ok else None
    print(json.dumps({
        "benchmark": "live", "device": "cpu", "torch_threads": args.threads, "torch": torch.__version__,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f} at the end "
                   "(shared with other jobs: times are upper bounds)",
        "voice": "so-vits-svc 4.1 default size (random weights), 44.1 kHz hop 512; encoder vec768l12-size random",
        "f0": f0, "device_rate": SR, "rows": rows, "lowest_real_time_latency_by_context": best,
        "bench_seconds": round(bench_s, 1), "matmul_gflops_at_end": machine_gflops(),
        "loopback": None if args.no_loopback else loopback(),
        "gpu": "not measured (no GPU in this session)",
    }, indent=2))


if __name__ == "__main__":
    main()
