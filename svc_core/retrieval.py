"""Feature retrieval (faiss): build an index from a voice's training features and blend each content frame with
the weighted mean of its top-k neighbours.

Behaviour of so-vits-svc 4.1 (``utils.train_index`` and ``inference/infer_tool.py``; AGPL-3.0 project, re-written
here from its description): index ``IVF{n},Flat`` with n = min(16*sqrt(N), N/39) (Flat for small sets), nprobe 1;
at conversion ``score, ix = index.search(c, k=8)``, weights ``(1/score)^2`` normalised per frame,
``c = r * sum(w * vectors[ix]) + (1 - r) * c``.

Files: our own ``index.json`` (metadata) + ``index.faiss`` (speaker 0 / only speaker) or ``index_<id>.faiss``,
written with ``faiss.write_index`` (a plain binary format, no pickle) via temp file + rename.
so-vits-svc's ``feature_and_index.pkl`` is a Python pickle ``{speaker_id: faiss index}``; it is read with a
restricted unpickler that only admits faiss ``Index*`` classes and hands their serialized bytes to
``faiss.deserialize_index``; any other object in the pickle is refused.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from svc_core.atomic import write_bytes_atomic
from svc_core.errors import SvcError

__all__ = [
    "RetrievalError",
    "RetrievalIndex",
    "SpeakerIndex",
    "blend",
    "build_index",
    "find_index",
    "load_index",
    "load_sovits_pickle",
]

INDEX_JSON = "index.json"
SOVITS_PICKLE = "feature_and_index.pkl"
FORMAT_NAME = "svc-studio-retrieval"


class RetrievalError(SvcError):
    """A retrieval index cannot be built, read or used."""


def _faiss() -> Any:
    import faiss

    return faiss


@dataclass
class SpeakerIndex:
    """One speaker's faiss index and its stored vectors (``vectors`` float32 [N, D], reconstructed once)."""

    index: Any
    _vectors: np.ndarray | None = field(default=None, repr=False)

    @property
    def dim(self) -> int:
        """D."""
        return int(self.index.d)

    @property
    def ntotal(self) -> int:
        """N."""
        return int(self.index.ntotal)

    @property
    def vectors(self) -> np.ndarray:
        """All indexed vectors [N, D] (so-vits-svc's ``big_npy``)."""
        if self._vectors is None:
            self._vectors = np.asarray(self.index.reconstruct_n(0, self.index.ntotal), np.float32)
        return self._vectors


@dataclass
class RetrievalIndex:
    """Per-speaker indexes (speaker id -> :class:`SpeakerIndex`) plus metadata (dim, speech encoder, source)."""

    speakers: dict[int, SpeakerIndex]
    speech_encoder: str | None = None
    source: Path | None = None

    @property
    def dim(self) -> int:
        """Feature dimension D (all speakers share it)."""
        return next(iter(self.speakers.values())).dim

    def for_speaker(self, speaker_id: int) -> SpeakerIndex:
        """The index of ``speaker_id``; the only one when there is a single index."""
        if speaker_id in self.speakers:
            return self.speakers[speaker_id]
        if len(self.speakers) == 1:
            return next(iter(self.speakers.values()))
        raise RetrievalError(f"{self.source or 'retrieval index'}: no index for speaker id {speaker_id} "
                             f"(has {sorted(self.speakers)})")

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``index.json`` + ``index*.faiss`` into ``folder`` atomically; returns the json path."""
        faiss = _faiss()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, dict[str, Any]] = {}
        ids = sorted(self.speakers)
        for sid in ids:
            name = "index.faiss" if (len(ids) == 1 or sid == 0) else f"index_{sid}.faiss"
            data = faiss.serialize_index(self.speakers[sid].index).tobytes()
            write_bytes_atomic(folder / name, data)
            files[str(sid)] = {"file": name, "ntotal": self.speakers[sid].ntotal}
        meta = {"format": FORMAT_NAME, "version": 1, "dim": self.dim, "speech_encoder": self.speech_encoder,
                "speakers": files}
        write_bytes_atomic(folder / INDEX_JSON, json.dumps(meta, indent=2).encode())
        return folder / INDEX_JSON


def _make_faiss_index(feats: np.ndarray, seed: int) -> Any:
    faiss = _faiss()
    n, d = feats.shape
    n_ivf = min(int(16 * np.sqrt(n)), n // 39)
    if n_ivf < 2:
        index = faiss.IndexFlatL2(d)
    else:
        index = faiss.index_factory(d, f"IVF{n_ivf},Flat")
        index.cp.seed = seed
        index.train(feats)
        faiss.extract_index_ivf(index).nprobe = 1
    index.add(feats)
    return index


def build_index(features: dict[int, np.ndarray] | np.ndarray, *, speech_encoder: str | None = None,
                max_rows: int = 200_000, seed: int = 1234) -> RetrievalIndex:
    """Build an index per speaker from training features ([N, D] float, or {speaker_id: [N, D]}).

    More than ``max_rows`` rows are replaced by that many k-means centres (so-vits-svc uses 10 000 centres past
    200 000 rows; here faiss k-means is used).
    """
    faiss = _faiss()
    feats_by = features if isinstance(features, dict) else {0: features}
    if not feats_by:
        raise RetrievalError("no features to index")
    out: dict[int, SpeakerIndex] = {}
    dim: int | None = None
    for sid, f in feats_by.items():
        x = np.ascontiguousarray(np.asarray(f, np.float32))
        if x.ndim != 2 or x.shape[0] == 0:
            raise RetrievalError(f"speaker {sid}: features must be a non-empty [N, D] array, got {x.shape}")
        if not np.isfinite(x).all():
            raise RetrievalError(f"speaker {sid}: features hold NaN/inf")
        if dim is not None and x.shape[1] != dim:
            raise RetrievalError(f"speaker {sid}: feature dim {x.shape[1]} differs from {dim}")
        dim = x.shape[1]
        rng = np.random.default_rng(seed)
        x = x[rng.permutation(x.shape[0])]
        if x.shape[0] > max_rows:
            km = faiss.Kmeans(dim, 10_000, niter=20, seed=seed)
            km.train(x)
            x = np.ascontiguousarray(km.centroids, np.float32)
        out[int(sid)] = SpeakerIndex(_make_faiss_index(x, seed))
    return RetrievalIndex(out, speech_encoder=speech_encoder)


def blend(feats: np.ndarray, index: SpeakerIndex, ratio: float, k: int = 8) -> np.ndarray:
    """Blend content frames ``feats`` [T, D] with their top-k neighbours: ``r * retrieved + (1 - r) * feats``.

    Weights are ``(1 / distance)^2`` normalised per frame (so-vits-svc); ``ratio`` 0 returns ``feats`` unchanged.
    """
    ratio = float(ratio)
    if not 0.0 <= ratio <= 1.0:
        raise RetrievalError(f"retrieval ratio must be in [0, 1], got {ratio}")
    x = np.ascontiguousarray(np.asarray(feats, np.float32))
    if ratio == 0.0 or x.shape[0] == 0:
        return x
    if x.ndim != 2 or x.shape[1] != index.dim:
        raise RetrievalError(f"retrieval index has dim {index.dim}, the content features {x.shape}")
    k = max(1, min(int(k), index.ntotal))
    dist, ix = index.index.search(x, k)
    valid = ix >= 0
    ix = np.where(valid, ix, 0)
    w = np.where(valid, np.square(1.0 / np.maximum(dist, 1e-12)), 0.0)  # exact hit -> dominating weight
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-30)
    retrieved = np.einsum("tk,tkd->td", w.astype(np.float32), index.vectors[ix])
    return (ratio * retrieved + (1.0 - ratio) * x).astype(np.float32)


# ---- so-vits-svc feature_and_index.pkl -------------------------------------------------------------------------

_FAISS_MODULE = re.compile(r"^faiss(\.swigfaiss(_[a-z0-9]+)?)?$")
_FAISS_CLASS = re.compile(r"^Index[A-Za-z0-9_]*$")


class _IndexState:
    """Stand-in for a pickled faiss index: keeps the serialized bytes from its state."""

    def __init__(self, *args: object) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, f: io.BufferedReader, path: Path) -> None:
        super().__init__(f)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if _FAISS_MODULE.match(module) and _FAISS_CLASS.match(name):
            return _IndexState
        raise RetrievalError(f"{self._path}: refused: the pickle wants to create {module}.{name}; only faiss indexes "
                             "are allowed in a feature_and_index.pkl (the file may be malicious)")

    def persistent_load(self, pid: Any) -> Any:
        raise RetrievalError(f"{self._path}: refused: persistent ids are not allowed in a retrieval index pickle")


def load_sovits_pickle(path: str | os.PathLike[str]) -> RetrievalIndex:
    """Read so-vits-svc's ``feature_and_index.pkl`` ({speaker_id: faiss index}) without running pickled code."""
    faiss = _faiss()
    p = Path(path)
    try:
        with open(p, "rb") as f:
            obj = _RestrictedUnpickler(f, p).load()  # type: ignore[arg-type]
    except RetrievalError:
        raise
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise RetrievalError(f"{p}: not a readable feature_and_index.pkl ({type(e).__name__}: {e})") from e
    if not isinstance(obj, dict) or not obj:
        raise RetrievalError(f"{p}: expected a dict {{speaker_id: faiss index}}, got {type(obj).__name__}")
    speakers: dict[int, SpeakerIndex] = {}
    for key, val in obj.items():
        if not isinstance(key, int) or isinstance(key, bool):
            raise RetrievalError(f"{p}: speaker key {key!r} is not an integer id")
        state = getattr(val, "state", None) if isinstance(val, _IndexState) else None
        data = state.get("this") if isinstance(state, dict) else None
        if not isinstance(data, (bytes, bytearray)):
            raise RetrievalError(f"{p}: speaker {key}: entry is not a faiss index")
        try:
            idx = faiss.deserialize_index(np.frombuffer(bytes(data), dtype=np.uint8))
        except RuntimeError as e:
            raise RetrievalError(f"{p}: speaker {key}: corrupt faiss index ({e})") from e
        speakers[key] = SpeakerIndex(idx)
    dims = {s.dim for s in speakers.values()}
    if len(dims) != 1:
        raise RetrievalError(f"{p}: speakers have different feature dims {sorted(dims)}")
    return RetrievalIndex(speakers, source=p)


def load_index(path: str | os.PathLike[str]) -> RetrievalIndex:
    """Load ``index.json`` (ours; or its folder) or so-vits-svc's ``feature_and_index.pkl``."""
    faiss = _faiss()
    p = Path(path)
    if p.is_dir():
        p = p / INDEX_JSON
    if not p.exists():
        raise RetrievalError(f"{p}: retrieval index not found")
    if p.suffix == ".pkl":
        return load_sovits_pickle(p)
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RetrievalError(f"{p}: unreadable index metadata ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME or not isinstance(meta.get("speakers"), dict):
        raise RetrievalError(f"{p}: not an SVC Studio retrieval index (format {FORMAT_NAME!r} expected)")
    speakers: dict[int, SpeakerIndex] = {}
    for key, ent in meta["speakers"].items():
        name = str(ent.get("file", "")) if isinstance(ent, dict) else ""
        f = p.parent / name
        if not name or Path(name).name != name or not f.is_file():
            raise RetrievalError(f"{p}: speaker {key}: index file {name!r} missing")
        try:
            idx = faiss.read_index(str(f))
        except RuntimeError as e:
            raise RetrievalError(f"{f}: corrupt faiss index ({e})") from e
        if idx.d != meta.get("dim"):
            raise RetrievalError(f"{f}: dim {idx.d} differs from index.json's {meta.get('dim')}")
        speakers[int(key)] = SpeakerIndex(idx)
    if not speakers:
        raise RetrievalError(f"{p}: the index lists no speakers")
    return RetrievalIndex(speakers, speech_encoder=meta.get("speech_encoder"), source=p)


def find_index(voice_dir: str | os.PathLike[str]) -> Path | None:
    """The retrieval index in a voice folder: our ``index.json`` first, else ``feature_and_index.pkl``."""
    d = Path(voice_dir)
    for name in (INDEX_JSON, SOVITS_PICKLE):
        if (d / name).is_file():
            return d / name
    return None
