"""Tiny random-weight synthesizer configs for fast tests (imported by the tests in this folder)."""

from __future__ import annotations

from typing import Any

import torch

from svc_core.models.synthesizer import SynthesizerTrn


def tiny_kwargs(**over: Any) -> dict[str, Any]:
    """A tiny so-vits-svc 4.1 model section (hop 16)."""
    kw: dict[str, Any] = dict(
        inter_channels=8, hidden_channels=16, filter_channels=32, n_heads=2, n_layers=2, kernel_size=3,
        p_dropout=0.1, resblock="1", resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3, 5]],
        upsample_rates=[4, 4], upsample_initial_channel=16, upsample_kernel_sizes=[8, 8], gin_channels=8,
        ssl_dim=12, n_speakers=3, n_flow_layer=2, n_layers_trans_flow=2,
    )
    kw.update(over)
    return kw


def build_tiny(seed: int = 0, spec_channels: int = 17, segment_size: int = 4, **over: Any) -> SynthesizerTrn:
    """A tiny synthesizer with random weights (flow couplings perturbed so the flow is not the identity)."""
    torch.manual_seed(seed)
    net = SynthesizerTrn(spec_channels, segment_size, **tiny_kwargs(**over))
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.startswith("flow.") and ".post." in name:
                p.normal_(0, 0.1)
    return net


def tiny_inputs(t: int = 23, b: int = 1, seed: int = 1, ssl_dim: int = 12) -> dict[str, torch.Tensor]:
    """Random content, a voiced/unvoiced F0 contour (Hz), uv and volume for ``t`` frames."""
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(b, ssl_dim, t, generator=g)
    f0 = 150 + 100 * torch.rand(b, t, generator=g)
    uv = (torch.rand(b, t, generator=g) > 0.2).float()
    f0 = f0 * uv
    vol = torch.rand(b, t, generator=g)
    return {"c": c, "f0": f0, "uv": uv, "vol": vol}
