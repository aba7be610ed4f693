"""Offline conversion speed and memory: real-time factor and peak RSS converting 10 s, 60 s and 600 s of audio.

Voice: the default so-vits-svc 4.1 size (44.1 kHz, hop 512, hidden 192, NSF-HiFiGAN 512, ssl_dim 768, F0 decoder)
with random weights, saved as a voice folder and loaded through ``load_voice``. Content encoder: a ContentVec /
HuBERT-Base-size model (12 layers, 768-d, vec768l12 = layer 12) with random weights. F0: the default extractor.
Input: a sung-like melody (harmonic tones with vibrato, 0.3-1.5 s gaps), 44.1 kHz 16-bit WAV, written in blocks.

Each length runs in a fresh subprocess (``convert_file``, streaming) so peak RSS (VmHWM) is per length; the
parent prints one JSON object. Targets: RTF per second of audio grows linearly (rtf_600 / rtf_10 <= 1.2) and
peak RSS at 600 s is within 1.5x of 60 s. The so-vits-svc reference cannot run here (not installed, no network),
so there is no same-run ratio against it.

    python benchmarks/convert_bench.py                      # 10, 60, 600 s
    python benchmarks/convert_bench.py --lengths 5 20       # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THREADS = 2
SR = 44100


def _vm_hwm_mb() -> float:
    """Peak resident set size of this process in MiB (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def make_voice(folder: Path) -> None:
    """Write a default-size so-vits-svc 4.1 voice with random weights (config.json + G_0.pth)."""
    import torch

    from svc_core.models.synthesizer import SynthesizerTrn
    from svc_core.voices.config import VoiceConfig

    cfg = {
        "train": {"segment_size": 10240},
        "data": {"sampling_rate": SR, "filter_length": 2048, "hop_length": 512, "win_length": 2048,
                 "n_mel_channels": 80, "mel_fmin": 0.0, "mel_fmax": 22050, "unit_interpolate_mode": "nearest"},
        "model": {"inter_channels": 192, "hidden_channels": 192, "filter_channels": 768, "n_heads": 2,
                  "n_layers": 6, "kernel_size": 3, "p_dropout": 0.1, "resblock": "1",
                  "resblock_kernel_sizes": [3, 7, 11], "resblock_dilation_sizes": [[1, 3, 5]] * 3,
                  "upsample_rates": [8, 8, 2, 2, 2], "upsample_initial_channel": 512,
                  "upsample_kernel_sizes": [16, 16, 4, 4, 4], "n_layers_q": 3, "n_layers_trans_flow": 3,
                  "n_flow_layer": 4, "use_spectral_norm": False, "gin_channels": 768, "ssl_dim": 768,
                  "n_speakers": 1, "vocoder_name": "nsf-hifigan", "speech_encoder": "vec768l12",
                  "speaker_embedding": False, "vol_embedding": False, "use_depthwise_conv": False,
                  "flow_share_parameter": False, "use_automatic_f0_prediction": True,
                  "use_transformer_flow": False},
        "spk": {"singer": 0},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    vc = VoiceConfig.from_file(folder / "config.json")
    torch.manual_seed(0)
    model = SynthesizerTrn(vc.data.filter_length // 2 + 1, vc.train.segment_size // vc.data.hop_length,
                           **vc.model.synthesizer_kwargs())
    torch.save({"model": model.state_dict(), "iteration": 0, "optimizer": None, "learning_rate": 1e-4},
               folder / "G_0.pth")


def make_input(path: Path, seconds: float) -> None:
    """A melody of harmonic notes with vibrato and gaps, written in 10 s blocks (16-bit WAV)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(1)
    n_total = int(seconds * SR)
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as fh:
        phase, pos = 0.0, 0
        note_left, gap_left, hz = 0, 0, 220.0
        while pos < n_total:
            n = min(10 * SR, n_total - pos)
            out = np.zeros(n, np.float32)
            i = 0
            while i < n:
                if gap_left > 0:
                    k = min(gap_left, n - i)
                    gap_left -= k
                    i += k
                    continue
                if note_left == 0:
                    note_left = int(rng.uniform(0.4, 2.0) * SR)
                    hz = 196.0 * 2 ** (rng.integers(0, 15) / 12)
                k = min(note_left, n - i)
                t = (pos + i + np.arange(k)) / SR
                f = hz * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
                ph = phase + np.cumsum(2 * np.pi * f / SR)
                phase = float(ph[-1])
                out[i:i + k] = 0.3 * (np.sin(ph) + 0.4 * np.sin(2 * ph) + 0.2 * np.sin(3 * ph)) / 1.6
                note_left -= k
                i += k
                if note_left == 0 and rng.random() < 0.6:
                    gap_left = int(rng.uniform(0.3, 1.5) * SR)
            fh.write(out)
            pos += n


def worker(voice: Path, wav: Path, seconds: float) -> dict:
    """Load everything, convert ``wav`` once, report timings and peak RSS (run in a fresh process)."""
    import torch

    torch.set_num_threads(THREADS)
    from svc_core.convert import Converter, ConvertSettings
    from svc_core.f0 import DEFAULT_EXTRACTOR, get_extractor
    from svc_core.voices import load_voice
    from vencoder.ssl.config import SSLConfig
    from vencoder.ssl.model import SSLModel
    from vencoder.ssl_encoder import SSLContentEncoder

    t0 = time.perf_counter()
    v = load_voice(voice, device="cpu")
    torch.manual_seed(0)
    enc = SSLContentEncoder(SSLModel(SSLConfig()), name="vec768l12", layer=12).eval()
    f0 = get_extractor(DEFAULT_EXTRACTOR, device="cpu")
    conv = Converter(v, enc, f0, ConvertSettings(f0_method=DEFAULT_EXTRACTOR), device="cpu")
    t_load = time.perf_counter() - t0
    rss_loaded = _vm_hwm_mb()
    stages: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(p: object) -> None:
        # a report comes after the work it describes: the time since the previous one belongs to its stage
        now = time.perf_counter()
        stage = getattr(p, "stage", "")
        stages[stage] = stages.get(stage, 0.0) + now - last[0]
        last[0] = now

    out = wav.with_name(wav.stem + "_out.wav")
    t1 = time.perf_counter()
    res = conv.convert_file(wav, out, progress=progress)
    t_conv = time.perf_counter() - t1
    return {"seconds": seconds, "load_s": round(t_load, 2), "convert_s": round(t_conv, 2),
            "rtf": round(t_conv / seconds, 4), "segments": res.segments, "output_frames": res.output_frames,
            "stage_s": {k: round(x, 2) for k, x in stages.items()},
            "peak_rss_mb_after_load": round(rss_loaded, 1), "peak_rss_mb": round(_vm_hwm_mb(), 1)}


def main() -> None:
    """Parent: build the voice and inputs, run one subprocess per length, print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lengths", type=float, nargs="+", default=[10.0, 60.0, 600.0], help="seconds of audio")
    ap.add_argument("--worker", nargs=3, metavar=("VOICE", "WAV", "SECONDS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), Path(args.worker[1]), float(args.worker[2]))))
        return
    import torch

    torch.set_num_threads(THREADS)
    runs = []
    with tempfile.TemporaryDirectory(prefix="svc-convert-bench-") as tmp:
        root = Path(tmp)
        make_voice(root / "voice")
        for secs in args.lengths:
            wav = root / f"in_{secs:g}.wav"
            make_input(wav, secs)
            env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS))
            r = subprocess.run([sys.executable, __file__, "--worker", str(root / "voice"), str(wav), str(secs)],
                               capture_output=True, text=True, env=env, check=False)
            if r.returncode != 0:
                runs.append({"seconds": secs, "error": r.stderr.strip()[-2000:]})
                continue
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
            wav.unlink()
    ok = [r for r in runs if "rtf" in r]
    by = {r["seconds"]: r for r in ok}
    lo, hi = (min(by), max(by)) if by else (None, None)
    summary: dict[str, object] = {}
    if lo is not None and hi != lo:
        summary["rtf_ratio_longest_vs_shortest"] = round(by[hi]["rtf"] / by[lo]["rtf"], 3)
        summary["rtf_target"] = "<= 1.2"
    if 60.0 in by and 600.0 in by:
        summary["peak_rss_ratio_600_vs_60"] = round(by[600.0]["peak_rss_mb"] / by[60.0]["peak_rss_mb"], 3)
        summary["rss_target"] = "<= 1.5"
    elif len(by) >= 2:
        keys = sorted(by)
        summary[f"peak_rss_ratio_{keys[-1]:g}_vs_{keys[-2]:g}"] = round(
            by[keys[-1]]["peak_rss_mb"] / by[keys[-2]]["peak_rss_mb"], 3)
    print(json.dumps({
        "benchmark": "convert", "device": "cpu", "torch_threads": THREADS, "torch": torch.__version__,
        "voice": "so-vits-svc 4.1 default size (random weights), 44.1 kHz hop 512",
        "encoder": "vec768l12-size (12 x 768, random weights)",
        "reference": None, "reference_note": "so-vits-svc is not installed here; no same-run ratio",
        "runs": runs, "summary": summary,
    }, indent=2))


if __name__ == "__main__":
    main()
