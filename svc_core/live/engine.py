"""The live engine: pure computation, no audio device and no threads. ``process(block)`` takes one input block at
the device rate and returns one output block of the same size.

Per block: stateful resampling to the model rate -> whole model-frame steps of a sliding window (left context +
block + optional lookahead) -> the model's window inference (or identity: passthrough) -> SOLA alignment and
crossfade (:mod:`svc_core.live.sola`) -> stateful resampling back -> a small FIFO pre-filled so that a block is
always ready (the resamplers wait for a little future input). A silence gate skips the model. Buffers are allocated
once; a block costs the same whatever the session length. Setting changes (:meth:`LiveEngine.update`) are safe to
make from another thread and take effect at the next step, inside the SOLA crossfade (no click).
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any, Protocol, runtime_checkable

import numpy as np

from svc_core.errors import SvcError
from svc_core.live.latency import AlgorithmicLatency
from svc_core.live.resample import SampleFifo, StreamResampler, fifo_prime
from svc_core.live.settings import LiveSettings
from svc_core.live.sola import SolaProcessor
from svc_core.live.stats import BlockTimes

__all__ = ["LiveEngine", "LiveModel", "Passthrough", "RUNTIME_PARAMS"]

#: Settings that may change while the engine runs.
RUNTIME_PARAMS = ("transpose", "speaker", "retrieval_ratio", "gate_db")


@runtime_checkable
class LiveModel(Protocol):
    """Window inference at the model rate (``svc_core.live.infer.VoiceWindowModel`` or :class:`Passthrough`)."""

    sampling_rate: int
    hop_length: int

    def infer(self, window: np.ndarray, n_out: int, end: int, lookahead: int) -> np.ndarray:
        """window [W] (W a multiple of hop, its last sample is absolute input index end - 1) -> the newest n_out
        output samples, ending ``lookahead`` samples before the window end."""
        ...

    def set_params(self, **params: Any) -> None:
        """Apply runtime settings (transpose, speaker, retrieval_ratio) from the next window on."""
        ...


class Passthrough:
    """Identity model: the output is the input (checks the set-up and the DSP without a voice)."""

    def __init__(self, sampling_rate: int, hop_length: int = 1) -> None:
        self.sampling_rate, self.hop_length = int(sampling_rate), int(hop_length)
        self.calls = 0

    def infer(self, window: np.ndarray, n_out: int, end: int, lookahead: int) -> np.ndarray:
        """The newest input, unchanged."""
        self.calls += 1
        stop = window.shape[0] - lookahead
        return window[stop - n_out:stop]

    def set_params(self, **params: Any) -> None:
        """Nothing to change."""


class LiveEngine:
    """Blocks in, blocks out (device rate, mono float32); see the module docstring."""

    def __init__(self, settings: LiveSettings, device_sr: int, model: LiveModel | None = None) -> None:
        settings.validate()
        if not 8000 <= int(device_sr) <= 192000:
            raise SvcError(f"device sample rate {device_sr} Hz is outside 8000-192000 Hz")
        self.settings = settings
        self.device_sr = int(device_sr)
        self.model: LiveModel = model if model is not None else Passthrough(self.device_sr)
        sr_m, hop = int(self.model.sampling_rate), int(self.model.hop_length)
        self.model_sr = sr_m

        def ms(v: float) -> int:
            return int(round(v * sr_m / 1000.0))

        step = max(1, int(round(ms(settings.block_ms) / hop))) * hop
        min_step = max(hop, step - hop)  # steps are whole frames: step +- one frame when the rates differ
        crossfade = min(ms(settings.crossfade_ms), min_step)
        self.sola = SolaProcessor(self._infer, step + 2 * hop, crossfade, ms(settings.search_ms),
                                  ms(settings.context_ms), ms(settings.lookahead_ms), align=hop)
        self.step, self.hop = step, hop
        self.block_size = max(1, int(round(step * self.device_sr / sr_m)))
        self._rs_in = StreamResampler(self.device_sr, sr_m)
        self._rs_out = StreamResampler(sr_m, self.device_sr)
        self.prime = fifo_prime(self.device_sr, sr_m, self.block_size, hop)
        per_call = int(math.ceil(self.block_size * sr_m / self.device_sr))
        self._pending = SampleFifo(4 * step + 2 * per_call + 4 * hop + 4096)
        self._fifo = SampleFifo(self.prime + 4 * self.block_size + 4 * int(step * self.device_sr / sr_m) + 8192)
        self._fifo.push(np.zeros(self.prime, np.float32))
        self._y = np.zeros(self.block_size, np.float32)
        self._gate = 10.0 ** (settings.gate_db / 20.0)
        self._changes: deque[dict[str, Any]] = deque()
        self.times = BlockTimes(self.block_size / self.device_sr)
        self.model_calls = 0
        self.gated_steps = 0
        self.steps = 0
        self.underruns = 0  # output FIFO shortfalls (0 unless the prime was too small)

    # -- properties --

    @property
    def latency(self) -> AlgorithmicLatency:
        """Algorithmic latency: block + crossfade + SOLA search + lookahead + resampler buffering."""
        s, sr_m = self.sola, self.model_sr
        return AlgorithmicLatency(block_ms=1e3 * self.block_size / self.device_sr,
                                  crossfade_ms=1e3 * s.crossfade / sr_m, search_ms=1e3 * s.search / sr_m,
                                  lookahead_ms=1e3 * s.lookahead / sr_m, resampler_ms=1e3 * self.prime / self.device_sr)

    def describe(self) -> str:
        """What the engine runs: rates, block, window."""
        s = self.sola
        return (f"device {self.device_sr} Hz, model {self.model_sr} Hz, block {self.block_size} samples "
                f"({1e3 * self.block_size / self.device_sr:.1f} ms), window {s.window_len} model samples "
                f"(context {1e3 * s.context / self.model_sr:.0f} ms), crossfade {1e3 * s.crossfade / self.model_sr:.1f}"
                f" ms, search {1e3 * s.search / self.model_sr:.1f} ms")

    # -- runtime changes --

    def update(self, **changes: Any) -> None:
        """Change transpose / speaker / retrieval_ratio / gate_db while running (any thread); applied at the next
        step, so the SOLA crossfade smooths the change."""
        bad = sorted(set(changes) - set(RUNTIME_PARAMS))
        if bad:
            raise SvcError(f"cannot change {', '.join(bad)} while running (only {', '.join(RUNTIME_PARAMS)})")
        self.settings.with_changes(**changes)  # validates
        self._changes.append(dict(changes))

    def _apply_changes(self) -> None:
        while self._changes:
            ch = self._changes.popleft()
            self.settings = self.settings.with_changes(**ch)
            if "gate_db" in ch:
                self._gate = 10.0 ** (self.settings.gate_db / 20.0)
            params = {k: v for k, v in ch.items() if k != "gate_db"}
            if params:
                self.model.set_params(**params)

    # -- processing --

    def _infer(self, window: np.ndarray, n_out: int, end: int) -> np.ndarray:
        self.model_calls += 1
        return self.model.infer(window, n_out, end, self.sola.lookahead)

    def _active(self, x_new: np.ndarray) -> bool:
        """Gate: RMS of everything this step synthesizes or looks ahead at, against the threshold."""
        s = self.sola
        span = s.crossfade + s.search + x_new.shape[0] + s.lookahead
        old = s.window[s.window_len - span + x_new.shape[0]:]
        energy = float(np.dot(old, old)) + float(np.dot(x_new, x_new))
        return math.sqrt(energy / span) >= self._gate

    def process(self, x: np.ndarray) -> np.ndarray:
        """One device block in [block_size] -> one device block out [block_size] (a reused buffer: copy to keep)."""
        t0 = time.perf_counter()
        if x.shape[0] != self.block_size:
            raise SvcError(f"live engine: expected blocks of {self.block_size} samples, got {x.shape[0]}")
        if self._changes:
            self._apply_changes()
        self._pending.push(self._rs_in(x))
        while len(self._pending) >= self.hop:  # all whole frames (one step per block, +- a frame if resampled)
            n = min((len(self._pending) // self.hop) * self.hop, self.sola.block)
            if n < self.sola.crossfade:
                break
            xs = self._pending.peek(n)
            active = self._active(xs)
            if not active:
                self.gated_steps += 1
            y = self.sola.step(xs, active)
            self._pending.discard(n)
            self._fifo.push(self._rs_out(y))
            self.steps += 1
        if self._fifo.pop_into(self._y) < self.block_size:
            self.underruns += 1
        self.times.add(time.perf_counter() - t0)
        return self._y

    def warm_up(self, blocks: int = 3) -> None:
        """Run a few blocks of a loud tone through the model (first calls allocate and initialise lazily), then
        forget them: a session starts at its steady per-block cost. Counters and times are reset too."""
        t = np.arange(self.block_size * blocks) / self.device_sr
        x = (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
        for i in range(blocks):
            self.process(x[i * self.block_size:(i + 1) * self.block_size])
        self.reset()
        self.times.clear()
        self.model_calls = self.gated_steps = self.steps = self.underruns = 0

    def reset(self) -> None:
        """Forget all audio (as at construction; settings and counters stay)."""
        model_reset = getattr(self.model, "reset", None)
        if callable(model_reset):
            model_reset()
        self.sola.reset()
        self._rs_in.reset()
        self._rs_out.reset()
        self._pending.clear()
        self._fifo.clear()
        self._fifo.push(np.zeros(self.prime, np.float32))
