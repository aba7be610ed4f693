"""Time alignment of an extractor's frames against an exact reference F0 track (e.g. the corpus' ``*.f0.tsv``).

An extractor whose frame ``i`` is given time ``t_i`` but describes the pitch at ``t_i - lag`` is ``lag`` seconds
late. The lag is found by reading the reference (a cubic spline in cents, so no grid-interpolation smoothing that
favours lags on the reference's own grid) at ``t_i - lag`` for a range of lags and taking the one with the least
squared error in cents (errors clipped at 50 cents so octave slips do not steer it).
"""

from __future__ import annotations

import numpy as np

#: Frames whose reference is voiced over this window (s) either side take part (voicing edges are ambiguous).
EDGE_S = 0.015
#: Squared-error clip (cents): frames off by more than this count as one miss, whatever the lag.
CLIP_CENTS = 50.0


def lag_errors(
    times: np.ndarray,
    f0: np.ndarray,
    voiced: np.ndarray,
    ref_t: np.ndarray,
    ref_f0: np.ndarray,
    ref_v: np.ndarray,
    lags_s: np.ndarray,
) -> np.ndarray:
    """Sum of clipped squared cent errors [L] of a native track (times [N], f0 [N], voiced [N]) per lag [L].

    The same frames (voiced in the estimate, reference voiced within EDGE_S either side at every lag) are scored
    for every lag, so sums of different clips can be added and compared.
    """
    from scipy.interpolate import CubicSpline

    t = np.asarray(times, np.float64)
    rv = np.asarray(ref_v, bool) & (np.asarray(ref_f0) > 0)
    ref_c = 1200.0 * np.log2(np.where(rv, ref_f0, 1.0))
    spline = CubicSpline(np.asarray(ref_t, np.float64), ref_c)
    v = np.asarray(voiced, bool) & (np.asarray(f0) > 0)
    est_c = 1200.0 * np.log2(np.where(v, f0, 1.0))
    rvf = rv.astype(np.float64)
    ok = v.copy()
    lags = np.asarray(lags_s, np.float64)
    for lag in lags:
        tr = t - lag
        ok &= (tr - EDGE_S > ref_t[0]) & (tr + EDGE_S < ref_t[-1])
        ok &= (np.interp(tr - EDGE_S, ref_t, rvf) == 1.0) & (np.interp(tr + EDGE_S, ref_t, rvf) == 1.0)
        ok &= np.interp(tr, ref_t, rvf) == 1.0
    out = np.empty(lags.shape[0])
    for i, lag in enumerate(lags):
        err = est_c[ok] - spline(t[ok] - lag)
        out[i] = np.minimum(err**2, CLIP_CENTS**2).sum()
    return out


def best_lag(errors: np.ndarray, lags_s: np.ndarray) -> float:
    """The lag (s) with the least error (from :func:`lag_errors`, possibly summed over clips)."""
    return float(np.asarray(lags_s)[int(np.argmin(errors))])


def default_lags(max_ms: float = 10.0, step_ms: float = 0.25) -> np.ndarray:
    """Candidate lags in seconds: -max_ms..+max_ms in step_ms steps."""
    n = int(round(max_ms / step_ms))
    return np.arange(-n, n + 1) * step_ms / 1000.0
