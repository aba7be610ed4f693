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
    f0_mel = 1127.0 * torch.log(1.0 + f0 / 700.0)
    a = (F0_BIN - 2) / (F0_MEL_MAX - F0_MEL_MIN)
    b = F0_MEL_MIN * a - 1.0
    f0_mel = torch.where(f0_mel > 0, f0_mel * a - b, f0_mel)
    coarse = torch.round(f0_mel).long()
    coarse = coarse * (coarse > 0)
    coarse = coarse + (coarse < 1).long()
    coarse = coarse * (coarse < F0_BIN)
    coarse = coarse + (coarse >= F0_BIN).long() * (F0_BIN - 1)
    return coarse
