"""Our WavLM loaded from Microsoft-format checkpoints reproduces the reference implementation's outputs."""

from __future__ import annotations

import pytest
import torch

from tests.support import WAVLM_FIXTURES
from vencoder.registry import load_encoder
from vencoder.ssl.load import load_ssl


@pytest.mark.parametrize("variant", WAVLM_FIXTURES)
def test_matches_reference_outputs(wavlm_fixture, variant: str) -> None:
    path, ref = wavlm_fixture(variant)
    loaded = load_ssl(path)
    assert loaded.kind == "wavlm"
    model = loaded.model
    assert not model.training
    with torch.inference_mode():
        full = model(ref["wav"], return_hidden=True)
        two = model(ref["wav"], 2)
    torch.testing.assert_close(full.last, ref["last_hidden"], atol=1e-4, rtol=0)
    assert len(full.hidden) == len(ref["layer_results"]) == 4
    for ours, theirs in zip(full.hidden, ref["layer_results"], strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)
    torch.testing.assert_close(two.last, ref["output_layer_2"], atol=1e-4, rtol=0)


def test_config_read_from_checkpoint(wavlm_fixture) -> None:
    cfg = load_ssl(wavlm_fixture("wavlm_tiny_large_style")[0]).model.cfg
    assert (cfg.extractor_mode, cfg.layer_norm_first, cfg.normalize) == ("layer_norm", True, True)
    assert (cfg.num_buckets, cfg.max_distance, cfg.gru_rel_pos) == (320, 800, True)
    assert cfg.conv_layers == [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2
    assert (cfg.hop, cfg.receptive_field) == (320, 400)


@pytest.mark.parametrize("variant", WAVLM_FIXTURES)
def test_wavlmbase_plus_encoder_is_last_layer(wavlm_fixture, variant: str) -> None:
    path, ref = wavlm_fixture(variant)
    enc = load_encoder("wavlmbase+", path, "cpu")
    assert (enc.sample_rate, enc.hop, enc.dim, enc.name) == (16000, 320, 64, "wavlmbase+")
    out = enc.encode(ref["wav"][0])
    assert out.shape == (enc.num_frames(32000), 64) == (99, 64)
    torch.testing.assert_close(out, ref["last_hidden"][0], atol=1e-4, rtol=0)


@pytest.mark.parametrize("fused", [True, False])
def test_both_conv_paths_match_reference(wavlm_fixture, monkeypatch, fused: bool) -> None:
    """The oneDNN fused conv + GELU path and the plain conv1d path each reproduce the reference."""
    import vencoder.ssl.model as ssl_model

    if fused and not ssl_model.fused_conv_gelu_available():
        pytest.skip("this torch build has no working oneDNN fused conv op")
    monkeypatch.setattr(ssl_model, "impl", "fast" if fused else "reference")
    path, ref = wavlm_fixture("wavlm_tiny_base_plus")
    model = load_ssl(path).model
    with torch.inference_mode():
        out = model(ref["wav"], return_hidden=True)
    torch.testing.assert_close(out.last, ref["last_hidden"], atol=1e-4, rtol=0)
    torch.testing.assert_close(out.hidden[0], ref["layer_results"][0], atol=1e-4, rtol=0)


def test_grad_path_matches_inference_and_backpropagates(wavlm_fixture) -> None:
    """With autograd on (no fused ops, no shared mask buffer) the output is the same and gradients flow."""
    path, ref = wavlm_fixture("wavlm_tiny_base_plus")
    model = load_ssl(path).model
    wav = ref["wav"].clone().requires_grad_(True)
    out = model(wav).last
    torch.testing.assert_close(out.detach(), ref["last_hidden"], atol=1e-4, rtol=0)
    out.square().mean().backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all() and wav.grad.abs().sum() > 0


def test_closed_form_group_norm_stats_equal_direct_reduction(wavlm_fixture) -> None:
    """Conv-0 channel mean/variance from the frame covariance equal a direct reduction over conv 0's output."""
    model = load_ssl(wavlm_fixture("wavlm_tiny_base_plus")[0]).model
    fe = model.feature_extractor
    wav = torch.randn(2, 48_000, generator=torch.Generator().manual_seed(3)) * 0.3 + 0.05  # with a DC offset
    with torch.inference_mode():
        y = torch.nn.functional.conv1d(wav[:, None], fe.convs[0].weight, fe.convs[0].bias, stride=5).double()
        mean, var = fe.first_conv_stats(wav, block=7_000)  # several blocks
    torch.testing.assert_close(mean.double(), y.mean(2, keepdim=True), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(var.double(), y.var(2, unbiased=False, keepdim=True), atol=1e-6, rtol=1e-5)
