"""The live engine without a device or a voice: passthrough sweeps, exact delays, the gate, and a runtime
transpose change with a tone model whose every window starts at a new phase (like a real vocoder)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from live_fakes import run_blocks as run

from svc_core.errors import SvcError
from svc_core.live.engine import LiveEngine, Passthrough
from svc_core.live.latency import find_delay
from svc_core.live.settings import LiveSettings


def sweep(sr: int, seconds: float, f0: float = 100.0, f1: float = 4000.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    k = (f1 - f0) / seconds
    return (amp * np.sin(2 * np.pi * (f0 * t + 0.5 * k * t ** 2))).astype(np.float32)


class ToneModel:
    """A model that sings a fixed tone at transpose semitones, each window starting at phase 0."""

    def __init__(self, sr: int, hop: int, hz: float = 220.0) -> None:
        self.sampling_rate, self.hop_length, self.hz = sr, hop, hz
        self.transpose = 0.0
        self.calls = 0

    def infer(self, window: np.ndarray, n_out: int, end: int, lookahead: int) -> np.ndarray:
        self.calls += 1
        n = np.arange(window.shape[0] - lookahead - n_out, window.shape[0] - lookahead)
        f = self.hz * 2 ** (self.transpose / 12)
        return (0.5 * np.sin(2 * np.pi * f * n / self.sampling_rate)).astype(np.float32)

    def set_params(self, **params: Any) -> None:
        self.transpose = float(params.get("transpose", self.transpose))


@pytest.mark.parametrize("rates", [(44100, 44100, 512), (48000, 44100, 512), (44100, 16000, 320)])
@pytest.mark.parametrize("block_ms", [20.0, 250.0])
def test_passthrough_sweep_is_continuous_same_length_and_exactly_delayed(rates: tuple[int, int, int],
                                                                         block_ms: float) -> None:
    dev, model_sr, hop = rates
    s = LiveSettings(block_ms=block_ms, crossfade_ms=min(20.0, block_ms), context_ms=300.0, gate_db=-150.0)
    eng = LiveEngine(s, dev, Passthrough(model_sr, hop))
    f1 = min(4000.0, 0.4 * model_sr)
    x = sweep(dev, 3.0, f1=f1)
    y = run(eng, x)
    assert y.shape == x.shape and np.isfinite(y).all() and eng.underruns == 0
    d = eng.latency.samples(dev) - eng.block_size  # engine part (simulate adds the captured block)
    k, peak = find_delay(x[dev // 2: dev], y[dev // 2:], dev)
    assert abs(k - d) <= 0.5 and peak > (0.999 if dev == model_sr else 0.99)  # a fractional delay if resampled
    # continuity: no sample step above the sweep's own largest slope, anywhere (block joins included)
    steady = y[int(d) + 2000:]
    limit = 2 * np.pi * f1 * 0.5 / dev * 1.05
    assert np.abs(np.diff(steady)).max() < limit
    # and the joins really are joins of separately computed blocks
    assert eng.steps >= x.shape[0] // eng.block_size - 1


def test_latency_parts_add_up() -> None:
    eng = LiveEngine(LiveSettings(block_ms=100, crossfade_ms=30, search_ms=10, lookahead_ms=20), 44100,
                     Passthrough(44100, 512))
    lat = eng.latency
    assert lat.block_ms == pytest.approx(1e3 * eng.block_size / 44100)
    assert lat.total_ms == pytest.approx(lat.block_ms + 30 + 10 + 20, abs=0.05)
    assert "algorithmic latency" in lat.line()
    x = sweep(44100, 2.0)
    y = run(eng, x)
    k, _ = find_delay(x[20000:30000], y[20000:], 30000)
    assert k == round(lat.samples(44100)) - eng.block_size


def test_silence_in_gives_silence_out_and_skips_the_model() -> None:
    model = ToneModel(44100, 512)
    eng = LiveEngine(LiveSettings(block_ms=50, crossfade_ms=20, gate_db=-50), 44100, model)
    x = np.zeros(44100 * 2, np.float32)
    x[::97] = 1e-4  # -80 dBFS ticks: below the gate
    y = run(eng, x)
    assert model.calls == 0 and eng.model_calls == 0 and eng.gated_steps == eng.steps > 0
    assert np.all(y == 0.0)
    # a note above the gate goes through the model, and the gate fades it back to exact silence
    x[22050:44100] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(22050) / 44100)
    eng2 = LiveEngine(LiveSettings(block_ms=50, crossfade_ms=20, gate_db=-50), 44100, ToneModel(44100, 512))
    y2 = run(eng2, x)
    assert eng2.model_calls > 0 and np.abs(y2[30000:40000]).max() > 0.3
    assert np.all(y2[-8000:] == 0.0)


def test_transpose_change_mid_stream_gives_no_click() -> None:
    sr = 44100
    model = ToneModel(sr, 512)
    eng = LiveEngine(LiveSettings(block_ms=100, crossfade_ms=30, context_ms=200, gate_db=-60), sr, model)
    x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(sr * 3) / sr)).astype(np.float32)
    changes = {10: 7.0, 17: -5.0, 23: 12.0}

    def hook(i: int, e: LiveEngine) -> None:
        if i in changes:
            e.update(transpose=changes[i])

    y = run(eng, x, hook)
    assert eng.settings.transpose == 12.0 and model.transpose == 12.0
    f_max = 220 * 2 ** (12 / 12)
    slope = 2 * np.pi * f_max * 0.5 / sr  # the steepest a 0.5-amplitude tone at the highest pitch gets
    steady = y[eng.block_size * 3:]
    assert np.abs(np.diff(steady)).max() < 1.5 * slope  # a click would be a step of up to 1.0
    assert np.abs(steady).max() < 0.75  # the crossfade keeps the level (no doubled amplitude)


def test_update_validates_and_rejects_non_runtime_settings() -> None:
    eng = LiveEngine(LiveSettings(), 44100)
    with pytest.raises(SvcError, match="cannot change block_ms"):
        eng.update(block_ms=20)
    with pytest.raises(SvcError, match="transpose"):
        eng.update(transpose=99)
    with pytest.raises(SvcError, match="block"):
        LiveEngine(LiveSettings(block_ms=1), 44100)


def test_cost_per_block_does_not_grow_with_session_length() -> None:
    eng = LiveEngine(LiveSettings(block_ms=20, crossfade_ms=10, context_ms=2500), 48000, Passthrough(44100, 512))
    x = sweep(48000, 20.0)
    run(eng, x)
    assert eng.times.count == -(-x.shape[0] // eng.block_size)
    t = eng.times.summary()
    assert t.blocks == eng.times.count and t.mean_ms < t.block_ms
