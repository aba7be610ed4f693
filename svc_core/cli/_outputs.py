"""Where ``convert`` writes: ``-o`` as an output file (a name with an audio extension: that format) or a folder, the
default ``<stem>_<voice>.<format>`` name (shortened to fit the file system, extension kept), and which inputs are
this app's own earlier outputs (skipped when a folder is converted). No torch."""

from __future__ import annotations

from pathlib import Path

__all__ = ["NAME_MAX", "UsageError", "choose_output", "output_path_for", "skip_own_outputs"]

#: Longest file name (bytes) on common file systems, minus room for the temp name ``.<name>.<pid>.<hex>.part``.
NAME_MAX = 255 - 32


class UsageError(ValueError):
    """The command line asks for something contradictory or impossible (exit code 2)."""


def choose_output(output: str | None, single: bool, fmt: str | None, bits: str | None) -> tuple[Path | None, str]:
    """(-o as a file path, or None for a folder / next to the input; the output format). UsageError when -o, the
    format and --bits disagree or cannot be written."""
    from svc_core.audio.read import AUDIO_EXTENSIONS
    from svc_core.audio.write import check_output_format
    from svc_core.errors import AudioError

    out = Path(output) if output else None
    out_file = out if out is not None and out.suffix.lower() in AUDIO_EXTENSIONS and not out.is_dir() else None
    if out_file is not None and not single:
        raise UsageError(f"-o {out_file} names one audio file, but several inputs are given; give a folder")
    if out_file is not None and len(out_file.name.encode()) > NAME_MAX:
        raise UsageError(f"-o {out_file}: the file name is too long ({len(out_file.name.encode())} bytes, at most "
                         f"{NAME_MAX}); choose a shorter name")
    try:
        check_output_format(fmt, bits, out_file)
    except AudioError as e:
        raise UsageError(str(e)) from None
    return out_file, (fmt or (out_file.suffix.lstrip(".") if out_file is not None else "wav")).lower()


def _fit_name(stem: str, tail: str) -> str:
    """``stem + tail`` cut (in the stem, on a character boundary) to NAME_MAX bytes."""
    room = NAME_MAX - len(tail.encode())
    b = stem.encode()
    if len(b) <= room:
        return stem + tail
    return b[:max(1, room)].decode("utf-8", "ignore") + tail


def output_path_for(src: Path, root: Path | None, out: Path | None, voice_name: str, fmt: str,
                    out_file: Path | None = None) -> Path:
    """Where the output of ``src`` goes: ``out_file`` (-o naming a file), the -o folder (keeping sub-folders under
    ``root``) or next to the input, named ``<stem>_<voice>.<fmt>`` shortened to fit."""
    if out_file is not None:
        return out_file
    name = _fit_name(src.stem, f"_{voice_name}.{fmt}")
    if out is None:
        return src.parent / name
    if root is not None:
        return out / src.relative_to(root).parent / name
    return out / name


def skip_own_outputs(files: list[tuple[Path, Path | None]], voice_name: str) -> tuple[list[tuple[Path, Path | None]],
                                                                                      list[Path]]:
    """Split folder inputs into (to convert, skipped): skipped are files carrying this app's software tag, or named
    ``<stem>_<voice>.<ext>`` beside a ``<stem>.*`` (an earlier output of this voice). Files named on the command line
    are always kept."""
    from svc_core.audio.write import is_own_output

    keep: list[tuple[Path, Path | None]] = []
    skipped: list[Path] = []
    stems = {(p.parent, p.stem) for p, _ in files}
    suffix = f"_{voice_name}"
    for p, root in files:
        if root is not None and (is_own_output(p) or (p.stem.endswith(suffix)
                                                      and (p.parent, p.stem[: -len(suffix)]) in stems)):
            skipped.append(p)
        else:
            keep.append((p, root))
    return keep, skipped
