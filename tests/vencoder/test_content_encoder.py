"""ContentEncoder contract: frame count, chunked encoding equal to unchunked, clear errors on bad audio."""

from __future__ import annotations

import pytest
import torch

from tests.support import WAVLM_FIXTURES
from vencoder.base import EncoderInputError
from vencoder.registry import load_encoder
from vencoder.ssl.model import relative_position_buckets


def _local_attention_(enc, reach: int = 16) -> None:
    """Make attention ignore keys >= ``reach`` frames away (bias -30), so chunk context covers all of it."""
    model = enc.model
    nb, md = model.cfg.num_buckets, model.cfg.max_distance
    rel = torch.arange(-4000, 4001)
    far = relative_position_buckets(rel[rel.abs() >= reach], nb, md).unique()
    near = relative_position_buckets(rel[rel.abs() < reach], nb, md).unique()
    assert not set(far.tolist()) & set(near.tolist())
    with torch.no_grad():
        model.rel_attn_embed.weight[far] = -30.0
        for layer in model.layers:
            layer.attn.gate_const.fill_(1.0)  # gate in (1, 2): keeps the far bias strongly negative


def _song(seconds: float, seed: int = 0) -> torch.Tensor:
    """Non-stationary test signal: quiet first third, loud later (per-chunk GroupNorm statistics would differ)."""
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * 16000)
    t = torch.arange(n) / 16000
    env = torch.where(t < seconds / 3, 0.02, 0.6)
    return (env * (torch.sin(2 * torch.pi * 220 * t) + 0.3 * torch.randn(n, generator=g))).float()


@pytest.mark.slow
@pytest.mark.parametrize("variant", WAVLM_FIXTURES)
def test_chunked_60s_equals_unchunked(wavlm_fixture, variant: str) -> None:
    enc = load_encoder("wavlmbase+", wavlm_fixture(variant)[0])
    _local_attention_(enc)
    wav = _song(60.0)
    seen: list[int] = []
    hook = enc.model.layers[0].register_forward_pre_hook(lambda m, a: seen.append(a[0].shape[1]))
    try:
        chunked = enc.encode(wav)
        enc.chunk_seconds = 1e9
        full = enc.encode(wav)
    finally:
        hook.remove()
    n = enc.num_frames(wav.numel())
    assert chunked.shape == full.shape == (n, 64) == (2999, 64)
    # memory stays flat: no chunk saw more than chunk + 2 * context frames
    assert max(seen[:-1]) <= 1500 + 2 * 100 and len(seen) == 3 and seen[-1] == n
    torch.testing.assert_close(chunked, full, atol=1e-4, rtol=0)


def test_chunking_with_plain_random_weights_is_close_away_from_edges(wavlm_fixture) -> None:
    """Unmodified random weights (global attention): frames away from chunk edges still agree."""
    enc = load_encoder("wavlmbase+", wavlm_fixture("wavlm_tiny_base_plus")[0])
    wav = _song(12.0, seed=1)
    full = enc.encode(wav)
    enc.chunk_seconds, enc.context_seconds = 4.0, 2.0
    seen: list[int] = []
    hook = enc.model.layers[0].register_forward_pre_hook(lambda m, a: seen.append(a[0].shape[1]))
    try:
        chunked = enc.encode(wav)
    finally:
        hook.remove()
    assert len(seen) == 3 and max(seen) <= 200 + 2 * 100
    assert chunked.shape == full.shape
    torch.testing.assert_close(chunked, full, atol=1e-3, rtol=0)


def test_frame_count_formula(wavlm_fixture) -> None:
    enc = load_encoder("wavlmbase+", wavlm_fixture("wavlm_tiny_base_plus")[0])
    for n in (400, 401, 719, 720, 1000, 16000, 16321):
        out = enc.encode(torch.randn(n) * 0.1)
        assert out.shape == (enc.num_frames(n), 64) == ((n - 400) // 320 + 1, 64)
    assert enc.num_frames(399) == 0
    # [1, T_wav] is accepted as mono
    assert enc.encode(torch.randn(1, 800) * 0.1).shape == (2, 64)


@pytest.mark.parametrize(
    ("wav", "match"),
    [
        (torch.zeros(0), "empty"),
        (torch.zeros(399), "too short for one frame: 399 samples"),
        (torch.tensor([0.0] * 500 + [float("nan")] * 3), "3 NaN/Inf samples"),
        (torch.full((800,), float("inf")), "800 NaN/Inf"),
        (torch.zeros(2, 800), r"mono \[T_wav\], got shape \(2, 800\)"),
        (torch.zeros(800, dtype=torch.int16), "float audio"),
        ([0.0] * 800, "must be a torch.Tensor"),
    ],
)
def test_bad_input_is_refused_clearly(wavlm_fixture, wav, match: str) -> None:
    enc = load_encoder("wavlmbase+", wavlm_fixture("wavlm_tiny_base_plus")[0])
    with pytest.raises(EncoderInputError, match=match) as info:
        enc.encode(wav)
    assert "wavlmbase+" in str(info.value)
