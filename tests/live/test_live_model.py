"""The live engine over the real SegmentPipeline with an F0-following fake voice: F0 only on the new audio plus
a margin (rolling cache), only the newest part decoded, the output follows the input's pitch, a transpose change
mid-stream gives no click."""

from __future__ import annotations

import numpy as np
from live_fakes import harmonic, peak_hz, sine_pipeline
from live_fakes import run_blocks as run

from svc_core.live.engine import LiveEngine
from svc_core.live.infer import VoiceWindowModel
from svc_core.live.settings import LiveSettings

SR = 44100




def test_f0_is_computed_on_new_audio_plus_margin_and_cached() -> None:
    pipe = sine_pipeline()
    model = VoiceWindowModel(pipe, f0_margin_ms=80.0)
    eng = LiveEngine(LiveSettings(block_ms=100, crossfade_ms=20, context_ms=1000, gate_db=-60), SR, model)
    x = harmonic(SR, 4.0, 233.0)
    run(eng, x)
    steps = eng.model_calls
    assert steps == eng.steps >= 30
    per_call = (model.f0_samples - eng.sola.window_len) / (steps - 1)  # the first call fills the whole window
    assert per_call == eng.step + model.margin * 512  # new block + margin, not the 1.1 s window
    assert per_call < eng.sola.window_len / 3
    # the cache holds what F0 on the whole window gives (steady tone: every voiced frame within 20 cents)
    f0_full, v_full = pipe.f0(eng.sola.window.copy())
    f0_cached, v_cached = model.cached_f0
    both = v_cached & v_full
    assert both.mean() > 0.8
    cents = 1200 * np.abs(np.log2(f0_cached[both] / f0_full[both]))
    assert cents.max() < 20
    # only the newest part was decoded
    calls = pipe.voice.calls
    assert all(c["decode_from"] > 0 for c in calls[1:])
    assert calls[-1]["frames"] - calls[-1]["decode_from"] <= (eng.sola.n_out + 511) // 512 + 1


def test_output_follows_the_input_pitch_and_transpose_changes_without_click() -> None:
    model = VoiceWindowModel(sine_pipeline(), f0_margin_ms=80.0)
    eng = LiveEngine(LiveSettings(block_ms=100, crossfade_ms=30, context_ms=500, gate_db=-60), SR, model)
    x = harmonic(SR, 4.0, 220.0)
    b = eng.block_size
    change_at = 20

    def hook(i: int, e: LiveEngine) -> None:
        if i == change_at:
            e.update(transpose=5.0)

    y = run(eng, x, hook)
    assert np.isfinite(y).all() and y.shape == x.shape
    before = y[int(0.5 * SR):change_at * b - SR // 10]
    after = y[change_at * b + SR // 2:]
    assert abs(1200 * np.log2(peak_hz(before, SR) / 220.0)) < 10
    assert abs(1200 * np.log2(peak_hz(after, SR) / (220.0 * 2 ** (5 / 12)))) < 10
    slope = 2 * np.pi * 220.0 * 2 ** (5 / 12) * 0.3 / SR
    steady = y[int(0.5 * SR):]
    assert np.abs(np.diff(steady)).max() < 1.5 * slope  # no click at any block join or at the change


def test_speaker_change_rebuilds_the_pipeline_between_blocks() -> None:
    from svc_core.convert import SegmentPipeline

    pipe = sine_pipeline()

    def rebuild(settings):
        return SegmentPipeline(pipe.voice, pipe.encoder, pipe.f0_extractor, settings)

    model = VoiceWindowModel(pipe, rebuild=rebuild)
    eng = LiveEngine(LiveSettings(block_ms=50, crossfade_ms=20, context_ms=300, gate_db=-60), SR, model)
    x = harmonic(SR, 1.0, 300.0)
    run(eng, x, lambda i, e: e.update(speaker="tenor") if i == 5 else None)
    speakers = [c["speaker"] for c in pipe.voice.calls]
    assert speakers[0] == 0 and speakers[-1] == 1 and model.pipeline is not pipe


def test_simulate_a_sung_clip_with_the_f0_following_voice(corpus_dir, tmp_path) -> None:
    """--simulate's driver on a corpus clip (48 kHz device, 44.1 kHz voice): same length, no NaN, the output's
    pitch track is the sung F0 (corpus f0.tsv) delayed by the algorithmic latency (less at most the SOLA search)."""
    import soundfile as sf

    from svc_core.f0 import get_extractor
    from svc_core.live.simulate import simulate_file

    clip = corpus_dir / "czech_dita/czech_dita_01.flac"
    eng = LiveEngine(LiveSettings(block_ms=100, crossfade_ms=25, context_ms=1000), 48000,
                     VoiceWindowModel(sine_pipeline()))
    res = simulate_file(eng, clip, tmp_path / "heard.wav")
    y, sr = sf.read(tmp_path / "heard.wav", dtype="float32")
    assert sr == 48000 and y.shape[0] == round(sf.info(clip).frames * 48000 / 44100) == res.frames
    assert np.isfinite(y).all()
    ref = np.loadtxt(str(clip).replace(".flac", ".f0.tsv"), skiprows=1)  # time_s, f0_hz, voiced (10 ms grid)
    f_out, v_out = get_extractor("pm").extract(y, sr, sr // 100)
    scores = []
    for lag in range(0, 40):
        n = min(ref.shape[0], f_out.shape[0] - lag)
        both = (ref[:n, 2] > 0) & v_out[lag:lag + n]
        cents = np.abs(1200 * np.log2(f_out[lag:lag + n][both] / ref[:n, 1][both]))
        scores.append((float(np.median(cents)), lag, float((cents < 50).mean())))
    err, lag, within = min(scores)
    lat = res.latency.total_ms
    assert lat - 10.0 - 10.0 <= 10 * lag <= lat + 10.0, (lag, lat)  # 10 ms frames; SOLA may take up to 10 ms
    assert err < 10 and within > 0.95
