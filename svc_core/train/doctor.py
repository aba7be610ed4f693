"""Dataset doctor: a report a musician can act on, written as ``report.json`` + ``report.md`` into the dataset.

Per speaker: minutes, clip count, duration histogram, pitch range (notes), clipping, noise floor / SNR, loudness
spread of the sources, source sample rates; duplicates across the dataset; every rejected file with its reason;
and plain-language warnings ("12 min of audio: 30+ min recommended", "38 % of clips clip", ...).
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from svc_core.atomic import write_text_atomic
from svc_core.errors import SvcError
from svc_core.f0.report import hz_to_note
from svc_core.train.cache import FEATURES
from svc_core.train.preprocess import MANIFEST
from svc_core.train.sources import read_json, write_json

__all__ = ["DURATION_BINS", "dataset_report", "report_markdown", "write_report"]

DURATION_BINS = (2, 4, 6, 8, 10, 12, 15.01)
RECOMMENDED_MIN, TOO_LITTLE_MIN = 30.0, 15.0


def _note(hz: float | None) -> str:
    return hz_to_note(hz).split(" ")[0] if hz else "-"


def _speaker_pitch(ds: Path, files: list[str], f0_limits: tuple[float, float] | None) -> dict[str, Any]:
    vals = []
    for f in files:
        p = ds / (f[: -len(".wav")] + ".feat.npz")
        if p.is_file():
            with np.load(p, allow_pickle=False) as z:
                vals.append(z["f0"][z["uv"] > 0.5])
    v = np.concatenate(vals) if vals else np.zeros(0)
    if v.size == 0:
        return {}
    p5, p50, p95 = (float(x) for x in np.percentile(v, [5, 50, 95]))
    out = {"low_hz": round(p5, 1), "median_hz": round(p50, 1), "high_hz": round(p95, 1), "low_note": _note(p5),
           "median_note": _note(p50), "high_note": _note(p95)}
    if f0_limits:
        lo, hi = f0_limits
        out["at_limit_fraction"] = round(float(np.mean((v >= 0.97 * hi) | (v <= 1.03 * lo))), 4)
    return out


def dataset_report(dataset: str | Path) -> dict[str, Any]:
    """Build the report dict from the preprocess manifest (and the feature cache, for pitch)."""
    ds = Path(dataset)
    man = read_json(ds / MANIFEST)
    if not man or "sources" not in man:
        raise SvcError(f"{ds}: not a preprocessed dataset (no {MANIFEST})")
    feats = read_json(ds / FEATURES) or {}
    fs = feats.get("settings") or {}
    limits = (float(fs["f0_min"]), float(fs["f0_max"])) if "f0_min" in fs else None
    target_sr = int(man["settings"]["sr"])
    rejected: list[dict[str, str]] = []
    speakers: dict[str, dict[str, Any]] = {}
    by_hash: dict[str, list[tuple[str, str]]] = {}
    for key, e in sorted(man["sources"].items()):
        spk = e["speaker"]
        s = speakers.setdefault(spk, {"clips": [], "sources": []})
        if e.get("status") == "ok":
            s["sources"].append(e)
        if e.get("status") == "rejected":
            rejected.append({"file": key, "reason": e["reason"]})
        else:
            rejected += [{"file": f"{key} {r.split(': ', 1)[0]}", "reason": r.split(": ", 1)[1]}
                         for r in e.get("rejected", [])]
        for c in e.get("clips", []):
            s["clips"].append(c)
            by_hash.setdefault(c["sha256"], []).append((spk, c["file"]))
    out_spk: dict[str, Any] = {}
    warnings: list[str] = []
    for spk, s in speakers.items():
        clips = s["clips"]
        dur = np.array([c["duration_s"] for c in clips], np.float64)
        minutes = float(dur.sum()) / 60.0
        hist = np.histogram(dur, bins=DURATION_BINS)[0].tolist() if clips else [0] * (len(DURATION_BINS) - 1)
        clipping = [c for c in clips if c.get("clipped_fraction", 0) > 0]
        lufs = np.array([c["lufs"] for c in clips], np.float64)
        snr = np.array([src["snr_db"] for src in s["sources"] if "snr_db" in src], np.float64)
        noise = np.array([src["noise_db"] for src in s["sources"] if "noise_db" in src], np.float64)
        rates = Counter(int(src["source_sr"]) for src in s["sources"])
        info: dict[str, Any] = {
            "minutes": round(minutes, 2), "clips": len(clips), "sources": len(s["sources"]),
            "duration_histogram": {f"{a:g}-{b:.0f} s": n for a, b, n in
                                   zip(DURATION_BINS[:-1], DURATION_BINS[1:], hist, strict=True)},
            "clipping_clips_percent": round(100.0 * len(clipping) / max(1, len(clips)), 1),
            "noise_floor_db_median": round(float(np.median(noise)), 1) if noise.size else None,
            "snr_db_median": round(float(np.median(snr)), 1) if snr.size else None,
            "loudness_lufs_spread": round(float(lufs.max() - lufs.min()), 1) if clips else None,
            "source_sample_rates": {str(k): v for k, v in sorted(rates.items())},
            "pitch": _speaker_pitch(ds, [c["file"] for c in clips], limits),
        }
        out_spk[spk] = info
        warnings += _speaker_warnings(spk, info, target_sr, limits, multi=len(speakers) > 1)
    dups = [files for files in by_hash.values() if len(files) > 1]
    cross = sorted({tuple(sorted({spk for spk, _ in files})) for files in dups if len({s for s, _ in files}) > 1})
    for pair in cross:
        warnings.append(f"speakers {' and '.join(pair)} share the same clips: the model cannot tell them apart")
    if dups and not cross:
        warnings.append(f"{sum(len(d) - 1 for d in dups)} duplicate clip(s): the same audio appears more than once")
    if rejected:
        warnings.append(f"{len(rejected)} file(s) or part(s) rejected (listed below)")
    return {"dataset": str(ds), "sample_rate": target_sr, "speakers": out_spk, "duplicates": [
        [f for _, f in files] for files in dups], "rejected": rejected, "warnings": warnings}


def _speaker_warnings(spk: str, info: dict[str, Any], target_sr: int, limits: tuple[float, float] | None,
                      multi: bool) -> list[str]:
    who = f"{spk}: " if multi else ""
    w = []
    m = info["minutes"]
    if m < TOO_LITTLE_MIN:
        w.append(f"{who}{m:.0f} min of audio: too little, {RECOMMENDED_MIN:.0f}+ min recommended (under "
                 f"{TOO_LITTLE_MIN:.0f} min the voice will be unstable)")
    elif m < RECOMMENDED_MIN:
        w.append(f"{who}{m:.0f} min of audio: {RECOMMENDED_MIN:.0f}+ min recommended")
    if info["clipping_clips_percent"] >= 5:
        w.append(f"{who}{info['clipping_clips_percent']:.0f} % of clips clip (samples at full scale): record "
                 "with more headroom")
    snr = info["snr_db_median"]
    if snr is not None and snr < 25:
        w.append(f"{who}noisy recordings: the noise floor is only {snr:.0f} dB below the singing (median); "
                 "the voice will learn the noise")
    spread = info["loudness_lufs_spread"]
    if spread is not None and spread > 12:
        w.append(f"{who}loudness of the clips varies by {spread:.0f} LU before normalising: check mic distance "
                 "and gain between sessions")
    low = [int(r) for r in info["source_sample_rates"] if int(r) < target_sr]
    if low:
        n = sum(info["source_sample_rates"][str(r)] for r in low)
        w.append(f"{who}{n} file(s) at {', '.join(f'{r / 1000:g} kHz' for r in sorted(low))}, below the model's "
                 f"{target_sr / 1000:g} kHz: their highs are missing and the voice will sound dull")
    p = info["pitch"]
    if limits and p.get("at_limit_fraction", 0) > 0.01:
        w.append(f"{who}pitch range exceeds the extractor's limit ({limits[0]:g}-{limits[1]:g} Hz): "
                 f"{100 * p['at_limit_fraction']:.0f} % of sung frames sit at its edge")
    return w


def report_markdown(rep: dict[str, Any]) -> str:
    """The report as Markdown (also what the CLI prints)."""
    lines = [f"# Dataset report: {rep['dataset']}", "", f"Model sample rate: {rep['sample_rate']} Hz", ""]
    lines += ["## Warnings", ""] + ([f"- {w}" for w in rep["warnings"]] or ["- none"]) + [""]
    for spk, s in rep["speakers"].items():
        p = s["pitch"]
        pitch = f"{p['low_note']} .. {p['high_note']} (median {p['median_note']})" if p else "not analysed"
        lines += [f"## Speaker {spk}", "", f"- {s['minutes']:.1f} min in {s['clips']} clips from {s['sources']} "
                  "file(s)", f"- pitch: {pitch}",
                  f"- clips that clip: {s['clipping_clips_percent']:.1f} %",
                  f"- noise floor (median): {_fmt(s['noise_floor_db_median'], 'dBFS')}, SNR "
                  f"{_fmt(s['snr_db_median'], 'dB')}",
                  f"- loudness spread before normalising: {_fmt(s['loudness_lufs_spread'], 'LU')}",
                  "- source sample rates: " + (", ".join(f"{k} Hz x{v}" for k, v in
                                                        s["source_sample_rates"].items()) or "-"),
                  "- clip durations: " + ", ".join(f"{k}: {v}" for k, v in s["duration_histogram"].items()), ""]
    if rep["duplicates"]:
        lines += ["## Duplicates", ""] + [f"- {', '.join(d)}" for d in rep["duplicates"]] + [""]
    lines += ["## Rejected", ""] + ([f"- {r['file']}: {r['reason']}" for r in rep["rejected"]] or ["- none"])
    return "\n".join(lines) + "\n"


def _fmt(v: float | None, unit: str) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.1f} {unit}"


def write_report(dataset: str | Path) -> dict[str, Any]:
    """Build the report and write ``report.json`` and ``report.md`` atomically; returns the report."""
    ds = Path(dataset)
    rep = dataset_report(ds)
    write_json(ds / "report.json", rep)
    write_text_atomic(ds / "report.md", report_markdown(rep))
    return rep
