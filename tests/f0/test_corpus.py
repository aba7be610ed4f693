"""Accuracy on the shared sung corpus against its exact F0 (frames of 10 ms; RPA = reference-voiced frames whose
model-input F0 is within 50 cents). Issue thresholds: fcpe, crepe-full, harvest >= 95 %. Every extractor also
has a non-regression floor a little under what it measured (values in the comments; measured on a shared,
loaded 2-core CPU, deterministic up to float noise)."""

from __future__ import annotations

import pytest

from svc_core.f0 import get_extractor
from svc_core.f0.metrics import pool_scores, score_corpus_clip
from svc_core.f0.post import postprocess

# one clip per voice family: Czech female, two Czech males, US English male (the Italian voices are in the benchmark)
CLIPS = ("czech_dita/czech_dita_00", "czech_krb/czech_krb_01", "czech_ph/czech_ph_02", "kal_diphone/kal_diphone_03")
ISSUE_MIN_RPA = 0.95
# pooled RPA floors = measured - 1.5 points
FLOORS = {
    "fcpe": 0.976,  # measured 0.9910 (99.8 / 99.1 / 99.8 / 96.9 per clip)
    "crepe-tiny": 0.974,  # measured 0.9888-0.9893
    "pm": 0.972,  # measured 0.9871
    "dio": 0.955,  # measured 0.9702
    "harvest": 0.953,  # measured 0.9685
}
CREPE_FULL_FLOOR = 0.962  # crepe-full on the first 2.5 s of clips 1 and 3: measured 0.9772 (97.5 / 97.9)
MAX_GPE = 0.01  # gross (>20 %) errors on frames voiced in both: measured <= 0.0011 for every extractor


@pytest.fixture(scope="module")
def clip_paths(corpus_dir):
    paths = [corpus_dir / f"{c}.flac" for c in CLIPS]
    missing = [str(p) for p in paths if not p.is_file()]
    assert not missing, f"corpus clips missing: {missing}"
    return paths


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "crepe-tiny" else n for n in sorted(FLOORS)]
)
def test_corpus_accuracy(name: str, clip_paths) -> None:
    ex = get_extractor(name, device="cpu")
    pooled = pool_scores([score_corpus_clip(ex, p) for p in clip_paths])
    assert pooled.n_voiced > 1500
    assert pooled.rpa >= FLOORS[name], (name, pooled)
    assert pooled.gpe <= MAX_GPE, (name, pooled)
    if name in ("fcpe", "harvest"):
        assert pooled.rpa >= ISSUE_MIN_RPA
    # voicing decisions: most sung frames are found voiced
    assert pooled.voicing_recall >= 0.88, (name, pooled)


def test_default_with_postprocessing_keeps_accuracy(clip_paths) -> None:
    ex = get_extractor("fcpe", device="cpu")
    pooled = pool_scores([score_corpus_clip(ex, p, post=lambda f, v: postprocess(f, v)) for p in clip_paths])
    # measured 0.9904 (one 2-frame 100 Hz filler drop at a phrase end gets folded onto the note)
    assert pooled.rpa >= FLOORS["fcpe"]


@pytest.mark.slow
def test_crepe_full_corpus(clip_paths) -> None:
    ex = get_extractor("crepe-full", device="cpu")
    scores = [score_corpus_clip(ex, clip_paths[i], max_seconds=2.5) for i in (1, 3)]
    pooled = pool_scores(scores)
    assert pooled.rpa >= max(ISSUE_MIN_RPA, CREPE_FULL_FLOOR), pooled
    assert pooled.gpe <= MAX_GPE

