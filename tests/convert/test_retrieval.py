"""Retrieval index: build/save/load round trip, the blend equals the so-vits-svc formula computed by brute force,
feature_and_index.pkl made by faiss loads, a malicious pickle is refused without running anything."""

from __future__ import annotations

import pickle
from pathlib import Path

import faiss
import numpy as np
import pytest

from svc_core.retrieval import (
    RetrievalError,
    SpeakerIndex,
    blend,
    build_index,
    find_index,
    load_index,
    load_sovits_pickle,
)


def _feats(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _brute_blend(x: np.ndarray, base: np.ndarray, ratio: float, k: int) -> np.ndarray:
    d2 = ((x[:, None, :] - base[None]) ** 2).sum(-1)
    ix = np.argsort(d2, axis=1)[:, :k]
    dist = np.take_along_axis(d2, ix, 1)
    w = (1.0 / dist) ** 2
    w /= w.sum(1, keepdims=True)
    return ratio * (w[:, :, None] * base[ix]).sum(1) + (1 - ratio) * x


def test_blend_matches_brute_force_flat() -> None:
    base = _feats(60)
    idx = build_index(base)  # small: exact Flat index
    x = _feats(7, seed=1)
    for r in (0.0, 0.3, 1.0):
        np.testing.assert_allclose(blend(x, idx.for_speaker(0), r, k=8), _brute_blend(x, base, r, 8), rtol=1e-4,
                                   atol=1e-5)


def test_ivf_index_and_round_trip(tmp_path: Path) -> None:
    base = {0: _feats(4000), 3: _feats(2000, seed=5)}
    idx = build_index(base, speech_encoder="vec768l12")
    assert idx.for_speaker(0).index.nlist > 1  # IVF as so-vits-svc builds it
    idx.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.faiss", "index.json", "index_3.faiss"]
    back = load_index(tmp_path)
    assert back.speech_encoder == "vec768l12" and sorted(back.speakers) == [0, 3]
    x = _feats(5, seed=9)
    np.testing.assert_allclose(blend(x, back.for_speaker(3), 0.5), blend(x, idx.for_speaker(3), 0.5), atol=1e-6)
    assert find_index(tmp_path) == tmp_path / "index.json"
    with pytest.raises(RetrievalError, match="no index for speaker id 7"):
        back.for_speaker(7)


def test_blend_exact_hit_returns_that_vector() -> None:
    base = _feats(30)
    out = blend(base[4:5], SpeakerIndex(build_index(base).for_speaker(0).index), 1.0)
    np.testing.assert_allclose(out, base[4:5], atol=1e-5)


def test_blend_bad_arguments() -> None:
    idx = build_index(_feats(30)).for_speaker(0)
    with pytest.raises(RetrievalError, match="ratio must be in"):
        blend(_feats(2), idx, 1.5)
    with pytest.raises(RetrievalError, match="dim 16"):
        blend(np.zeros((3, 8), np.float32), idx, 0.5)
    with pytest.raises(RetrievalError, match="NaN"):
        build_index(np.full((10, 4), np.nan, np.float32))


def test_sovits_pickle_loads(tmp_path: Path) -> None:
    # exactly what so-vits-svc's train_index.py writes: pickle.dump({speaker_id: faiss IVF index}, f)
    base = _feats(3000)
    n_ivf = min(int(16 * np.sqrt(base.shape[0])), base.shape[0] // 39)
    ivf = faiss.index_factory(16, f"IVF{n_ivf},Flat")
    ivf.train(base)
    ivf.add(base)
    p = tmp_path / "feature_and_index.pkl"
    with open(p, "wb") as f:
        pickle.dump({0: ivf, 1: ivf}, f)
    idx = load_sovits_pickle(p)
    assert sorted(idx.speakers) == [0, 1] and idx.dim == 16
    assert idx.for_speaker(1).ntotal == 3000
    np.testing.assert_array_equal(idx.for_speaker(0).vectors, ivf.reconstruct_n(0, ivf.ntotal))
    assert find_index(tmp_path) == p
    assert load_index(p).dim == 16


class _Evil:
    def __reduce__(self) -> tuple:
        import os

        return (os.system, ("touch PWNED",))


def test_malicious_pickle_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "feature_and_index.pkl"
    p.write_bytes(pickle.dumps({0: _Evil()}))
    with pytest.raises(RetrievalError, match=r"feature_and_index\.pkl: refused: .*system"):
        load_sovits_pickle(p)
    assert not (tmp_path / "PWNED").exists()
    # a faiss-looking class name in another module is refused too
    q = tmp_path / "sneaky.pkl"
    q.write_bytes(pickle.dumps({0: np.zeros(3)}))
    with pytest.raises(RetrievalError, match="refused: the pickle wants to create numpy"):
        load_sovits_pickle(q)


def test_broken_pickles(tmp_path: Path) -> None:
    p = tmp_path / "a.pkl"
    p.write_bytes(b"\x80\x04garbage")
    with pytest.raises(RetrievalError, match=r"a\.pkl: not a readable feature_and_index\.pkl"):
        load_sovits_pickle(p)
    p.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(RetrievalError, match="expected a dict"):
        load_sovits_pickle(p)
    p.write_bytes(pickle.dumps({0: "text"}))
    with pytest.raises(RetrievalError, match="speaker 0: entry is not a faiss index"):
        load_sovits_pickle(p)
