"""Tiny random vocoders, the alias-free Snake against the literal algorithm, discriminators and losses."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from tests.support import DILATIONS, TINY_VOCODER, tiny_vocoder
from vdecoder.discriminators import DiscriminatorP, MultiPeriodDiscriminator
from vdecoder.losses import discriminator_loss, feature_loss, generator_loss, mel_l1_loss
from vdecoder.registry import VOCODER_NAMES, build_vocoder
from vdecoder.snake.activation import SnakeBeta
from vdecoder.snake.alias_free import (
    AliasFreeActivation1d,
    LowPassFilter1d,
    UpSample1d,
    kaiser_sinc_filter1d,
    reference_alias_free,
)
from vdecoder.snake.generator import snake_alias


@pytest.mark.parametrize("resblock", ["1", "2"])
@pytest.mark.parametrize("name", VOCODER_NAMES)
def test_tiny_forward_backward(name: str, resblock: str) -> None:
    voc = tiny_vocoder(name, resblock)
    assert voc.hop_length == 16
    frames = 7
    x = torch.randn(2, 16, frames, requires_grad=True)
    f0 = torch.tensor([[0.0, 200, 210, 220, 0, 0, 500], [300.0] * 7])
    g = torch.randn(2, 8, 1)
    y = voc(x, f0, g)
    assert y.shape == (2, 1, frames * 16)
    assert torch.isfinite(y).all() and y.abs().max() <= 1
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    grads = [p.grad for p in voc.parameters() if p.requires_grad]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert any(gr.abs().sum() > 0 for gr in grads)
    assert voc(x.detach()[:1], f0[:1], None).shape == (1, 1, frames * 16)  # no speaker conditioning


@pytest.mark.parametrize("name", VOCODER_NAMES)
def test_remove_weight_norm_keeps_output(name: str) -> None:
    voc = tiny_vocoder(name, "1").eval()
    keys = set(voc.state_dict())
    assert {"conv_pre.weight_g", "conv_pre.weight_v", "ups.0.weight_g", "resblocks.0.convs1.0.weight_v"} <= keys
    x, f0, g = torch.randn(1, 16, 9), torch.full((1, 9), 330.0), torch.randn(1, 8, 1)
    torch.manual_seed(1)
    with torch.no_grad():
        before = voc(x, f0, g)
    voc.remove_weight_norm()
    voc.remove_weight_norm()  # idempotent
    assert "conv_pre.weight" in voc.state_dict() and not any("weight_g" in k for k in voc.state_dict())
    torch.manual_seed(1)
    with torch.inference_mode():
        after = voc(x, f0, g)
    assert (after - before).abs().max().item() < 1e-5


def test_weight_norm_module_deep_copies_and_trains() -> None:
    voc = tiny_vocoder("nsf-hifigan", "1")
    x, f0 = torch.randn(1, 16, 3), torch.full((1, 3), 200.0)
    voc(x, f0).sum().backward()
    twin = copy.deepcopy(voc)  # e.g. an EMA copy during training
    torch.manual_seed(0)
    a = voc(x, f0)
    torch.manual_seed(0)
    assert torch.equal(a, twin(x, f0))


def test_runs_in_float64() -> None:
    """The F0 source is built in float32 and cast to the model's dtype (here float64)."""
    voc = tiny_vocoder("nsf-hifigan", "2").double().eval()
    with torch.inference_mode():
        y = voc(torch.randn(1, 16, 4, dtype=torch.float64), torch.full((1, 4), 250.0), torch.randn(1, 8, 1).double())
    assert y.dtype == torch.float64 and y.shape == (1, 1, 64)


def test_default_config_keys_and_shapes_equal_so_vits_svc(fixtures_dir: Path) -> None:
    keylist = fixtures_dir.parent / "compat" / "keylists" / "keys_sovits41.txt"
    expected = {}
    for line in keylist.read_text().splitlines():
        if line.startswith("dec."):
            key, shape = line.split(" ", 1)
            expected[key.removeprefix("dec.")] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    voc = build_vocoder(
        "nsf-hifigan",
        sampling_rate=44100,
        inter_channels=192,
        resblock="1",
        resblock_kernel_sizes=[3, 7, 11],
        resblock_dilation_sizes=[[1, 3, 5]] * 3,
        upsample_rates=[8, 8, 2, 2, 2],
        upsample_initial_channel=512,
        upsample_kernel_sizes=[16, 16, 4, 4, 4],
        gin_channels=256,
    )
    got = {k: tuple(v.shape) for k, v in voc.state_dict().items()}
    assert got == expected


def test_snake_keys_follow_so_vits_svc() -> None:
    keys = set(tiny_vocoder("nsf-snake-hifigan", "1").state_dict())
    for key in (
        "snakes.0.act.alpha",
        "snakes.2.upsample.filter",
        "snake_post.downsample.lowpass.filter",
        "resblocks.0.activations.5.act.beta",
        "m_source.l_linear.weight",
        "noise_convs.2.weight",
        "cond.weight",
    ):
        assert key in keys, key
    assert not any(k.startswith(("up_activations", "post_activation")) for k in keys)


def test_bad_inputs_and_configs_raise_clear_errors() -> None:
    voc = tiny_vocoder("nsf-hifigan", "1")
    x, f0 = torch.randn(1, 16, 5), torch.full((1, 5), 200.0)
    with pytest.raises(ValueError, match="x must be"):
        voc(torch.randn(1, 15, 5), f0)
    with pytest.raises(ValueError, match="f0 must be"):
        voc(x, torch.full((1, 4), 200.0))
    with pytest.raises(ValueError, match="NaN"):
        voc(x, torch.full((1, 5), float("nan")))
    with pytest.raises(ValueError, match="g must be"):
        voc(x, f0, torch.randn(1, 7, 1))
    with pytest.raises(ValueError, match="nsf-hifigan, nsf-snake-hifigan"):
        build_vocoder("hifigan", resblock="1", resblock_dilation_sizes=DILATIONS["1"], **TINY_VOCODER)
    bad = dict(TINY_VOCODER, upsample_kernel_sizes=[7, 4, 4])
    with pytest.raises(ValueError, match="upsample stage 0"):
        build_vocoder("nsf-hifigan", resblock="1", resblock_dilation_sizes=DILATIONS["1"], **bad)
    bad = dict(TINY_VOCODER, upsample_rates=[4, 3, 1], upsample_kernel_sizes=[8, 5, 1])
    with pytest.raises(ValueError, match="must be even"):
        build_vocoder("nsf-hifigan", resblock="1", resblock_dilation_sizes=DILATIONS["1"], **bad)


@pytest.mark.parametrize("length", [1, 2, 5, 16, 17, 100])
def test_alias_free_snake_equals_literal_algorithm(length: int) -> None:
    torch.manual_seed(length)
    act = snake_alias(6)
    with torch.no_grad():
        act.act.alpha.normal_(0, 0.5)
        act.act.beta.normal_(0, 0.5)
    x = torch.randn(2, 6, length)
    ref = reference_alias_free(act, x)
    assert ref.shape == (2, 6, length)
    with torch.inference_mode():
        fast = act(x)
    assert (fast - ref).abs().max().item() < 1e-5
    xg = x.clone().requires_grad_(True)
    out = act(xg)  # autograd path (out-of-place snake)
    assert (out - ref).abs().max().item() < 1e-5
    out.sum().backward()
    assert xg.grad is not None and act.act.alpha.grad is not None


def test_alias_free_time_chunks_give_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(2)
    act = snake_alias(4)
    with torch.no_grad():
        act.act.alpha.normal_(0, 0.5)
        act.act.beta.normal_(0, 0.5)
    x = torch.randn(2, 4, 3001)
    with torch.inference_mode():
        whole = act(x)  # 24k elements: below the default chunk size
        monkeypatch.setattr(act, "chunk_elements", 8 * 150)  # -> 150-sample chunks
        chunked = act(x)
    assert (chunked - whole).abs().max().item() < 1e-6
    assert (chunked - reference_alias_free(act, x)).abs().max().item() < 1e-5


@pytest.mark.parametrize(("ratio", "kernel"), [(2, 12), (3, 12), (2, 8), (4, 16)])
def test_resamplers_equal_direct_convolutions(ratio: int, kernel: int) -> None:
    torch.manual_seed(ratio * kernel)
    x = torch.randn(1, 3, 41)
    up = UpSample1d(ratio, kernel)
    act = AliasFreeActivation1d(torch.nn.Identity(), ratio, ratio, kernel, kernel)
    act.upsample = up
    # identity activation: literal algorithm and ours must agree for every ratio / kernel
    assert (act(x) - reference_alias_free(act, x)).abs().max().item() < 1e-5
    lp = LowPassFilter1d(0.25, 0.3, stride=1, kernel_size=kernel - 1)
    direct = torch.nn.functional.conv1d(
        torch.nn.functional.pad(x, (lp.pad_left, lp.pad_right), mode="replicate"),
        lp.filter.expand(3, -1, -1),
        groups=3,
    )
    assert (lp(x) - direct).abs().max().item() < 1e-5
    assert up(x).shape == (1, 3, 41 * ratio)


def test_kaiser_filter_is_a_unit_gain_lowpass() -> None:
    f = kaiser_sinc_filter1d(0.25, 0.3, 12).flatten()
    assert f.shape == (12,) and abs(f.sum().item() - 1) < 1e-6
    assert torch.allclose(f, f.flip(0))  # symmetric: linear phase
    response = torch.fft.rfft(f, 512).abs()
    assert response[-1] < 0.05  # stop band at Nyquist


@pytest.mark.parametrize("logscale", [True, False])
def test_snake_beta_formula(logscale: bool) -> None:
    snake = SnakeBeta(3, alpha_logscale=logscale)
    with torch.no_grad():
        snake.alpha.copy_(torch.tensor([0.0, 0.5, -1.0]))
        snake.beta.copy_(torch.tensor([0.0, -0.3, 0.2]) if logscale else torch.tensor([1.0, -0.5, 2.0]))
    x = torch.randn(2, 3, 10)
    a, b = snake.alpha.view(1, 3, 1), snake.beta.view(1, 3, 1)
    if logscale:
        a, b = a.exp(), b.exp()
    expected = x + 1 / (b + 1e-9) * torch.sin(a * x) ** 2
    assert torch.allclose(snake(x), expected, atol=1e-5)  # autograd path
    with torch.inference_mode():
        assert torch.allclose(snake(x), expected, atol=1e-5)  # in-place path


def test_discriminators_and_losses_run_with_right_shapes() -> None:
    torch.manual_seed(0)
    mpd = MultiPeriodDiscriminator()
    keys = set(mpd.state_dict())
    assert {
        "discriminators.0.convs.0.weight_g",
        "discriminators.0.conv_post.weight_v",
        "discriminators.5.convs.4.weight_g",
        "discriminators.1.conv_post.bias",
    } <= keys
    assert len(mpd.discriminators) == 6 and mpd.discriminators[5].period == 11
    y = torch.randn(2, 1, 1001).clamp(-1, 1)
    y_hat = torch.randn(2, 1, 1001, requires_grad=True)
    real, fake, fmap_r, fmap_g = mpd(y, y_hat)
    assert len(real) == len(fake) == 6
    assert len(fmap_r[0]) == 7 and len(fmap_r[1]) == 6  # scale: 6 convs + post, period: 5 convs + post
    assert all(r.shape[0] == 2 and r.dim() == 2 for r in real)
    assert fmap_r[1][0].shape[-1] == 2  # period 2 folds time into [.., T / 2, 2]
    loss_d, r_terms, g_terms = discriminator_loss(real, [f.detach() for f in fake])
    assert len(r_terms) == len(g_terms) == 6
    expected_d = sum(((1 - r) ** 2).mean() + (f.detach() ** 2).mean() for r, f in zip(real, fake, strict=True))
    assert torch.allclose(loss_d, expected_d)
    loss_g, terms = generator_loss(fake)
    loss_fm = feature_loss(fmap_r, fmap_g)
    assert torch.allclose(loss_g, sum(((1 - f) ** 2).mean() for f in fake))
    (loss_g + loss_fm).backward()
    assert y_hat.grad is not None and torch.isfinite(y_hat.grad).all()
    assert mel_l1_loss(torch.zeros(1, 4, 3), torch.ones(1, 4, 3)).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="must both be"):
        mpd(y, y_hat[..., :-1])


def test_spectral_norm_discriminator_keys() -> None:
    d = DiscriminatorP(3, use_spectral_norm=True)
    assert "convs.0.weight_orig" in d.state_dict()
    out, fmap = d(torch.randn(1, 1, 100))
    assert out.dim() == 2 and len(fmap) == 6
