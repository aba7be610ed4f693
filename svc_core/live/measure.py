"""Measured round trip of an audio device: a click train played on the output is found again in the input over a
loopback (cable, virtual device, or a microphone next to the speaker). No torch."""

from __future__ import annotations

import numpy as np

from svc_core.live.latency import RoundTrip, click_train, find_delays
from svc_core.live.stream import LiveStream

__all__ = ["measure_round_trip"]


class _Silence:
    """A processor that outputs silence (the probe is what is played)."""

    def __init__(self, block_size: int) -> None:
        self.block_size = int(block_size)
        self._zeros = np.zeros(self.block_size, np.float32)

    def process(self, x: np.ndarray) -> np.ndarray:
        return self._zeros


def measure_round_trip(block: int, samplerate: int, *, input_device: int | str | None = None,
                       output_device: int | str | None = None, seconds: float = 3.0,
                       max_delay_s: float = 1.0) -> RoundTrip:
    """Play clicks for ``seconds`` through a stream of ``block``-sample callbacks -> the round trip per click."""
    probe, onsets = click_train(samplerate, seconds, every=0.4)
    stream = LiveStream(_Silence(block), samplerate, input_device=input_device, output_device=output_device,
                        probe=probe, record_s=seconds + max_delay_s)
    with stream:
        stream.wait_recorded(2.0 * (seconds + max_delay_s) + 5.0)
    if stream.error is not None:
        raise stream.error
    rt = find_delays(probe, stream.recorded_in, onsets, int(0.03 * samplerate), samplerate, max_delay_s)
    return RoundTrip(rt.ms, rt.per_click_ms, rt.peak, stream.reported_latency_ms)
