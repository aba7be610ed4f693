"""The vocoders reproduce so-vits-svc 4.1's decoder output on the reference fixtures (random weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.support import SOVITS41_VARIANTS
from vdecoder.registry import VOCODER_NAMES, build_vocoder
from vencoder.safe_load import load_torch_file

GEN_KEYS = (
    "inter_channels",
    "resblock",
    "resblock_kernel_sizes",
    "resblock_dilation_sizes",
    "upsample_rates",
    "upsample_initial_channel",
    "upsample_kernel_sizes",
    "gin_channels",
)


def _load(variant_dir: Path) -> tuple[torch.nn.Module, dict[str, torch.Tensor], dict]:
    model_cfg = json.loads((variant_dir / "config.json").read_text())["model"]
    voc = build_vocoder(
        model_cfg.get("vocoder_name", "nsf-hifigan"),
        sampling_rate=model_cfg.get("sampling_rate", 44100),  # so-vits-svc 4.1 ignores data.sampling_rate here
        use_depthwise_conv=model_cfg.get("use_depthwise_conv", False),
        **{k: model_cfg[k] for k in GEN_KEYS},
    )
    state = load_torch_file(variant_dir / "G_1234.pth")["model"]
    dec = {k.removeprefix("dec."): v for k, v in state.items() if k.startswith("dec.")}
    voc.load_state_dict(dec, strict=True)
    ref = torch.load(variant_dir / "reference.pt", map_location="cpu", weights_only=True)
    return voc.eval(), ref, model_cfg


@pytest.mark.parametrize("variant", SOVITS41_VARIANTS)
def test_decoder_matches_reference(fixtures_dir: Path, variant: str) -> None:
    voc, ref, cfg = _load(fixtures_dir / "sovits41" / variant)
    assert cfg.get("vocoder_name", "nsf-hifigan") in VOCODER_NAMES
    assert voc.hop_length == 512
    x, f0, g = ref["flow_rev_out"], ref["f0"], ref["g"]

    torch.manual_seed(1234)
    with torch.no_grad():
        out = voc(x, f0, g)
    assert out.shape == ref["dec_out"].shape == (1, 1, x.shape[-1] * 512)
    assert (out - ref["dec_out"]).abs().max().item() < 1e-4

    # random draws in so-vits-svc's order: rand(B, 9) phases, randn sine noise, randn noise branch
    after = torch.get_rng_state()
    torch.manual_seed(1234)
    torch.rand(1, 9)
    torch.randn(1, out.shape[-1], 9)
    torch.randn(1, out.shape[-1], 1)
    assert torch.equal(after, torch.get_rng_state())

    voc.remove_weight_norm()
    assert not any(k.endswith(("weight_g", "weight_v")) for k in voc.state_dict())
    torch.manual_seed(1234)
    with torch.inference_mode():
        out_folded = voc(x, f0, g)
    assert (out_folded - ref["dec_out"]).abs().max().item() < 1e-4
    assert (out_folded - out).abs().max().item() < 1e-5


def test_depthwise_flag_does_not_change_decoder_keys(fixtures_dir: Path) -> None:
    """so-vits-svc's generator ignores use_depthwise_conv: the flowshare fixture (flag on) has plain dec keys."""
    voc, _, cfg = _load(fixtures_dir / "sovits41" / "tiny_44k_vec256_flowshare")
    assert cfg["use_depthwise_conv"] is True
    assert not any("depth_conv" in k or "point_conv" in k for k in voc.state_dict())
