"""Legacy-layout weight normalisation (``weight_g`` / ``weight_v``) without the deprecated torch helper.

so-vits-svc checkpoints store weight-normalised layers the way ``torch.nn.utils.weight_norm`` lays them
out: the ``weight`` parameter is replaced by ``weight_g`` (norm, one value per slice along ``dim``) and
``weight_v`` (direction). That helper is deprecated in torch 2.x (it warns on every call), and the
parametrization replacement renames the keys, so this module re-implements the legacy layout: same
parameter names, same ``torch._weight_norm`` kernel, so a strict ``load_state_dict`` of so-vits-svc
tensors works and outputs are bit-identical to the legacy helper.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["weight_norm", "remove_weight_norm", "has_weight_norm"]


class _WeightNormHook:
    """Forward pre-hook recomputing ``module.weight`` from ``weight_g`` and ``weight_v``."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def compute(self, module: nn.Module) -> torch.Tensor:
        """Return g * v / ||v|| (norm over every dim except ``self.dim``)."""
        return torch._weight_norm(module.weight_v, module.weight_g, self.dim)

    def __call__(self, module: nn.Module, inputs: object) -> None:
        """Refresh the derived weight before each forward."""
        module.weight = self.compute(module)


class _DetachWeightHook:
    """Forward hook leaving a detached ``weight`` between calls, so the module can be deep-copied / pickled."""

    def __call__(self, module: nn.Module, inputs: object, output: object) -> None:
        """Drop the autograd history from the stored derived weight (the forward already used it)."""
        module.weight = module.weight.detach()


def _find_hook(module: nn.Module) -> tuple[int, _WeightNormHook] | None:
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, _WeightNormHook):
            return key, hook
    return None


def has_weight_norm(module: nn.Module) -> bool:
    """True when ``module`` currently carries the legacy weight-norm parametrisation."""
    return _find_hook(module) is not None


def weight_norm(module: nn.Module, dim: int = 0) -> nn.Module:
    """Split ``module.weight`` into ``weight_g`` and ``weight_v`` (legacy key layout); returns ``module``."""
    if has_weight_norm(module):
        raise ValueError(f"weight_norm: {type(module).__name__} already has weight norm")
    weight = module.weight
    if not isinstance(weight, nn.Parameter):
        raise ValueError(f"weight_norm: {type(module).__name__}.weight is not a parameter")
    del module._parameters["weight"]
    module.register_parameter("weight_g", nn.Parameter(torch.norm_except_dim(weight, 2, dim).data))
    module.register_parameter("weight_v", nn.Parameter(weight.data))
    hook = _WeightNormHook(dim)
    module.weight = hook.compute(module).detach()
    module.register_forward_pre_hook(hook)
    module.register_forward_hook(_DetachWeightHook())
    return module


def remove_weight_norm(module: nn.Module) -> nn.Module:
    """Fold ``weight_g``/``weight_v`` back into one ``weight`` parameter (for inference); returns ``module``."""
    found = _find_hook(module)
    if found is None:
        raise ValueError(f"remove_weight_norm: {type(module).__name__} has no weight norm")
    key, hook = found
    with torch.no_grad():
        weight = hook.compute(module).detach().clone()
    del module._forward_pre_hooks[key]
    for post_key in [k for k, h in module._forward_hooks.items() if isinstance(h, _DetachWeightHook)]:
        del module._forward_hooks[post_key]
    del module._parameters["weight_g"]
    del module._parameters["weight_v"]
    if "weight" in module.__dict__:
        del module.__dict__["weight"]
    module.weight = nn.Parameter(weight)
    return module
