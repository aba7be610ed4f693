"""Our WavLM loaded from Microsoft-format checkpoints reproduces the reference implementation's outputs."""

from __future__ import annotations

import pytest
import torch

from tests.vencoder.conftest import WAVLM_FIXTURES
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
