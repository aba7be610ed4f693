"""Pitch-accuracy metrics against a reference track, and the corpus reader (``*.f0.tsv``, 10 ms frames)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from svc_core.f0.base import model_frame_times


@dataclass(frozen=True)
class PitchScores:
    """Accuracy of an estimate against a reference (fractions 0..1; counts are frames)."""

    rpa: float  # reference-voiced frames whose model-input F0 (unvoiced interpolated) is within 50 cents
    rca: float  # same with octave errors forgiven (chroma)
    rpa_voiced: float  # reference-voiced frames that the estimate marks voiced and gets within 50 cents
    gpe: float  # frames voiced in both with |error| > 20 %
    voicing_recall: float  # reference-voiced frames the estimate marks voiced
    voicing_false_alarm: float  # reference-unvoiced frames the estimate marks voiced
    median_abs_cents: float
    n_voiced: int
    n_unvoiced: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def read_f0_tsv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corpus ground truth: (time_s [N] frame centres, f0_hz [N], voiced bool [N])."""
    data = np.loadtxt(Path(path), delimiter="\t", skiprows=1, ndmin=2)
    return data[:, 0], data[:, 1], data[:, 2] > 0.5


def reference_path(audio: str | os.PathLike[str]) -> Path:
    """The ``<stem>.f0.tsv`` beside a corpus clip (``.flac`` or ``.wav``)."""
    audio = Path(audio)
    return audio.with_name(audio.stem + ".f0.tsv")


def reference_on_grid(
    ref_t: np.ndarray, ref_f0: np.ndarray, ref_v: np.ndarray, n_frames: int, hop: int, sr: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference resampled to model frame centres: (f0 [T], voiced [T], usable [T]).

    A model frame is usable only when both reference neighbours agree on voicing (boundary frames are ambiguous).
    F0 is interpolated in log-frequency between the neighbours.
    """
    t = model_frame_times(n_frames, hop, sr)
    n = ref_t.shape[0]
    right = np.clip(np.searchsorted(ref_t, t, side="right"), 1, n - 1)
    left = right - 1
    inside = (t >= ref_t[0]) & (t <= ref_t[-1])
    span = np.where(ref_t[right] > ref_t[left], ref_t[right] - ref_t[left], 1.0)
    frac = np.clip((t - ref_t[left]) / span, 0.0, 1.0)
    vl, vr = ref_v[left] & (ref_f0[left] > 0), ref_v[right] & (ref_f0[right] > 0)
    usable = inside & (vl == vr)
    voiced = vl & vr
    lf = np.log(np.where(vl, ref_f0[left], 1.0))
    rf = np.log(np.where(vr, ref_f0[right], 1.0))
    f0 = np.where(voiced, np.exp(lf + (rf - lf) * frac), 0.0)
    return f0, voiced & usable, usable


def score(est_f0: np.ndarray, est_v: np.ndarray, ref_f0: np.ndarray, ref_v: np.ndarray,
          usable: np.ndarray | None = None) -> PitchScores:
    """Score an estimate (f0 [T], voiced [T]) against a reference on the same frames."""
    from svc_core.f0.post import interpolate_unvoiced

    est_f0 = np.asarray(est_f0, np.float64)
    est_v = np.asarray(est_v, bool) & (est_f0 > 0)
    use = np.ones(est_f0.shape, bool) if usable is None else np.asarray(usable, bool)
    rv = np.asarray(ref_v, bool) & use
    ru = ~np.asarray(ref_v, bool) & use
    filled = interpolate_unvoiced(est_f0, est_v).astype(np.float64)
    ok = rv & (filled > 0)
    cents = np.full(est_f0.shape, np.inf)
    cents[ok] = 1200.0 * np.log2(filled[ok] / ref_f0[ok])
    n_v, n_u = int(rv.sum()), int(ru.sum())
    within = np.abs(cents) < 50.0
    chroma = np.zeros(cents.shape, bool)
    chroma[ok] = np.abs(cents[ok] - 1200.0 * np.round(cents[ok] / 1200.0)) < 50.0
    both = rv & est_v
    rel = np.abs(filled[both] / ref_f0[both] - 1.0)
    return PitchScores(
        rpa=float((within & rv).sum() / max(n_v, 1)),
        rca=float((chroma & rv).sum() / max(n_v, 1)),
        rpa_voiced=float((within & both).sum() / max(n_v, 1)),
        gpe=float((rel > 0.2).sum() / max(int(both.sum()), 1)),
        voicing_recall=float(both.sum() / max(n_v, 1)),
        voicing_false_alarm=float((est_v & ru).sum() / max(n_u, 1)),
        median_abs_cents=float(np.median(np.abs(cents[rv & ok]))) if (rv & ok).any() else float("nan"),
        n_voiced=n_v,
        n_unvoiced=n_u,
    )


def load_clip(flac: str | os.PathLike[str], max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 audio [T_wav] of a corpus clip (optionally only its first ``max_seconds``) and its rate."""
    import soundfile as sf

    wav, sr = sf.read(str(flac), dtype="float32", always_2d=True)
    wav = np.ascontiguousarray(wav.mean(axis=1))
    if max_seconds is not None:
        wav = wav[: int(max_seconds * sr)]
    return wav, int(sr)


def score_corpus_clip(
    extractor: object,
    flac: str | os.PathLike[str],
    hop_s: float = 0.01,
    *,
    max_seconds: float | None = None,
    post: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> PitchScores:
    """Run ``extractor`` on a corpus clip and score it against the clip's ``.f0.tsv`` (model hop ``hop_s``).

    ``post(f0, voiced) -> f0`` is applied to the extracted track first when given.
    """
    flac = Path(flac)
    wav, sr = load_clip(flac, max_seconds)
    hop = max(1, int(round(sr * hop_s)))
    f0, v = extractor.extract(wav, sr, hop)  # type: ignore[attr-defined]
    if post is not None:
        f0 = post(f0, v)
    rt, rf, rv = read_f0_tsv(reference_path(flac))
    ref_f0, ref_v, usable = reference_on_grid(rt, rf, rv, f0.shape[0], hop, sr)
    return score(f0, v, ref_f0, ref_v, usable)


def pool_scores(scores: list[PitchScores]) -> PitchScores:
    """Frame-weighted pooling of per-clip scores."""
    nv = np.array([s.n_voiced for s in scores], float)
    nu = np.array([s.n_unvoiced for s in scores], float)

    def wv(attr: str) -> float:
        return float((np.array([getattr(s, attr) for s in scores]) * nv).sum() / max(nv.sum(), 1))

    return PitchScores(
        rpa=wv("rpa"), rca=wv("rca"), rpa_voiced=wv("rpa_voiced"), gpe=wv("gpe"),
        voicing_recall=wv("voicing_recall"),
        voicing_false_alarm=float((np.array([s.voicing_false_alarm for s in scores]) * nu).sum() / max(nu.sum(), 1)),
        median_abs_cents=float(np.median([s.median_abs_cents for s in scores])),
        n_voiced=int(nv.sum()), n_unvoiced=int(nu.sum()),
    )
