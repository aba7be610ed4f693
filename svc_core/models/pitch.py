"""F0 quantisation used by the synthesizer's pitch embedding. Port of so-vits-svc 4.1 ``utils.f0_to_coarse``
(svc-develop-team/so-vits-svc, AGPL-3.0 / MIT-licensed parts; re-implemented, same arithmetic)."""

from __future__ import annotations

import math

import torch

F0_BIN = 256
F0_MIN = 50.0
F0_MAX = 1100.0
F0_MEL_MIN = 1127.0 * math.log(1.0 + F0_MIN / 700.0)
F0_MEL_MAX = 1127.0 * math.log(1.0 + F0_MAX / 700.0)


def f0_to_coarse(f0: torch.Tensor) -> torch.Tensor:
    """Map F0 in Hz [..., T] to 256 mel-spaced bins (1..255; 1 = unvoiced/below 50 Hz), like so-vits-svc."""
    f0_mel = 1127.0 * torch.log1p(f0.float() / 700.0)
    scaled = (f0_mel - F0_MEL_MIN) * (F0_BIN - 2) / (F0_MEL_MAX - F0_MEL_MIN) + 1.0
    f0_mel = torch.where(f0_mel > 0, scaled, f0_mel).clamp(1.0, F0_BIN - 1.0)
    return torch.floor(f0_mel + 0.5).long()
