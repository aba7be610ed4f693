"""The synthesizer reproduces so-vits-svc 4.1's own outputs (shared/fixtures/sovits41) for every variant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from svc_core.models.pitch import f0_to_coarse
from svc_core.models.synthesizer import SynthesizerTrn
from svc_core.voices import load_voice
from tests.support import SOVITS41_VARIANTS

TOL = 1e-4


def _err(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a - b).abs().max())


def _check_all_stages(net: SynthesizerTrn, ref: dict, with_decoder: bool = True,
                      with_infer: bool = True) -> dict[str, float]:
    c, f0, uv = ref["c"], ref["f0"], ref["uv"]
    t = c.size(2)
    mask = torch.ones(1, 1, t)
    errs: dict[str, float] = {}
    with torch.inference_mode():
        errs["g"] = _err(net.speaker_embedding(ref["sid"]), ref["g"])
        errs["x_pre"] = _err(net.content_prenet(c, uv, mask, ref.get("vol")), ref["x_pre"])
        errs["f0_coarse"] = _err(f0_to_coarse(f0).float(), ref["f0_coarse"].float())
        _, m_p, logs_p, _ = net.enc_p(ref["x_pre"], mask, f0=f0_to_coarse(f0), noice_scale=0)
        errs["m_p"] = _err(m_p, ref["m_p"])
        errs["logs_p"] = _err(logs_p, ref["logs_p"])
        errs["flow_rev"] = _err(net.flow(ref["flow_in"], mask, g=ref["g"], reverse=True), ref["flow_rev_out"])
        errs["flow_fwd"] = _err(net.flow(ref["flow_in"], mask, g=ref["g"], reverse=False), ref["flow_fwd_out"])
        if "f0_decoder_out" in ref:
            norm_lf0 = net.norm_lf0(f0, uv, mask, random_scale=False)
            out = net.f0_decoder(ref["x_pre"], norm_lf0, mask, spk_emb=ref["g"])
            errs["f0_decoder"] = _err(out, ref["f0_decoder_out"])
        if not with_decoder:
            return errs
        torch.manual_seed(1234)
        errs["dec"] = _err(net.dec(ref["flow_rev_out"], f0, ref["g"]), ref["dec_out"])
        if not with_infer:
            return errs
        o, _ = net.infer(c, f0, uv, g=ref["sid"], noice_scale=float(ref["infer_noise_scale"]),
                         seed=int(ref["infer_seed"]), vol=ref.get("vol"))
        errs["infer"] = _err(o, ref["infer_out"])
    return errs


@pytest.mark.parametrize("variant", SOVITS41_VARIANTS)
def test_load_voice_matches_sovits_reference(fixtures_dir: Path, variant: str) -> None:
    folder = fixtures_dir / "sovits41" / variant
    ref = torch.load(folder / "reference.pt", map_location="cpu", weights_only=True)
    voice = load_voice(folder, device="cpu")
    assert not any(n.endswith("weight_g") for n, _ in voice.model.named_parameters())  # weight norm removed
    assert voice.has_f0_decoder == ("f0_decoder_out" in ref)
    assert voice.vol_embedding == ("vol" in ref)
    errs = _check_all_stages(voice.model, ref, with_infer=False)
    assert max(errs.values()) < TOL, errs
    # the public synthesize() path (SynthesizerTrn.infer) gives the same audio as so-vits-svc's infer()
    vol = ref["vol"][0] if "vol" in ref else None
    audio = voice.synthesize(ref["c"][0], ref["f0"][0], ref["uv"][0], int(ref["sid"][0]), vol=vol,
                             noise_scale=float(ref["infer_noise_scale"]), seed=int(ref["infer_seed"]))
    assert audio.shape == (ref["c"].size(2) * voice.hop_length,)
    assert _err(audio, ref["infer_out"][0, 0]) < TOL


@pytest.mark.parametrize("variant", SOVITS41_VARIANTS)
def test_weight_norm_kept_and_reference_attention_match(fixtures_dir: Path, variant: str) -> None:
    """Built directly (weight norm kept, enc_q included), both attention implementations match the fixtures."""
    folder = fixtures_dir / "sovits41" / variant
    cfg = json.loads((folder / "config.json").read_text())
    ref = torch.load(folder / "reference.pt", map_location="cpu", weights_only=True)
    sd = torch.load(folder / "G_1234.pth", map_location="cpu", weights_only=True)["model"]
    net = SynthesizerTrn(cfg["data"]["filter_length"] // 2 + 1, 20, **cfg["model"])
    net.load_state_dict(sd, strict=True)
    net.eval()
    assert any(n.endswith("weight_g") for n, _ in net.named_parameters())
    errs = _check_all_stages(net, ref)
    assert max(errs.values()) < TOL, errs
    net.set_attention_impl("reference")  # so-vits-svc's own O(T^2) attention maths
    errs = _check_all_stages(net, ref, with_decoder=False)
    assert max(errs.values()) < TOL, errs
