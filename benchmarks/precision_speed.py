"""NSF-HiFiGAN decoder in lower precision vs float32: speed, and how far the output moves (max abs, SNR, F0 cents).

Default so-vits-svc 4.1 44.1 kHz decoder (upsample_initial_channel 512, rates [8, 8, 2, 2, 2], ResBlock1 3/7/11),
random weights, CPU, the given threads. Inputs: a random latent [1, 192, T] and an F0 curve gliding between notes
(110-440 Hz), the same NSF source draws for every mode (seeded). Modes, timed interleaved (first mode alternating):

- ``fp32``: our channels-last float32 inference path (the reference of the errors);
- ``bf16``: a copy of the decoder in bfloat16 but the NSF source (which stays float32 and is cast after), run on
  the same channels-last path: every conv and matmul in bfloat16 (oneDNN uses AVX512-BF16 / AMX where the CPU has
  them); output cast back to float32. Measured and not kept in the app (see the README);
- ``int8_dynamic``: torch's dynamic int8 quantization of the resblock and upsampling convs (weights int8 per
  tensor, activations quantized per call; conv_pre and the noise convs stay float), run on the module path
  (quantized modules have no channels-last path).

F0 of each output: pyworld harvest (10 ms frames); the error is in cents on frames voiced in both outputs.

    python benchmarks/precision_speed.py --seconds 10 --repeats 3
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import warnings
from typing import Any

import numpy as np
import torch
from _machine import fp32_peak
from _timing import interleaved_times
from synth_speed import _build

SR = 44100


def _inputs(seconds: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    t = max(1, math.ceil(seconds * SR / 512))
    g = torch.Generator().manual_seed(3)
    z = torch.randn(1, 192, t, generator=g) * 0.8
    notes = 110 * 2 ** (torch.randint(0, 25, (t // 40 + 1,), generator=g).float() / 12)
    f0 = torch.nn.functional.interpolate(notes[None, None], size=t, mode="linear", align_corners=True)[0]
    return z, f0, torch.randn(1, 768, 1, generator=g) * 0.1


class _Bf16Decoder(torch.nn.Module):
    """``dec`` with every part but the NSF source in bfloat16, on its channels-last path."""

    def __init__(self, dec: torch.nn.Module) -> None:
        super().__init__()
        self.dec = copy.deepcopy(dec)
        for name, child in self.dec.named_children():
            if name != "m_source":
                child.to(torch.bfloat16)

    def forward(self, z: torch.Tensor, f0: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        source = self.dec.m_source(f0, self.dec.hop_length)[0].to(torch.bfloat16)
        return self.dec._forward_channels_last(z.to(torch.bfloat16), source, g.to(torch.bfloat16)).float()


def _int8_dynamic(dec: torch.nn.Module) -> torch.nn.Module:
    from torch.ao.nn.quantized import dynamic as nnqd
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    q = copy.deepcopy(dec)
    q.noise_convs = dec.noise_convs  # 1-input-channel convs: no int8 kernel worth it; keep float
    mapping = {torch.nn.Conv1d: nnqd.Conv1d, torch.nn.ConvTranspose1d: nnqd.ConvTranspose1d}
    qconfig = dict.fromkeys(mapping, default_dynamic_qconfig)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that dynamic quantized convs are inaccurate: measured here
        q = quantize_dynamic(q, qconfig_spec=qconfig, mapping=mapping, dtype=torch.qint8)
    q.conv_pre = dec.conv_pre  # float (0.2 % of the FLOPs): the generator reads its dtype
    q.channels_last_inference = lambda x: False  # quantized modules: the module path
    q._matmul_io_inference = lambda x: False
    return q


def _f0_cents(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    import pyworld

    fa, ta = pyworld.harvest(a.astype(np.float64), SR, frame_period=10.0)
    fb, _ = pyworld.harvest(b.astype(np.float64), SR, frame_period=10.0)
    both = (fa > 0) & (fb > 0)
    cents = np.abs(1200 * np.log2(fb[both] / fa[both])) if both.any() else np.array([np.nan])
    return {"voiced_frames_fp32": int((fa > 0).sum()), "voiced_in_both": int(both.sum()),
            "voicing_disagreement": int(((fa > 0) != (fb > 0)).sum()),
            "median_cents": float(np.median(cents)), "p99_cents": float(np.percentile(cents, 99)),
            "max_cents": float(cents.max())}


def main() -> None:
    """Build the decoder, time the modes interleaved, compare outputs, print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", nargs="+", default=["fp32", "bf16", "int8_dynamic"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = _build(small=False)
    net.remove_weight_norm()
    fp32 = net.dec
    decs: dict[str, Any] = {"fp32": fp32}
    if "bf16" in args.modes:
        decs["bf16"] = _Bf16Decoder(fp32)
    if "int8_dynamic" in args.modes:
        decs["int8_dynamic"] = _int8_dynamic(fp32)
    z, f0, g = _inputs(args.seconds)

    def run(mode: str) -> torch.Tensor:
        torch.manual_seed(1234)
        with torch.inference_mode():
            return decs[mode](z, f0, g)

    outs = {mode: run(mode) for mode in decs}
    times = interleaved_times({m: (lambda r, m=m: run(m)) for m in decs}, dict.fromkeys(decs, args.repeats))
    ref = outs["fp32"][0, 0].numpy()
    modes: dict[str, Any] = {}
    for mode, y in outs.items():
        wall = times[mode][0]
        entry: dict[str, Any] = {"median_s": round(statistics.median(wall), 3), "all_s": [round(w, 3) for w in wall]}
        if mode != "fp32":
            err = y[0, 0].numpy() - ref
            entry["max_abs_vs_fp32"] = float(np.abs(err).max())
            entry["snr_db_vs_fp32"] = float(10 * np.log10(np.mean(ref**2) / np.mean(err**2)))
            entry["f0_vs_fp32"] = _f0_cents(ref, y[0, 0].numpy())
            # control: white noise of the same power as this mode's error, added to fp32 (how much harvest moves on
            # this random-weight output for an error of that size, whatever its cause)
            noise = np.random.default_rng(0).standard_normal(ref.shape).astype(np.float32) * np.sqrt(np.mean(err**2))
            entry["f0_control_fp32_plus_same_power_noise"] = _f0_cents(ref, ref + noise)
            entry["speedup_vs_fp32"] = round(statistics.median(times["fp32"][0]) / statistics.median(wall), 3)
        modes[mode] = entry
    print(json.dumps({"benchmark": "precision_speed", "torch": torch.__version__, "threads": args.threads,
                      "seconds": args.seconds, "repeats": args.repeats,
                      "output_rms_fp32": float(np.sqrt(np.mean(ref**2))), "machine": fp32_peak(args.threads),
                      "modes": modes}, indent=2))


if __name__ == "__main__":
    main()
