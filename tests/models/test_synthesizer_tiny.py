"""Tiny random SynthesizerTrn: training pass, inference shapes, weight-norm removal, speaker mixing, seeds."""

from __future__ import annotations

import pytest
import torch
from synth_tiny import build_tiny, tiny_inputs

VARIANTS = {
    "residual": {},
    "transformer_shared": {"use_transformer_flow": True, "flow_share_parameter": True},
    "depthwise_shared_vol_snake": {
        "use_depthwise_conv": True, "flow_share_parameter": True, "vol_embedding": True,
        "vocoder_name": "nsf-snake-hifigan", "use_automatic_f0_prediction": False,
    },
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_training_forward_backward(variant: str) -> None:
    net = build_tiny(**VARIANTS[variant])
    net.train()
    b, t, seg, spec_ch = 2, 19, 4, 17
    x = tiny_inputs(t=t, b=b)
    spec = torch.randn(b, spec_ch, t).abs()
    lengths = torch.tensor([t, t - 5])
    o, ids, spec_mask, (z, z_p, m_p, logs_p, m_q, logs_q), pred_lf0, norm_lf0, lf0 = net(
        x["c"], x["f0"], x["uv"], spec, g=torch.tensor([[0], [2]]), c_lengths=lengths, spec_lengths=lengths,
        vol=x["vol"],
    )
    assert o.shape == (b, 1, seg * net.hop_length)
    assert ids.shape == (b,) and bool((ids >= 0).all()) and bool((ids + seg <= lengths).all())
    assert spec_mask.shape == (b, 1, t) and float(spec_mask[1, 0, t - 5:].abs().sum()) == 0
    for y in (z, z_p, m_p, logs_p, m_q, logs_q):
        assert y.shape == (b, 8, t) and bool(torch.isfinite(y).all())
    if net.use_automatic_f0_prediction:
        assert pred_lf0.shape == norm_lf0.shape == lf0.shape == (b, 1, t)
    loss = o.square().mean() + (z_p - m_p).square().mean() + logs_q.mean()
    if net.use_automatic_f0_prediction:
        loss = loss + (pred_lf0 - lf0).square().mean()
    loss.backward()
    grads = {n: p.grad for n, p in net.named_parameters() if p.requires_grad}
    assert all(g is None or bool(torch.isfinite(g).all()) for g in grads.values())
    for prefix in ("pre.", "enc_p.", "enc_q.", "flow.", "dec.", "emb_g."):
        assert any(g is not None and float(g.abs().sum()) > 0 for n, g in grads.items() if n.startswith(prefix)), prefix


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_infer_length_and_weight_norm_removal(variant: str) -> None:
    net = build_tiny(**VARIANTS[variant]).eval()
    x = tiny_inputs(t=23)
    sid = torch.tensor([1])
    o1, f0_used = net.infer(x["c"], x["f0"], x["uv"], g=sid, vol=x["vol"])
    assert o1.shape == (1, 1, 23 * net.hop_length)
    assert torch.equal(f0_used, x["f0"]) and bool(torch.isfinite(o1).all())
    net.remove_weight_norm()
    assert not any(n.endswith(("weight_g", "weight_v")) for n, _ in net.named_parameters())
    o2, _ = net.infer(x["c"], x["f0"], x["uv"], g=sid, vol=x["vol"])
    assert float((o1 - o2).abs().max()) < 1e-5


def test_seed_and_noise_scale() -> None:
    net = build_tiny().eval()
    x = tiny_inputs()
    a, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([0]), seed=7)
    b, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([0]), seed=7)
    c, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([0]), seed=8)
    assert torch.equal(a, b)
    assert float((a - c).abs().max()) > 1e-4


def test_speaker_mix() -> None:
    net = build_tiny().eval()
    x = tiny_inputs(t=17)
    t = 17
    single, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([2]))
    one_hot = torch.tensor([[0.0, 0.0, 1.0]])
    mixed, _ = net.infer(x["c"], x["f0"], x["uv"], g=one_hot)
    assert float((single - mixed).abs().max()) < 1e-6
    half = torch.tensor([[0.5, 0.5, 0.0]])
    emb = 0.5 * (net.emb_g.weight[0] + net.emb_g.weight[1])
    a, _ = net.infer(x["c"], x["f0"], x["uv"], g=half)
    b, _ = net.infer(x["c"], x["f0"], x["uv"], g=emb.view(1, -1, 1))
    assert float((a - b).abs().max()) < 1e-5
    other, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([0]))
    assert float((a - other).abs().max()) > 1e-5
    # a per-frame mix that switches speaker half-way: the first frames' conditioning is speaker 0
    w = torch.zeros(t, 3)
    w[: t // 2, 0] = 1
    w[t // 2 :, 1] = 1
    g = net.speaker_embedding(w)
    assert g.shape == (1, 8, t)
    assert torch.allclose(g[0, :, 0], net.emb_g.weight[0]) and torch.allclose(g[0, :, -1], net.emb_g.weight[1])
    with pytest.raises(ValueError, match="speakers"):
        net.speaker_embedding(torch.ones(1, 5))


def test_predict_f0_and_reference_attention_infer() -> None:
    net = build_tiny().eval()
    x = tiny_inputs(t=29)
    o, f0_pred = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([0]), predict_f0=True)
    assert f0_pred.shape == x["f0"].shape and bool(torch.isfinite(f0_pred).all())
    assert not torch.equal(f0_pred, x["f0"])
    fast, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([0]))
    net.set_attention_impl("reference")
    ref, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([0]))
    assert float((fast - ref).abs().max()) < 1e-5


def test_inference_only_model_has_no_posterior_encoder() -> None:
    net = build_tiny(posterior_encoder=False)
    assert not any(k.startswith("enc_q.") for k in net.state_dict())
    x = tiny_inputs(t=9)
    with pytest.raises(RuntimeError, match="posterior encoder"):
        net(x["c"], x["f0"], x["uv"], torch.randn(1, 17, 9))


def test_per_frame_speaker_mix() -> None:
    """so-vits-svc's character mix: one weight row per frame; one-hot rows equal the single speaker."""
    net = build_tiny().eval()
    t = 17
    x = tiny_inputs(t=t)
    one_hot = torch.tensor([[0.0, 0.0, 1.0]]).repeat(t, 1)
    g_single = net.speaker_embedding(torch.tensor([2]))
    g_frames = net.speaker_embedding(one_hot)
    assert g_frames.shape == (1, 8, t)
    mask = torch.ones(1, 1, t)
    z = torch.randn(1, 8, t)
    with torch.inference_mode():
        a = net.flow(z, mask, g=g_single, reverse=True)
        b = net.flow(z, mask, g=g_frames, reverse=True)
        f_a = net.f0_decoder(torch.randn(1, 16, t), torch.zeros(1, 1, t), mask, spk_emb=g_single)
        f_b = net.f0_decoder(torch.randn(1, 16, t), torch.zeros(1, 1, t), mask, spk_emb=g_frames)
    assert float((a - b).abs().max()) < 1e-6
    assert f_a.shape == f_b.shape
    single, _ = net.infer(x["c"], x["f0"], x["uv"], g=torch.tensor([2]))
    per_frame, _ = net.infer(x["c"], x["f0"], x["uv"], g=one_hot)
    assert float((single - per_frame).abs().max()) < 1e-6
    switch = torch.zeros(t, 3)
    switch[: t // 2, 0] = 1
    switch[t // 2 :, 2] = 1
    switched, _ = net.infer(x["c"], x["f0"], x["uv"], g=switch)
    assert float((switched - per_frame).abs().max()) > 1e-5


def test_deepcopy_with_weight_norm_after_training_step() -> None:
    """Weight-normalised modules can be deep-copied (e.g. for EMA / checkpoint averaging) after a backward pass."""
    import copy

    net = build_tiny(flow_share_parameter=True)
    x = tiny_inputs(t=11)
    net(x["c"], x["f0"], x["uv"], torch.randn(1, 17, 11).abs())[0].sum().backward()
    twin = copy.deepcopy(net).eval()
    net.eval()
    a, _ = net.infer(x["c"], x["f0"], x["uv"])
    b, _ = twin.infer(x["c"], x["f0"], x["uv"])
    assert torch.equal(a, b)
