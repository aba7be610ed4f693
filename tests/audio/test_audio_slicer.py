"""Silence slicer: exact tiling of the input, same cuts as the per-frame so-vits-svc slicer, streaming RMS equal to
the whole-signal RMS, silence never sent to the model, long slices split at the quietest point."""

from __future__ import annotations

import numpy as np
import pytest

from svc_core.audio.loudness import envelope, match_envelope
from svc_core.audio.slicer import FrameRms, Slice, SliceSettings, frame_rms, slice_audio, slice_from_rms, split_long


def _reference_tags(rms: np.ndarray, thr: float, min_length: int, min_interval: int, max_sil: int) -> list:
    """The per-frame state machine of so-vits-svc's inference/slicer.py (frame units), written out as a loop."""
    tags, silence_start, clip_start = [], None, 0
    for i, r in enumerate(rms):
        if r < thr:
            if silence_start is None:
                silence_start = i
            continue
        if silence_start is None:
            continue
        leading = silence_start == 0 and i > max_sil
        middle = i - silence_start >= min_interval and i - clip_start >= min_length
        if not leading and not middle:
            silence_start = None
            continue
        if i - silence_start <= max_sil:
            pos = rms[silence_start:i + 1].argmin() + silence_start
            tags.append((0, pos) if silence_start == 0 else (pos, pos))
            clip_start = pos
        elif i - silence_start <= max_sil * 2:
            pos = rms[i - max_sil:silence_start + max_sil + 1].argmin() + i - max_sil
            pos_l = rms[silence_start:silence_start + max_sil + 1].argmin() + silence_start
            pos_r = rms[i - max_sil:i + 1].argmin() + i - max_sil
            if silence_start == 0:
                tags.append((0, pos_r))
                clip_start = pos_r
            else:
                tags.append((min(pos_l, pos), max(pos_r, pos)))
                clip_start = max(pos_r, pos)
        else:
            pos_l = rms[silence_start:silence_start + max_sil + 1].argmin() + silence_start
            pos_r = rms[i - max_sil:i + 1].argmin() + i - max_sil
            tags.append((0, pos_r) if silence_start == 0 else (pos_l, pos_r))
            clip_start = pos_r
        silence_start = None
    total = rms.shape[0]
    if silence_start is not None and total - silence_start >= min_interval:
        end = min(total, silence_start + max_sil)
        pos = rms[silence_start:end + 1].argmin() + silence_start
        tags.append((pos, total + 1))
    return tags


def _signal(rng: np.random.Generator, sr: int) -> np.ndarray:
    parts = []
    for _ in range(rng.integers(4, 9)):
        n = int(rng.uniform(0.05, 2.5) * sr)
        loud = rng.random() < 0.5
        parts.append(rng.standard_normal(n) * (0.3 if loud else 1e-4))
    return np.concatenate(parts).astype(np.float32)


@pytest.mark.parametrize("seed", range(8))
def test_cuts_match_per_frame_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sr = 16000
    s = SliceSettings(threshold_db=-40, min_length_ms=1000, min_interval_ms=200, hop_ms=10, max_sil_kept_ms=300)
    x = _signal(rng, sr)
    hop, win, min_len, min_int, max_sil = s.frames(sr)
    rms = frame_rms(x, hop, win)
    slices = slice_from_rms(rms, x.shape[0], sr, s)
    # exact tiling
    assert slices[0].start == 0 and slices[-1].end == x.shape[0]
    assert all(a.end == b.start for a, b in zip(slices, slices[1:], strict=False))
    assert all(sl.length > 0 for sl in slices)
    # every internal cut is a reference tag boundary (merging of silent neighbours can only remove cuts)
    ref = _reference_tags(rms, 10 ** (-40 / 20), min_len, min_int, max_sil)
    ref_cuts = {min(x.shape[0], t * hop) for tag in ref for t in tag} - {0, x.shape[0]}
    cuts = {sl.start for sl in slices[1:]}
    assert cuts <= ref_cuts
    # reference silent ranges are silent here too
    for a, b in ref:
        sa, sb = min(x.shape[0], a * hop), min(x.shape[0], b * hop)
        if sb > sa:
            assert all(sl.silent for sl in slices if sl.start < sb and sl.end > sa)
    # every voiced slice rises above the threshold somewhere; every silent one never does
    thr = 10 ** (-40 / 20)
    for sl in slices:
        loudest = rms[sl.start // hop: -(-sl.end // hop) + 1].max()
        if sl.silent:
            assert np.sqrt(np.mean(x[sl.start:sl.end].astype(np.float64) ** 2)) < thr
        else:
            assert loudest >= thr


def test_streaming_rms_equals_whole() -> None:
    x = np.random.default_rng(1).standard_normal(50_001)
    whole = frame_rms(x, 441, 1764)
    r = FrameRms(441, 1764)
    for a in range(0, x.shape[0], 3333):
        r.push(x[a:a + 3333])
    np.testing.assert_allclose(r.finish(), whole, rtol=1e-9, atol=1e-12)
    assert whole.shape == (1 + 50_001 // 441,)
    # frame 10 by hand: window centred at 10*hop, zero padded
    a = 10 * 441 - 882
    assert whole[10] == pytest.approx(np.sqrt(np.mean(x[a:a + 1764] ** 2)))


def test_pure_silence_is_one_silent_slice() -> None:
    assert slice_audio(np.zeros(44100 * 7, np.float32), 44100) == [Slice(0, 44100 * 7, True)]
    short = slice_audio(np.zeros(1000, np.float32), 44100)
    assert short == [Slice(0, 1000, True)]


def test_long_silence_cut_out_exactly() -> None:
    sr = 16000
    loud = (0.3 * np.sin(np.arange(6 * sr) * 0.1)).astype(np.float32)
    x = np.concatenate([loud, np.zeros(12 * sr, np.float32), loud])
    slices = slice_audio(x, sr)  # so-vits-svc defaults: 5 s kept at most
    kinds = [sl.silent for sl in slices]
    assert kinds == [False, True, False]
    sil = slices[1]
    assert 6 * sr <= sil.start <= 11 * sr and 12.9 * sr <= sil.end <= 18 * sr
    assert not x[sil.start:sil.end].any()


def test_split_long_at_quietest_point() -> None:
    sr, hop = 16000, 320
    n = 40 * sr
    t = np.arange(n)
    env = 0.5 + 0.4 * np.sin(2 * np.pi * t / (7.3 * sr))
    x = (env * np.sin(t * 0.05)).astype(np.float32)
    rms = frame_rms(x, hop, 4 * hop)
    parts = split_long([Slice(0, n, False)], rms, hop, 10 * sr)
    assert parts[0].start == 0 and parts[-1].end == n
    assert all(a.end == b.start for a, b in zip(parts, parts[1:], strict=False))
    assert max(p.length for p in parts) <= 10 * sr
    for p in parts[:-1]:
        lo, hi = (p.start + 5 * sr) // hop + 1, (p.start + 10 * sr) // hop
        assert rms[p.end // hop] == pytest.approx(rms[lo:hi + 1].min())
    sil = split_long([Slice(0, n, True)], rms, hop, 10 * sr)
    assert [p.length for p in sil] == [10 * sr] * 4 and all(p.silent for p in sil)


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="min_length >= min_interval"):
        SliceSettings(min_length_ms=100, min_interval_ms=300).frames(16000)


def test_loudness_match() -> None:
    sr = 16000
    t = np.arange(4 * sr) / sr
    ref = (np.where(t < 2, 0.05, 0.5) * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    y = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    out = match_envelope(ref, sr, y, sr, 1.0)
    e_ref, e_out = envelope(ref, sr, 4), envelope(out, sr, 4)
    np.testing.assert_allclose(e_out[[0, 3]], e_ref[[0, 3]], rtol=0.1)
    np.testing.assert_array_equal(match_envelope(ref, sr, y, sr, 0.0), y)
    half = match_envelope(ref, sr, y, sr, 0.5)
    assert envelope(half, sr, 4)[0] == pytest.approx(np.sqrt(e_ref[0] * envelope(y, sr, 4)[0]), rel=0.1)
