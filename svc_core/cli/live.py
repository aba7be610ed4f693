"""``svc-studio live``: hear the microphone through a voice in real time; ``--simulate IN OUT`` runs the same
engine on a file, ``--calibrate`` picks the block / context that keeps up on this machine, ``--measure-latency``
finds the device round trip over a loopback, ``--list-devices`` and ``--passthrough`` check the set-up.
No torch at import."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from svc_core.cli._args import add_device_option
from svc_core.f0 import EXTRACTOR_NAMES
from svc_core.live.infer import LIVE_DEFAULT_F0
from svc_core.live.settings import LATE_FILLS
from svc_core.live.settings import LiveSettings as D

__all__ = ["add_parser", "run_live"]

_TIMING = ("block_ms", "crossfade_ms", "context_ms", "search_ms", "lookahead_ms")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``live`` subcommand."""
    p = sub.add_parser(
        "live", help="live microphone conversion (or --simulate a file, --calibrate, --list-devices)",
        description="Hear the microphone through a voice in real time. Timing not given on the command line comes "
        "from the last --calibrate run (saved in the settings file), else the defaults.")
    p.add_argument("-m", "--model", "--voice", dest="voice", default=None, metavar="VOICE",
                   help="voice folder (config.json + G_*.pth) or checkpoint (not needed with --passthrough)")
    p.add_argument("--speaker", "-s", default=None, metavar="NAME", help="speaker name or id (default: the first)")
    p.add_argument("--input", dest="input_device", default=None, metavar="DEV", help="input device (name or index)")
    p.add_argument("--output", dest="output_device", default=None, metavar="DEV", help="output device (name or index)")
    p.add_argument("--sr", dest="samplerate", type=int, default=None, metavar="N",
                   help="device sample rate (default: the input device's; with --simulate: the file's)")
    for opt, what in (("block", "block length"), ("crossfade", "SOLA crossfade"), ("context", "extra left context"),
                      ("search", "SOLA search range"), ("lookahead", "lookahead")):
        p.add_argument(f"--{opt}-ms", type=float, default=None, metavar="N",
                       help=f"{what} (default {getattr(D, opt + '_ms'):g})")
    p.add_argument("--transpose", "-t", type=float, default=None, metavar="N", help="pitch shift in semitones")
    p.add_argument("--f0", dest="f0_method", choices=EXTRACTOR_NAMES, default=None, metavar="NAME",
                   help=f"F0 extractor: {', '.join(EXTRACTOR_NAMES)} (default: {LIVE_DEFAULT_F0})")
    p.add_argument("--gate-db", type=float, default=None, metavar="N",
                   help=f"silence gate: blocks under N dBFS give silence, skip the model (default {D.gate_db:g})")
    p.add_argument("--retrieval-ratio", type=float, default=None, metavar="R", help="feature retrieval blend 0..1")
    p.add_argument("--index", metavar="PATH", default=None, help="retrieval index file (default: in the voice folder)")
    p.add_argument("--late-fill", choices=LATE_FILLS, default=None,
                   help=f"what a block not ready in time is filled with (default {D.late_fill})")
    p.add_argument("--passthrough", action="store_true", help="no model: the input as it is (checks the set-up)")
    p.add_argument("--list-devices", action="store_true", help="list host APIs and audio devices, then exit")
    p.add_argument("--simulate", nargs=2, metavar=("IN", "OUT"), default=None,
                   help="run the live engine on file IN and write what a listener would have heard to OUT")
    p.add_argument("--calibrate", action="store_true",
                   help="time the engine for candidate block/context settings, pick and save the best")
    p.add_argument("--measure-latency", action="store_true",
                   help="play clicks on the output and find them in the input (needs a loopback or a microphone "
                        "near the speaker): the device round trip")
    p.add_argument("--seconds", type=float, default=None, metavar="S", help="stop a live session after S seconds")
    add_device_option(p)
    p.add_argument("--checkpoint", default=None, metavar="G_PTH", help="use this G_*.pth instead of the newest")
    p.add_argument("--encoder-weights", default=None, metavar="FILE", help="content encoder weights file")
    p.add_argument("--json", action="store_true", help="print the final figures as one JSON object")
    p.add_argument("-f", "--force", action="store_true", help="overwrite OUT of --simulate")
    p.set_defaults(func=run_live)


def _settings(args: argparse.Namespace, out: TextIO) -> Any:
    from svc_core.live.settings import LiveSettings, apply_calibrated, load_calibrated

    s = LiveSettings()
    saved = load_calibrated()
    if saved and not args.calibrate and not all(getattr(args, k) is not None for k in ("block_ms", "context_ms")):
        s = apply_calibrated(s, saved)
        out.write(f"using calibrated timing: block {s.block_ms:.0f} ms, context {s.context_ms:.0f} ms, "
                  f"crossfade {s.crossfade_ms:.0f} ms\n")
    given = {k: getattr(args, k) for k in (*_TIMING, "transpose", "gate_db", "retrieval_ratio", "f0_method",
                                           "late_fill", "samplerate", "input_device", "output_device", "device",
                                           "speaker") if getattr(args, k) is not None}
    return s.with_changes(**given)


def _model(args: argparse.Namespace, s: Any) -> Any:
    if args.passthrough:
        return None
    from svc_core.errors import SvcError

    if not args.voice:
        raise SvcError("live needs a voice (-m VOICE), or --passthrough to run without one")
    from svc_core.live.infer import load_live_model

    return load_live_model(args.voice, speaker=s.speaker, transpose=s.transpose, retrieval_ratio=s.retrieval_ratio,
                           f0_method=s.f0_method, f0_margin_ms=s.f0_margin_ms, device=s.device,
                           checkpoint=args.checkpoint, weights_dir=getattr(args, "weights_dir", None),
                           encoder_path=args.encoder_weights, index_path=args.index)


def _device_rate(s: Any) -> int:
    from svc_core.live.stream import resolve_device, sounddevice

    if s.samplerate:
        return int(s.samplerate)
    return int(sounddevice().query_devices(resolve_device(s.input_device, "input"))["default_samplerate"])


def _simulate(args: argparse.Namespace, s: Any, out: TextIO) -> int:
    from pathlib import Path

    from svc_core.audio import info
    from svc_core.errors import AudioError
    from svc_core.live.engine import LiveEngine
    from svc_core.live.simulate import simulate_file

    src, dst = Path(args.simulate[0]), Path(args.simulate[1])
    if dst.exists() and not args.force:
        raise AudioError(f"{dst}: already exists (use -f to overwrite)")
    sr = int(s.samplerate or info(src).sr)
    engine = LiveEngine(s, sr, _model(args, s))
    out.write(engine.describe() + "\n" + engine.latency.line() + "\n")
    r = simulate_file(engine, src, dst, overwrite=True)
    t = r.times
    out.write(f"wrote {dst} ({r.frames} samples at {r.samplerate} Hz, {r.blocks} blocks, {r.gated_steps} gated)\n"
              f"{t.line()}\nblocks slower than real time: {r.late_blocks}\n")
    if args.json:
        out.write(json.dumps({"latency": r.latency.to_dict(), "times": t.to_dict(), "late_blocks": r.late_blocks,
                              "frames": r.frames, "samplerate": r.samplerate, "blocks": r.blocks}) + "\n")
    return 0


def _calibrate(args: argparse.Namespace, s: Any, out: TextIO) -> int:
    from svc_core.errors import AudioError, SvcError
    from svc_core.live.calibrate import calibrate
    from svc_core.live.settings import save_calibrated

    try:
        sr = _device_rate(s)
    except AudioError as e:  # calibrating the compute side needs no device: say so and use a common rate
        sr = 44100
        out.write(f"no audio device to take the rate from ({e}); calibrating at {sr} Hz\n")
    model = _model(args, s)
    out.write(f"calibrating at {sr} Hz on this machine (this takes a minute)...\n")
    cal = calibrate(s, sr, lambda: model, log=lambda line: out.write(line + "\n"))
    out.write(cal.reason + "\n")
    if cal.choice is None:
        raise SvcError(cal.reason)
    report = cal.report()
    if args.measure_latency:
        report["round_trip"] = _round_trip(s, cal.choice, sr, out)
    save_calibrated(cal.choice, report)
    out.write(f"saved: block {cal.choice.block_ms:.0f} ms, context {cal.choice.context_ms:.0f} ms, crossfade "
              f"{cal.choice.crossfade_ms:.0f} ms (used by later 'svc-studio live' runs)\n")
    return 0


def _round_trip(s: Any, timing: Any, sr: int, out: TextIO) -> dict[str, Any]:
    from svc_core.live.engine import LiveEngine
    from svc_core.live.measure import measure_round_trip

    eng = LiveEngine(timing.with_changes(context_ms=0.0), sr, None)
    rt = measure_round_trip(eng.block_size, sr, input_device=s.input_device, output_device=s.output_device)
    if rt.ms is None:
        out.write("round trip: no click came back (is the output looped back to the input?)\n")
    else:
        out.write(f"device round trip {rt.ms:.1f} ms (PortAudio reports {rt.reported_ms or 0:.1f} ms); a live "
                  f"session adds the algorithmic latency and one block of hand-off to the inference thread\n")
    return rt.to_dict()


def _live(args: argparse.Namespace, s: Any, out: TextIO) -> int:
    from svc_core.errors import AudioError
    from svc_core.live.engine import LiveEngine
    from svc_core.live.stream import LiveStream

    sr = _device_rate(s)
    engine = LiveEngine(s, sr, _model(args, s))
    stream = LiveStream(engine, sr, input_device=s.input_device, output_device=s.output_device,
                        late_fill=s.late_fill, queue_blocks=s.queue_blocks)
    lat = engine.latency
    out.write(engine.describe() + "\n" + lat.line() + "\n")
    engine.warm_up()
    stream.start()
    dev_ms = stream.reported_latency_ms or 0.0
    out.write(f"streaming ({'full duplex' if stream.duplex else 'separate input/output streams'}); expected "
              f"end to end {lat.total_ms + lat.block_ms + dev_ms:.0f} ms = algorithmic + one block hand-off + "
              f"{dev_ms:.0f} ms device buffers. Ctrl-C stops.\n")
    t_end = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while stream.active and (t_end is None or time.monotonic() < t_end):
            stream.wait(1.0)
            c, t = stream.counters, stream.times.summary(skip_first=2)
            out.write(f"\r{t.line()} | late {c.late}, dropped {c.dropped}, xruns {c.xruns}, restarts "
                      f"{stream.restarts}   ")
            out.flush()
    except KeyboardInterrupt:
        pass
    finally:
        stream.stop()
    out.write("\n")
    if stream.error is not None:
        if isinstance(stream.error, AudioError):
            raise stream.error
        raise AudioError(f"live session ended: {stream.error}") from stream.error
    c, t = stream.counters, stream.times.summary(skip_first=2)
    out.write(f"stopped after {c.blocks} blocks: late {c.late}, dropped {c.dropped}, xruns {c.xruns}\n")
    if args.json:
        out.write(json.dumps({"latency": lat.to_dict(), "times": t.to_dict(), **c.to_dict(),
                              "restarts": stream.restarts}) + "\n")
    return 0


def run_live(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the ``live`` subcommand (library errors propagate to the CLI's main)."""
    out = out or sys.stdout
    if args.list_devices:
        from svc_core.live.stream import list_devices

        out.write(list_devices() + "\n")
        return 0
    s = _settings(args, out)
    if args.calibrate:
        return _calibrate(args, s, out)
    if args.simulate:
        return _simulate(args, s, out)
    if args.measure_latency:
        sr = _device_rate(s)
        res = _round_trip(s, s, sr, out)
        if args.json:
            out.write(json.dumps(res) + "\n")
        return 0
    return _live(args, s, out)
