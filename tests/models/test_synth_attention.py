"""The fast attention paths equal so-vits-svc's reference maths (relative windowed, causal, blocked)."""

from __future__ import annotations

import pytest
import torch

import svc_core.models.attentions as attn
from svc_core.models.attentions import FFT, Encoder, MultiHeadAttention


def _qkv(m: MultiHeadAttention, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    b, c, t = x.shape
    h, d = m.n_heads, m.k_channels
    return tuple(conv(x).view(b, h, d, t).transpose(2, 3) for conv in (m.conv_q, m.conv_k, m.conv_v))


@pytest.mark.parametrize("t", [1, 2, 4, 5, 9, 40, 131])
@pytest.mark.parametrize("heads_share", [True, False])
def test_windowed_fast_equals_reference(t: int, heads_share: bool) -> None:
    torch.manual_seed(t)
    m = MultiHeadAttention(32, 32, 4, window_size=4, heads_share=heads_share).eval()
    with torch.no_grad():  # larger relative embeddings than init, so the band matters
        m.emb_rel_k.mul_(4)
        m.emb_rel_v.mul_(4)
    x = torch.randn(2, 32, t) * 3
    with torch.inference_mode():
        m.impl = "reference"
        ref = m(x, x)
        m.impl = "fast"
        fast = m(x, x)
        q, k, v = _qkv(m, x)
        blocked = m._windowed_blocked(q, k, v)
        reference = m._attention_reference(q, k, v, None)
    # inputs scaled up (|out| ~ 10), so compare with a relative float32 tolerance
    torch.testing.assert_close(fast, ref, rtol=1e-5, atol=5e-5)
    torch.testing.assert_close(blocked, reference, rtol=1e-5, atol=5e-5)


def test_query_blocks_equal_single_block(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    m = MultiHeadAttention(16, 16, 2, window_size=4).eval()
    x = torch.randn(1, 16, 97)
    with torch.inference_mode():
        whole = m(x, x)
        monkeypatch.setattr(attn, "_BLOCK_ELEMENTS", 2 * 97 * 7)  # 7 query rows per block, ragged last block
        assert m._block_rows(1, 97) == 7
        blocked = m(x, x)
        q, k, v = _qkv(m, x)
        explicit = m._windowed_blocked(q, k, v)
        m.impl = "reference"
        ref = m(x, x)
    assert (blocked - ref).abs().max() < 1e-5
    assert (whole - ref).abs().max() < 1e-5
    assert (m.conv_o(explicit.transpose(2, 3).reshape(1, 16, 97)) - ref).abs().max() < 1e-5


def test_fft_causal_sdpa_equals_reference_and_is_causal() -> None:
    torch.manual_seed(1)
    fft = FFT(16, 32, 2, n_layers=2, kernel_size=3, isflow=True, gin_channels=8).eval()
    x = torch.randn(1, 16, 30)
    mask = torch.ones(1, 1, 30)
    g = torch.randn(1, 8, 1)
    with torch.inference_mode():
        fast = fft(x, mask, g=g)
        attn.set_attention_impl(fft, "reference")
        ref = fft(x, mask, g=g)
        x2 = x.clone()
        x2[:, :, 20:] += 5.0  # future frames must not change the past
        later = fft(x2, mask, g=g)
    assert (fast - ref).abs().max() < 1e-5
    assert (later[:, :, :20] - ref[:, :, :20]).abs().max() < 1e-6


def test_encoder_padding_mask_keeps_valid_frames() -> None:
    """With a padding mask (training batches) the valid frames equal the unpadded sequence."""
    torch.manual_seed(2)
    enc = Encoder(16, 32, 2, 2, kernel_size=3).eval()
    x = torch.randn(1, 16, 25)
    with torch.inference_mode():
        alone = enc(x, torch.ones(1, 1, 25))
        padded = torch.cat([x, torch.randn(1, 16, 6)], 2)
        mask = torch.cat([torch.ones(1, 1, 25), torch.zeros(1, 1, 6)], 2)
        out = enc(padded, mask)
    assert (out[:, :, :25] - alone).abs().max() < 1e-5
    assert out[:, :, 25:].abs().max() == 0


def test_windowed_attention_backward() -> None:
    torch.manual_seed(3)
    m = MultiHeadAttention(16, 16, 2, window_size=4).eval()
    x = torch.randn(1, 16, 12, requires_grad=True)
    m(x, x).square().sum().backward()
    grad_fast = x.grad.clone()
    x.grad = None
    m.impl = "reference"
    m(x, x).square().sum().backward()
    assert torch.isfinite(grad_fast).all()
    assert (grad_fast - x.grad).abs().max() < 1e-4


def test_fast_path_never_builds_quadratic_relative_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inference never materialises so-vits-svc's [T, 2T-1] relative tensors, and one query block's score/bias
    tensor stays within the block budget (memory linear in T)."""

    def boom(*_: object) -> None:
        raise AssertionError("O(T^2) relative-position tensor built on the inference path")

    monkeypatch.setattr(attn, "_relative_to_absolute", boom)
    monkeypatch.setattr(attn, "_absolute_to_relative", boom)
    budget = 2 * 1500 * 64
    monkeypatch.setattr(attn, "_BLOCK_ELEMENTS", budget)
    biggest = 0
    real_flash = attn._flash_kernel()
    assert real_flash is not None, "the CPU flash kernel did not pass its probe"

    def spy(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *a: object, attn_mask: torch.Tensor,
            **kw: object) -> tuple[torch.Tensor, torch.Tensor]:
        nonlocal biggest
        biggest = max(biggest, attn_mask.numel())
        return real_flash(q, k, v, *a, attn_mask=attn_mask, **kw)

    monkeypatch.setattr(attn, "_flash_kernel", lambda: spy)
    enc = Encoder(16, 32, 2, 1, kernel_size=3).eval()
    with torch.inference_mode():
        out = enc(torch.randn(1, 16, 1500), torch.ones(1, 1, 1500))
    assert out.shape == (1, 16, 1500) and bool(torch.isfinite(out).all())
    assert 0 < biggest <= budget


def test_module_impl_attribute_switches_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    m = attn.MultiHeadAttention(16, 16, 2, window_size=4).eval()
    x = torch.randn(1, 16, 37)
    with torch.inference_mode():
        fast = m(x, x)
        monkeypatch.setattr(attn, "impl", "reference")
        ref = m(x, x)
        m.impl = "fast"  # a per-model choice wins over the module default
        assert torch.equal(m(x, x), fast)
        m.impl = None
        monkeypatch.setattr(attn, "impl", "bogus")
        with pytest.raises(ValueError, match="'fast' or 'reference'"):
            m(x, x)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=0)
