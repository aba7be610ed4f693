"""Normalising flows of the so-vits-svc 4.1 synthesizer: residual-coupling block (optionally one WN shared by every
coupling layer, optionally depthwise-separable convs) and the VITS2-style transformer-coupling block.

Port of so-vits-svc 4.1-Stable ``models.py`` (ResidualCouplingBlock, TransformerCouplingBlock) and
``modules/modules.py`` (TransformerCouplingLayer) (svc-develop-team/so-vits-svc, AGPL-3.0; VITS/VITS2 lineage, MIT).
Same parameter names (``flow.flows.N.*``, ``flow.wn.*``) and arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from svc_core.models.attentions import FFT
from svc_core.models.modules import WN, AffineCoupling, Flip, ResidualCouplingLayer

__all__ = ["ResidualCouplingBlock", "TransformerCouplingBlock", "TransformerCouplingLayer"]


class _CouplingStack(nn.Module):
    """Alternating coupling layers and channel flips, run forwards (training) or in reverse (inference).

    ``make_layer(shared)`` builds one coupling layer; ``shared`` is the conditioner every layer uses when
    parameters are shared (so-vits ``flow_share_parameter``, stored as ``wn``), else None.
    """

    def __init__(
        self, channels: int, n_flows: int, shared: nn.Module | None, make_layer: Callable[[nn.Module | None], nn.Module]
    ) -> None:
        super().__init__()
        self.channels = channels
        self.n_flows = n_flows
        self.flows = nn.ModuleList()
        self.wn = shared
        for _ in range(n_flows):
            self.flows.append(make_layer(shared))
            self.flows.append(Flip())

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = False
    ) -> torch.Tensor:
        """x [B, C, T], x_mask [B, 1, T], g [B, gin, 1 or T] -> [B, C, T]."""
        if not reverse:
            for flow in self.flows:
                x, _ = flow(x, x_mask, g=g, reverse=False)
        else:
            for flow in reversed(self.flows):
                x = flow(x, x_mask, g=g, reverse=True)
        return x


class ResidualCouplingBlock(_CouplingStack):
    """``n_flows`` mean-only residual coupling layers (each followed by a Flip); ``share_parameter`` uses one WN."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        n_flows: int = 4,
        gin_channels: int = 0,
        share_parameter: bool = False,
        use_depthwise_conv: bool = False,
    ) -> None:
        shared = (
            WN(hidden_channels, kernel_size, dilation_rate, n_layers, p_dropout=0, gin_channels=gin_channels,
               use_depthwise_conv=use_depthwise_conv)
            if share_parameter
            else None
        )
        super().__init__(
            channels, n_flows, shared,
            lambda wn: ResidualCouplingLayer(channels, hidden_channels, kernel_size, dilation_rate, n_layers,
                                             gin_channels=gin_channels, mean_only=True, wn_sharing_parameter=wn,
                                             use_depthwise_conv=use_depthwise_conv),
        )


class TransformerCouplingLayer(AffineCoupling):
    """Affine coupling whose conditioner is a speaker-conditioned causal transformer (``FFT`` with ``isflow``)."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        n_layers: int,
        n_heads: int,
        p_dropout: float = 0.0,
        filter_channels: int = 0,
        mean_only: bool = False,
        wn_sharing_parameter: nn.Module | None = None,
        gin_channels: int = 0,
    ) -> None:
        enc = wn_sharing_parameter if wn_sharing_parameter is not None else FFT(
            hidden_channels, filter_channels, n_heads, n_layers, kernel_size, p_dropout, isflow=True,
            gin_channels=gin_channels,
        )
        super().__init__(channels, hidden_channels, enc, mean_only)


class TransformerCouplingBlock(_CouplingStack):
    """``n_flows`` mean-only transformer coupling layers with Flips (``use_transformer_flow``)."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        n_flows: int = 4,
        gin_channels: int = 0,
        share_parameter: bool = False,
    ) -> None:
        shared = (
            FFT(hidden_channels, filter_channels, n_heads, n_layers, kernel_size, p_dropout, isflow=True,
                gin_channels=gin_channels)
            if share_parameter
            else None
        )
        super().__init__(
            channels, n_flows, shared,
            lambda wn: TransformerCouplingLayer(channels, hidden_channels, kernel_size, n_layers, n_heads, p_dropout,
                                                filter_channels, mean_only=True, wn_sharing_parameter=wn,
                                                gin_channels=gin_channels),
        )
