"""Find pretrained weights on disk (never downloaded): explicit path, settings, $SVC_STUDIO_WEIGHTS,
``pretrain/`` next to the voice, the Hugging Face cache layout."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from svc_core.errors import WeightsNotFoundError
from svc_core.settings import Settings


@dataclass(frozen=True)
class WeightSpec:
    """A pretrained file users already have: its usual names and where to get it."""

    key: str
    filenames: tuple[str, ...]
    hf_repos: tuple[str, ...]
    where_to_get: str
    description: str


KNOWN_WEIGHTS: dict[str, WeightSpec] = {
    s.key: s
    for s in (
        WeightSpec(
            "wavlm-base-plus",
            ("WavLM-Base+.pt", "wavlm-base-plus"),
            ("microsoft/wavlm-base-plus",),
            "https://github.com/microsoft/unilm/tree/master/wavlm (WavLM-Base+.pt) or the Hugging Face "
            "model microsoft/wavlm-base-plus",
            "WavLM Base+ (speech_encoder wavlmbase+)",
        ),
        WeightSpec(
            "contentvec",
            ("checkpoint_best_legacy_500.pt", "hubert_base.pt", "content-vec-best", "hubert_base"),
            ("lengyue233/content-vec-best",),
            "https://github.com/auspicious3000/contentvec (checkpoint_best_legacy_500.pt), or RVC's "
            "hubert_base.pt",
            "ContentVec (speech_encoder vec768l12 / vec256l9)",
        ),
        WeightSpec(
            "hubert-soft",
            ("hubert-soft-0d54a1f4.pt", "hubert-soft-35d9f29f.pt"),
            (),
            "https://github.com/bshall/hubert/releases (hubert-soft-0d54a1f4.pt)",
            "HuBERT-Soft (speech_encoder hubertsoft)",
        ),
        WeightSpec(
            "cnhubert-large",
            ("chinese-hubert-large-fairseq-ckpt.pt", "chinese-hubert-large"),
            ("TencentGameMate/chinese-hubert-large",),
            "https://huggingface.co/TencentGameMate/chinese-hubert-large",
            "Chinese HuBERT Large (speech_encoder cnhubertlarge)",
        ),
        WeightSpec(
            "rmvpe",
            ("rmvpe.pt",),
            (),
            "https://github.com/yxlllc/RMVPE/releases or RVC's assets/rmvpe/rmvpe.pt",
            "RMVPE pitch extractor (f0 rmvpe)",
        ),
    )
}


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "huggingface" / "hub"


def _hf_snapshot(repo: str) -> Path | None:
    root = hf_cache_dir() / ("models--" + repo.replace("/", "--"))
    if not root.is_dir():
        return None
    ref = root / "refs" / "main"
    snaps = root / "snapshots"
    if ref.is_file():
        cand = snaps / ref.read_text(encoding="utf-8").strip()
        if cand.is_dir():
            return cand
    if snaps.is_dir():
        dirs = sorted((d for d in snaps.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
        if dirs:
            return dirs[-1]
    return None


def search_dirs(
    *,
    voice_dir: str | os.PathLike[str] | None = None,
    weights_dir: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
) -> list[Path]:
    """Folders searched, in order: --weights-dir, $SVC_STUDIO_WEIGHTS, settings, voice pretrain/, ./pretrain."""
    s = settings if settings is not None else Settings.load()
    dirs: list[Path] = []
    if weights_dir:
        dirs.append(Path(weights_dir))
    env = os.environ.get("SVC_STUDIO_WEIGHTS")
    if env:
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    if s.weights_dir:
        dirs.append(Path(s.weights_dir))
    if voice_dir:
        v = Path(voice_dir)
        v = v if v.is_dir() else v.parent
        dirs.extend([v / "pretrain", v.parent / "pretrain"])
    dirs.append(Path.cwd() / "pretrain")
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def find_weights(
    key: str,
    *,
    explicit: str | os.PathLike[str] | None = None,
    voice_dir: str | os.PathLike[str] | None = None,
    weights_dir: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
) -> Path:
    """Locate the weights file or HF folder for ``key`` (see KNOWN_WEIGHTS); raise if absent."""
    spec = KNOWN_WEIGHTS.get(key)
    if spec is None:
        raise KeyError(f"unknown weights key {key!r}; known: {', '.join(sorted(KNOWN_WEIGHTS))}")
    s = settings if settings is not None else Settings.load()
    searched: list[str] = []
    if explicit:  # a path the user names must exist: never fall back to other weights
        p = Path(explicit)
        if p.exists():
            return p
        raise WeightsNotFoundError(spec.filenames[0], [f"{p} (given explicitly: no such file)"], spec.where_to_get)
    for name in (key, *spec.filenames):
        if name in s.weights:
            p = Path(s.weights[name])
            if p.exists():
                return p
            searched.append(f"{p} (settings entry {name!r})")
    for d in search_dirs(voice_dir=voice_dir, weights_dir=weights_dir, settings=s):
        for name in spec.filenames:
            p = d / name
            if p.is_file() or (p.is_dir() and (p / "config.json").is_file()):
                return p
        searched.append(f"{d}/{{{', '.join(spec.filenames)}}}")
    for repo in spec.hf_repos:
        snap = _hf_snapshot(repo)
        if snap is not None and (snap / "config.json").is_file():
            return snap
        searched.append(f"{hf_cache_dir() / ('models--' + repo.replace('/', '--'))} (Hugging Face cache)")
    raise WeightsNotFoundError(spec.filenames[0], searched, spec.where_to_get)


def list_found(
    *,
    voice_dir: str | os.PathLike[str] | None = None,
    weights_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Path | None]:
    """Map every known weights key to the path found, or None (for ``svc-studio doctor``)."""
    out: dict[str, Path | None] = {}
    for key in KNOWN_WEIGHTS:
        try:
            out[key] = find_weights(key, voice_dir=voice_dir, weights_dir=weights_dir)
        except WeightsNotFoundError:
            out[key] = None
    return out
