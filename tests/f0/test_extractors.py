"""Every extractor through the one interface: frame grid, edge cases, synthetic tones (vibrato, glides, noise)."""

from __future__ import annotations

import numpy as np
import pytest
from f0_signals import glide_track, harmonic, track_on_grid, vibrato_track

from svc_core.errors import AudioError, SvcError
from svc_core.f0 import DEFAULT_EXTRACTOR, EXTRACTOR_NAMES, F0Extractor, get_extractor

FAST = ("fcpe", "crepe-tiny", "harvest", "dio", "pm")
_CACHE: dict[str, F0Extractor] = {}


def ex(name: str) -> F0Extractor:
    if name not in _CACHE:
        _CACHE[name] = get_extractor(name, device="cpu")
    return _CACHE[name]


def rpa(f0: np.ndarray, v: np.ndarray, truth: np.ndarray, skip: int = 3) -> float:
    """Share of frames (edges skipped) voiced and within 50 cents of the truth."""
    f, vv, t = f0[skip:-skip], v[skip:-skip], truth[skip:-skip]
    cents = 1200 * np.abs(np.log2(np.where(vv, f, 1.0) / t))
    return float((vv & (cents < 50)).mean())


def test_names_and_unknown() -> None:
    assert set(EXTRACTOR_NAMES) == {"fcpe", "crepe", "crepe-full", "crepe-tiny", "rmvpe", "harvest", "dio", "pm"}
    assert DEFAULT_EXTRACTOR in EXTRACTOR_NAMES
    with pytest.raises(SvcError, match="unknown F0 extractor 'yin'.*fcpe.*harvest"):
        get_extractor("yin")
    assert get_extractor("crepe").name == "crepe-full"
    assert get_extractor("CREPE-Tiny").name == "crepe-tiny"


def test_rmvpe_without_weights_says_where_to_get_it(tmp_path) -> None:
    from svc_core.errors import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match=r"(?s)rmvpe\.pt.*yxlllc/RMVPE") as e:
        get_extractor("rmvpe", device="cpu", weights_dir=tmp_path)
    assert str(tmp_path) in str(e.value)
    with pytest.raises(WeightsNotFoundError):
        get_extractor("rmvpe", device="cpu", rmvpe_path=tmp_path / "nope.pt")


@pytest.mark.parametrize("name", FAST)
def test_vibrato_tone_and_grid(name: str, tone_44k) -> None:
    wav, truth, sr, hop = tone_44k
    f0, v = ex(name).extract(wav, sr, hop)
    assert f0.dtype == np.float32 and v.dtype == bool
    assert f0.shape == v.shape == (-(-wav.shape[0] // hop),)
    assert (f0[~v] == 0).all() and (f0[v] > 0).all()
    assert rpa(f0, v, truth) > 0.95, name


@pytest.mark.parametrize("name", FAST)
def test_glide(name: str) -> None:
    sr, hop = 22050, 256
    track = glide_track(120.0, 700.0, 1.5, sr)
    f0, v = ex(name).extract(harmonic(track, sr), sr, hop)
    assert rpa(f0, v, track_on_grid(track, hop), skip=4) > 0.9, name


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000, 96000])
def test_sample_rates(name: str, sr: int) -> None:
    hop = sr // 100
    track = vibrato_track(196.0, 0.6, sr, depth_cents=30)
    f0, v = ex(name).extract(harmonic(track, sr, n_harm=6), sr, hop)
    assert f0.shape == (-(-track.shape[0] // hop),)
    assert rpa(f0, v, track_on_grid(track, hop)) > 0.9, (name, sr)


@pytest.mark.parametrize("name", FAST)
def test_silence_noise_clipping(name: str, tone_44k) -> None:
    sr, hop = 44100, 512
    e = ex(name)
    f0, v = e.extract(np.zeros(sr, np.float32), sr, hop)
    assert v.mean() <= 0.05 and (f0[~v] == 0).all(), name
    noise = (0.3 * np.random.default_rng(1).standard_normal(sr)).astype(np.float32)
    _, v = e.extract(noise, sr, hop)
    assert v.mean() <= NOISE_VOICED_MAX[name], (name, v.mean())
    wav, truth, _, _ = tone_44k
    clipped = np.clip(wav * 20.0, -1.0, 1.0)
    f0, v = e.extract(clipped, sr, hop)
    assert rpa(f0, v, truth) > 0.9, name


# voiced share allowed on 1 s of white noise (WORLD trackers voice noise; measured values in the report)
NOISE_VOICED_MAX = {"fcpe": 0.1, "crepe-tiny": 0.1, "harvest": 1.0, "dio": 1.0, "pm": 0.1, "crepe-full": 0.1}


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("n", [0, 1, 100, 512, 513])
def test_tiny_inputs(name: str, n: int) -> None:
    wav = (0.1 * np.sin(np.arange(n) * 0.1)).astype(np.float32)
    f0, v = ex(name).extract(wav, 44100, 512)
    assert f0.shape == v.shape == (-(-n // 512),)
    assert np.isfinite(f0).all()


@pytest.mark.parametrize("name", FAST)
def test_bad_input_is_a_clear_error(name: str) -> None:
    e = ex(name)
    wav = np.zeros(1000, np.float32)
    wav[10] = np.nan
    with pytest.raises(SvcError, match="NaN/inf"):
        e.extract(wav, 16000, 160)
    wav[10] = np.inf
    with pytest.raises(AudioError, match="NaN/inf"):
        e.extract(wav, 16000, 160)
    with pytest.raises(AudioError, match="mono"):
        e.extract(np.zeros((2, 1000), np.float32), 16000, 160)
    with pytest.raises(SvcError, match="sample rate"):
        e.extract(np.zeros(1000, np.float32), 0, 160)
    with pytest.raises(SvcError, match="hop"):
        e.extract(np.zeros(1000, np.float32), 16000, 0)
    with pytest.raises(SvcError, match="f0_min"):
        e.extract(np.zeros(1000, np.float32), 16000, 160, f0_min=500.0, f0_max=100.0)


@pytest.mark.parametrize("name", FAST)
def test_f0_range_is_respected(name: str) -> None:
    sr, hop = 16000, 160
    track = np.full(sr, 440.0)
    f0, v = ex(name).extract(harmonic(track, sr), sr, hop, f0_min=50.0, f0_max=300.0)
    assert (f0[v] <= 300.0 * 1.001).all()


@pytest.mark.slow
def test_crepe_full_vibrato(tone_44k) -> None:
    wav, truth, sr, hop = tone_44k
    f0, v = ex("crepe-full").extract(wav, sr, hop)
    assert rpa(f0, v, truth) > 0.95
    _, v = ex("crepe-full").extract(np.zeros(sr // 2, np.float32), sr, hop)
    assert v.mean() <= 0.05


def _sequential_viterbi(freqs: np.ndarray, strengths: np.ndarray, p) -> np.ndarray:
    """Textbook frame-by-frame Viterbi with the same costs (reference for the scan version)."""
    n, k = freqs.shape
    voiced = freqs > 0
    logf = np.log2(np.where(voiced, freqs, 1.0))
    score = strengths[0].copy()
    back = np.zeros((n, k), np.int64)
    for t in range(1, n):
        both = voiced[t - 1][:, None] & voiced[t][None, :]
        one = voiced[t - 1][:, None] ^ voiced[t][None, :]
        cost = np.where(both, p.octave_jump_cost * np.abs(logf[t - 1][:, None] - logf[t][None, :]),
                        np.where(one, p.voiced_unvoiced_cost, 0.0))
        total = score[:, None] - cost
        back[t] = total.argmax(axis=0)
        score = total[back[t], np.arange(k)] + strengths[t]
    path = np.empty(n, np.int64)
    path[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


@pytest.mark.parametrize("n", [1, 2, 31, 32, 33, 100, 257])
def test_pm_parallel_viterbi_equals_sequential(n: int) -> None:
    from svc_core.f0.pm import PraatParams, _viterbi

    rng = np.random.default_rng(n)
    freqs = np.where(rng.random((n, 11)) < 0.2, 0.0, rng.uniform(60, 900, (n, 11)))
    freqs[:, 0] = 0.0
    strengths = rng.uniform(0, 1, (n, 11))
    p = PraatParams()
    np.testing.assert_array_equal(_viterbi(freqs, strengths, p), _sequential_viterbi(freqs, strengths, p))


def test_fcpe_load_prints_nothing_and_cache_is_releasable(capfd: pytest.CaptureFixture[str]) -> None:
    import torch

    from svc_core.f0 import release_models
    from svc_core.f0.fcpe import load_bundled_fcpe

    release_models()
    a = load_bundled_fcpe(torch.device("cpu"))
    assert load_bundled_fcpe(torch.device("cpu")) is a
    assert capfd.readouterr().out == ""  # torchfcpe's [INFO]/[WARN] lines went to the debug log
    release_models()
    assert load_bundled_fcpe(torch.device("cpu")) is not a
