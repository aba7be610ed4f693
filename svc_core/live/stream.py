"""Audio I/O for live conversion (sounddevice / PortAudio; no torch, directly or indirectly).

The PortAudio callback only copies: the input block into a lock-free ring (:mod:`svc_core.live.ring`) for the
inference thread, and the block that thread finished one hand-off earlier out of a second ring. The inference
thread runs any :class:`BlockProcessor` (the live engine) behind a bounded queue: when it falls behind, the
oldest queued input is dropped, and a block not ready in time is filled with the dry input or silence and
counted as late. The stream never stops because inference was late; a device that stops delivering ends the
session with :attr:`LiveStream.error` set.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from svc_core.errors import AudioError
from svc_core.live.ring import BlockRing
from svc_core.live.stats import BlockTimes

__all__ = ["BlockProcessor", "LiveStream", "StreamCounters", "list_devices", "resolve_device", "sounddevice"]


class BlockProcessor(Protocol):
    """What the stream runs on its inference thread (``svc_core.live.engine.LiveEngine``)."""

    block_size: int

    def process(self, x: np.ndarray) -> np.ndarray:
        """One block in [block_size] -> one block out [block_size]."""
        ...


def sounddevice() -> Any:
    """The ``sounddevice`` module (AudioError when PortAudio is not installed)."""
    try:
        import sounddevice as sd
    except OSError as e:
        raise AudioError(f"cannot load PortAudio ({e}); install it (Debian/Ubuntu: apt install libportaudio2)") from e
    return sd


def list_devices() -> str:
    """Host APIs and devices as text (index, name, host API, in/out channels, default rate; > marks defaults)."""
    sd = sounddevice()
    lines = ["host APIs:"]
    for i, api in enumerate(sd.query_hostapis()):
        lines.append(f"  {i}: {api['name']} ({len(api['devices'])} devices)")
    lines.append("devices (> default input, < default output):")
    d_in, d_out = sd.default.device
    for i, d in enumerate(sd.query_devices()):
        mark = (">" if i == d_in else " ") + ("<" if i == d_out else " ")
        api = sd.query_hostapis(d["hostapi"])["name"]
        lines.append(f" {mark}{i:3d}: {d['name']} [{api}] in {d['max_input_channels']}, out "
                     f"{d['max_output_channels']}, {d['default_samplerate']:.0f} Hz")
    return "\n".join(lines)


def resolve_device(spec: int | str | None, kind: str) -> int:
    """Device index for ``spec`` (an index, an exact or unique partial name, or None for the default) that has
    ``kind`` ("input"/"output") channels."""
    sd = sounddevice()
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    devices = list(sd.query_devices())
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        idx = sd.default.device[0 if kind == "input" else 1]
        if idx is None or idx < 0:
            raise AudioError(f"no default {kind} device; pick one with --{kind} (see --list-devices)")
        return int(idx)
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().lstrip("-").isdigit()):
        idx = int(spec)
        if not 0 <= idx < len(devices):
            raise AudioError(f"no audio device with index {idx} (0-{len(devices) - 1}; see --list-devices)")
        if devices[idx][key] < 1:
            raise AudioError(f"device {idx} ({devices[idx]['name']}) has no {kind} channels")
        return idx
    name = str(spec).strip().lower()
    cands = [i for i, d in enumerate(devices) if d[key] > 0 and d["name"].lower() == name]
    cands = cands or [i for i, d in enumerate(devices) if d[key] > 0 and name in d["name"].lower()]
    if not cands:
        raise AudioError(f"no {kind} device matches {spec!r} (see --list-devices)")
    return cands[0]


@dataclass
class StreamCounters:
    """What went wrong or late so far."""

    blocks: int = 0  # callbacks run
    late: int = 0  # output blocks not ready in time (filled with dry input or silence)
    dropped: int = 0  # input blocks the inference thread never processed (queue full)
    xruns: int = 0  # PortAudio input overflow / output underflow flags

    def to_dict(self) -> dict[str, int]:
        """Plain dict."""
        return asdict(self)


class LiveStream:
    """A running live session: PortAudio stream(s) + one inference thread around ``processor``.

    The PortAudio callback runs every ``device_block`` samples (default: the engine block, at most 512: many
    devices refuse long periods); it gathers input into engine blocks and plays engine blocks out in pieces.
    ``handoff`` blocks pass between capturing a block and playing its result (1: the result of block n starts
    playing as soon as block n + 1 has been captured). ``probe``: a signal played on the output instead of the
    processor's result (the result is still computed and recorded): used for loopback measurements.
    ``record_s``: keep the first seconds of input and output (what was or would have been played) in
    :attr:`recorded_in` / :attr:`recorded_out`.
    """

    def __init__(self, processor: BlockProcessor, samplerate: int, *, input_device: int | str | None = None,
                 output_device: int | str | None = None, late_fill: str = "dry", queue_blocks: int = 4,
                 handoff: int = 1, latency: str | float = "low", probe: np.ndarray | None = None,
                 record_s: float = 0.0, device_block: int | None = None) -> None:
        self.processor = processor
        self.samplerate = int(samplerate)
        self.block = int(processor.block_size)
        self.device_block = int(device_block) if device_block else min(self.block, 512)
        self.input_device, self.output_device = input_device, output_device
        self.late_fill, self.handoff, self.latency_hint = late_fill, max(1, int(handoff)), latency
        self.counters = StreamCounters()
        self.times = BlockTimes(self.block / self.samplerate)
        self.error: BaseException | None = None
        self.reported_latency_ms: float | None = None
        self.duplex = True
        b = self.block
        self._in_ring = BlockRing(max(1, int(queue_blocks)), b)
        self._out_ring = BlockRing(max(4, int(queue_blocks) + self.handoff + 2), b)
        self._acc = np.zeros(b, np.float32)  # input block being filled
        self._acc_pos = 0
        self._last_in = np.zeros(b, np.float32)  # the latest whole input block (dry fill)
        self._cur = np.zeros(b, np.float32)  # output block being played
        self._cur_pos = b
        self._out_pos = 0  # output samples played so far
        self._work_buf = np.zeros(b, np.float32)
        self._in_seq = -1  # last input block pushed
        self._probe = None if probe is None else np.asarray(probe, np.float32)
        n_rec = int(record_s * self.samplerate)
        self.recorded_in = np.zeros(n_rec, np.float32)
        self.recorded_out = np.zeros(n_rec, np.float32)
        self._rec_in_pos = self._rec_out_pos = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._streams: list[Any] = []
        self._died = threading.Event()
        self.restarts = 0  # streams reopened after PortAudio stopped them by itself
        self.max_restarts = 3
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- callbacks (PortAudio thread: copy only) --

    def _on_input(self, indata: np.ndarray, status: Any) -> None:
        if status and (status.input_overflow or status.input_underflow):
            self.counters.xruns += 1
        frames = indata.shape[0]
        n = min(frames, self.recorded_in.shape[0] - self._rec_in_pos)
        if n > 0:
            self.recorded_in[self._rec_in_pos:self._rec_in_pos + n] = indata[:n, 0]
            self._rec_in_pos += n
        done = 0
        acc = self._acc
        while done < frames:
            k = min(frames - done, self.block - self._acc_pos)
            part = indata[done:done + k]
            if part.shape[1] == 1:
                acc[self._acc_pos:self._acc_pos + k] = part[:, 0]
            else:
                np.mean(part, axis=1, out=acc[self._acc_pos:self._acc_pos + k])
            self._acc_pos += k
            done += k
            if self._acc_pos == self.block:  # a whole engine block: hand it to the inference thread
                self._in_seq += 1
                self._in_ring.push(acc, self._in_seq)
                self._last_in[:] = acc
                self._acc_pos = 0
                self._wake.set()

    def _next_out_block(self) -> None:
        """Load the block due now (the result of input block in_seq + 1 - handoff - 1) into _cur: with handoff 1,
        the block captured before the one that just completed (the inference thread had one block to make it)."""
        want = self._in_seq - self.handoff
        cur = self._cur
        if want < 0:
            cur[:] = 0.0
        elif not self._out_ring.pop_seq_into(cur, want):
            self.counters.late += 1
            if self.late_fill == "dry":
                cur[:] = self._last_in
            else:
                cur[:] = 0.0
        self.counters.blocks += 1
        self._cur_pos = 0

    def _on_output(self, outdata: np.ndarray, status: Any) -> None:
        if status and status.output_underflow:
            self.counters.xruns += 1
        frames = outdata.shape[0]
        done = 0
        while done < frames:
            if self._cur_pos == self.block:
                self._next_out_block()
            k = min(frames - done, self.block - self._cur_pos)
            seg = self._cur[self._cur_pos:self._cur_pos + k]
            n = min(k, self.recorded_out.shape[0] - self._rec_out_pos)
            if n > 0:
                self.recorded_out[self._rec_out_pos:self._rec_out_pos + n] = seg[:n]
                self._rec_out_pos += n
            if self._probe is not None:
                p0 = self._out_pos
                probe = self._probe[p0:p0 + k]
                outdata[done:done + probe.shape[0]] = probe[:, None]
                outdata[done + probe.shape[0]:done + k] = 0.0
            else:
                outdata[done:done + k] = seg[:, None]
            self._cur_pos += k
            self._out_pos += k
            done += k

    def _duplex_cb(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._on_input(indata, status)
        self._on_output(outdata, status)

    def _input_cb(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._on_input(indata, status)

    def _output_cb(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._on_output(outdata, status)

    def _finished(self) -> None:
        """PortAudio ended a stream: ours (stop) or by itself, which :meth:`check` answers from a waiting thread."""
        if not self._stopping:
            self._died.set()

    # -- inference thread --

    def _work(self) -> None:
        buf = self._work_buf
        try:
            while not self._stop.is_set():
                self._wake.wait(0.05)
                self._wake.clear()
                while not self._stop.is_set():
                    seq = self._in_ring.pop_into(buf)
                    if seq is None:
                        break
                    t0 = time.perf_counter()
                    y = self.processor.process(buf)
                    self.times.add(time.perf_counter() - t0)
                    self._out_ring.push(y, seq)
                self.counters.dropped = self._in_ring.dropped
        except BaseException as e:  # reported to the session's owner, never raised in PortAudio's thread
            self.error = e
            self._stop.set()

    # -- control --

    def start(self) -> LiveStream:
        """Open the device(s) (one full-duplex stream where possible, else an input and an output stream) and
        start the inference thread."""
        self._thread = threading.Thread(target=self._work, name="svc-live-inference", daemon=True)
        self._thread.start()
        try:
            self._open()
        except AudioError:
            self.stop()
            raise
        return self

    def _open(self) -> None:
        sd = sounddevice()
        i_dev = resolve_device(self.input_device, "input")
        o_dev = resolve_device(self.output_device, "output")
        out_ch = min(2, int(sd.query_devices(o_dev)["max_output_channels"]))
        common = dict(samplerate=self.samplerate, blocksize=self.device_block, dtype="float32",
                      latency=self.latency_hint, finished_callback=self._finished)
        try:
            try:
                self._streams = [sd.Stream(device=(i_dev, o_dev), channels=(1, out_ch), callback=self._duplex_cb,
                                           **common)]
                self.duplex = True
            except sd.PortAudioError:
                self.duplex = False
                self._streams = [sd.InputStream(device=i_dev, channels=1, callback=self._input_cb, **common),
                                 sd.OutputStream(device=o_dev, channels=out_ch, callback=self._output_cb, **common)]
            for s in self._streams:
                s.start()
        except (sd.PortAudioError, ValueError) as e:
            self._close()
            raise AudioError(f"cannot open the audio device(s) {i_dev} -> {o_dev} at {self.samplerate} Hz, "
                             f"block {self.block}: {e}") from e
        lat = [s.latency for s in self._streams]
        flat = [v for x in lat for v in (x if isinstance(x, (tuple, list)) else (x,))]
        self.reported_latency_ms = 1e3 * float(sum(flat))

    def _close(self) -> None:
        for s in self._streams:
            try:
                s.stop()
                s.close()
            except Exception:  # noqa: BLE001 - a vanished device may fail to close; nothing left to do
                pass
        self._streams = []

    def check(self) -> None:
        """If PortAudio stopped a stream by itself (a driver or sound-server hiccup), reopen the device, at most
        ``max_restarts`` times; after that, or when it cannot be reopened (the device is gone), end the session
        with :attr:`error` set. Called by :meth:`wait` and :meth:`wait_recorded`."""
        if not self._died.is_set() or self._stopping or self.error is not None:
            return
        self._died.clear()
        self._close()
        if self.restarts < self.max_restarts:
            self.restarts += 1
            try:
                self._open()
                return
            except AudioError as e:
                reason = str(e)
        else:
            reason = f"it stopped {self.restarts + 1} times"
        self.error = AudioError(f"the audio stream stopped by itself (device disconnected or server gone; {reason})")
        self._stop.set()
        self._wake.set()

    @property
    def active(self) -> bool:
        """True while the session runs (False after stop or an error)."""
        return bool(self._streams) and not self._stop.is_set() and self.error is None

    def stop(self) -> None:
        """Stop the stream(s) and the inference thread (idempotent)."""
        self._stopping = True
        self._stop.set()
        self._wake.set()
        self._close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.counters.dropped = self._in_ring.dropped

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds`` or until the session ends (restarting a stream that stopped by itself)."""
        t_end = time.monotonic() + seconds
        while not self._stop.is_set() and (left := t_end - time.monotonic()) > 0:
            self._stop.wait(min(left, 0.05))
            self.check()

    def wait_recorded(self, timeout: float) -> bool:
        """Wait until the recording buffers are full (or ``timeout`` s, or the session ends) -> full."""
        t_end = time.monotonic() + timeout
        full = self.recorded_in.shape[0]
        while time.monotonic() < t_end and self.active:
            if self._rec_in_pos >= full and self._rec_out_pos >= full:
                return True
            self._stop.wait(0.02)
            self.check()
        return self._rec_in_pos >= full and self._rec_out_pos >= full

    def __enter__(self) -> LiveStream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
