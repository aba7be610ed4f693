"""F0 extractor benchmark: accuracy against the corpus' exact F0 and real-time factor on CPU.

For every extractor (and the default + post-processing), on one clip per corpus voice: RPA, RCA, GPE, voicing
recall / false alarm, median |error| in cents, and RTF = extraction time / audio duration (model loading excluded,
reported apart). Reference in the same run: torchfcpe's own ``infer()`` as so-vits-svc calls it (its resampler,
threshold 0.006), as a ratio to our ``fcpe``. RMVPE runs only when an ``rmvpe.pt`` is found (``--rmvpe``,
``--weights-dir`` or the usual places); otherwise the JSON says it was skipped and why.

Prints one JSON object; ``--markdown`` prints the README table after it.

    python benchmarks/f0_bench.py [--extractors fcpe,pm] [--max-seconds 2] [--repeat 1] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from svc_core.errors import WeightsNotFoundError
from svc_core.f0 import DEFAULT_EXTRACTOR, EXTRACTOR_NAMES, get_extractor
from svc_core.f0.base import F0Extractor, model_frame_count
from svc_core.f0.metrics import load_clip, pool_scores, read_f0_tsv, reference_on_grid, reference_path, score
from svc_core.f0.post import postprocess

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path(os.environ.get("SVC_STUDIO_SHARED", ROOT.parent / "shared")) / "corpus"
HOP_S = 0.01
TORCHFCPE_THRESHOLD = 0.006
BENCH_NAMES = ("fcpe", "crepe-full", "crepe-tiny", "rmvpe", "harvest", "dio", "pm")


def corpus_clips(corpus: Path, per_voice: int) -> list[Path]:
    """``per_voice`` clips of every voice in voices.tsv (``.flac`` or ``.wav``); voice i starts at clip i."""
    voices = [line.split("\t")[0] for line in (corpus / "voices.tsv").read_text().splitlines()[1:] if line.strip()]
    out = []
    for i, v in enumerate(voices):
        for j in range(per_voice):
            stem = corpus / v / f"{v}_{(i + j) % 20:02d}"
            p = next((stem.with_suffix(ext) for ext in (".flac", ".wav") if stem.with_suffix(ext).is_file()), None)
            if p is not None:
                out.append(p)
    return out


class TorchfcpeReference(F0Extractor):
    """so-vits-svc style call of torchfcpe: ``infer(wav at input rate, threshold=0.006)`` then grid mapping."""

    name = "torchfcpe.infer (reference)"

    def __init__(self) -> None:
        from svc_core.f0.fcpe import load_bundled_fcpe

        self.model = load_bundled_fcpe(torch.device("cpu"))

    def extract_native(
        self, wav: np.ndarray, sr: int, f0_min: float, f0_max: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """torchfcpe's pipeline on the input rate (internal torchaudio resampler)."""
        x = torch.from_numpy(wav)[None, :, None]
        with torch.inference_mode():
            f0 = self.model.infer(x, sr=sr, decoder_mode="local_argmax", threshold=TORCHFCPE_THRESHOLD,
                                  f0_min=f0_min, f0_max=f0_max)[0, :, 0].double().numpy()
        n16 = int(round(wav.shape[0] * 16000 / sr))
        times = np.arange(f0.shape[0]) * 160 / 16000  # frame i describes sample i*160 (see FcpeExtractor)
        times = np.minimum(times, max(n16, 1) / 16000)
        return times, f0, f0 > 0


def run_one(
    ex: F0Extractor, clips: list[tuple[Path, np.ndarray, int]], repeat: int, post: bool
) -> dict[str, object]:
    """Scores pooled over clips, RTF (min over ``repeat`` runs of the whole set)."""
    ex.extract(clips[0][1][: clips[0][2] // 2], clips[0][2], max(1, round(clips[0][2] * HOP_S)))  # warm-up
    best = best_cpu = float("inf")
    results = []
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        results = []
        for _path, wav, sr in clips:
            results.append(ex.extract(wav, sr, max(1, round(sr * HOP_S))))
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    scores = []
    for (path, wav, sr), (f0, v) in zip(clips, results, strict=True):
        if post:
            f0 = postprocess(f0, v)
        hop = max(1, round(sr * HOP_S))
        rt, rf, rv = read_f0_tsv(reference_path(path))
        ref_f0, ref_v, usable = reference_on_grid(rt, rf, rv, model_frame_count(wav.shape[0], hop), hop, sr)
        scores.append(score(f0, v, ref_f0, ref_v, usable))
    pooled = pool_scores(scores)
    audio_s = sum(w.shape[0] / sr for _, w, sr in clips)
    return {
        **{k: (round(v, 5) if isinstance(v, float) else v) for k, v in pooled.to_dict().items()},
        "rpa_per_clip": {p.stem: round(s.rpa, 4) for (p, _, _), s in zip(clips, scores, strict=True)},
        "rtf": round(best / audio_s, 5),
        "cpu_time_rtf": round(best_cpu / audio_s, 5),  # process CPU time (all threads): steadier on a busy machine
        "seconds": round(best, 3),
    }


def markdown(results: dict[str, dict[str, object]], skipped: dict[str, str]) -> str:
    """README table of the results."""
    head = ("extractor", "RPA %", "RPA voiced-only %", "RCA %", "GPE %", "voicing recall %", "voicing false alarm %",
            "median error (cents)", "RTF (CPU, 2 threads)", "CPU-time RTF")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        lines.append(
            f"| {name} | {100 * r['rpa']:.1f} | {100 * r['rpa_voiced']:.1f} | {100 * r['rca']:.1f} | "
            f"{100 * r['gpe']:.2f} | "
            f"{100 * r['voicing_recall']:.1f} | {100 * r['voicing_false_alarm']:.1f} | {r['median_abs_cents']:.1f} | "
            f"{r['rtf']:.4f} | {r['cpu_time_rtf']:.4f} |"
        )
    for name, why in skipped.items():
        lines.append(f"| {name} | skipped: {why} |" + " |" * (len(head) - 2))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print JSON (and the markdown table)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--extractors", default=",".join(BENCH_NAMES), help="comma list of extractor names")
    ap.add_argument("--clips-per-voice", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=None, help="use only the first N seconds of each clip")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs per extractor (min is reported)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rmvpe", default=None, help="path to rmvpe.pt")
    ap.add_argument("--weights-dir", default=None)
    ap.add_argument("--no-reference", action="store_true", help="skip the torchfcpe.infer reference run")
    ap.add_argument("--markdown", action="store_true", help="also print the README table")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.extractors.split(",") if n.strip()]
    bad = [n for n in names if n not in EXTRACTOR_NAMES]
    if bad:
        ap.error(f"unknown extractor(s) {bad}; choose from {', '.join(EXTRACTOR_NAMES)}")
    paths = corpus_clips(args.corpus, args.clips_per_voice)
    if not paths:
        ap.error(f"no corpus clips under {args.corpus}")
    clips = [(p, *load_clip(p, args.max_seconds)) for p in paths]

    results: dict[str, dict[str, object]] = {}
    skipped: dict[str, str] = {}
    load_s: dict[str, float] = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            ex = get_extractor(name, device=args.device, weights_dir=args.weights_dir, rmvpe_path=args.rmvpe)
        except WeightsNotFoundError as e:  # rmvpe.pt absent: nothing to measure
            skipped[name] = f"{e.name} not found in {len(e.searched)} place(s) (pass --rmvpe PATH)"
            continue
        res = run_one(ex, clips, args.repeat, post=False)
        load_s[name] = round(time.perf_counter() - t0 - float(res["seconds"]) * max(1, args.repeat), 3)
        results[name] = res
        if name == DEFAULT_EXTRACTOR:
            results[f"{name} + postprocess"] = run_one(ex, clips, args.repeat, post=True)
        if name == "fcpe":  # the other side of the voicing trade: our decoding with torchfcpe's own threshold
            from svc_core.f0.fcpe import FcpeExtractor

            results[f"fcpe, threshold {TORCHFCPE_THRESHOLD}"] = run_one(
                FcpeExtractor(ex.device, threshold=TORCHFCPE_THRESHOLD), clips, args.repeat, post=False)
    ratios = {}
    if not args.no_reference and "fcpe" in results:
        ref = run_one(TorchfcpeReference(), clips, args.repeat, post=False)
        results["torchfcpe.infer (reference)"] = ref
        ratios["fcpe_rtf_vs_torchfcpe_infer"] = round(float(results["fcpe"]["rtf"]) / max(float(ref["rtf"]), 1e-9), 3)
        ratios["fcpe_cpu_time_vs_torchfcpe_infer"] = round(
            float(results["fcpe"]["cpu_time_rtf"]) / max(float(ref["cpu_time_rtf"]), 1e-9), 3)
        ratios["fcpe_rpa_minus_torchfcpe_infer"] = round(float(results["fcpe"]["rpa"]) - float(ref["rpa"]), 5)
    report = {
        "benchmark": "f0",
        "device": str(args.device),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "default_extractor": DEFAULT_EXTRACTOR,
        "clips": [p.stem for p in paths],
        "audio_seconds": round(sum(w.shape[0] / sr for _, w, sr in clips), 3),
        "hop_s": HOP_S,
        "results": results,
        "skipped": skipped,
        "setup_seconds_incl_warmup": load_s,
        "ratios": ratios,
        "notes": "RPA on reference-voiced frames of the model-input F0 (unvoiced frames interpolated, as the "
        "synthesizer gets it); rpa_voiced also requires the extractor's voiced flag. Frames where the reference "
        "changes voicing are excluded.",
    }
    sys.stdout.write(json.dumps(report, indent=1) + "\n")
    if args.markdown:
        sys.stdout.write("\n" + markdown(results, skipped) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
