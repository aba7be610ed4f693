"""The stream's callback logic without PortAudio: device periods gathered into engine blocks, the one-block
hand-off, late blocks filled with the dry input and counted, and a stream that stops by itself reported."""

from __future__ import annotations

import numpy as np

from svc_core.errors import AudioError
from svc_core.live.stream import LiveStream


class Doubler:
    block_size = 100

    def process(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * x


def drive(stream: LiveStream, x: np.ndarray, period: int, work: bool = True) -> np.ndarray:
    """Feed x through the duplex callback in periods; run the inference step between callbacks when ``work``."""
    out = []
    for a in range(0, x.shape[0], period):
        ind = x[a:a + period, None].astype(np.float32)
        outd = np.zeros_like(ind)
        stream._duplex_cb(ind, outd, ind.shape[0], None, None)
        out.append(outd[:, 0].copy())
        if work:
            buf = np.zeros(stream.block, np.float32)
            while (seq := stream._in_ring.pop_into(buf)) is not None:
                stream._out_ring.push(stream.processor.process(buf), seq)
    return np.concatenate(out)


def test_periods_gather_into_blocks_and_results_play_one_block_later() -> None:
    x = np.arange(1, 1001, dtype=np.float32)
    st = LiveStream(Doubler(), 44100, device_block=37)
    y = drive(st, x, 37)
    # block n's result plays while block n + 2 is captured: a delay of exactly two blocks
    np.testing.assert_array_equal(y[200:], 2.0 * x[:-200])
    assert np.all(y[:200] == 0.0) and st.counters.late == 0


def test_late_blocks_are_filled_with_the_dry_input_and_counted() -> None:
    x = np.arange(1, 601, dtype=np.float32)
    st = LiveStream(Doubler(), 44100, device_block=50, late_fill="dry")
    y = drive(st, x, 50, work=False)  # the inference thread never delivers
    assert st.counters.late == 4  # every block from the third on
    np.testing.assert_array_equal(y[200:300], x[100:200])  # the latest whole input block, not silence
    st2 = LiveStream(Doubler(), 44100, device_block=50, late_fill="silence")
    assert np.all(drive(st2, x, 50, work=False) == 0.0)


def test_a_stream_that_stops_by_itself_ends_the_session_with_a_message() -> None:
    st = LiveStream(Doubler(), 44100)
    st._streams = [object()]  # as if started
    st.max_restarts = 0  # (with restarts left, check() reopens the device; the device tests cover that)
    assert st.active
    st._finished()
    assert st.active  # noticed by the next check, not in PortAudio's thread
    st.wait(0.1)
    assert not st.active and isinstance(st.error, AudioError) and "device disconnected" in str(st.error)
    st2 = LiveStream(Doubler(), 44100)
    st2._stopping = True  # a stop we asked for is not an error
    st2._finished()
    st2.check()
    assert st2.error is None
