"""A real PortAudio stream on a duplex device (the virtual loopback in CI): a known signal played on the output
comes back in the input, goes through the engine and arrives at the output exactly one hand-off block after the
algorithmic latency; the device round trip is measured with clicks."""

from __future__ import annotations

import numpy as np
import pytest

from svc_core.live.engine import LiveEngine
from svc_core.live.latency import click_train, find_delay
from svc_core.live.measure import measure_round_trip
from svc_core.live.settings import LiveSettings
from svc_core.live.stream import LiveStream, list_devices, resolve_device

pytestmark = pytest.mark.audio
SR = 44100


def test_devices_are_listed_and_resolved(duplex_device: int | str) -> None:
    text = list_devices()
    assert "host APIs:" in text and "devices" in text
    idx = resolve_device(duplex_device, "input")
    assert resolve_device(idx, "output") == idx
    from svc_core.errors import AudioError

    with pytest.raises(AudioError, match="no input device matches"):
        resolve_device("no such device, surely", "input")
    with pytest.raises(AudioError, match="no audio device with index"):
        resolve_device(10_000, "output")


def test_known_signal_arrives_through_the_engine_with_the_computed_delay(duplex_device: int | str) -> None:
    engine = LiveEngine(LiveSettings(block_ms=100, crossfade_ms=20, context_ms=200, gate_db=-150), SR)
    probe, onsets = click_train(SR, 3.0, every=0.4)
    stream = LiveStream(engine, SR, input_device=duplex_device, output_device=duplex_device, probe=probe,
                        record_s=4.0)
    with stream:
        assert stream.wait_recorded(20.0), "the device delivered less than 4 s of audio in 20 s"
    assert stream.error is None
    rec_in, rec_out = stream.recorded_in, stream.recorded_out
    # the played clicks came back over the loopback (the device round trip) ...
    k_dev, peak_dev = find_delay(probe[onsets[2]:onsets[2] + 1323], rec_in[onsets[2]:], SR // 2)
    assert peak_dev > 0.8, "no loopback signal"
    assert 0 < k_dev < SR // 2
    # ... and the engine's output is its input delayed by exactly the algorithmic latency + one hand-off block
    expected = engine.latency.samples(SR) + engine.block_size
    seg = rec_in[SR: 2 * SR]
    k, peak = find_delay(seg, rec_out[SR:], SR // 2)
    assert peak > 0.99 and abs(k - expected) <= 0.5, (k, expected, stream.counters)
    assert stream.counters.late <= 1  # at most the very first block, before any result existed


def test_round_trip_measurement(duplex_device: int | str) -> None:
    rt = measure_round_trip(512, SR, input_device=duplex_device, output_device=duplex_device, seconds=2.5)
    assert rt.ms is not None and 1.0 < rt.ms < 500.0, rt
    assert sum(v is not None for v in rt.per_click_ms) >= len(rt.per_click_ms) // 2 + 1
    assert rt.reported_ms is not None and rt.reported_ms > 0


def test_stream_keeps_running_when_inference_is_late(duplex_device: int | str) -> None:
    """A processor that takes 3 blocks for every 4th block: late blocks are counted and filled, the stream goes
    on, the inference thread's queue drops the oldest input."""
    import time

    class Slow:
        block_size = 2205

        def __init__(self) -> None:
            self.n = 0

        def process(self, x: np.ndarray) -> np.ndarray:
            self.n += 1
            if self.n % 4 == 0:
                time.sleep(3 * self.block_size / SR)
            return x

    stream = LiveStream(Slow(), SR, input_device=duplex_device, output_device=duplex_device, late_fill="silence",
                        queue_blocks=2, record_s=3.0)
    with stream:
        assert stream.wait_recorded(20.0)
        assert stream.active
    c = stream.counters
    assert c.late >= 3 and c.blocks >= 55 and stream.error is None


@pytest.mark.slow
def test_thirty_seconds_with_the_tiny_voice_has_no_late_blocks(duplex_device: int | str, tiny_voice,
                                                                corpus_dir) -> None:
    """The tiny random voice live for 30 s on the device, a sung clip played in over the loopback: 0 late blocks,
    0 dropped, and the output is the voice (not the dry fill)."""
    import soundfile as sf

    from svc_core.live.infer import load_live_model

    x, sr = sf.read(corpus_dir / "czech_dita/czech_dita_01.flac", dtype="float32")
    assert sr == SR
    probe = np.tile(x, int(np.ceil(30.5 * SR / x.shape[0])))[: int(30.5 * SR)]
    model = load_live_model(tiny_voice, f0_method="pm")
    engine = LiveEngine(LiveSettings(block_ms=500, crossfade_ms=50, context_ms=500, gate_db=-60), SR, model)
    engine.warm_up()
    stream = LiveStream(engine, SR, input_device=duplex_device, output_device=duplex_device, probe=probe,
                        record_s=30.0)
    with stream:
        full = stream.wait_recorded(90.0)
    c, t = stream.counters, stream.times.summary()
    assert full, f"the device delivered less than 30 s of audio in 90 s ({c}, error {stream.error!r})"
    assert stream.error is None and c.blocks >= 59
    assert c.late == 0 and c.dropped == 0, (c, t.line())
    assert engine.model_calls >= 50  # the voice ran (the gate was open)
    assert np.isfinite(stream.recorded_out).all() and np.abs(stream.recorded_out[SR * 2:]).max() > 1e-3


def test_cli_live_passthrough_and_measure_latency(duplex_device: int | str, capsys: pytest.CaptureFixture) -> None:
    import json

    import svc_core.cli

    dev = str(duplex_device)
    code = svc_core.cli.main(["live", "--passthrough", "--input", dev, "--output", dev, "--sr", str(SR),
                              "--block-ms", "50", "--seconds", "3", "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "algorithmic latency" in cap.out and "expected end to end" in cap.out and "compute/block" in cap.out
    res = json.loads(cap.out.strip().splitlines()[-1])
    assert res["blocks"] >= 10 and res["late"] <= 1 and res["latency"]["total_ms"] > 50
    code = svc_core.cli.main(["live", "--measure-latency", "--input", dev, "--output", dev, "--sr", str(SR),
                              "--block-ms", "20", "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert json.loads(cap.out.strip().splitlines()[-1])["ms"] is not None
