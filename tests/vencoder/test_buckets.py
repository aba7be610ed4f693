"""Relative-position buckets follow the WavLM/T5 formula in both directions and saturate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers.models.wavlm.modeling_wavlm import WavLMAttention

from vencoder.ssl.model import relative_position_buckets


def formula(rel: int, num_buckets: int, max_distance: int) -> int:
    """The bucket formula written out for one relative position (float32 like the reference)."""
    half = num_buckets // 2
    max_exact = half // 2
    base = half if rel > 0 else 0
    n = abs(rel)
    if n < max_exact:
        return base + n
    scaled = np.log(np.float32(n) / np.float32(max_exact)) / np.float32(math.log(max_distance / max_exact))
    return base + min(max_exact + int(np.float32(scaled) * np.float32(half - max_exact)), half - 1)


@pytest.mark.parametrize(("num_buckets", "max_distance"), [(320, 800), (320, 1280), (32, 128)])
def test_buckets_match_formula(num_buckets: int, max_distance: int) -> None:
    rel = torch.arange(-3000, 3001)
    got = relative_position_buckets(rel, num_buckets, max_distance)
    want = torch.tensor([formula(int(r), num_buckets, max_distance) for r in rel])
    mismatch = (got != want).nonzero().flatten()
    assert mismatch.numel() == 0, f"differs at rel {rel[mismatch][:10].tolist()}"
    half = num_buckets // 2
    assert got[rel == 0].item() == 0 and got[rel == 1].item() == half + 1 and got[rel == -1].item() == 1
    assert int(got.max()) == num_buckets - 1 and int(got[rel > 0].min()) == half + 1
    assert int(got[rel < 0].max()) == half - 1
    assert got[rel >= 5 * max_distance].eq(num_buckets - 1).all()
    assert got[rel <= -5 * max_distance].eq(half - 1).all()
    # monotone in distance on each side
    assert (got[rel > 0].diff() >= 0).all() and (got[rel <= 0].flip(0).diff() >= 0).all()


def test_buckets_match_transformers() -> None:
    attn = WavLMAttention(16, 2, num_buckets=320, max_distance=800)
    pos = torch.arange(700)
    rel = pos[None, :] - pos[:, None]
    assert torch.equal(relative_position_buckets(rel, 320, 800), attn._relative_positions_bucket(rel))
