"""``infer`` draws from its own generator: torch's global RNG is left alone, a seed reproduces so-vits-svc's
``torch.manual_seed(seed)`` draws, and a passed generator is used."""

from __future__ import annotations

import torch
from synth_tiny import build_tiny, tiny_inputs


def _infer(net, x, **kw):
    with torch.inference_mode():
        return net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([1]), **kw)[0]


def test_infer_leaves_global_rng_alone_and_matches_manual_seed() -> None:
    net = build_tiny().eval()
    x = tiny_inputs()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    ours = _infer(net, x, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    g = torch.Generator().manual_seed(7)  # what so-vits-svc's torch.manual_seed(7) gives the default generator
    assert torch.equal(_infer(net, x, generator=g), ours)
    assert not torch.equal(_infer(net, x, seed=8), ours)


def test_passed_generator_advances_and_repeats() -> None:
    net = build_tiny().eval()
    x = tiny_inputs()
    g = torch.Generator().manual_seed(5)
    first, second = _infer(net, x, generator=g), _infer(net, x, generator=g)
    assert not torch.equal(first, second)  # the generator moved on
    g.manual_seed(5)
    assert torch.equal(_infer(net, x, generator=g), first)
