"""The channels-last NSF-HiFiGAN inference path equals the module-by-module (so-vits-svc layout) path."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vdecoder.nsf_hifigan.generator as nsf_generator
from tests.support import tiny_vocoder
from vdecoder.channels_last import as_cl4, conv1d_cl4, conv_transpose1d_cl, frames_conv_cl, from_cl4
from vdecoder.registry import build_vocoder


def _vocoder(name: str, resblock: str) -> nn.Module:
    voc = tiny_vocoder(name, resblock, resblock_kernel_sizes=[3, 7]).eval()
    with torch.no_grad():  # make the biases matter (they start at zero)
        for p in voc.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.1)
    return voc


def _run(voc: nn.Module, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
    torch.manual_seed(7)  # same noise draws in both paths
    with torch.inference_mode():
        return voc(x, f0, g)


@pytest.mark.parametrize("resblock", ["1", "2"])
def test_channels_last_path_equals_module_path(resblock: str, monkeypatch: pytest.MonkeyPatch) -> None:
    voc = _vocoder("nsf-hifigan", resblock)
    voc.remove_weight_norm()
    x = torch.randn(2, 16, 23)
    f0 = torch.rand(2, 23) * 400 + 80
    f0[:, 5:9] = 0
    g = torch.randn(2, 8, 1)
    with torch.inference_mode():
        assert voc.channels_last_inference(x)
    fast = [_run(voc, x, f0, g), _run(voc, x[:1], f0[:1], None)]
    monkeypatch.setattr(nsf_generator, "impl", "reference")
    with torch.inference_mode():
        assert not voc.channels_last_inference(x)
    slow = [_run(voc, x, f0, g), _run(voc, x[:1], f0[:1], None)]
    assert fast[0].shape == slow[0].shape == (2, 1, 23 * 16)
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_channels_last_path_only_where_it_applies() -> None:
    voc = _vocoder("nsf-hifigan", "1")
    x = torch.randn(1, 16, 5)
    with torch.inference_mode():
        assert not voc.channels_last_inference(x)  # weight norm still on
    voc.remove_weight_norm()
    with torch.inference_mode():
        assert voc.channels_last_inference(x)
        assert not voc.channels_last_inference(x.double())
    assert not voc.channels_last_inference(x)  # autograd on: training keeps the module path
    snake = _vocoder("nsf-snake-hifigan", "1")
    snake.remove_weight_norm()
    with torch.inference_mode():
        assert not snake.channels_last_inference(x)  # Snake activations are not LeakyReLU


@pytest.mark.parametrize(("k", "u"), [(16, 8), (4, 2), (5, 3), (3, 3), (7, 2)])
def test_conv_transpose_as_matmul_overlap_add(k: int, u: int) -> None:
    torch.manual_seed(k * 10 + u)
    conv = nn.ConvTranspose1d(6, 5, k, u, padding=(k - u) // 2)
    x = torch.randn(2, 6, 11)
    with torch.no_grad():
        want = conv(x)
        got = conv_transpose1d_cl(conv, x.transpose(1, 2).contiguous())
    assert got.shape == (2, want.shape[2], 5)
    torch.testing.assert_close(got.transpose(1, 2), want, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("k", "s", "p"), [(128, 64, 32), (16, 8, 4), (4, 2, 1), (1, 1, 0)])
def test_single_channel_conv_as_frame_matmul(k: int, s: int, p: int) -> None:
    torch.manual_seed(k)
    conv = nn.Conv1d(1, 7, k, stride=s, padding=p)
    sig = torch.randn(2, 64 * 5)
    extra = torch.randn(7)
    with torch.no_grad():
        want = conv(sig[:, None]) + extra[:, None]
        got = frames_conv_cl(conv, sig, extra)
    torch.testing.assert_close(got.transpose(1, 2), want, atol=1e-5, rtol=0)


def test_cl4_conv_and_views() -> None:
    torch.manual_seed(1)
    conv = nn.Conv1d(8, 8, 7, padding=9, dilation=3)
    x = torch.randn(2, 30, 8)  # [B, T, C]
    x4 = as_cl4(x)
    assert x4.shape == (2, 8, 1, 30) and x4.is_contiguous(memory_format=torch.channels_last)
    assert from_cl4(x4).data_ptr() == x.data_ptr()  # views, no copies
    with torch.no_grad():
        y = from_cl4(conv1d_cl4(conv, x4))
        torch.testing.assert_close(y, conv(x.transpose(1, 2)).transpose(1, 2), atol=1e-5, rtol=0)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="shorter than the kernel"):
        frames_conv_cl(nn.Conv1d(1, 4, 16, stride=8), torch.randn(1, 10))
    with pytest.raises(ValueError, match="1-input-channel"):
        frames_conv_cl(nn.Conv1d(2, 4, 3), torch.randn(1, 10))
    with pytest.raises(ValueError, match="kernel >= stride"):
        conv_transpose1d_cl(nn.ConvTranspose1d(2, 2, 2, 4), torch.randn(1, 5, 2))
    with pytest.raises(ValueError, match="numeric padding"):
        conv1d_cl4(nn.Conv1d(2, 2, 3, padding="same"), as_cl4(torch.randn(1, 5, 2)))


def test_matmul_noise_and_upsampling_equal_the_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Snake generator's fast inference (noise convs and upsampling as matmuls, the rest as modules) equals the
    all-modules path."""
    voc = _vocoder("nsf-snake-hifigan", "1")
    voc.remove_weight_norm()
    x, f0, g = torch.randn(2, 16, 19), torch.rand(2, 19) * 300 + 100, torch.randn(2, 8, 1)
    with torch.inference_mode():
        assert voc._matmul_io_inference(x) and not voc.channels_last_inference(x)
    hybrid = _run(voc, x, f0, g)
    monkeypatch.setattr(nsf_generator, "impl", "reference")
    with torch.inference_mode():
        assert not voc._matmul_io_inference(x)
    modules = _run(voc, x, f0, g)
    torch.testing.assert_close(hybrid, modules, atol=1e-5, rtol=0)
    monkeypatch.setattr(nsf_generator, "impl", "bogus")
    with pytest.raises(ValueError, match="'fast' or 'reference'"), torch.inference_mode():
        voc(x, f0, g)


@pytest.mark.parametrize("resblock", ["1", "2"])
@pytest.mark.parametrize("per_frame_g", [False, True])
def test_windowed_long_input_equals_one_pass(resblock: str, per_frame_g: bool) -> None:
    """Long inputs run in windows with receptive-field context; the result equals one pass over the whole input."""
    voc = _vocoder("nsf-hifigan", resblock)
    voc.remove_weight_norm()
    t = 61
    x, f0 = torch.randn(2, 16, t), torch.rand(2, t) * 300 + 100
    g = torch.randn(2, 8, t if per_frame_g else 1)
    voc.chunk_frames = 10**9
    whole = _run(voc, x, f0, g)
    voc.chunk_frames = 5  # 13 windows, the last one short
    assert t > voc.chunk_frames + 2 * voc.receptive_frames()
    windowed = _run(voc, x, f0, g)
    torch.testing.assert_close(windowed, whole, atol=1e-5, rtol=0)


def _influence_frames(voc: nn.Module, channels: int, t: int) -> float:
    """How far (in frames) a change of one input frame reaches into the output, measured."""
    x, f0 = torch.randn(1, channels, t), torch.full((1, t), 220.0)
    g = torch.randn(1, voc.gin_channels, 1)
    x2 = x.clone()
    x2[:, :, t // 2] += 1.0
    diff = (_run(voc, x, f0, g) - _run(voc, x2, f0, g)).abs()[0, 0]
    hit = torch.nonzero(diff > 0).flatten().double() / voc.hop_length
    return max(t // 2 - hit.min().item(), hit.max().item() - (t // 2 + 1))


@pytest.mark.parametrize("resblock", ["1", "2"])
def test_receptive_frames_bounds_the_measured_reach(resblock: str) -> None:
    voc = _vocoder("nsf-hifigan", resblock)
    voc.remove_weight_norm()
    voc.chunk_frames = 10**9
    reach = _influence_frames(voc, 16, 80)
    assert 1 <= reach <= voc.receptive_frames()


def test_receptive_frames_bounds_the_default_44k_decoder() -> None:
    torch.manual_seed(0)
    voc = build_vocoder(
        "nsf-hifigan", sampling_rate=44100, inter_channels=192, resblock="1", resblock_kernel_sizes=[3, 7, 11],
        resblock_dilation_sizes=[[1, 3, 5]] * 3, upsample_rates=[8, 8, 2, 2, 2], upsample_initial_channel=512,
        upsample_kernel_sizes=[16, 16, 4, 4, 4], gin_channels=768,
    ).eval()
    voc.remove_weight_norm()
    voc.chunk_frames = 10**9
    reach = _influence_frames(voc, 192, 48)
    assert 8 <= reach <= voc.receptive_frames() <= 20  # measured ~10.5; the bound is 16
