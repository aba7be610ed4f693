"""Frame timing of every extractor against the corpus' exact F0: the best lag (frames read that much earlier fit the
reference best) is within 1 ms. fcpe read at its mel window's centre was 5.0 ms late (issue 13, item 6)."""

from __future__ import annotations

import numpy as np
import pytest

from svc_core.f0 import get_extractor
from svc_core.f0.alignment import best_lag, default_lags, lag_errors
from svc_core.f0.fcpe import FcpeExtractor
from svc_core.f0.metrics import load_clip, read_f0_tsv

# one clip per corpus voice (all six), first 3 s each
CLIPS = ("czech_dita/czech_dita_00", "czech_krb/czech_krb_03", "czech_ph/czech_ph_06",
         "kal_diphone/kal_diphone_09", "lp_diphone/lp_diphone_12", "pc_diphone/pc_diphone_15")
SECONDS = 3.0
MAX_LAG_S = 0.001
#: pm's 60 ms autocorrelation window reads glides of these clips 1.25-2.25 ms late (median 2.0 ms; 0.25 ms on other
#: clips). Its frames are centred (a constant-level synthetic vibrato measures 0.0 ms) and a 25 ms window still
#: gives 1.25 ms, so this is the estimator's smoothing of uneven glides, not a frame-time offset.
MAX_LAG_S_PM = 0.0025
# measured median per-clip best lags (ms): fcpe 0.5, harvest 0.375, dio 0.625, pm 2.0, crepe-tiny 0.375,
# crepe-full 0.75 (per clip 1.25, 0.75, 0.75, -0.75, -0.75, 0.5); fcpe with the old i*160+80 frame times +5.0
NAMES = ("fcpe", "harvest", "dio", "pm", pytest.param("crepe-tiny", marks=pytest.mark.slow))


def clip_lags(extractor, corpus_dir, clips=CLIPS, time_shift_s: float = 0.0) -> list[float]:
    """Best lag (s) of ``extractor`` on each clip; ``time_shift_s`` is added to its frame times first."""
    lags = default_lags(10.0, 0.25)
    out = []
    for clip in clips:
        wav, sr = load_clip(corpus_dir / f"{clip}.flac", SECONDS)
        t, f0, v = extractor.extract_native(wav, sr, 50.0, 1100.0)
        rt, rf, rv = read_f0_tsv(corpus_dir / f"{clip}.f0.tsv")
        out.append(best_lag(lag_errors(np.asarray(t) + time_shift_s, f0, v, rt, rf, rv, lags), lags))
    return out


def pooled_lag(extractor, corpus_dir, clips=CLIPS, time_shift_s: float = 0.0) -> float:
    """Median over clips of the per-clip best lag (s): one clip where a long analysis window smears a glide
    (pm: +5 ms on 2 of 12 clips) does not decide it."""
    return float(np.median(clip_lags(extractor, corpus_dir, clips, time_shift_s)))


@pytest.mark.parametrize("name", NAMES)
def test_extractor_frames_are_on_time(name: str, corpus_dir) -> None:
    lag = pooled_lag(get_extractor(name, device="cpu"), corpus_dir)
    limit = MAX_LAG_S_PM if name == "pm" else MAX_LAG_S
    assert abs(lag) <= limit, f"{name}: frames {1000 * lag:+.2f} ms late against the corpus F0"


@pytest.mark.slow
def test_crepe_full_frames_are_on_time(corpus_dir) -> None:
    # 3 clips (crepe-full is slow): the median stands one outlier clip (seen once in a full run: +10 ms on one clip)
    lag = pooled_lag(get_extractor("crepe-full", device="cpu"), corpus_dir, clips=CLIPS[1:4])
    assert abs(lag) <= MAX_LAG_S, f"crepe-full: frames {1000 * lag:+.2f} ms late"


def test_measurement_finds_a_known_shift(corpus_dir) -> None:
    """The method sees the old fcpe timing (+80 samples at 16 kHz) as 5 ms late: it can fail."""
    lag = pooled_lag(FcpeExtractor(), corpus_dir, clips=CLIPS[:3], time_shift_s=80 / 16000)
    assert abs(lag - 0.005) <= 0.00075
