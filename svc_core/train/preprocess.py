"""Preprocess a folder of sung clips into a training dataset: decode any format ``svc_core.audio`` reads, slice at
silences into 2-15 s clips (``svc_core.audio.slicer``), resample to the model rate, loudness-normalise (ITU-R
BS.1770 integrated loudness with pyloudnorm), reject corrupt / NaN / silent / too short / clipped audio with a reason.

Files are read in blocks (a 40-minute file is never held whole); clips are written atomically as 16-bit WAV under
``DATASET/<speaker>/``. ``DATASET/preprocess.json`` records each source's content hash, the settings and its clips,
so a rerun skips finished sources and an interrupted run resumes; a changed source or setting redoes that source.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svc_core.audio import AudioReader, write_audio
from svc_core.audio.slicer import FrameRms, SliceSettings, slice_from_rms, split_long
from svc_core.dsp import resample
from svc_core.errors import AudioError, SvcError
from svc_core.jobs import CancelToken, Progress
from svc_core.train.sources import Source, file_sha256, find_sources, read_json, write_json

__all__ = ["MANIFEST", "PreprocessResult", "PreprocessSettings", "run_preprocess"]

MANIFEST = "preprocess.json"
VERSION = 1
_BLOCK = 1 << 18


@dataclass(frozen=True)
class PreprocessSettings:
    """How sources become clips: model rate, clip length limits, loudness target and rejection thresholds."""

    sr: int = 44100
    min_clip_s: float = 2.0
    max_clip_s: float = 15.0
    target_lufs: float = -23.0
    silence_db: float = -40.0
    clip_level: float = 0.999
    max_clipped_fraction: float = 0.001

    def key(self) -> str:
        """Hash of every setting that changes the clips (part of each source's cache key)."""
        return hashlib.sha256(json.dumps({"v": VERSION, **asdict(self)}, sort_keys=True).encode()).hexdigest()[:16]

    def slicer(self) -> SliceSettings:
        """Slicer parameters: cut at 300 ms silences, clips of at least ``min_clip_s``, 10 ms frames."""
        return SliceSettings(threshold_db=self.silence_db, min_length_ms=self.min_clip_s * 1000,
                             min_interval_ms=300.0, hop_ms=10.0, max_sil_kept_ms=500.0)


@dataclass
class PreprocessResult:
    """What a run did: sources processed / skipped, clips written, and rejections ``(source key, reason)``."""

    processed: int = 0
    skipped: int = 0
    clips: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


def _db(x: float) -> float:
    return 20.0 * math.log10(max(float(x), 1e-10))


def _scan(reader: AudioReader, hop: int, win: int, clip_level: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Pass 1 over the file in blocks: frame RMS of the mono downmix, peak and count of full-scale samples."""
    rms = FrameRms(hop, win)
    peak, n_clip = 0.0, 0
    start = 0
    while start < reader.info.frames:
        blk = reader.read(min(_BLOCK, reader.info.frames - start))
        if blk.shape[1] == 0:
            break
        bad = ~np.isfinite(blk)
        if bad.any():
            first = start + int(np.flatnonzero(bad.any(axis=0))[0])
            raise AudioError(f"{int(bad.sum())} NaN/inf samples (first at {first / reader.info.sr:.2f} s)")
        a = np.abs(blk)
        peak = max(peak, float(a.max()))
        n_clip += int((a >= clip_level).any(axis=0).sum())
        rms.push(blk.mean(axis=0))
        start += blk.shape[1]
    return rms.finish(), {"peak": peak, "clipped_samples": n_clip}


def _noise_stats(rms: np.ndarray) -> dict[str, float]:
    """Noise floor (5th percentile of the file's 10 ms frame RMS, pauses included; -100 dBFS at most) and level
    (95th percentile) in dBFS, and the SNR between them. A file without pauses (floor within 10 dB of the level)
    gives no estimate."""
    noise = max(-100.0, _db(float(np.percentile(rms, 5))))
    level = _db(float(np.percentile(rms, 95)))
    if level - noise < 10.0:
        return {"level_db": round(level, 2)}
    return {"noise_db": round(noise, 2), "level_db": round(level, 2), "snr_db": round(level - noise, 2)}


def _normalise(y: np.ndarray, sr: int, target: float) -> tuple[np.ndarray, float]:
    """Scale to ``target`` LUFS (BS.1770, pyloudnorm), peak-limited to 0.99 by a plain gain; returns (y, loudness)."""
    import pyloudnorm

    loud = float(pyloudnorm.Meter(sr).integrated_loudness(y.astype(np.float64)))
    if not math.isfinite(loud):
        return y, loud
    y = y * np.float32(10.0 ** ((target - loud) / 20.0))
    peak = float(np.abs(y).max())
    if peak > 0.99:
        y = y * np.float32(0.99 / peak)
    return y.astype(np.float32), loud


def _process(src: Source, out_dir: Path, s: PreprocessSettings, sha: str) -> dict[str, Any]:
    """Slice, check and write one source; returns its manifest entry (status ok or rejected, with reasons)."""
    entry: dict[str, Any] = {"sha256": sha, "settings": s.key(), "speaker": src.speaker, "clips": [], "rejected": []}
    try:
        reader = AudioReader(src.path)
    except AudioError as e:
        entry.update(status="rejected", reason=f"corrupt or unreadable: {str(e).removeprefix(str(src.path) + ': ')}")
        return entry
    with reader:
        inf = reader.info
        entry.update(source_sr=inf.sr, channels=inf.channels, duration_s=round(inf.duration, 3), format=inf.format)
        slicer = s.slicer()
        hop, win, *_ = slicer.frames(inf.sr)
        try:
            rms, scan = _scan(reader, hop, win, s.clip_level)
        except AudioError as e:
            msg = str(e).removeprefix(str(src.path) + ": ")
            reason = f"invalid samples: {msg}" if "NaN" in msg else f"corrupt: {msg}"
            entry.update(status="rejected", reason=reason)
            return entry
        entry.update(peak=round(scan["peak"], 5), clipped_fraction=round(scan["clipped_samples"] / inf.frames, 6),
                     **_noise_stats(rms))
        slices = split_long(slice_from_rms(rms, inf.frames, inf.sr, slicer), rms, hop, int(s.max_clip_s * inf.sr))
        voiced = [sl for sl in slices if not sl.silent]
        if not voiced:
            peak = f"peak {_db(scan['peak']):.1f} dBFS" if scan["peak"] > 0 else "digital silence"
            entry.update(status="rejected", reason=f"silent: no sound above {s.silence_db:g} dBFS ({peak})")
            return entry
        min_len = int(s.min_clip_s * inf.sr)
        speaker_dir = out_dir / src.speaker
        speaker_dir.mkdir(parents=True, exist_ok=True)
        for k, sl in enumerate(voiced):
            where = f"{sl.start / inf.sr:.2f}-{sl.end / inf.sr:.2f} s"
            if sl.length < min_len:
                entry["rejected"].append(f"{where}: too short ({sl.length / inf.sr:.2f} s; clips need "
                                         f">= {s.min_clip_s:g} s)")
                continue
            x = reader.read_range(sl.start, sl.end)
            clipped = float((np.abs(x) >= s.clip_level).any(axis=0).mean())
            if clipped > s.max_clipped_fraction:
                entry["rejected"].append(f"{where}: clipped ({100 * clipped:.2f} % of samples at full scale)")
                continue
            y = resample(x.mean(axis=0), inf.sr, s.sr)
            y, loud = _normalise(y, s.sr, s.target_lufs)
            if not math.isfinite(loud):
                entry["rejected"].append(f"{where}: silent (no measurable loudness)")
                continue
            name = f"{src.stem}_{k:03d}.wav"
            path = write_audio(speaker_dir / name, y, s.sr, subtype="16")
            entry["clips"].append({"file": f"{src.speaker}/{name}", "start_s": round(sl.start / inf.sr, 3),
                                   "duration_s": round(y.shape[0] / s.sr, 3), "lufs": round(loud, 2),
                                   "clipped_fraction": round(clipped, 6), "sha256": file_sha256(path)})
    if not entry["clips"]:
        reasons = "; ".join(entry["rejected"][:3])
        entry.update(status="rejected", reason=f"no usable clip ({reasons})")
    else:
        entry["status"] = "ok"
    return entry


def _remove_clips(out_dir: Path, entry: dict[str, Any] | None) -> None:
    for c in (entry or {}).get("clips", []):
        (out_dir / c["file"]).unlink(missing_ok=True)


def run_preprocess(in_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                   settings: PreprocessSettings | None = None,
                   cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Generator job: yields Progress per source; returns a :class:`PreprocessResult` (StopIteration.value)."""
    s = settings or PreprocessSettings()
    if s.min_clip_s <= 0 or s.max_clip_s < 2 * s.min_clip_s:
        raise SvcError(f"clip lengths: need 0 < min ({s.min_clip_s}) and max ({s.max_clip_s}) >= 2 x min")
    out = Path(out_dir)
    in_path = Path(in_dir).resolve()
    if out.resolve() == in_path or in_path in out.resolve().parents:
        raise SvcError(f"{out}: the dataset folder must not be inside the input folder {in_path}")
    sources = find_sources(in_path)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    old = read_json(manifest_path) or {}
    entries: dict[str, Any] = dict(old.get("sources", {})) if old.get("version") == VERSION else {}
    keys = {src.key for src in sources}
    for gone in [k for k in entries if k not in keys]:
        _remove_clips(out, entries.pop(gone))
    res = PreprocessResult()
    manifest = {"version": VERSION, "input": str(in_path), "settings": asdict(s), "sources": entries}
    for i, src in enumerate(sources):
        if cancel is not None:
            cancel.check()
        yield Progress(i / len(sources), f"preprocess {i + 1}/{len(sources)}: {src.key}")
        sha = file_sha256(src.path)
        prev = entries.get(src.key)
        if prev and prev.get("sha256") == sha and prev.get("settings") == s.key() and \
                all((out / c["file"]).is_file() for c in prev.get("clips", [])):
            res.skipped += 1
        else:
            _remove_clips(out, prev)
            entries[src.key] = _process(src, out, s, sha)
            res.processed += 1
            write_json(manifest_path, manifest)
        e = entries[src.key]
        res.clips += len(e.get("clips", []))
        if e.get("status") == "rejected":
            res.rejected.append((src.key, e["reason"]))
        res.rejected += [(f"{src.key} {r.split(':', 1)[0]}", r.split(": ", 1)[1]) for r in e.get("rejected", [])
                         if e.get("status") == "ok"]
    write_json(manifest_path, manifest)
    yield Progress(1.0, f"preprocess: {res.clips} clips from {len(sources)} files")
    return res
