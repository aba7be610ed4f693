"""Frame features shared by conversion, the live engine and training: content stretched to the model's frame
rate, and so-vits-svc's per-frame volume (numpy; torch imported only by :func:`stretch_units`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from svc_core.errors import SvcError

if TYPE_CHECKING:
    import torch

__all__ = ["fit_length", "stretch_units", "volume_frames"]


def stretch_units(c: torch.Tensor, n_frames: int, mode: str = "nearest") -> torch.Tensor:
    """Stretch content [D, T_c] to [D, n_frames] like so-vits-svc's ``repeat_expand_2d``.

    "left" reproduces ``repeat_expand_2d_left`` (vectorised); any other mode is ``F.interpolate(mode=...)``.
    """
    import torch
    import torch.nn.functional as F

    src = int(c.shape[-1])
    if src == 0:
        raise SvcError("no content frames to stretch")
    if mode == "left":
        # temp[k] = k * target / src (float32 as upstream); the upstream loop advances by at most one source frame
        # per target frame, so pos(i) = min(i, #{k >= 1: temp[k] <= i}).
        temp = (torch.arange(src + 1) * n_frames).to(torch.float32) / src
        i = torch.arange(n_frames, dtype=torch.float32)
        count = torch.searchsorted(temp[1:].contiguous(), i, right=True)
        pos = torch.minimum(torch.arange(n_frames), count).clamp_(max=src - 1)
        return c[:, pos.to(c.device)]
    kwargs = {"align_corners": False} if mode in ("linear", "bilinear", "bicubic", "trilinear") else {}
    return F.interpolate(c[None].float(), size=n_frames, mode=mode, **kwargs)[0]


def volume_frames(x: np.ndarray, hop: int, n_frames: int) -> np.ndarray:
    """so-vits-svc's Volume_Extractor: RMS over ``hop`` samples centred on every t*hop (reflect padded) [n_frames]."""
    a2 = np.asarray(x, np.float64) ** 2
    if a2.shape[0] == 0:
        return np.zeros(n_frames, np.float32)
    left = hop // 2
    right = max((hop + 1) // 2, n_frames * hop - left - a2.shape[0])
    mode = "reflect" if a2.shape[0] > 1 else "edge"
    padded = np.pad(a2, (left, right), mode=mode)[: n_frames * hop]
    return np.sqrt(padded.reshape(n_frames, hop).mean(axis=1)).astype(np.float32)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad the last axis to n."""
    m = x.shape[-1]
    if m == n:
        return x
    if m > n:
        return x[..., :n]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - m)]
    return np.pad(x, pad)
