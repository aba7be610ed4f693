"""Live-page helpers: the audio device list (PortAudio, no torch), a level tap around the live engine, and the
engine-thread jobs that build and start a session, calibrate and measure the round trip. The session's audio runs
on the live stream's own threads (PortAudio callback + inference thread); the GUI only polls its counters."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.engine import JobContext
from svc_core.errors import AudioError
from svc_core.live.settings import LiveSettings

__all__ = ["DeviceInfo", "LevelTap", "LiveSession", "calibrate_job", "list_audio_devices", "measure_job",
           "model_rate", "open_session", "start_job"]


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    hostapi: str
    inputs: int
    outputs: int
    default_sr: int


def list_audio_devices(rescan: bool = False) -> tuple[list[str], list[DeviceInfo], tuple[int, int]]:
    """(host API names, devices, (default input, default output)); ``rescan`` re-reads PortAudio's list."""
    from svc_core.live.stream import sounddevice

    sd = sounddevice()
    if rescan:
        sd._terminate()
        sd._initialize()
    apis = [a["name"] for a in sd.query_hostapis()]
    devs = [DeviceInfo(i, d["name"], apis[d["hostapi"]], int(d["max_input_channels"]), int(d["max_output_channels"]),
                       int(d["default_samplerate"])) for i, d in enumerate(sd.query_devices())]
    d_in, d_out = sd.default.device
    return apis, devs, (int(d_in if d_in is not None else -1), int(d_out if d_out is not None else -1))


def model_rate(voice: Path | None, device_sr: int) -> tuple[int, int]:
    """(sample rate, hop) the engine runs at: the voice's config.json, or the device rate for passthrough."""
    if voice is None:
        return int(device_sr), 1
    cfg = voice / "config.json" if voice.is_dir() else voice.parent / "config.json"
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))["data"]
        return int(data["sampling_rate"]), int(data["hop_length"])
    except (OSError, KeyError, ValueError, TypeError):
        return int(device_sr), 1


class LevelTap:
    """Wraps the live engine on the inference thread: keeps the RMS of the latest input and output block."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.block_size = int(engine.block_size)
        self.in_rms = 0.0
        self.out_rms = 0.0
        self.blocks = 0

    def process(self, x: np.ndarray) -> np.ndarray:
        """One block through the engine, measuring both sides."""
        self.in_rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
        y = self.engine.process(x)
        self.out_rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
        self.blocks += 1
        return y


@dataclass
class LiveSession:
    """A started session: the PortAudio stream, the engine inside it and the level tap."""

    stream: Any
    engine: Any
    tap: LevelTap
    samplerate: int

    def stop(self) -> None:
        """Stop the stream and its inference thread."""
        self.stream.stop()


def _model(ctx: JobContext, voice: Path | None, s: LiveSettings, weights_dir: str | None) -> Any:
    """The live model (None = passthrough), cached in the engine resources per (voice, F0 method, device)."""
    if voice is None:
        return None
    from svc_core.live.infer import load_live_model

    key = (str(voice), s.f0_method, s.device, weights_dir)
    cached = ctx.resources.get("live_model")
    if cached is not None and cached[0] == key:
        model = cached[1]
        model.set_params(transpose=s.transpose, speaker=s.speaker, retrieval_ratio=s.retrieval_ratio)
        if hasattr(model, "reset"):
            model.reset()
        return model
    ctx.progress(0.1, "loading the voice")
    model = load_live_model(voice, speaker=s.speaker, transpose=s.transpose, retrieval_ratio=s.retrieval_ratio,
                            f0_method=s.f0_method, f0_margin_ms=s.f0_margin_ms, device=s.device,
                            weights_dir=weights_dir)
    ctx.resources["live_model"] = (key, model)
    return model


def open_session(s: LiveSettings, model: Any = None) -> LiveSession:
    """Build the engine around ``model`` (None: passthrough), warm it up and start the stream (no torch here:
    a passthrough session opens straight from the GUI thread, even while the engine thread is busy)."""
    from svc_core.live.engine import LiveEngine
    from svc_core.live.stream import LiveStream, resolve_device, sounddevice

    s.validate()
    sr = s.samplerate or int(sounddevice().query_devices(resolve_device(s.input_device, "input"))
                             ["default_samplerate"])
    engine = LiveEngine(s, int(sr), model)
    engine.warm_up()
    tap = LevelTap(engine)
    stream = LiveStream(tap, int(sr), input_device=s.input_device, output_device=s.output_device,
                        late_fill=s.late_fill, queue_blocks=s.queue_blocks)
    stream.start()
    return LiveSession(stream, engine, tap, int(sr))


def start_job(s: LiveSettings, voice: Path | None, weights_dir: str | None) -> Callable[[JobContext], LiveSession]:
    """Load the voice on the engine thread, then open the session (its audio runs on the stream's threads)."""

    def run(ctx: JobContext) -> LiveSession:
        model = _model(ctx, voice, s, weights_dir)
        ctx.progress(0.6, "opening the audio device")
        session = open_session(s, model)
        ctx.log(f"live: {session.engine.describe()}; {session.engine.latency.line()}")
        return session

    return run


def calibrate_job(s: LiveSettings, voice: Path | None, weights_dir: str | None, device_sr: int) -> Callable:
    """Time block/context candidates for this machine and voice; returns the Calibration (choice may be None)."""

    def run(ctx: JobContext) -> Any:
        from svc_core.live.calibrate import calibrate
        from svc_core.live.engine import Passthrough
        from svc_core.live.settings import save_calibrated

        model = _model(ctx, voice, s, weights_dir)
        if model is None:
            model = Passthrough(device_sr)
        ctx.progress(0.2, "calibrating")
        cal = calibrate(s, device_sr, lambda: model, log=ctx.log)
        if cal.choice is not None:
            save_calibrated(cal.choice, cal.report())
        return cal

    return run


def measure_job(block: int, samplerate: int, input_device: int | None, output_device: int | None) -> Callable:
    """Play clicks and find them in the input over the loopback: the device round trip (RoundTrip)."""

    def run(ctx: JobContext) -> Any:
        from svc_core.live.measure import measure_round_trip

        ctx.progress(0.1, "measuring the round trip")
        rt = measure_round_trip(block, samplerate, input_device=input_device, output_device=output_device,
                                seconds=2.5)
        if rt.ms is None:
            raise AudioError("no click came back: connect the output to the input (loopback cable, virtual device, "
                             "or a microphone next to the speaker)")
        return rt

    return run
