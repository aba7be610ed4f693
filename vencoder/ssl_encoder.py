"""ContentEncoder over an SSL transformer (WavLM, ContentVec/HuBERT, HuBERT-Soft): one layer's output,
optionally followed by a linear projection (ContentVec ``final_proj``, HuBERT-Soft ``proj``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vencoder.base import ContentEncoder
from vencoder.ssl.model import SSLModel

__all__ = ["SSLContentEncoder"]


@dataclass
class _State:
    wav: torch.Tensor  # [1, T_wav + 2 * pad], normalised and padded
    stats: tuple[torch.Tensor, torch.Tensor] | None
    chunked: bool


class SSLContentEncoder(ContentEncoder):
    """Frame features from ``model``: output of ``layer`` (None = all layers + final norm), then ``proj``."""

    def __init__(
        self,
        model: SSLModel,
        *,
        name: str,
        layer: int | None,
        proj: nn.Linear | None = None,
        pad: int = 0,
    ) -> None:
        super().__init__()
        n = len(model.layers)
        if layer is not None and not 1 <= layer <= n:
            raise ValueError(f"{name}: needs layer {layer} but the model has {n} layers")
        self.model = model.eval()
        self.proj = proj
        self.layer = layer
        self.name = name
        self.pad = pad
        self.hop = model.cfg.hop
        self.receptive_field = model.cfg.receptive_field
        self.dim = proj.out_features if proj is not None else model.cfg.encoder_embed_dim

    def _prepare(self, wav: torch.Tensor, chunked: bool) -> _State:
        w = self.model.normalize_wave(wav[None])
        if self.pad:
            w = F.pad(w, (self.pad, self.pad))
        stats = None
        if chunked and self.model.cfg.extractor_mode == "default":
            stats = self.model.feature_extractor.first_conv_stats(w)
        return _State(w, stats, chunked)

    def _run(self, state: _State, start: int, stop: int) -> torch.Tensor:
        if state.chunked:
            seg = state.wav[:, start * self.hop : (stop - 1) * self.hop + self.receptive_field]
        else:  # whole signal, like the reference: trailing samples count in the GroupNorm statistics
            seg = state.wav
        y = self.model(seg, self.layer, first_stats=state.stats, normalized=True).last
        if self.proj is not None:
            y = self.proj(y)
        return y[0]

    def forward(self, wav_16k: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`encode`: [T_wav] -> [T, dim]."""
        return self.encode(wav_16k)
