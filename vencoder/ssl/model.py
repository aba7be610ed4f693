"""WavLM / HuBERT transformer encoder, written for inference.

Architecture after Microsoft's WavLM (microsoft/unilm ``wavlm/WavLM.py``, MIT licence), fairseq's HuBERT
(MIT licence) and the transformers ports (Apache-2.0). This is our own implementation: fused QKV projection,
``scaled_dot_product_attention`` with the gated relative-position bias as an additive float mask, the bucket
bias computed once per forward and shared by all layers, weight norm folded at load time.

Shapes: B batch, T_wav samples (16 kHz), T frames (50 per second), C conv channels, D model width, H heads.
With ``relative_position_embedding=False`` and ``gru_rel_pos=False`` the module is exactly HuBERT / ContentVec /
wav2vec2 (post-LN or pre-LN), so one implementation serves all so-vits-svc SSL encoders.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vencoder.ssl.config import SSLConfig

__all__ = ["SSLModel", "SSLOutput", "FeatureExtractor", "relative_position_buckets"]


def relative_position_buckets(relative: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """Bidirectional T5/WavLM bucket index of each relative position ``key - query`` (same shape, int64).

    Half of the buckets hold positive offsets. Within a half, offsets below ``max_exact = num_buckets // 4``
    get their own bucket; larger ones are log-spaced up to ``max_distance`` and saturate at ``half - 1``.
    """
    half = num_buckets // 2
    max_exact = half // 2
    base = (relative > 0).long() * half
    dist = relative.abs()
    small = dist < max_exact
    # log of 0 is -inf for the small offsets; those lanes are replaced by torch.where below
    large = max_exact + (
        torch.log(dist.float().clamp_min(1.0) / max_exact) / math.log(max_distance / max_exact) * (half - max_exact)
    ).long()
    large = large.clamp_max(half - 1)
    return base + torch.where(small, dist, large)


def _gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact GELU; in place when no gradient is needed (``x`` must be a fresh temporary)."""
    return torch.ops.aten.gelu_(x) if not torch.is_grad_enabled() else F.gelu(x)


#: Conv stack path: "fast" (CPU float32 inference runs each conv + GELU as one fused oneDNN op where that private
#: op passes its probe; same result) or "reference" (plain conv1d then GELU). Tests switch paths with this.
impl = "fast"


@functools.cache
def fused_conv_gelu_available() -> bool:
    """Whether oneDNN's fused conv + GELU op (the one torch's inductor uses on CPU) runs in this build: probed once
    on a tiny input against conv1d + GELU; any error or mismatch means no."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        with torch.inference_mode():
            conv = nn.Conv1d(2, 3, 3, padding=1)
            x = torch.linspace(-1, 1, 10).view(1, 2, 5)
            got = _conv_gelu_cl4(x.transpose(1, 2).contiguous().transpose(1, 2).unsqueeze(2), conv).reshape(1, 3, 5)
            return bool(torch.allclose(got, F.gelu(conv(x)), atol=1e-5))
    except Exception:  # a private op: any failure means "not usable here"
        return False


def _fused_path(x: torch.Tensor) -> bool:
    """Use the fused oneDNN conv + GELU op for this input: impl "fast", CPU, float32, inference (no autograd)."""
    if impl not in ("fast", "reference"):
        raise ValueError(f"vencoder.ssl.model.impl must be 'fast' or 'reference', got {impl!r}")
    return (impl == "fast" and x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_grad_enabled()
            and fused_conv_gelu_available())


def _conv_gelu_cl4(x4: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """gelu(conv(x)) as one oneDNN op on a channels-last [B, C, 1, T] signal (``conv``'s stride, padding, groups)."""
    return torch.ops.mkldnn._convolution_pointwise(
        x4, conv.weight.unsqueeze(2), conv.bias, [0, conv.padding[0]], [1, conv.stride[0]], [1, 1], conv.groups,
        "gelu", [], "none",
    )


class FeatureExtractor(nn.Module):
    """Strided conv stack: waveform [B, T_wav] -> features [B, T, C] (channels last).

    ``default`` mode: GroupNorm(C, C) after conv 0 only, with statistics over the whole time axis. Conv 0 has a
    single input channel, so its output statistics follow exactly from the mean and covariance of the k-sample
    input frames (a k x k matrix, accumulated in float64): the norm is folded into conv 0's weights and the
    131 MB-per-20 s conv-0 output is never reduced over. On CPU inference the wide 512 -> 512 convs then run as
    oneDNN conv + GELU fused ops on a channels-last signal (no layout reorders, no separate GELU pass); elsewhere
    as plain ``conv1d`` + GELU. ``layer_norm`` mode: LayerNorm over channels after every conv, each conv one
    matmul over strided frames of the channels-last signal. Weights keep the ``nn.Conv1d`` layout.
    """

    def __init__(self, layers: list[tuple[int, int, int]], mode: str, conv_bias: bool) -> None:
        super().__init__()
        self.mode = mode
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        c_in = 1
        for i, (dim, k, s) in enumerate(layers):
            self.convs.append(nn.Conv1d(c_in, dim, k, stride=s, bias=conv_bias))
            if mode == "layer_norm":
                self.norms.append(nn.LayerNorm(dim))
            elif i == 0:
                self.norms.append(nn.GroupNorm(dim, dim))
            c_in = dim

    @staticmethod
    def _frames(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
        """Strided frames of a channels-last signal: [B, T_in, C_in] -> [B, T_out, k * C_in] (a view)."""
        (k,), (s,) = conv.kernel_size, conv.stride
        b, t_in, c_in = x.shape
        t_out = (t_in - k) // s + 1
        if t_out < 1:
            raise ValueError(f"{t_in} input steps are fewer than the kernel size {k}")
        x = x.contiguous()
        return x.as_strided((b, t_out, k * c_in), (x.stride(0), s * c_in, 1))

    @classmethod
    def _conv(cls, x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
        """Channels-last strided conv: [B, T_in, C_in] -> [B, T_out, C_out]."""
        w = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1)
        return F.linear(cls._frames(x, conv), w, conv.bias)

    def first_conv_stats(self, wav: torch.Tensor, block: int = 1_600_000) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and biased variance of conv 0's output over the whole waveform [B, T_wav].

        Exact in closed form: with frame mean ``mu`` and covariance ``S`` (float64, accumulated in blocks of
        ``block`` samples so memory stays flat), channel c has mean ``w_c . mu + b_c`` and variance
        ``w_c^T S w_c``. Returns ``(mean, var)``, each [B, C, 1] in the waveform's dtype.
        """
        conv = self.convs[0]
        frames = self._frames(wav[:, :, None], conv)  # [B, N, k]
        n = frames.shape[1]
        per = max(1, block // conv.stride[0])
        s1 = frames.new_zeros(frames.shape[0], frames.shape[2], dtype=torch.float64)
        s2 = frames.new_zeros(frames.shape[0], frames.shape[2], frames.shape[2], dtype=torch.float64)
        for a in range(0, n, per):
            f = frames[:, a : a + per].double()
            s1 += f.sum(1)
            s2 += f.transpose(1, 2) @ f
        mu = s1 / n
        cov = s2 / n - mu[:, :, None] * mu[:, None, :]
        w = conv.weight[:, 0, :].double()  # [C, k]
        mean = mu @ w.T
        if conv.bias is not None:
            mean = mean + conv.bias.double()
        var = torch.einsum("ck,bkl,cl->bc", w, cov, w).clamp_min(0.0)
        return mean[:, :, None].to(wav.dtype), var[:, :, None].to(wav.dtype)

    def _conv0_normed(
        self, wav: torch.Tensor, first_stats: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """Conv 0 with the GroupNorm folded into its weights, then GELU: [B, T_wav] -> [B, T0, C] (channels last)."""
        conv = self.convs[0]
        gn: nn.GroupNorm = self.norms[0]  # type: ignore[assignment]
        mean, var = first_stats if first_stats is not None else self.first_conv_stats(wav)
        scale = gn.weight * torch.rsqrt(var[:, :, 0] + gn.eps)  # [B, C]
        bias = gn.bias - mean[:, :, 0] * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        w = conv.weight[:, 0, :][None] * scale[:, :, None]  # [B, C, k]
        y = torch.baddbmm(bias[:, None, :], self._frames(wav[:, :, None], conv), w.transpose(1, 2))
        return _gelu(y)

    def _forward_default(
        self, wav: torch.Tensor, first_stats: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """``default`` mode: [B, T_wav] -> [B, T, C]."""
        y = self._conv0_normed(wav, first_stats)  # [B, T0, C]
        convs = list(self.convs)[1:]
        if _fused_path(y):
            x = y.transpose(1, 2).unsqueeze(2)  # [B, C, 1, T0] in channels-last layout: no copy
            for conv in convs:
                x = _conv_gelu_cl4(x, conv)
            return x.squeeze(2).transpose(1, 2)
        x = y.transpose(1, 2)
        for conv in convs:
            x = _gelu(F.conv1d(x, conv.weight, conv.bias, stride=conv.stride))
        return x.transpose(1, 2)

    def forward(
        self, wav: torch.Tensor, first_stats: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """[B, T_wav] -> [B, T, C]; ``first_stats`` (default mode) replaces the GroupNorm stats (chunking)."""
        if self.mode != "layer_norm":
            return self._forward_default(wav, first_stats)
        x = wav[:, :, None]
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = _gelu(norm(self._conv(x, conv)))
        return x


class PositionalConv(nn.Module):
    """Grouped convolutional positional embedding: x [B, T, D] -> gelu(conv(x)) [B, T, D] ("same" length)."""

    def __init__(self, dim: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups)
        self.trim = 1 if kernel % 2 == 0 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, D] -> [B, T, D]."""
        if _fused_path(x):  # oneDNN grouped conv + GELU straight on the channels-last signal
            y = _conv_gelu_cl4(x.contiguous().transpose(1, 2).unsqueeze(2), self.conv).squeeze(2)
            return (y[..., : -self.trim] if self.trim else y).transpose(1, 2)
        y = self.conv(x.transpose(1, 2))
        if self.trim:
            y = y[..., : -self.trim]
        return F.gelu(y).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused QKV matmul and an optional gated relative-position bias."""

    def __init__(self, dim: int, heads: int, gated: bool) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.gated = gated
        if gated:
            self.gate = nn.Linear(self.head_dim, 8)
            self.gate_const = nn.Parameter(torch.ones(heads))

    def forward(
        self, x: torch.Tensor, pos_bias: torch.Tensor | None, mask_buffer: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x [B, T, D], pos_bias [H, T, T] (ungated bucket bias) or None -> [B, T, D].

        ``mask_buffer`` ([B, H, T, T], inference only) receives the gated bias instead of a fresh allocation, so
        the layers reuse one block of memory (each fresh 48 MB-per-20 s mask costs page faults as well as writes).
        """
        b, t, d = x.shape
        h, hd = self.heads, self.head_dim
        q, k, v = F.linear(x, self.qkv.weight, self.qkv.bias).view(b, t, 3, h, hd).permute(2, 0, 3, 1, 4).unbind(0)
        mask = None
        if pos_bias is not None:
            if self.gated:
                # gate per (batch, head, query frame), computed from the layer input (not from q). The reference
                # sums groups of 4 of the 8 gate outputs: fold that sum into the weights, then run all heads as
                # one [D -> 2H] matmul with a block-diagonal weight.
                w2 = self.gate.weight.view(2, 4, hd).sum(1)  # [2, hd]
                b2 = self.gate.bias.view(2, 4).sum(1)  # [2]
                g = torch.sigmoid(F.linear(x, torch.block_diag(*([w2] * h)), b2.repeat(h))).view(b, t, h, 2)
                ga, gb = g.unbind(-1)
                gate = ga * (gb * self.gate_const - 1.0) + 2.0  # [B, T, H]
                mask = torch.mul(gate.transpose(1, 2)[..., None], pos_bias, out=mask_buffer)  # [B, H, T, T]
            else:
                mask = pos_bias[None]
            mask = mask.to(q.dtype)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # [B, H, T, hd]
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class EncoderLayer(nn.Module):
    """Transformer layer, post-LN (Base models) or pre-LN (Large models)."""

    def __init__(self, cfg: SSLConfig) -> None:
        super().__init__()
        d = cfg.encoder_embed_dim
        self.pre_norm = cfg.layer_norm_first
        self.attn = SelfAttention(d, cfg.encoder_attention_heads, cfg.relative_position_embedding and cfg.gru_rel_pos)
        self.attn_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.fc1 = nn.Linear(d, cfg.encoder_ffn_embed_dim)
        self.fc2 = nn.Linear(cfg.encoder_ffn_embed_dim, d)
        self.ffn_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)

    def forward(
        self, x: torch.Tensor, pos_bias: torch.Tensor | None, mask_buffer: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[B, T, D] -> [B, T, D]; ``mask_buffer`` as in :meth:`SelfAttention.forward`."""
        if self.pre_norm:
            x = x + self.attn(self.attn_norm(x), pos_bias, mask_buffer)
            return x + self.fc2(_gelu(self.fc1(self.ffn_norm(x))))
        x = self.attn_norm(x + self.attn(x, pos_bias, mask_buffer))
        return self.ffn_norm(x + self.fc2(_gelu(self.fc1(x))))


@dataclass
class SSLOutput:
    """Result of :meth:`SSLModel.forward`.

    ``last``: [B, T, D] output of the requested layer (final LayerNorm applied for pre-LN models only when
    running all layers, as the reference does). ``hidden``: when requested, the transformer input followed by
    each layer's output up to the requested layer, each [B, T, D] (``hidden[k]`` = output of layer k).
    """

    last: torch.Tensor
    hidden: list[torch.Tensor] | None = None


class SSLModel(nn.Module):
    """WavLM / HuBERT encoder: waveform [B, T_wav] at 16 kHz -> frame features [B, T, D] at hop 320."""

    def __init__(self, cfg: SSLConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.conv_layers[-1][0]
        d = cfg.encoder_embed_dim
        self.feature_extractor = FeatureExtractor(cfg.conv_layers, cfg.extractor_mode, cfg.conv_bias)
        self.feature_norm = nn.LayerNorm(c) if cfg.feature_layer_norm else None
        self.feature_proj: nn.Linear | None = nn.Linear(c, d)
        self.pos_conv = PositionalConv(d, cfg.conv_pos, cfg.conv_pos_groups)
        self.encoder_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.encoder_layers))
        self.rel_attn_embed = (
            nn.Embedding(cfg.num_buckets, cfg.encoder_attention_heads) if cfg.relative_position_embedding else None
        )

    def set_identity_projection(self) -> None:
        """Drop the feature projection (checkpoints whose conv width equals the model width and store none)."""
        self.feature_proj = None

    def position_bias(self, t: int, device: torch.device) -> torch.Tensor | None:
        """Ungated relative-position bias [H, T, T] (None without relative positions); computed once per call."""
        if self.rel_attn_embed is None:
            return None
        pos = torch.arange(t, device=device)
        buckets = relative_position_buckets(pos[None, :] - pos[:, None], self.cfg.num_buckets, self.cfg.max_distance)
        return self.rel_attn_embed.weight.t()[:, buckets]  # [H, T, T], gathered straight into head-major layout

    def normalize_wave(self, wav: torch.Tensor) -> torch.Tensor:
        """Zero-mean unit-variance per item (``cfg.normalize``, WavLM-Large); identity otherwise. [B, T_wav]."""
        if not self.cfg.normalize:
            return wav
        return F.layer_norm(wav, wav.shape[-1:])

    def features(
        self, wav: torch.Tensor, first_stats: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Conv stack + projection + positional conv + (post-LN) encoder norm: [B, T_wav] -> [B, T, D].

        ``wav`` must already be normalised (:meth:`normalize_wave`). Output is the transformer input.
        """
        x = self.feature_extractor(wav, first_stats)
        if self.feature_norm is not None:
            x = self.feature_norm(x)
        if self.feature_proj is not None:
            x = self.feature_proj(x)
        x = x + self.pos_conv(x)
        if not self.cfg.layer_norm_first:
            x = self.encoder_norm(x)
        return x

    def forward(
        self,
        wav: torch.Tensor,
        output_layer: int | None = None,
        *,
        return_hidden: bool = False,
        first_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
        normalized: bool = False,
    ) -> SSLOutput:
        """Run the encoder on [B, T_wav] (16 kHz).

        ``output_layer``: 1..L stops after that layer (no final LayerNorm), ``None`` runs all layers and
        applies the final LayerNorm of pre-LN models; 0 returns the transformer input.
        """
        n = len(self.layers)
        if output_layer is not None and not 0 <= output_layer <= n:
            raise ValueError(f"output_layer {output_layer} is outside 0..{n}")
        if not normalized:
            wav = self.normalize_wave(wav)
        x = self.features(wav, first_stats)
        hidden = [x] if return_hidden else None
        stop = n if output_layer is None else output_layer
        bias = self.position_bias(x.shape[1], x.device) if stop > 0 else None
        buffer = None
        if bias is not None and self.cfg.gru_rel_pos and not torch.is_grad_enabled():
            buffer = bias.new_empty((x.shape[0], *bias.shape), dtype=x.dtype)
        for layer in self.layers[:stop]:
            x = layer(x, bias, buffer)
            if hidden is not None:
                hidden.append(x)
        if output_layer is None and self.cfg.layer_norm_first:
            x = self.encoder_norm(x)
        return SSLOutput(x, hidden)
