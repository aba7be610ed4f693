"""``svc-studio pitch FILE...``: per-file pitch report (median note, range, % voiced). Imports torch lazily."""

from __future__ import annotations

import argparse
import json
import sys

from svc_core.cli._args import add_device_option, add_f0_option

#: Model-grid hop used for the report (10 ms at any rate).
REPORT_HOP_S = 0.01


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``pitch`` subcommand."""
    p = sub.add_parser("pitch", help="print the pitch of sung files: median note, range, percent voiced")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (any format soundfile reads)")
    add_f0_option(p, choices=False)
    add_device_option(p)
    p.add_argument("--rmvpe", default=None, metavar="PATH", help="path to rmvpe.pt (for --f0 rmvpe)")
    p.add_argument("--json", action="store_true", help="print one JSON object per file instead of text")
    p.set_defaults(func=run_pitch)


def _read_mono(path: str) -> tuple[object, int]:
    import numpy as np
    import soundfile as sf

    from svc_core.errors import AudioError

    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types (LibsndfileError, RuntimeError, OSError)
        raise AudioError(f"{path}: cannot read audio ({e})") from e
    return np.ascontiguousarray(data.mean(axis=1)), int(sr)


def run_pitch(args: argparse.Namespace, out: object = None, err: object = None) -> int:
    """Handler: report every file; a bad file is reported and skipped; exit code 1 if any failed."""
    from svc_core.errors import CheckpointError, SvcError
    from svc_core.f0 import DEFAULT_EXTRACTOR, get_extractor
    from svc_core.f0.report import pitch_report

    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    name = args.f0 or DEFAULT_EXTRACTOR
    extractor = get_extractor(name, device=args.device, weights_dir=getattr(args, "weights_dir", None),
                              rmvpe_path=args.rmvpe)
    failed = 0
    for path in args.files:
        try:
            wav, sr = _read_mono(path)
            hop = max(1, int(round(sr * REPORT_HOP_S)))
            f0, voiced = extractor.extract(wav, sr, hop)
            rep = pitch_report(f0, voiced, hop / sr)
        except (SvcError, CheckpointError) as e:
            failed += 1
            msg = str(e) if str(e).startswith(str(path)) else f"{path}: {e}"
            err.write(f"svc-studio pitch: error: {msg}\n")
            continue
        if args.json:
            out.write(json.dumps({"file": path, "f0": name, **rep.to_dict()}) + "\n")
        else:
            out.write(f"{path}: {rep.format()}\n")
    return 1 if failed else 0
