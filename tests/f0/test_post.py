"""Post-processing, grid mapping and the pitch report: exact behaviour on small hand-made tracks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from svc_core.f0 import post
from svc_core.f0.base import model_frame_count, model_frame_times, to_model_grid
from svc_core.f0.report import hz_to_note, pitch_report
from svc_core.models.pitch import f0_to_coarse


def test_interpolate_unvoiced_linear_and_edges_held() -> None:
    f0 = np.array([0, 100, 0, 0, 160, 0, 0], np.float32)
    v = f0 > 0
    out = post.interpolate_unvoiced(f0, v)
    np.testing.assert_allclose(out, [100, 100, 120, 140, 160, 160, 160])
    assert out.dtype == np.float32


def test_interpolate_unvoiced_all_unvoiced_and_empty() -> None:
    assert (post.interpolate_unvoiced(np.zeros(5), np.zeros(5, bool)) == 0).all()
    assert post.interpolate_unvoiced(np.zeros(0), np.zeros(0, bool)).shape == (0,)
    # a voiced flag on a 0 Hz frame is not trusted
    np.testing.assert_allclose(post.interpolate_unvoiced([0, 200, 0], [True, True, True]), [200, 200, 200])


def test_median_smooth_removes_spike_ignores_unvoiced() -> None:
    f0 = np.array([200, 200, 400, 200, 200, 0, 0, 300, 300, 300], np.float32)
    v = f0 > 0
    out = post.median_smooth(f0, v, 3)
    np.testing.assert_allclose(out, [200, 200, 200, 200, 200, 0, 0, 300, 300, 300])
    # the window does not pull edge frames of a voiced run towards 0
    assert out[4] == 200 and out[7] == 300
    with pytest.raises(ValueError):
        post.median_smooth(f0, v, 0)


def test_repair_octave_jumps() -> None:
    rng = np.random.default_rng(0)
    f0 = 220.0 * 2 ** (rng.normal(0, 10, 60) / 1200)
    bad = f0.copy()
    bad[20:24] *= 2.0
    bad[40] /= 2.0
    v = np.ones(60, bool)
    fixed = post.repair_octave_jumps(bad, v)
    np.testing.assert_allclose(fixed, f0, rtol=1e-5)
    # a genuine fifth (700 cents) is left alone
    leap = np.r_[np.full(30, 220.0), np.full(30, 330.0)]
    np.testing.assert_allclose(post.repair_octave_jumps(leap, v), leap, rtol=1e-6)


def test_transpose_fractional_and_zero() -> None:
    out = post.transpose(np.array([440.0, 0.0]), 12.0)
    np.testing.assert_allclose(out, [880.0, 0.0])
    np.testing.assert_allclose(post.transpose(np.array([440.0]), -0.5), [440.0 * 2 ** (-0.5 / 12)], rtol=1e-6)
    with pytest.raises(ValueError):
        post.transpose(np.array([440.0]), float("nan"))


def test_auto_key() -> None:
    f0 = np.full(50, 110.0)
    v = np.ones(50, bool)
    assert post.auto_key_semitones(f0, v, 220.0) == 12.0
    assert post.auto_key_semitones(f0, v, 233.08) == 13.0
    assert post.auto_key_semitones(f0, v, 116.0, round_to_semitone=False) == pytest.approx(12 * np.log2(116 / 110))
    assert post.auto_key_semitones(np.zeros(5), np.zeros(5, bool), 220.0) == 0.0
    with pytest.raises(ValueError):
        post.auto_key_semitones(f0, v, 0.0)


def test_postprocess_defaults() -> None:
    f0 = np.array([200, 200, 400, 200, 200, 0, 0, 200, 100, 200], np.float32)
    v = f0 > 0
    out = post.postprocess(f0, v)
    assert out.dtype == np.float32 and out.shape == f0.shape
    np.testing.assert_allclose(out[v], 200.0, rtol=1e-6)
    assert (out[~v] == 0).all()
    raw = post.postprocess(f0, v, smooth=1, repair_octaves=False)
    np.testing.assert_allclose(raw, f0)


def test_f0_to_coarse_is_the_model_one(fixtures_dir) -> None:
    assert post.f0_to_coarse is f0_to_coarse
    c = post.f0_to_coarse(torch.tensor([0.0, 50.0, 1100.0, 440.0]))
    assert c[0] == 1 and c[2] == 255 and 1 <= c[3] <= 255


def test_frame_grid() -> None:
    assert model_frame_count(0, 512) == 0
    assert model_frame_count(1, 512) == 1
    assert model_frame_count(1024, 512) == 2
    assert model_frame_count(1025, 512) == 3
    np.testing.assert_allclose(model_frame_times(3, 100, 1000), [0.05, 0.15, 0.25])


def test_to_model_grid_log_interp_nearest_flag_no_smear() -> None:
    t = np.array([0.0, 0.01, 0.02, 0.03])
    f0 = np.array([100.0, 400.0, 0.0, 300.0])
    v = f0 > 0
    out_t = np.array([0.005, 0.012, 0.018, 0.026, 0.04])
    f, vv = to_model_grid(t, f0, v, out_t)
    assert f[0] == pytest.approx(200.0, rel=1e-5)  # geometric middle of 100 and 400
    assert vv.tolist() == [True, True, False, True, True]
    assert f[1] == pytest.approx(400.0)  # right neighbour unvoiced: hold, never interpolate towards 0
    assert f[2] == 0.0 and f[3] == pytest.approx(300.0) and f[4] == pytest.approx(300.0)


def test_hz_to_note() -> None:
    assert hz_to_note(440.0) == "A4 +0c"
    assert hz_to_note(220.0 * 2 ** (12 / 1200)) == "A3 +12c"
    assert hz_to_note(261.63) == "C4 +0c"
    assert hz_to_note(0.0) == "-"


def test_pitch_report() -> None:
    f0 = np.r_[np.full(50, 220.0), np.zeros(50), np.full(50, 440.0)]
    v = f0 > 0
    rep = pitch_report(f0, v, 0.01)
    assert rep.voiced_percent == pytest.approx(100 * 100 / 150)
    assert rep.duration_s == pytest.approx(1.5)
    assert rep.low_note == "A3 +0c" and rep.high_note == "A4 +0c"
    assert "voiced" in rep.format() and "A3" in rep.format()
    empty = pitch_report(np.zeros(10), np.zeros(10, bool), 0.01)
    assert empty.median_hz == 0 and empty.median_note == "-" and "no pitched" in empty.format()
    with pytest.raises(ValueError):
        pitch_report(np.zeros(3), np.zeros(4, bool), 0.01)
