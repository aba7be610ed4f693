"""``svc-studio preprocess | train-config | train | train-index``: the training commands. Work is imported inside
the handlers (``--help`` loads no torch); the library raises, these handlers print and return exit codes."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any, TextIO

__all__ = ["add_parser", "drive"]

_REPEATING = re.compile(r"^(step|preprocess|features) \d")


def drive(job: Generator[Any, None, Any], stream: TextIO | None = None, label: str = "") -> Any:
    """Run a generator job, drawing its Progress stream as a one-line bar; returns the job's return value."""
    stream = stream if stream is not None else sys.stderr
    tty = hasattr(stream, "isatty") and stream.isatty()
    last = -1
    try:
        while True:
            p = next(job)
            n = int(p.fraction * 30)
            line = f"[{'#' * n}{'.' * (30 - n)}] {int(p.fraction * 100):3d}% {label}{p.stage}"
            if tty:
                stream.write("\r" + line[:150].ljust(150))
            elif int(p.fraction * 10) != last or p.fraction >= 1.0 or not _REPEATING.match(p.stage):
                stream.write(line + "\n")
            last = int(p.fraction * 10)
            stream.flush()
    except StopIteration as stop:
        if tty:
            stream.write("\n")
        return stop.value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register preprocess, train-config, train and train-index."""
    from svc_core.cli._args import add_device_option, add_f0_option

    p = sub.add_parser("preprocess", help="turn a folder of sung clips into a training dataset (slice, normalise, "
                                          "features, report)")
    p.add_argument("input", metavar="IN_DIR", help="folder of audio: one sub-folder per speaker, or flat = one")
    p.add_argument("-o", "--output", required=True, metavar="DATASET", help="dataset folder to write")
    p.add_argument("--sr", type=int, default=44100, help="model sample rate (default 44100)")
    p.add_argument("--encoder", default="vec768l12", metavar="NAME",
                   help="content encoder: vec768l12, vec256l9, hubertsoft, wavlmbase+, ... (default vec768l12)")
    p.add_argument("--encoder-path", default=None, metavar="PATH", help="weights file of the content encoder")
    add_f0_option(p)
    add_device_option(p)
    p.set_defaults(func=run_preprocess_cmd)

    p = sub.add_parser("train-config", help="write a so-vits-svc 4.1 config.json for a dataset")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--preset", choices=("tiny", "small", "default"), default="default",
                   help="network size: default = so-vits-svc 4.1's; tiny = CPU smoke test")
    p.add_argument("-o", "--output", default=None, metavar="PATH", help="config path (default DATASET/config.json)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing config.json")
    p.set_defaults(func=run_train_config_cmd)

    p = sub.add_parser("train", help="train a voice on a preprocessed dataset (resumes after any interruption)")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("-o", "--output", default=None, metavar="VOICE_DIR", help="voice folder (default DATASET/voice)")
    p.add_argument("--steps", type=int, default=10000, help="train until this step (default 10000)")
    add_device_option(p)
    p.add_argument("--batch-size", default=None, metavar="N|auto", help="per-process batch size, or auto")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="auto = bf16 (or fp16 + grad scaler) on CUDA, fp32 elsewhere")
    p.add_argument("--pretrained", nargs=2, default=None, metavar=("G_0.pth", "D_0.pth"),
                   help="warm start from a pretrained generator / discriminator pair")
    p.add_argument("--eval-interval", type=int, default=None, metavar="N", help="validate + checkpoint every N")
    p.add_argument("--log-interval", type=int, default=None, metavar="N", help="log losses every N steps")
    p.add_argument("--keep", type=int, default=None, metavar="K", help="checkpoints kept (default: config)")
    p.add_argument("--micro-batches", type=int, default=1, metavar="N", help="gradient accumulation per step")
    p.add_argument("--no-index", action="store_true", help="do not build the retrieval index at the end")
    p.set_defaults(func=run_train_cmd)

    p = sub.add_parser("train-index", help="build the retrieval index of a voice from its dataset")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("-o", "--output", default=None, metavar="VOICE_DIR", help="voice folder (default DATASET/voice)")
    p.set_defaults(func=run_train_index_cmd)


def _load_encoder(args: argparse.Namespace, device: Any) -> tuple[Any, str]:
    from svc_core.content import load_content_encoder
    from svc_core.errors import SvcError
    from svc_core.weights import find_weights
    from vencoder.registry import UnsupportedEncoderError, weights_key_for

    try:
        key = weights_key_for(args.encoder)
    except UnsupportedEncoderError as e:
        raise SvcError(str(e)) from None
    path = find_weights(key, explicit=args.encoder_path, weights_dir=getattr(args, "weights_dir", None))
    size = path.stat().st_size if path.is_file() else 0
    enc = load_content_encoder(args.encoder, explicit=path, device=device)
    return enc, f"{path.name}:{size}"


def run_preprocess_cmd(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Handler of ``preprocess``: slice + normalise, features, then print the dataset report."""
    from svc_core.device import pick_device
    from svc_core.f0 import DEFAULT_EXTRACTOR, get_extractor
    from svc_core.train.cache import FeatureSettings, compute_features
    from svc_core.train.doctor import report_markdown, write_report
    from svc_core.train.preprocess import PreprocessSettings, run_preprocess
    from svc_core.train.presets import hop_layout

    out = out if out is not None else sys.stdout
    hop, _, _, n_fft = hop_layout(args.sr)  # fail fast on an unsupported rate
    res = drive(run_preprocess(args.input, args.output, PreprocessSettings(sr=args.sr)))
    out.write(f"preprocess: {res.processed} file(s) processed, {res.skipped} unchanged, {res.clips} clips, "
              f"{len(res.rejected)} rejected\n")
    device = pick_device(args.device)
    encoder, enc_id = _load_encoder(args, device)
    f0_name = args.f0 or DEFAULT_EXTRACTOR
    f0 = get_extractor(f0_name, device=device, weights_dir=getattr(args, "weights_dir", None))
    fs = FeatureSettings(speech_encoder=args.encoder, f0_method=f0_name, sr=args.sr, hop=hop, filter_length=n_fft,
                         win_length=n_fft, encoder_id=enc_id)
    drive(compute_features(args.output, fs, encoder, f0))
    rep = write_report(args.output)
    out.write(report_markdown(rep))
    out.write(f"report written to {Path(args.output) / 'report.md'}\n")
    return 0


def run_train_config_cmd(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Handler of ``train-config``."""
    from svc_core.train.config import write_train_config

    out = out if out is not None else sys.stdout
    path = write_train_config(args.dataset, args.preset, output=args.output, force=args.force)
    out.write(f"wrote {path} (preset {args.preset}); edit it before training if you like\n")
    return 0


def _batch_arg(text: str | None) -> int | str | None:
    from svc_core.errors import SvcError

    if text is None or text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise SvcError(f"--batch-size must be a positive integer or 'auto', got {text!r}")
    return n


def run_train_cmd(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Handler of ``train``: first Ctrl-C stops cleanly after the current step (checkpoint written), a second
    one aborts at once."""
    import signal

    from svc_core.jobs import CancelToken
    from svc_core.train.loop import TrainSettings, run_training

    out = out if out is not None else sys.stdout
    settings = TrainSettings(
        steps=args.steps, device=args.device, batch_size=_batch_arg(args.batch_size), precision=args.precision,
        pretrained_g=Path(args.pretrained[0]) if args.pretrained else None,
        pretrained_d=Path(args.pretrained[1]) if args.pretrained else None,
        eval_interval=args.eval_interval, log_interval=args.log_interval, keep=args.keep,
        micro_batches=args.micro_batches, build_index=not args.no_index)
    cancel = CancelToken()
    voice_dir = Path(args.output) if args.output else Path(args.dataset) / "voice"

    def on_sigint(signum: int, frame: Any) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        sys.stderr.write("\nstopping after this step (Ctrl-C again to abort without a checkpoint)\n")

    import io
    import os

    stream = None if os.environ.get("RANK", "0") == "0" else io.StringIO()  # under torchrun only rank 0 draws
    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        step = drive(run_training(args.dataset, voice_dir, settings, cancel), stream)
    finally:
        signal.signal(signal.SIGINT, old)
    if cancel.cancelled:
        out.write(f"stopped at step {step}; run the same command to resume\n")
        return 130
    out.write(f"trained to step {step}: {voice_dir}\n")
    return 0


def run_train_index_cmd(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Handler of ``train-index``."""
    from svc_core.train.index import build_voice_index

    out = out if out is not None else sys.stdout
    voice_dir = Path(args.output) if args.output else Path(args.dataset) / "voice"
    path = build_voice_index(args.dataset, voice_dir)
    out.write(f"wrote {path}\n")
    return 0
