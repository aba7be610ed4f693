"""Soak: a 10-minute ``--simulate`` run keeps its memory and its per-block time flat.

Affordable in CI by choice of model, not of path: the whole live path runs (file reader, device-rate 48 kHz ->
model 44.1 kHz stateful resampling, sliding window, SegmentPipeline with the real numpy F0 tracker and its rolling
cache, decode of only the newest part, SOLA, resampling back, atomic writer), with the F0-following fake voice
and a log-energy content encoder in place of the neural models, whose cost per block is fixed by their size and
proven constant by the engine's preallocated buffers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from live_fakes import sine_pipeline

from svc_core.live.calibrate import calibration_signal
from svc_core.live.engine import LiveEngine
from svc_core.live.infer import VoiceWindowModel
from svc_core.live.settings import LiveSettings
from svc_core.live.simulate import simulate_file

SR = 48000
MINUTES = 10


@pytest.mark.slow
def test_ten_minute_simulation_has_flat_memory_and_block_time(tmp_path: Path) -> None:
    src = tmp_path / "ten_minutes.wav"
    with sf.SoundFile(src, "w", SR, 1, "PCM_16") as f:
        for m in range(MINUTES):
            f.write(calibration_signal(SR, 60.0, seed=m))
    model = VoiceWindowModel(sine_pipeline(), f0_margin_ms=80.0)
    engine = LiveEngine(LiveSettings(block_ms=500, crossfade_ms=50, context_ms=1000, gate_db=-50), SR, model)
    res = simulate_file(engine, src, tmp_path / "heard.wav", rss_every_s=60.0)
    assert res.frames == MINUTES * 60 * SR and sf.info(tmp_path / "heard.wav").frames == res.frames
    assert engine.underruns == 0 and res.model_calls > 0.8 * res.blocks
    rss = res.rss_mb
    assert len(rss) >= MINUTES + 1
    assert abs(rss[MINUTES] - rss[1]) <= 0.05 * rss[1], rss  # minute 10 within 5 % of minute 1
    t = engine.times.values()
    assert t.shape[0] == res.blocks
    per_min = t.shape[0] / MINUTES
    first = np.median(t[int(per_min): int(2 * per_min)])
    last = np.median(t[int((MINUTES - 1) * per_min):])
    assert last < 1.5 * first, (first, last)  # constant per-block time (medians: the machine is shared)
