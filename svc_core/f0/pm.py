"""Praat-style autocorrelation pitch tracker (Boersma 1993, "Accurate short-term analysis of the fundamental
frequency and the harmonics-to-noise ratio of a sampled sound"), written with numpy: windowed normalised
autocorrelation divided by the window's own autocorrelation, peak candidates with parabolic refinement, Praat's
strength formulas for voiced and unvoiced candidates, and a Viterbi path over the candidates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from svc_core.dsp import resample
from svc_core.f0.base import F0Extractor

WORK_SR = 16000
STEP = 160  # 10 ms at WORK_SR


@dataclass(frozen=True)
class PraatParams:
    """Praat's "To Pitch (ac)" settings (its defaults except the octave cost; 10 candidates)."""

    max_candidates: int = 10
    periods_per_window: float = 3.0
    silence_threshold: float = 0.03
    voicing_threshold: float = 0.45
    octave_cost: float = 0.03  # Praat: 0.01; 0.03 measured better on the corpus (fewer subharmonic picks)
    octave_jump_cost: float = 0.35
    voiced_unvoiced_cost: float = 0.14


def _frames(x: np.ndarray, win: int, n_frames: int) -> np.ndarray:
    """Frames [N, win] of x, frame i centred at sample i*STEP (zero padding outside the signal)."""
    half = win // 2
    need = (n_frames - 1) * STEP + win
    padded = np.zeros(need, np.float32)
    m = min(x.shape[0], need - half)
    padded[half : half + m] = x[:m]
    return np.lib.stride_tricks.sliding_window_view(padded, win)[::STEP][:n_frames]


def _candidates(
    x: np.ndarray, f0_min: float, f0_max: float, p: PraatParams
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame candidates: (frequency Hz [N, K+1], strength [N, K+1]); column 0 is the unvoiced candidate (0 Hz)."""
    sr = WORK_SR
    win = int(round(p.periods_per_window * sr / f0_min))
    win += win % 2
    n_frames = x.shape[0] // STEP + 1
    frames = _frames(x, win, n_frames).astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    window = np.hanning(win + 2)[1:-1]
    max_lag = min(int(np.ceil(sr / f0_min)) + 1, win // 2)
    min_lag = max(int(np.floor(sr / f0_max)) - 1, 2)
    nfft = 1 << int(np.ceil(np.log2(win + max_lag + 1)))
    spec = np.fft.rfft(frames * window, nfft, axis=1)
    ra = np.fft.irfft(spec.real**2 + spec.imag**2, nfft, axis=1)[:, : max_lag + 2]
    wspec = np.fft.rfft(window, nfft)
    rw = np.fft.irfft(wspec.real**2 + wspec.imag**2, nfft)[: max_lag + 2]
    energy = ra[:, :1]
    r = np.where(energy > 0, ra / np.where(energy > 0, energy, 1.0), 0.0) / (rw / rw[0])
    # local maxima within the lag range
    lags = np.arange(min_lag, max_lag + 1)
    c, left, right = r[:, lags], r[:, lags - 1], r[:, lags + 1]
    is_peak = (c > left) & (c >= right) & (c > 0)
    # parabolic refinement of lag and peak height
    denom = left - 2 * c + right
    shift = np.where(denom < 0, 0.5 * (left - right) / np.where(denom < 0, denom, -1.0), 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    lag_f = lags[None, :] + shift
    height = c - 0.25 * (left - right) * shift
    strength = height - p.octave_cost * np.log2(f0_min * lag_f / sr)
    strength = np.where(is_peak, strength, -np.inf)
    k = min(p.max_candidates, lags.shape[0])
    top = np.argpartition(-strength, k - 1, axis=1)[:, :k]
    s_top = np.take_along_axis(strength, top, 1)
    f_top = np.where(np.isfinite(s_top), sr / np.take_along_axis(lag_f, top, 1), 0.0)
    freq_ok = (f_top >= f0_min) & (f_top <= f0_max)
    s_top = np.where(freq_ok, s_top, -np.inf)
    # unvoiced candidate strength (Praat): voicing threshold + penalty for quiet frames
    local_peak = np.abs(frames).max(axis=1)
    global_peak = max(float(np.abs(x).max()), 1e-12)
    ratio = local_peak / global_peak
    s_unv = p.voicing_threshold + np.maximum(
        0.0, 2.0 - ratio / (p.silence_threshold / (1.0 + p.voicing_threshold))
    )
    freqs = np.concatenate([np.zeros((n_frames, 1)), np.where(np.isfinite(s_top), f_top, 0.0)], axis=1)
    strengths = np.concatenate([s_unv[:, None], s_top], axis=1)
    return freqs, strengths


#: Frames per block of the parallel Viterbi (bounds memory at BLOCK * K^3 values).
BLOCK = 32


def _maxplus(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Batched max-plus matrix product: [B, K, K] x [B, K, K] -> [B, K, K], out[b,i,k] = max_j x[b,i,j] + y[b,j,k]."""
    return (x[:, :, :, None] + y[:, None, :, :]).max(axis=2)


def _prefix_maxplus(a: np.ndarray) -> np.ndarray:
    """Inclusive prefix max-plus products of a [B, K, K] (Hillis-Steele scan, log2(B) vectorised steps)."""
    p = a.copy()
    shift = 1
    while shift < p.shape[0]:
        p[shift:] = _maxplus(p[:-shift], p[shift:])
        shift *= 2
    return p


def _suffix_compose(f: np.ndarray) -> np.ndarray:
    """r[t] = f[t] o f[t+1] o ... o f[-1] for index maps f [B, K] (pointer doubling, log2(B) vectorised steps)."""
    r = f.copy()
    shift = 1
    while shift < r.shape[0]:
        r[:-shift] = np.take_along_axis(r[:-shift], r[shift:], axis=1)
        shift *= 2
    return r


def _viterbi(freqs: np.ndarray, strengths: np.ndarray, p: PraatParams) -> np.ndarray:
    """Best path index per frame [N] maximising strengths minus Praat's transition costs.

    The dynamic programme is evaluated as a max-plus prefix scan (vectorised over frames, in blocks of BLOCK
    frames to bound memory) and the back-pointers are followed by pointer doubling, so no step loops over frames.
    """
    n, k = freqs.shape
    voiced = freqs > 0
    logf = np.log2(np.where(voiced, freqs, 1.0))
    # transition cost [N-1, K_prev, K_next], built for all frames at once
    jump = p.octave_jump_cost * np.abs(logf[:-1, :, None] - logf[1:, None, :])
    vp, vn = voiced[:-1, :, None], voiced[1:, None, :]
    cost = np.where(vp & vn, jump, np.where(vp ^ vn, p.voiced_unvoiced_cost, 0.0))
    # forward: delta[t] = max_j delta[t-1][j] - cost[t-1][j, :] + strengths[t]
    trans = strengths[1:, None, :] - cost  # [N-1, K, K]
    delta = np.empty((n, k))
    delta[0] = strengths[0]
    for b0 in range(0, n - 1, BLOCK):  # blocks of frames; within a block everything is one vectorised scan
        pref = _prefix_maxplus(trans[b0 : b0 + BLOCK])
        delta[b0 + 1 : b0 + 1 + pref.shape[0]] = (delta[b0][None, :, None] + pref).max(axis=1)
    # back-pointers for every frame at once, then pointer doubling from the best final state
    back = np.empty((n, k), np.int64)
    back[0] = np.arange(k)
    back[1:] = (delta[:-1, :, None] - cost).argmax(axis=1)
    maps = np.concatenate([back[1:], np.arange(k)[None, :]])  # maps[t]: state at t+1 -> state at t
    path = np.empty(n, np.int64)
    state = int(np.argmax(delta[-1]))
    for b1 in range(n, 0, -BLOCK):  # blocks from the end; `state` is the path state at frame b1 - 1
        b0 = max(0, b1 - BLOCK)
        seg = maps[b0:b1].copy()
        seg[-1] = np.arange(k)  # frame b1-1 maps to itself: the block ends at the known state
        path[b0:b1] = _suffix_compose(seg)[:, state]
        if b0 > 0:
            state = int(maps[b0 - 1][path[b0]])
    return path


class PraatAcExtractor(F0Extractor):
    """Praat-style autocorrelation pitch ("pm"): 16 kHz, 10 ms frames centred at i*160 samples (CPU)."""

    name = "pm"

    def __init__(self, params: PraatParams | None = None) -> None:
        self.params = params or PraatParams()

    def extract_native(
        self, wav: np.ndarray, sr: int, f0_min: float, f0_max: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Autocorrelation pitch on a 10 ms grid."""
        x = resample(wav, sr, WORK_SR)
        if x.shape[0] == 0:
            x = np.zeros(1, np.float32)
        f0_max = min(f0_max, WORK_SR / 4.0)
        freqs, strengths = _candidates(x, f0_min, f0_max, self.params)
        path = _viterbi(freqs, np.where(np.isfinite(strengths), strengths, -1e9), self.params)
        f0 = freqs[np.arange(freqs.shape[0]), path]
        times = np.arange(f0.shape[0]) * STEP / WORK_SR
        return times, f0, f0 > 0
