"""Attention stacks of the so-vits-svc 4.1 synthesizer: the relative-position windowed self-attention encoder of the
content encoder (``enc_p.enc_``), the causal ``FFT`` stack of the F0 decoder and of the transformer-coupling flow, and
their convolutional feed-forward blocks.

Port of so-vits-svc 4.1-Stable ``modules/attentions.py`` (svc-develop-team/so-vits-svc, AGPL-3.0; derived from VITS,
jaywalnut310/vits, MIT). Same parameter names and arithmetic. Two implementations of the windowed attention give the
same result (checked to 1e-4 against so-vits-svc fixtures):

- ``reference``: the original O(T^2)-memory maths (relative logits over [T, 2T-1], pad/reshape skewing), used for
  training (dropout, padding masks, autograd) and for same-run reference timings.
- ``fast`` (inference): relative key logits only exist inside the window (|i-j| <= window_size, zero outside), so they
  are an additive banded bias; the softmax still runs over every key. Queries are processed in blocks through a fused
  attention kernel that also returns the log-sum-exp, from which the (2w+1) in-window probabilities needed for the
  relative values are recomputed exactly. Memory is linear in T.

The module attribute :data:`impl` picks the default of every MultiHeadAttention (``SynthesizerTrn.set_attention_impl``
overrides it per model); the fused kernel is a private torch op, probed once on a tiny input (any error: the plain
blocked path, same result).
"""

from __future__ import annotations

import functools
import math

import torch
from torch import nn
from torch.nn import functional as F

from svc_core.models.modules import LayerNorm, apply_weight_norm, gated_tanh_sigmoid

__all__ = ["FFN", "FFT", "Encoder", "MultiHeadAttention", "set_attention_impl"]

# Elements of one query block's [B, H, C, T] bias / score tensor (32 MiB of float32).
_BLOCK_ELEMENTS = 8 * 1024 * 1024

#: Default attention of every MultiHeadAttention whose own ``impl`` is None: "fast" (exact, linear memory) or
#: "reference" (so-vits-svc's O(T^2) maths). Tests switch paths with this attribute.
impl = "fast"
_IMPLS = ("fast", "reference")


@functools.cache
def _flash_kernel():  # -> the op or None
    """torch's CPU flash-attention op that also returns the log-sum-exp, if it runs here (probed once)."""
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is None:
        return None
    try:
        with torch.inference_mode():
            q = torch.zeros(1, 1, 2, 4)
            o, lse = op(q, q, q, 0.0, False, attn_mask=torch.zeros(1, 1, 2, 2), scale=0.5)
        if o.shape != q.shape or lse.shape != (1, 1, 2):
            return None
    except Exception:  # a private op: any failure means "not usable in this build"
        return None
    return op


def set_attention_impl(module: nn.Module, impl: str | None) -> None:
    """Select ``"fast"`` or ``"reference"`` attention for every MultiHeadAttention below ``module`` (None: follow
    the module attribute :data:`impl`)."""
    if impl is not None and impl not in _IMPLS:
        raise ValueError(f"attention impl must be 'fast' or 'reference', got {impl!r}")
    for m in module.modules():
        if isinstance(m, MultiHeadAttention):
            m.impl = impl


class MultiHeadAttention(nn.Module):
    """Multi-head attention with optional windowed relative positions (keys ``conv_q/k/v/o``, ``emb_rel_k/v``)."""

    def __init__(
        self,
        channels: int,
        out_channels: int,
        n_heads: int,
        p_dropout: float = 0.0,
        window_size: int | None = None,
        heads_share: bool = True,
        proximal_init: bool = False,
        causal: bool = False,
    ) -> None:
        super().__init__()
        if channels % n_heads != 0:
            raise ValueError(f"channels ({channels}) must be divisible by n_heads ({n_heads})")
        if causal and window_size is not None:
            raise ValueError("causal attention with relative positions is not used by so-vits-svc")
        self.channels = channels
        self.out_channels = out_channels
        self.n_heads = n_heads
        self.p_dropout = p_dropout
        self.window_size = window_size
        self.heads_share = heads_share
        self.causal = causal
        self.k_channels = channels // n_heads
        self.impl: str | None = None  # None: the module attribute ``impl``
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        self.drop = nn.Dropout(p_dropout)
        if window_size is not None:
            n_heads_rel = 1 if heads_share else n_heads
            rel_stddev = self.k_channels**-0.5
            self.emb_rel_k = nn.Parameter(torch.randn(n_heads_rel, window_size * 2 + 1, self.k_channels) * rel_stddev)
            self.emb_rel_v = nn.Parameter(torch.randn(n_heads_rel, window_size * 2 + 1, self.k_channels) * rel_stddev)
        nn.init.xavier_uniform_(self.conv_q.weight)
        nn.init.xavier_uniform_(self.conv_k.weight)
        nn.init.xavier_uniform_(self.conv_v.weight)
        if proximal_init:
            with torch.no_grad():
                self.conv_k.weight.copy_(self.conv_q.weight)
                self.conv_k.bias.copy_(self.conv_q.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Self/cross attention: x [B, C, T_t] queries, c [B, C, T_s] keys/values, attn_mask [B, 1, T_t, T_s]."""
        q = self.conv_q(x)
        k = self.conv_k(c)
        v = self.conv_v(c)
        b, d, t_s = k.shape
        t_t = q.size(2)
        # [B, C, T] -> [B, H, T, D]
        q = q.view(b, self.n_heads, self.k_channels, t_t).transpose(2, 3)
        k = k.view(b, self.n_heads, self.k_channels, t_s).transpose(2, 3)
        v = v.view(b, self.n_heads, self.k_channels, t_s).transpose(2, 3)
        training = self.training and self.p_dropout > 0
        needs_grad = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)
        mode = self.impl or impl
        if mode not in _IMPLS:
            raise ValueError(f"attention impl must be 'fast' or 'reference', got {mode!r}")
        if mode == "reference" or training or (attn_mask is not None and not self.causal):
            out = self._attention_reference(q, k, v, attn_mask)
        elif self.causal:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif self.window_size is None:
            out = F.scaled_dot_product_attention(q, k, v)
        elif needs_grad or q.device.type != "cpu" or _flash_kernel() is None:
            out = self._windowed_blocked(q, k, v)
        else:
            out = self._windowed_flash(q, k, v)
        out = out.transpose(2, 3).contiguous().view(b, d, t_t)
        return self.conv_o(out)

    # -- reference maths (so-vits-svc / VITS) -------------------------------------------------------------------
    def _attention_reference(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        t_s, t_t = k.size(2), q.size(2)
        scale = math.sqrt(self.k_channels)
        scores = torch.matmul(q / scale, k.transpose(-2, -1))
        if self.window_size is not None:
            if t_s != t_t:
                raise ValueError("relative attention is only available for self-attention")
            rel_emb_k = self._relative_embeddings(self.emb_rel_k, t_s)
            rel_logits = torch.matmul(q / scale, rel_emb_k.unsqueeze(0).transpose(-2, -1))
            scores = scores + _relative_to_absolute(rel_logits)
        if self.causal:
            causal = torch.ones(t_t, t_s, device=q.device, dtype=torch.bool).tril()
            mask = causal.view(1, 1, t_t, t_s) if mask is None else (mask != 0) & causal
        if mask is not None:
            scores = scores.masked_fill(mask == 0, -1e4)
        p_attn = self.drop(F.softmax(scores, dim=-1))
        out = torch.matmul(p_attn, v)
        if self.window_size is not None:
            rel_weights = _absolute_to_relative(p_attn)
            rel_emb_v = self._relative_embeddings(self.emb_rel_v, t_s)
            out = out + torch.matmul(rel_weights, rel_emb_v.unsqueeze(0))
        return out

    def _relative_embeddings(self, emb: torch.Tensor, length: int) -> torch.Tensor:
        """[h, 2w+1, D] -> [h, 2L-1, D]: relative positions -(L-1)..(L-1), zero outside the window."""
        w = self.window_size
        pad = max(length - (w + 1), 0)
        start = max((w + 1) - length, 0)
        if pad > 0:
            emb = F.pad(emb, (0, 0, pad, pad))
        return emb[:, start : start + 2 * length - 1]

    # -- fast exact windowed attention (inference) ---------------------------------------------------------------
    def _band_logits(self, qs: torch.Tensor) -> torch.Tensor:
        """Relative key logits [B, H, T, 2w+1] for offsets -w..w (key j = i + offset)."""
        return torch.matmul(qs, self.emb_rel_k.unsqueeze(0).transpose(-2, -1))

    def _band_keys(self, qs: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """In-window content logits [B, H, T, 2w+1]: qs_i . k_(i+o) for o in -w..w (zero outside the sequence)."""
        w = self.window_size
        k_win = F.pad(k, (0, 0, w, w)).unfold(2, 2 * w + 1, 1)  # [B, H, T, D, 2w+1] (a view)
        return torch.matmul(qs.unsqueeze(-2), k_win).squeeze(-2)

    def _band_valid(self, t: int, device: torch.device) -> torch.Tensor:
        w = self.window_size
        j = torch.arange(t, device=device).unsqueeze(1) + torch.arange(-w, w + 1, device=device).unsqueeze(0)
        return (j >= 0) & (j < t)  # [T, 2w+1]

    def _block_rows(self, b: int, t: int) -> int:
        return max(1, min(t, _BLOCK_ELEMENTS // max(1, b * self.n_heads * t)))

    def _add_band(self, bias: torch.Tensor, rel: torch.Tensor, r0: int) -> None:
        """bias [B, H, C, T] (rows r0..r0+C) += rel [B, H, T, 2w+1] on the window diagonals."""
        w = self.window_size
        c, t = bias.size(2), bias.size(3)
        for o in range(-w, w + 1):  # 2w+1 diagonals (window offsets), not frames
            off = r0 + o
            lo, hi = max(0, -off), min(c, t - off)
            if hi <= lo:
                continue
            bias.diagonal(offset=off, dim1=2, dim2=3).add_(rel[:, :, r0 + lo : r0 + hi, o + w])

    def _windowed_flash(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        b, h, t, dk = q.shape
        scale = 1.0 / math.sqrt(self.k_channels)
        qs = q * scale
        rel = self._band_logits(qs)  # [B, H, T, 2w+1]
        rows = self._block_rows(b, t)
        q, k, v = q.contiguous(), k.contiguous(), v.contiguous()  # the fused kernel needs dense [B, H, T, D]
        outs, lses = [], []
        flash = _flash_kernel()
        for r0 in range(0, t, rows):  # query blocks bound the memory; each block sees every key
            r1 = min(t, r0 + rows)
            bias = q.new_zeros(b, h, r1 - r0, t)
            self._add_band(bias, rel, r0)
            o, lse = flash(q[:, :, r0:r1].contiguous(), k, v, 0.0, False, attn_mask=bias, scale=scale)
            outs.append(o)
            lses.append(lse)
        out = torch.cat(outs, 2) if len(outs) > 1 else outs[0]
        lse = torch.cat(lses, 2) if len(lses) > 1 else lses[0]
        # exact in-window probabilities from the log-sum-exp, for the relative values
        band = self._band_keys(qs, k) + rel
        p_band = torch.exp(band - lse.unsqueeze(-1)) * self._band_valid(t, q.device)
        return out.to(q.dtype) + torch.matmul(p_band, self.emb_rel_v.unsqueeze(0))

    def _windowed_blocked(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Same maths with explicit softmax per query block (non-CPU devices / autograd)."""
        b, h, t, dk = q.shape
        qs = q / math.sqrt(self.k_channels)
        rel = self._band_logits(qs)
        valid = self._band_valid(t, q.device)
        rows = self._block_rows(b, t)
        band = self._band_keys(qs, k) + rel
        outs = []
        for r0 in range(0, t, rows):
            r1 = min(t, r0 + rows)
            scores = torch.matmul(qs[:, :, r0:r1], k.transpose(-2, -1))
            self._add_band(scores, rel, r0)
            lse = torch.logsumexp(scores, -1, keepdim=True)
            out = torch.matmul(torch.exp(scores - lse), v)
            p_band = torch.exp(band[:, :, r0:r1] - lse) * valid[r0:r1]
            outs.append(out + torch.matmul(p_band, self.emb_rel_v.unsqueeze(0)))
        return torch.cat(outs, 2) if len(outs) > 1 else outs[0]


def _relative_to_absolute(x: torch.Tensor) -> torch.Tensor:
    """[B, H, L, 2L-1] relative logits -> [B, H, L, L] absolute (pad/reshape skewing, no loops)."""
    b, h, length, _ = x.size()
    x = F.pad(x, (0, 1))
    x_flat = F.pad(x.reshape(b, h, length * 2 * length), (0, length - 1))
    return x_flat.view(b, h, length + 1, 2 * length - 1)[:, :, :length, length - 1 :]


def _absolute_to_relative(x: torch.Tensor) -> torch.Tensor:
    """[B, H, L, L] absolute weights -> [B, H, L, 2L-1] relative."""
    b, h, length, _ = x.size()
    x = F.pad(x, (0, length - 1))
    x_flat = F.pad(x.reshape(b, h, length**2 + length * (length - 1)), (length, 0))
    return x_flat.view(b, h, length, 2 * length)[:, :, :, 1:]


class FFN(nn.Module):
    """Two convolutions with ReLU (or sigmoid-GELU) between; 'same' or causal padding (keys ``conv_1``/``conv_2``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        filter_channels: int,
        kernel_size: int,
        p_dropout: float = 0.0,
        activation: str | None = None,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.activation = activation
        self.causal = causal
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, out_channels, kernel_size)
        self.drop = nn.Dropout(p_dropout)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size == 1:
            return x
        if self.causal:
            return F.pad(x, (self.kernel_size - 1, 0))
        return F.pad(x, ((self.kernel_size - 1) // 2, self.kernel_size // 2))

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        """x [B, C_in, T], x_mask [B, 1, T] -> [B, C_out, T]."""
        x = self.conv_1(self._pad(x * x_mask))
        x = x * torch.sigmoid(1.702 * x) if self.activation == "gelu" else torch.relu(x)
        x = self.drop(x)
        x = self.conv_2(self._pad(x * x_mask))
        return x * x_mask


class Encoder(nn.Module):
    """Transformer encoder with windowed relative-position attention (so-vits ``attentions.Encoder``)."""

    def __init__(
        self,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int = 1,
        p_dropout: float = 0.0,
        window_size: int = 4,
    ) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.n_layers = n_layers
        self.drop = nn.Dropout(p_dropout)
        self.attn_layers = nn.ModuleList()
        self.norm_layers_1 = nn.ModuleList()
        self.ffn_layers = nn.ModuleList()
        self.norm_layers_2 = nn.ModuleList()
        for _ in range(n_layers):
            self.attn_layers.append(
                MultiHeadAttention(hidden_channels, hidden_channels, n_heads, p_dropout=p_dropout,
                                   window_size=window_size)
            )
            self.norm_layers_1.append(LayerNorm(hidden_channels))
            self.ffn_layers.append(FFN(hidden_channels, hidden_channels, filter_channels, kernel_size,
                                       p_dropout=p_dropout))
            self.norm_layers_2.append(LayerNorm(hidden_channels))

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        """x [B, H, T], x_mask [B, 1, T] -> [B, H, T]."""
        attn_mask = None if bool((x_mask != 0).all()) else x_mask.unsqueeze(2) * x_mask.unsqueeze(-1)
        x = x * x_mask
        for i in range(self.n_layers):
            y = self.drop(self.attn_layers[i](x, x, attn_mask))
            x = self.norm_layers_1[i](x + y)
            y = self.drop(self.ffn_layers[i](x, x_mask))
            x = self.norm_layers_2[i](x + y)
        return x * x_mask


class FFT(nn.Module):
    """Causal transformer stack (so-vits ``attentions.FFT``); with ``isflow`` it is speaker-conditioned by a gated
    ``cond_pre``/``cond_layer`` per layer (transformer-coupling flow)."""

    def __init__(
        self,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int = 1,
        kernel_size: int = 1,
        p_dropout: float = 0.0,
        proximal_init: bool = True,
        isflow: bool = False,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.n_layers = n_layers
        if isflow:
            self.cond_pre = nn.Conv1d(hidden_channels, 2 * hidden_channels, 1)
            self.cond_layer = apply_weight_norm(nn.Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1))
            self.gin_channels = gin_channels
        self.drop = nn.Dropout(p_dropout)
        self.self_attn_layers = nn.ModuleList()
        self.norm_layers_0 = nn.ModuleList()
        self.ffn_layers = nn.ModuleList()
        self.norm_layers_1 = nn.ModuleList()
        for _ in range(n_layers):
            self.self_attn_layers.append(
                MultiHeadAttention(hidden_channels, hidden_channels, n_heads, p_dropout=p_dropout,
                                   proximal_init=proximal_init, causal=True)
            )
            self.norm_layers_0.append(LayerNorm(hidden_channels))
            self.ffn_layers.append(FFN(hidden_channels, hidden_channels, filter_channels, kernel_size,
                                       p_dropout=p_dropout, causal=True))
            self.norm_layers_1.append(LayerNorm(hidden_channels))

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, H, T], x_mask [B, 1, T], g [B, gin, 1 or T] (flow only) -> [B, H, T]."""
        h = self.hidden_channels
        if g is not None:
            g = self.cond_layer(g)
        x = x * x_mask
        for i in range(self.n_layers):
            if g is not None:
                x = gated_tanh_sigmoid(self.cond_pre(x) + g[:, i * 2 * h : (i + 1) * 2 * h, :], h)
            y = self.drop(self.self_attn_layers[i](x, x))
            x = self.norm_layers_0[i](x + y)
            y = self.drop(self.ffn_layers[i](x, x_mask))
            x = self.norm_layers_1[i](x + y)
        return x * x_mask
