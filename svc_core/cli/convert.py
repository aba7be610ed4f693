"""``svc-studio convert INPUT... -m VOICE``: convert files or folders with a voice (batch; one bad file does not stop
the others). Exit code 0 = all converted, 1 = at least one failed, 2 = usage error. No torch at import."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from svc_core.audio.slicer import SliceSettings
from svc_core.cli._args import ProgressBar, add_device_option, add_f0_option
from svc_core.convert.settings import ConvertSettings

__all__ = ["add_parser", "collect_inputs", "output_path_for", "run_convert"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``convert`` subcommand (defaults shown in --help are read from ConvertSettings)."""
    d, sl = ConvertSettings(), SliceSettings()
    p = sub.add_parser(
        "convert",
        help="convert sung vocals (files or folders) with a voice",
        description="Convert sung vocals with a voice. INPUT may be audio files or folders (every audio file inside, "
        "recursively). Output: <input stem>_<voice name>.<format> next to the input, or in -o.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or folders")
    p.add_argument("-m", "--model", "--voice", dest="voice", required=True, metavar="VOICE",
                   help="voice folder (config.json + G_*.pth) or a checkpoint file")
    p.add_argument("-o", "--output", metavar="OUT", default=None,
                   help="output folder, or output file when converting one file")
    p.add_argument("--speaker", "-s", default=None, metavar="NAME",
                   help="speaker name or id; a mix as NAME:WEIGHT,NAME:WEIGHT (default: the first speaker)")
    p.add_argument("--transpose", "-t", type=float, default=d.transpose, metavar="N",
                   help=f"pitch shift in semitones (default {d.transpose:g})")
    add_f0_option(p, dest="f0_method")
    p.add_argument("--auto-key", action="store_true", help="shift to the voice's key (added to --transpose)")
    p.add_argument("--f0-curve", metavar="FILE", default=None,
                   help="manual F0: text file with two columns time_s, f0_hz (0 = unvoiced)")
    p.add_argument("--retrieval-ratio", type=float, default=d.retrieval_ratio, metavar="R",
                   help="feature retrieval blend 0..1 (needs index.json or feature_and_index.pkl; 0 = off; "
                   f"default {d.retrieval_ratio:g})")
    p.add_argument("--index", metavar="PATH", default=None, help="retrieval index file (default: in the voice folder)")
    p.add_argument("--noise-scale", type=float, default=None, metavar="X",
                   help=f"prior noise scale (default {d.noise_scale:g})")
    p.add_argument("--seed", type=int, default=None, help=f"random seed of the synthesizer (default {d.seed})")
    p.add_argument("--slice-db", type=float, default=None, metavar="DB",
                   help=f"silence threshold in dB (default {sl.threshold_db:g})")
    p.add_argument("--match-loudness", type=float, default=d.match_loudness, metavar="A",
                   help=f"0..1: give the output the input's loudness envelope (0 = off; default {d.match_loudness:g})")
    p.add_argument("--sr", dest="output_sr", type=int, default=None, metavar="HZ",
                   help="output sample rate (default: the voice's)")
    p.add_argument("--per-channel", action="store_true", help="convert every channel (default: downmix to mono)")
    p.add_argument("--format", choices=("wav", "flac"), default="wav", help="output format (default wav)")
    p.add_argument("--bits", choices=("16", "24", "float"), default=None,
                   help="sample format (default: float for wav, 24 for flac)")
    add_device_option(p)
    p.add_argument("--checkpoint", default=None, metavar="G_PTH", help="use this G_*.pth instead of the newest")
    p.add_argument("--encoder-weights", default=None, metavar="FILE", help="content encoder weights file")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs (never the input)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_convert)


def collect_inputs(items: list[str]) -> tuple[list[tuple[Path, Path | None]], list[tuple[Path, str]]]:
    """Expand INPUTs -> ([(file, folder it came from or None)], [(path, error)])."""
    from svc_core.audio.read import is_audio_path

    files: list[tuple[Path, Path | None]] = []
    errors: list[tuple[Path, str]] = []
    for raw in items:
        p = Path(raw)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and is_audio_path(q) and not q.name.startswith("."))
            if not found:
                errors.append((p, f"{p}: folder holds no audio files"))
            files.extend((q, p) for q in found)
        elif p.exists():
            files.append((p, None))
        else:
            errors.append((p, f"{p}: file not found"))
    return files, errors


def output_path_for(src: Path, root: Path | None, out: Path | None, voice_name: str, fmt: str,
                    single: bool) -> Path:
    """Where the output of ``src`` goes: -o file (single input), -o folder (keeping sub-folders), or next to it."""
    name = f"{src.stem}_{voice_name}.{fmt}"
    if out is None:
        return src.parent / name
    if single and out.suffix.lower() in (".wav", ".flac") and not out.is_dir():
        return out
    if root is not None:
        return out / src.relative_to(root).parent / name
    return out / name


def _parse_speaker(text: str | None) -> int | str | dict[str, float] | None:
    if text is None:
        return None
    if ":" in text or "," in text:
        mix: dict[str, float] = {}
        for part in text.split(","):
            name, _, w = part.partition(":")
            try:
                mix[name.strip()] = float(w) if w else 1.0
            except ValueError:
                raise ValueError(f"--speaker: bad mix weight in {part!r} (use NAME:WEIGHT,NAME:WEIGHT)") from None
        return mix
    return text


def run_convert(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The handler: returns the exit code (0 ok, 1 a file failed, 2 usage); writes to stdout/stderr by default."""
    out = out or sys.stdout
    err = err or sys.stderr
    from svc_core.convert import load_converter
    from svc_core.errors import SvcError
    from svc_core.jobs import capture_warnings

    for name, val in (("--retrieval-ratio", args.retrieval_ratio), ("--match-loudness", args.match_loudness)):
        if not 0.0 <= val <= 1.0:
            err.write(f"svc-studio convert: error: {name} must be between 0 and 1, got {val}\n")
            return 2
    try:
        speaker = _parse_speaker(args.speaker)
    except ValueError as e:
        err.write(f"svc-studio convert: error: {e}\n")
        return 2
    kw: dict[str, object] = {
        "speaker": speaker, "transpose": args.transpose, "auto_key": args.auto_key,
        "retrieval_ratio": args.retrieval_ratio, "match_loudness": args.match_loudness,
        "output_sr": args.output_sr, "per_channel": args.per_channel, "device": args.device,
        "f0_curve_path": Path(args.f0_curve) if args.f0_curve else None,
    }
    if args.f0_method:
        kw["f0_method"] = args.f0_method
    if args.noise_scale is not None:
        kw["noise_scale"] = args.noise_scale
    if args.seed is not None:
        kw["seed"] = args.seed
    if args.slice_db is not None:
        kw["slicing"] = SliceSettings(threshold_db=args.slice_db)
    settings = ConvertSettings(**kw)  # type: ignore[arg-type]
    try:
        settings.validate()
    except SvcError as e:
        err.write(f"svc-studio convert: error: {e}\n")
        return 2

    files, errors = collect_inputs(list(args.inputs))
    out_arg = Path(args.output) if args.output else None
    single = len(files) == 1 and not errors and files[0][1] is None
    if out_arg is not None and not (single and out_arg.suffix.lower() in (".wav", ".flac")):
        try:
            out_arg.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            err.write(f"svc-studio convert: error: {out_arg}: cannot create the output folder ({e.strerror})\n")
            return 1
    t0 = time.perf_counter()
    converter = None
    if files:
        converter = load_converter(args.voice, settings, checkpoint=args.checkpoint,
                                   weights_dir=getattr(args, "weights_dir", None),
                                   encoder_path=args.encoder_weights, index_path=args.index)
    voice_name = _voice_name(converter, args.voice)
    done: list[tuple[Path, Path, float]] = []
    failed: list[tuple[Path, str]] = list(errors)
    for path, why in errors:
        err.write(f"FAILED {path}: {why}\n")
    for i, (src, root) in enumerate(files, 1):
        dst = output_path_for(src, root, out_arg, voice_name, args.format, single)
        bar = ProgressBar(err, f"{i}/{len(files)} {src.name}", not args.quiet)
        warned: list[str] = []
        try:
            if dst.parent != src.parent:
                dst.parent.mkdir(parents=True, exist_ok=True)
            with capture_warnings(warned.append):
                res = converter.convert_file(src, dst, format=args.format, subtype=args.bits,  # type: ignore
                                             overwrite=args.force, progress=bar)
        except (SvcError, OSError) as e:
            bar.end()
            msg = str(e)
            if str(src) not in msg:
                msg = f"{src}: {msg}"
            failed.append((src, msg))
            err.write(f"FAILED {src}: {msg}\n")
            continue
        bar.end()
        for w in warned:
            err.write(f"warning: {w}\n")
        done.append((src, res.output_path, res.rtf))
        out.write(f"{src} -> {res.output_path} ({res.input_seconds:.1f} s audio, RTF {res.rtf:.2f}"
                  f"{f', transpose {res.transpose:+g}' if res.transpose else ''})\n")
    total = len(done) + len(failed)
    out.write(f"converted {len(done)} of {total} file(s), {len(failed)} failed, in {time.perf_counter() - t0:.1f} s\n")
    for _src, why in failed:
        out.write(f"  failed: {why}\n")
    return 0 if not failed else 1


def _voice_name(converter: object, voice_arg: str) -> str:
    folder = getattr(getattr(converter, "voice", None), "folder", None)
    p = Path(folder) if folder else Path(voice_arg)
    if p.is_file():
        p = p.parent
    return p.resolve().name or "voice"


def _cmd_convert(args: argparse.Namespace) -> int:
    return run_convert(args)
