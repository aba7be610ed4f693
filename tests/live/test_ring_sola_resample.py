"""Live DSP parts without a model: the lock-free block ring, SOLA offset search and crossfade, the stateful
resampler."""

from __future__ import annotations

import numpy as np
import pytest

from svc_core.live.resample import SampleFifo, StreamResampler
from svc_core.live.ring import BlockRing
from svc_core.live.sola import SolaProcessor, crossfade_gains, find_offset


def test_ring_fifo_order_and_drop_oldest_when_full() -> None:
    r = BlockRing(3, 4)
    out = np.zeros(4, np.float32)
    assert r.pop_into(out) is None
    for k in range(5):  # two more than fit: the two oldest are dropped, never returned
        r.push(np.full(4, k, np.float32), seq=k)
    got = []
    while (seq := r.pop_into(out)) is not None:
        got.append((seq, float(out[0])))
    assert got == [(2, 2.0), (3, 3.0), (4, 4.0)]
    assert r.dropped == 2
    r.push(np.ones(2, np.float32), seq=9)  # a short block is zero-padded
    assert r.pop_into(out) == 9 and out.tolist() == [1, 1, 0, 0]


def test_ring_pop_seq_discards_stale_and_waits_for_future() -> None:
    r = BlockRing(4, 2)
    out = np.zeros(2, np.float32)
    for k in (3, 4, 6):
        r.push(np.full(2, k, np.float32), seq=k)
    assert r.pop_seq_into(out, 4) and out[0] == 4  # 3 was stale: discarded
    assert not r.pop_seq_into(out, 5)  # 5 never came; 6 stays queued
    assert r.pop_seq_into(out, 6) and out[0] == 6
    assert r.dropped == 1


@pytest.mark.parametrize("offset", [0, 1, 37, 200, 441])
def test_sola_finds_a_known_offset_exactly(offset: int) -> None:
    rng = np.random.default_rng(offset)
    sig = rng.standard_normal(6000).astype(np.float32)
    tail = sig[1000:1000 + 2205]
    new = np.concatenate([rng.standard_normal(offset).astype(np.float32), sig[1000:], np.zeros(500, np.float32)])
    new *= 3.0  # the level does not matter (normalised)
    assert find_offset(tail, new, 441) == offset


def test_sola_offset_on_a_shifted_tone() -> None:
    sr = 44100
    t = np.arange(8000) / sr
    x = np.sin(2 * np.pi * 220 * t + 0.3 * np.sin(2 * np.pi * 3 * t)).astype(np.float32)
    assert find_offset(x[300:300 + 2000], x[300 - 123:], 400) == 123
    assert find_offset(np.zeros(100, np.float32), x, 50) == 0  # silent tail: no alignment to find


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_crossfade_keeps_power_for_the_correlation(rho: float) -> None:
    g_in, g_out = crossfade_gains(512, rho)
    power = g_in.astype(np.float64) ** 2 + g_out ** 2 + 2 * rho * g_in * g_out
    np.testing.assert_allclose(power, 1.0, atol=1e-6)
    assert g_in[0] < 0.01 and g_out[-1] < 0.01 and np.all(np.diff(g_in) > 0)


def test_sola_identity_is_an_exact_delay() -> None:
    def ident(w: np.ndarray, n: int, end: int) -> np.ndarray:
        return w[w.shape[0] - n:]

    sp = SolaProcessor(ident, block=300, crossfade=120, search=50, context=200, align=64)
    assert sp.window_len % 64 == 0 and sp.delay == 170
    x = np.random.default_rng(0).standard_normal(300 * 40).astype(np.float32)
    y = np.concatenate([sp.step(x[i:i + 300]).copy() for i in range(0, x.shape[0], 300)])
    np.testing.assert_allclose(y[170:], x[:-170], atol=1e-6)
    assert sp.last_offset == 0


@pytest.mark.parametrize("rates", [(48000, 44100), (44100, 16000), (16000, 44100), (22050, 44100)])
def test_stream_resampler_is_chunk_invariant_and_accurate(rates: tuple[int, int]) -> None:
    a, b = rates
    rng = np.random.default_rng(1)
    t = np.arange(a) / a
    f_hi = min(3000.0, 0.4 * min(a, b))

    def sig(tt: np.ndarray) -> np.ndarray:
        return 0.5 * np.sin(2 * np.pi * 440 * tt) + 0.3 * np.sin(2 * np.pi * f_hi * tt)

    x = sig(t).astype(np.float32)
    chunked, i = StreamResampler(a, b), 0
    parts = []
    while i < x.shape[0]:
        k = int(rng.integers(1, 2000))
        parts.append(chunked(x[i:i + k]))
        i += k
    y = np.concatenate(parts)
    y1 = StreamResampler(a, b)(x)
    assert abs(y.shape[0] - a * b / a) < 100 and y1.shape[0] == y.shape[0]
    np.testing.assert_allclose(y, y1, atol=1e-6)  # block joins are exact continuations (to float rounding)
    ref = sig(np.arange(y.shape[0]) / b)
    assert np.abs(y[b // 20:] - ref[b // 20:]).max() < 3e-4  # no delay, -70 dB error


def test_sample_fifo() -> None:
    f = SampleFifo(8)
    f.push(np.arange(5, dtype=np.float32))
    out = np.zeros(3, np.float32)
    assert f.pop_into(out) == 3 and out.tolist() == [0, 1, 2] and len(f) == 2
    out4 = np.ones(4, np.float32)
    assert f.pop_into(out4) == 2 and out4.tolist() == [3, 4, 0, 0]
    with pytest.raises(OverflowError):
        f.push(np.zeros(9, np.float32))
