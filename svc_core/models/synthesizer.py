"""The so-vits-svc 4.1 synthesizer (``SynthesizerTrn``): content pre-net, pitch / voicing / volume / speaker
embeddings, relative-attention content encoder (prior), posterior encoder, normalising flow, optional F0 decoder and
the NSF vocoder (built by ``vdecoder.registry``). Training ``forward()`` and ``infer()``.

Port of so-vits-svc 4.1-Stable ``models.py`` (svc-develop-team/so-vits-svc, AGPL-3.0; VITS lineage, MIT). Parameter
names are identical so so-vits-svc ``G_*.pth`` state dicts load with ``strict=True``; the arithmetic and the order of
random draws in ``infer()`` are the same, so a seed gives the same audio as so-vits-svc.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from svc_core.jobs import warn
from svc_core.models.attentions import Encoder as AttentionEncoder
from svc_core.models.attentions import set_attention_impl
from svc_core.models.f0_decoder import F0Decoder, hz_to_lf0, lf0_to_hz, normalize_f0
from svc_core.models.flows import ResidualCouplingBlock, TransformerCouplingBlock
from svc_core.models.modules import WN, remove_all_weight_norm, sequence_mask
from svc_core.models.pitch import f0_to_coarse

__all__ = ["KNOWN_VOCODERS", "PosteriorEncoder", "SynthesizerTrn", "TextEncoder", "build_decoder"]


KNOWN_VOCODERS = ("nsf-hifigan", "nsf-snake-hifigan")


class TextEncoder(nn.Module):
    """Prior encoder ``enc_p``: adds the coarse-F0 embedding, runs the relative-attention encoder, projects to
    mean / log-std and samples z = m + eps * exp(logs) * noise_scale."""

    def __init__(
        self,
        out_channels: int,
        hidden_channels: int,
        kernel_size: int,
        n_layers: int,
        filter_channels: int,
        n_heads: int,
        p_dropout: float,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)
        self.f0_emb = nn.Embedding(256, hidden_channels)
        self.enc_ = AttentionEncoder(hidden_channels, filter_channels, n_heads, n_layers, kernel_size, p_dropout)

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, f0: torch.Tensor, noice_scale: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """x [B, H, T], x_mask [B, 1, T], f0 coarse bins [B, T] -> z, m, logs [B, inter, T], x_mask (the noise
        from ``generator``; None: torch's global RNG)."""
        x = x + self.f0_emb(f0).transpose(1, 2)
        x = self.enc_(x * x_mask, x_mask)
        stats = self.proj(x) * x_mask
        m, logs = torch.split(stats, self.out_channels, dim=1)
        eps = torch.randn(m.shape, dtype=m.dtype, device=m.device, generator=generator)
        z = (m + eps * torch.exp(logs) * noice_scale) * x_mask
        return z, m, logs, x_mask


class PosteriorEncoder(nn.Module):
    """Posterior encoder ``enc_q`` (training only): linear spectrogram -> WN -> z ~ N(m, exp(logs))."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
        use_depthwise_conv: bool = False,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.pre = nn.Conv1d(in_channels, hidden_channels, 1)
        self.enc = WN(hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels=gin_channels,
                      use_depthwise_conv=use_depthwise_conv)
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(
        self, x: torch.Tensor, x_lengths: torch.Tensor, g: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """spec [B, F, T], lengths [B], g [B, gin, 1] -> z, m, logs [B, inter, T], mask [B, 1, T]."""
        x_mask = torch.unsqueeze(sequence_mask(x_lengths, x.size(2)), 1).to(x.dtype)
        x = self.pre(x) * x_mask
        x = self.enc(x, x_mask, g=g)
        stats = self.proj(x) * x_mask
        m, logs = torch.split(stats, self.out_channels, dim=1)
        z = (m + torch.randn_like(m) * torch.exp(logs)) * x_mask
        return z, m, logs, x_mask


def build_decoder(vocoder_name: str, **hps: Any) -> nn.Module:
    """The ``dec`` module for ``vocoder_name`` from ``vdecoder.registry``; unknown names fall back to nsf-hifigan
    (with a warning), exactly as so-vits-svc does."""
    from vdecoder.registry import build_vocoder

    if vocoder_name not in KNOWN_VOCODERS:
        warn(f"unknown vocoder_name {vocoder_name!r}: using nsf-hifigan (as so-vits-svc does)")
        vocoder_name = "nsf-hifigan"
    return build_vocoder(vocoder_name, **hps)


class SynthesizerTrn(nn.Module):
    """so-vits-svc 4.1 generator. Constructor arguments are the ``model`` section of config.json (unknown keys are
    ignored, as so-vits-svc does); ``posterior_encoder=False`` omits the training-only ``enc_q``."""

    def __init__(
        self,
        spec_channels: int,
        segment_size: int,
        inter_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        resblock: str,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        upsample_rates: Sequence[int],
        upsample_initial_channel: int,
        upsample_kernel_sizes: Sequence[int],
        gin_channels: int,
        ssl_dim: int,
        n_speakers: int,
        sampling_rate: int = 44100,
        vol_embedding: bool = False,
        vocoder_name: str = "nsf-hifigan",
        use_depthwise_conv: bool = False,
        use_automatic_f0_prediction: bool = True,
        flow_share_parameter: bool = False,
        n_flow_layer: int = 4,
        n_layers_trans_flow: int = 3,
        use_transformer_flow: bool = False,
        *,
        posterior_encoder: bool = True,
        vocoder: nn.Module | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.spec_channels = spec_channels
        self.segment_size = segment_size
        self.inter_channels = inter_channels
        self.hidden_channels = hidden_channels
        self.gin_channels = gin_channels
        self.ssl_dim = ssl_dim
        self.n_speakers = n_speakers
        self.vol_embedding = vol_embedding
        self.use_automatic_f0_prediction = use_automatic_f0_prediction
        self.hop_length = 1
        for r in upsample_rates:
            self.hop_length *= int(r)

        self.emb_g = nn.Embedding(n_speakers, gin_channels)
        if vol_embedding:
            self.emb_vol = nn.Linear(1, hidden_channels)
        self.pre = nn.Conv1d(ssl_dim, hidden_channels, kernel_size=5, padding=2)
        self.enc_p = TextEncoder(inter_channels, hidden_channels, kernel_size, n_layers, filter_channels, n_heads,
                                 p_dropout)
        if vocoder is None:
            vocoder = build_decoder(
                vocoder_name,
                sampling_rate=sampling_rate,
                inter_channels=inter_channels,
                resblock=resblock,
                resblock_kernel_sizes=list(resblock_kernel_sizes),
                resblock_dilation_sizes=[list(d) for d in resblock_dilation_sizes],
                upsample_rates=list(upsample_rates),
                upsample_initial_channel=upsample_initial_channel,
                upsample_kernel_sizes=list(upsample_kernel_sizes),
                gin_channels=gin_channels,
                use_depthwise_conv=use_depthwise_conv,
            )
        self.dec = vocoder
        if posterior_encoder:
            self.enc_q = PosteriorEncoder(spec_channels, inter_channels, hidden_channels, 5, 1, 16,
                                          gin_channels=gin_channels, use_depthwise_conv=use_depthwise_conv)
        else:
            self.enc_q = None
        if use_transformer_flow:
            self.flow: nn.Module = TransformerCouplingBlock(
                inter_channels, hidden_channels, filter_channels, n_heads, n_layers_trans_flow, 5, p_dropout,
                n_flow_layer, gin_channels=gin_channels, share_parameter=flow_share_parameter,
            )
        else:
            # so-vits-svc passes n_flow_layer as the WN depth (n_layers); the number of couplings stays 4
            self.flow = ResidualCouplingBlock(
                inter_channels, hidden_channels, 5, 1, n_flow_layer, gin_channels=gin_channels,
                share_parameter=flow_share_parameter, use_depthwise_conv=use_depthwise_conv,
            )
        if use_automatic_f0_prediction:
            self.f0_decoder = F0Decoder(1, hidden_channels, filter_channels, n_heads, n_layers, kernel_size,
                                        p_dropout, spk_channels=gin_channels)
        self.emb_uv = nn.Embedding(2, hidden_channels)

    # -- pieces ------------------------------------------------------------------------------------------------
    def speaker_embedding(self, g: torch.Tensor | None, batch: int = 1) -> torch.Tensor:
        """Speaker conditioning [B, gin, 1 or T] from: ids (int tensor [B] / [B, 1]); mix weights (float [N, S]:
        one row, or one row per frame, over speakers 0..S-1 — so-vits-svc's character mix); or an embedding
        (float [B, gin, 1 or T]). None means speaker 0."""
        if g is None:
            g = torch.zeros(batch, dtype=torch.long, device=self.emb_g.weight.device)
        if not torch.is_floating_point(g):
            return self.emb_g(g.reshape(-1, 1)).transpose(1, 2)
        if g.dim() == 2:
            n_spk = g.size(1)
            if n_spk > self.emb_g.num_embeddings:
                raise ValueError(f"mix weights for {n_spk} speakers, model has {self.emb_g.num_embeddings}")
            emb = torch.matmul(g.to(self.emb_g.weight.dtype), self.emb_g.weight[:n_spk])  # [N, gin]
            return emb.transpose(0, 1).unsqueeze(0)
        if g.dim() == 3 and g.size(1) == self.gin_channels:
            return g
        raise ValueError(f"speaker g: expected ids, [N, S] mix weights or [B, {self.gin_channels}, N], got "
                         f"{tuple(g.shape)}")

    def content_prenet(
        self, c: torch.Tensor, uv: torch.Tensor, x_mask: torch.Tensor, vol: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x = pre(c) * mask + emb_uv(uv) (+ emb_vol(vol)): c [B, ssl, T], uv [B, T], vol [B, T] -> [B, H, T]."""
        x = self.pre(c) * x_mask + self.emb_uv(uv.long()).transpose(1, 2)
        if vol is not None and self.vol_embedding:
            x = x + self.emb_vol(vol[:, :, None]).transpose(1, 2)
        return x

    def norm_lf0(self, f0: torch.Tensor, uv: torch.Tensor, x_mask: torch.Tensor, random_scale: bool) -> torch.Tensor:
        """Mean-removed scaled log-F0 [B, 1, T] fed to the F0 decoder (f0 Hz [B, T], uv [B, T])."""
        return normalize_f0(hz_to_lf0(f0.unsqueeze(1)), x_mask, uv, random_scale=random_scale)

    # -- training ----------------------------------------------------------------------------------------------
    def forward(
        self,
        c: torch.Tensor,
        f0: torch.Tensor,
        uv: torch.Tensor,
        spec: torch.Tensor,
        g: torch.Tensor | None = None,
        c_lengths: torch.Tensor | None = None,
        spec_lengths: torch.Tensor | None = None,
        vol: torch.Tensor | None = None,
    ) -> tuple[Any, ...]:
        """Training pass (so-vits-svc order): returns o [B, 1, segment*hop], ids_slice [B], spec_mask [B, 1, T],
        (z, z_p, m_p, logs_p, m_q, logs_q), pred_lf0, norm_lf0, lf0."""
        if self.enc_q is None:
            raise RuntimeError("this synthesizer was built without the posterior encoder (inference only)")
        b = c.size(0)
        if c_lengths is None:
            c_lengths = torch.full((b,), c.size(2), device=c.device)
        if spec_lengths is None:
            spec_lengths = torch.full((b,), spec.size(2), device=c.device)
        g = self.speaker_embedding(g, batch=b)
        x_mask = torch.unsqueeze(sequence_mask(c_lengths, c.size(2)), 1).to(c.dtype)
        x = self.content_prenet(c, uv, x_mask, vol)
        if self.use_automatic_f0_prediction:
            lf0 = hz_to_lf0(f0.unsqueeze(1))
            norm_lf0 = normalize_f0(lf0, x_mask, uv)
            pred_lf0 = self.f0_decoder(x, norm_lf0, x_mask, spk_emb=g)
        else:
            lf0 = norm_lf0 = pred_lf0 = 0
        _, m_p, logs_p, _ = self.enc_p(x, x_mask, f0=f0_to_coarse(f0))
        z, m_q, logs_q, spec_mask = self.enc_q(spec, spec_lengths, g=g)
        z_p = self.flow(z, spec_mask, g=g)
        z_slice, pitch_slice, ids_slice = _rand_slice_segments_with_pitch(z, f0, spec_lengths, self.segment_size)
        o = self.dec(z_slice, pitch_slice, g)
        return o, ids_slice, spec_mask, (z, z_p, m_p, logs_p, m_q, logs_q), pred_lf0, norm_lf0, lf0

    # -- inference ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def infer(
        self,
        c: torch.Tensor,
        f0: torch.Tensor,
        uv: torch.Tensor,
        g: torch.Tensor | None = None,
        noice_scale: float = 0.35,
        seed: int = 52468,
        predict_f0: bool = False,
        vol: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """so-vits-svc 4.1 ``infer``: c [B, ssl, T], f0 Hz [B, T], uv [B, T], g speaker (see
        :meth:`speaker_embedding`), vol [B, T] -> (audio [B, 1, T*hop], f0 used [B, T]).

        Random draws come from ``generator``, by default a fresh one on c's device seeded with ``seed``: the same
        draws in the same order as so-vits-svc after ``torch.manual_seed(seed)``, without touching torch's global
        RNG (a live thread and a training thread do not disturb each other)."""
        if generator is None:
            generator = torch.Generator(device=c.device).manual_seed(int(seed))
        g = self.speaker_embedding(g, batch=c.size(0))
        x_mask = torch.ones(c.size(0), 1, c.size(2), dtype=c.dtype, device=c.device)
        x = self.content_prenet(c, uv, x_mask, vol)
        if self.use_automatic_f0_prediction and predict_f0:
            norm_lf0 = self.norm_lf0(f0, uv, x_mask, random_scale=False)
            pred_lf0 = self.f0_decoder(x, norm_lf0, x_mask, spk_emb=g).to(f0)
            f0 = lf0_to_hz(pred_lf0).squeeze(1)
        z_p, _, _, c_mask = self.enc_p(x, x_mask, f0=f0_to_coarse(f0), noice_scale=noice_scale, generator=generator)
        z = self.flow(z_p, c_mask, g=g, reverse=True)
        o = self.dec(z * c_mask, f0, g, generator=generator)
        return o, f0

    # -- utilities ---------------------------------------------------------------------------------------------
    def remove_weight_norm(self) -> None:
        """Fold every weight norm (flow, posterior encoder, transformer flow, decoder) into plain weights."""
        skip: tuple[nn.Module, ...] = ()
        if hasattr(self.dec, "remove_weight_norm"):
            self.dec.remove_weight_norm()
            skip = (self.dec,)
        remove_all_weight_norm(self, skip=skip)

    def set_attention_impl(self, impl: str) -> None:
        """``"fast"`` (default, exact, linear memory) or ``"reference"`` (so-vits-svc's O(T^2) maths)."""
        set_attention_impl(self, impl)


def _rand_slice_segments_with_pitch(
    z: torch.Tensor, pitch: torch.Tensor, lengths: torch.Tensor, segment_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random training crops: z [B, C, T] -> [B, C, S], pitch [B, T] -> [B, S], start ids [B] (vectorised)."""
    b, d, _ = z.size()
    ids_str_max = lengths - segment_size + 1
    ids_str = (torch.rand([b]).to(device=z.device) * ids_str_max).to(dtype=torch.long)
    idx = ids_str.unsqueeze(1) + torch.arange(segment_size, device=z.device).unsqueeze(0)
    z_slice = torch.gather(z, 2, idx.unsqueeze(1).expand(b, d, segment_size))
    pitch_slice = torch.gather(pitch, 1, idx)
    return z_slice, pitch_slice, ids_str
