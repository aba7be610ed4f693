"""Training-step speed and peak memory: one G/D step of ``svc_core.train.step`` for a preset (default: so-vits-svc
4.1's sizes, 44.1 kHz, vec768l12 width), batch 4, segment 10240 samples, random clips of ``--frames`` frames.

Each measurement runs in a fresh child process (peak RSS = that process's ``ru_maxrss``): warm-up steps, then
``--steps`` timed steps (wall and process-CPU seconds). With ``--sovits DIR`` (a so-vits-svc 4.1 checkout, run
from a throwaway environment; its code is imported from DIR, never copied here) the same batch goes through
so-vits-svc's own ``SynthesizerTrn`` / ``MultiPeriodDiscriminator`` / losses in its ``train.py`` order, and the
ratios ours / theirs are printed. Prints one JSON object.

    python benchmarks/train_bench.py                       # default preset, CPU, 2 threads
    python benchmarks/train_bench.py --preset tiny --sr 16000 --steps 5
    python benchmarks/train_bench.py --sovits /tmp/so-vits-svc
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _batch(cfg: Any, b: int, frames: int, device: Any) -> Any:
    import torch

    from svc_core.train.dataset import Batch
    from vdecoder.mel import spectrogram_torch

    g = torch.Generator().manual_seed(0)
    hop, sr = cfg.data.hop_length, cfg.data.sampling_rate
    t = torch.arange(frames * hop) / sr
    f0 = 150 + 100 * torch.rand(b, 1, generator=g)
    wav = 0.3 * torch.sin(2 * torch.pi * f0 * t) + 0.01 * torch.randn(b, frames * hop, generator=g)
    spec = spectrogram_torch(wav, cfg.data.filter_length, sr, hop, cfg.data.win_length)[:, :, :frames]
    return Batch(torch.randn(b, cfg.model.ssl_dim, frames, generator=g), f0.expand(b, frames).contiguous(),
                 torch.ones(b, frames), spec, wav[:, None], torch.full((b,), frames), torch.zeros(b, dtype=torch.long),
                 torch.rand(b, frames, generator=g) if cfg.model.vol_embedding else None).to(device)


def _ours(cfg: Any, batch: Any, device: Any) -> Any:
    import torch

    from svc_core.train.build import build_networks, build_optimizers
    from svc_core.train.loop import _mel_cfg
    from svc_core.train.step import StepParts, pick_precision, train_step

    g, d = build_networks(cfg, device)
    og, od, _, _ = build_optimizers(cfg, g, d)
    prec = pick_precision("auto", device)
    parts = StepParts(g, d, og, od, torch.amp.GradScaler(device.type, enabled=prec.scaler), prec, device,
                      cfg.data.hop_length, cfg.train.segment_size, _mel_cfg(cfg), 45.0, 1.0,
                      cfg.train.extra.get("grad_clip_norm"), True)
    return lambda i: train_step(parts, [batch], [i])


def _sovits(cfg: Any, batch: Any, device: Any, sovits: Path) -> Any:
    """so-vits-svc 4.1 train.py's step (fp32, no scaler), on its own classes imported from ``sovits``."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(sovits))
    for name in [m for m in sys.modules if m.split(".")[0] in ("vdecoder", "modules", "utils")]:
        del sys.modules[name]  # so-vits-svc has its own top-level vdecoder / modules / utils
    import modules.commons as commons  # noqa: I001 - so-vits-svc modules, from the checkout
    from models import MultiPeriodDiscriminator, SynthesizerTrn
    from modules.losses import discriminator_loss, feature_loss, generator_loss, kl_loss
    from modules.mel_processing import mel_spectrogram_torch, spec_to_mel_torch

    hp = cfg.to_dict()
    net_g = SynthesizerTrn(cfg.data.filter_length // 2 + 1, cfg.train.segment_size // cfg.data.hop_length,
                           **hp["model"]).to(device)
    net_d = MultiPeriodDiscriminator(False).to(device)
    t = cfg.train
    og = torch.optim.AdamW(net_g.parameters(), t.learning_rate, betas=t.betas, eps=t.eps)
    od = torch.optim.AdamW(net_d.parameters(), t.learning_rate, betas=t.betas, eps=t.eps)
    dd = cfg.data
    b = batch

    def step(i: int) -> None:
        torch.manual_seed(i)
        y_hat, ids, z_mask, (z, z_p, m_p, logs_p, m_q, logs_q), pred_lf0, norm_lf0, lf0 = net_g(
            b.c, b.f0, b.uv, b.spec, g=b.spk[:, None], c_lengths=b.lengths, spec_lengths=b.lengths, vol=b.vol)
        mel = spec_to_mel_torch(b.spec, dd.filter_length, dd.n_mel_channels, dd.sampling_rate, dd.mel_fmin,
                                dd.mel_fmax)
        y_mel = commons.slice_segments(mel, ids, t.segment_size // dd.hop_length)
        y_hat_mel = mel_spectrogram_torch(y_hat.squeeze(1), dd.filter_length, dd.n_mel_channels, dd.sampling_rate,
                                          dd.hop_length, dd.win_length, dd.mel_fmin, dd.mel_fmax)
        y = commons.slice_segments(b.wav, ids * dd.hop_length, t.segment_size)
        r, g_, _, _ = net_d(y, y_hat.detach())
        loss_d, _, _ = discriminator_loss(r, g_)
        od.zero_grad()
        loss_d.backward()
        commons.clip_grad_value_(net_d.parameters(), None)
        od.step()
        r, g_, fr, fg = net_d(y, y_hat)
        loss = (F.l1_loss(y_mel, y_hat_mel) * t.c_mel + kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * t.c_kl
                + feature_loss(fr, fg) + generator_loss(g_)[0] + F.mse_loss(pred_lf0, lf0))
        og.zero_grad()
        loss.backward()
        commons.clip_grad_value_(net_g.parameters(), None)
        og.step()

    return step


def _worker(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from svc_core.device import pick_device
    from svc_core.train.presets import build_config
    from svc_core.voices.config import VoiceConfig

    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    d = build_config(args.preset, sampling_rate=args.sr, speakers=["a"], speech_encoder="vec768l12")
    d["train"]["segment_size"] = args.segment
    cfg = VoiceConfig.from_dict(d)
    torch.manual_seed(0)
    batch = _batch(cfg, args.batch, args.frames, device)
    step = _sovits(cfg, batch, device, Path(args.sovits)) if args.impl == "sovits" else _ours(cfg, batch, device)
    for i in range(args.warmup):
        step(i)
    wall, cpu = [], []
    for i in range(args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        step(args.warmup + i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    out = {"impl": args.impl, "s_per_step": statistics.median(wall), "steps_per_s": 1 / statistics.median(wall),
           "cpu_s_per_step": statistics.median(cpu), "peak_rss_gib": resource.getrusage(
               resource.RUSAGE_SELF).ru_maxrss / 2**20, "device": str(device)}
    if device.type == "cuda":
        out["peak_cuda_gib"] = torch.cuda.max_memory_allocated() / 2**30
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--sr", type=int, default=44100)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--segment", type=int, default=10240)
    ap.add_argument("--frames", type=int, default=400, help="clip length in frames (400 = 4.6 s at 44.1 kHz)")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sovits", default=None, metavar="DIR", help="so-vits-svc 4.1 checkout to compare with")
    ap.add_argument("--impl", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.impl:
        print(json.dumps(_worker(args)))
        return
    runs = {}
    for impl in ["ours"] + (["sovits"] if args.sovits else []):
        cmd = [sys.executable, __file__, *sys.argv[1:], "--impl", impl]
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": str(args.threads)}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            runs[impl] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
        else:
            runs[impl] = json.loads(proc.stdout.strip().splitlines()[-1])
    res: dict[str, Any] = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                           "cpus": os.cpu_count(), "threads": args.threads, "preset": args.preset, "sr": args.sr,
                           "batch": args.batch, "segment": args.segment, "frames": args.frames, "runs": runs}
    o, s = runs.get("ours", {}), runs.get("sovits", {})
    if "s_per_step" in o and "s_per_step" in s:
        res["time_ratio"] = o["s_per_step"] / s["s_per_step"]
        res["memory_ratio"] = o["peak_rss_gib"] / s["peak_rss_gib"]
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
