"""NSF-HiFiGAN generator as used inside so-vits-svc 4.x voices (``dec.*`` of ``G_*.pth``).

Port of ``Generator`` from so-vits-svc 4.1 ``vdecoder/hifigan/models.py`` (svc-develop-team/so-vits-svc,
BSD-3-Clause), itself HiFiGAN (jik876/hifi-gan, MIT) with the NSF harmonic-plus-noise source. Module and
parameter names follow so-vits-svc so ``dec.*`` tensors load strictly (legacy ``weight_g``/``weight_v``).

Shapes: B batch, C = inter_channels, T frames, G = gin_channels, T_wav = T * hop_length samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vdecoder.base import Vocoder
from vdecoder.blocks import ActivationFactory, ResBlock1, ResBlock2, leaky_relu_factory
from vdecoder.channels_last import as_cl4, conv1d_cl4, conv_transpose1d_cl, frames_conv_cl, from_cl4, leaky_slope
from vdecoder.nsf_hifigan.source import SourceModuleHnNSF
from vdecoder.weight_norm import has_weight_norm, remove_weight_norm, weight_norm

__all__ = ["NSFHiFiGANGenerator", "check_generator_config", "impl"]

#: Inference path of the NSF-HiFiGAN and Snake generators: "fast" (CPU float32 inference with weight norm
#: removed: noise convs and upsampling as matmuls, and for LeakyReLU generators the whole decoder channels-last;
#: same result) or "reference" (every layer as its torch module, as so-vits-svc runs it). Tests switch with this.
impl = "fast"


def check_generator_config(
    upsample_rates: Sequence[int],
    upsample_kernel_sizes: Sequence[int],
    upsample_initial_channel: int,
    resblock_kernel_sizes: Sequence[int],
    resblock_dilation_sizes: Sequence[Sequence[int]],
) -> None:
    """Raise ValueError naming the argument when the sizes cannot give output length T * prod(rates)."""
    rates, kernels = list(upsample_rates), list(upsample_kernel_sizes)
    if not rates:
        raise ValueError("upsample_rates must not be empty")
    if len(rates) != len(kernels):
        raise ValueError(f"upsample_rates {rates} and upsample_kernel_sizes {kernels} differ in length")
    for i, (u, k) in enumerate(zip(rates, kernels, strict=True)):
        if u < 1 or k < u or (k - u) % 2:
            raise ValueError(f"upsample stage {i}: kernel {k} and rate {u} need k >= u >= 1 and k - u even")
        stride = math.prod(rates[i + 1 :])
        if i + 1 < len(rates) and stride % 2:
            raise ValueError(f"upsample_rates {rates}: product of the rates after stage {i} must be even")
    if upsample_initial_channel < 2 ** len(rates):
        raise ValueError(f"upsample_initial_channel {upsample_initial_channel} too small for {len(rates)} stages")
    if len(resblock_kernel_sizes) != len(resblock_dilation_sizes) or not resblock_kernel_sizes:
        raise ValueError("resblock_kernel_sizes and resblock_dilation_sizes must be non-empty and of equal length")
    for k in resblock_kernel_sizes:
        if k < 1 or k % 2 == 0:
            raise ValueError(f"resblock kernel sizes must be odd, got {list(resblock_kernel_sizes)}")


class NSFHiFiGANGenerator(Vocoder):
    """NSF-HiFiGAN: conv_pre (+ cond(g)) -> [act, upsample, + noise_conv(source), mean of resblocks] x N -> tanh.

    Subclasses change the activations (see ``vdecoder.snake.generator``); the attribute names of the
    pre-upsample and final activations are class attributes so their parameters get so-vits-svc's keys.
    """

    up_activation_attr = "up_activations"
    post_activation_attr = "post_activation"
    chunk_frames = 512  # output frames per window of the channels-last inference path (~6 s at 44.1 kHz / 512)

    def __init__(
        self,
        *,
        sampling_rate: int,
        inter_channels: int,
        resblock: str,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        upsample_rates: Sequence[int],
        upsample_initial_channel: int,
        upsample_kernel_sizes: Sequence[int],
        gin_channels: int,
        harmonic_num: int = 8,
    ) -> None:
        super().__init__()
        check_generator_config(
            upsample_rates,
            upsample_kernel_sizes,
            upsample_initial_channel,
            resblock_kernel_sizes,
            resblock_dilation_sizes,
        )
        rates = [int(u) for u in upsample_rates]
        self.sampling_rate = int(sampling_rate)
        self.hop_length = math.prod(rates)
        self.num_kernels = len(resblock_kernel_sizes)
        self.num_upsamples = len(rates)
        self.m_source = SourceModuleHnNSF(sampling_rate=self.sampling_rate, harmonic_num=harmonic_num)
        self.noise_convs = nn.ModuleList()
        self.conv_pre = weight_norm(nn.Conv1d(inter_channels, upsample_initial_channel, 7, 1, padding=3))
        self.ups = nn.ModuleList()
        up_acts = nn.ModuleList()
        for i, (u, k) in enumerate(zip(rates, upsample_kernel_sizes, strict=True)):
            c_in, c_out = upsample_initial_channel // 2**i, upsample_initial_channel // 2 ** (i + 1)
            up_acts.append(self.make_up_activation(c_in))
            self.ups.append(weight_norm(nn.ConvTranspose1d(c_in, c_out, k, u, padding=(k - u) // 2)))
            if i + 1 < len(rates):
                stride = math.prod(rates[i + 1 :])
                self.noise_convs.append(nn.Conv1d(1, c_out, kernel_size=stride * 2, stride=stride, padding=stride // 2))
            else:
                self.noise_convs.append(nn.Conv1d(1, c_out, kernel_size=1))
        self.resblocks = nn.ModuleList()
        act = self.resblock_activation()
        for i in range(len(self.ups)):
            ch = upsample_initial_channel // 2 ** (i + 1)
            for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                if str(resblock) == "1":
                    self.resblocks.append(ResBlock1(ch, k, d, act))
                else:  # so-vits-svc: anything but "1" means ResBlock2
                    self.resblocks.append(ResBlock2(ch, k, d, act))
        self.add_module(self.up_activation_attr, up_acts)
        self.conv_post = weight_norm(nn.Conv1d(ch, 1, 7, 1, padding=3))
        self.add_module(self.post_activation_attr, self.make_post_activation(ch))
        self.gin_channels = int(gin_channels)
        self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1) if gin_channels > 0 else None
        self.inter_channels = int(inter_channels)

    # --- activation hooks (overridden by the Snake generator) -------------------------------------------
    def make_up_activation(self, channels: int) -> nn.Module:
        """Activation before each upsampling layer (HiFiGAN: LeakyReLU 0.1)."""
        return nn.LeakyReLU(0.1)

    def make_post_activation(self, channels: int) -> nn.Module:
        """Activation before conv_post (so-vits-svc: LeakyReLU with torch's default slope 0.01)."""
        return nn.LeakyReLU(0.01)

    def resblock_activation(self) -> ActivationFactory:
        """Activation factory for the residual blocks."""
        return leaky_relu_factory

    # ------------------------------------------------------------------------------------------------------
    def _check_inputs(self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None) -> None:
        if x.dim() != 3 or x.shape[1] != self.inter_channels:
            raise ValueError(f"vocoder: x must be [B, {self.inter_channels}, T], got {tuple(x.shape)}")
        if f0.dim() != 2 or f0.shape[0] != x.shape[0] or f0.shape[1] != x.shape[2]:
            raise ValueError(f"vocoder: f0 must be [B, T] = {[x.shape[0], x.shape[2]]}, got {tuple(f0.shape)}")
        if not bool(torch.isfinite(f0).all()):
            raise ValueError("vocoder: f0 contains NaN or infinite values")
        if g is not None:
            if self.cond is None:
                raise ValueError("vocoder: g given but the model has gin_channels = 0")
            bad_g = g.dim() != 3 or g.shape[1] != self.gin_channels
            if bad_g or g.shape[2] not in (1, x.shape[2]) or g.shape[0] not in (1, x.shape[0]):
                raise ValueError(f"vocoder: g must be [B, {self.gin_channels}, 1 or T], got {tuple(g.shape)}")

    def channels_last_inference(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward` takes the channels-last inference path for input ``x``.

        CPU float32 without autograd, weight norm removed, LeakyReLU activations (not the Snake subclass).
        """
        if not self._matmul_io_inference(x):
            return False
        acts = [*getattr(self, self.up_activation_attr), getattr(self, self.post_activation_attr)]
        return all(leaky_slope(a) is not None for a in acts) and all(
            block.supports_channels_last() for block in self.resblocks
        )

    def _matmul_io_inference(self, x: torch.Tensor) -> bool:
        """CPU float32 inference with weight norm removed (and module ``impl`` "fast"): noise convs and upsampling
        run as matmuls.

        With weight norm kept (how so-vits-svc runs a voice) or with autograd on, every layer runs as its module.
        """
        if impl not in ("fast", "reference"):
            raise ValueError(f"vdecoder.nsf_hifigan.generator.impl must be 'fast' or 'reference', got {impl!r}")
        if impl == "reference" or torch.is_grad_enabled() or x.device.type != "cpu" or x.dtype != torch.float32:
            return False
        convs = [self.conv_pre, *self.ups, self.conv_post, *self.resblocks.modules()]
        return not any(has_weight_norm(m) for m in convs)

    def receptive_frames(self) -> int:
        """Frames of context on each side that can reach an output sample (an upper bound, from the layer sizes)."""
        reach = float(self.conv_pre.padding[0])  # in frames
        rate = 1  # samples per frame at the current stage
        for i, up in enumerate(self.ups):
            reach += math.ceil(up.kernel_size[0] / up.stride[0]) / rate  # input steps behind one output sample
            rate *= up.stride[0]
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            res = max(sum(c.padding[0] for c in b.modules() if isinstance(c, nn.Conv1d)) for b in blocks)
            reach += (res + 1) / rate  # residual convs in sequence, + 1 step for the noise conv's edge padding
        reach += self.conv_post.padding[0] / rate
        return math.ceil(reach) + 1

    def _forward_channels_last(self, x: torch.Tensor, har_source: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        """Same maths as :meth:`forward` on [B, T, C] activations (see ``vdecoder.channels_last``) -> [B, 1, T_wav].

        Inputs longer than ``chunk_frames`` run in windows of ``chunk_frames`` output frames plus
        :meth:`receptive_frames` of context on each side (the NSF source is computed once for the whole input and
        sliced), so the result is the same while the working tensors stay small: no fresh page-faulted buffers for
        every layer of a long input, flat memory (about 16 % faster at 60 s on 2 cores).
        """
        t = x.shape[2]
        margin = self.receptive_frames()
        if t <= self.chunk_frames + 2 * margin:
            return self._channels_last_window(x, har_source, g)
        hop = self.hop_length
        out = x.new_empty(x.shape[0], 1, t * hop)
        for a in range(0, t, self.chunk_frames):  # windows of hundreds of frames, not a loop over frames
            b = min(t, a + self.chunk_frames)
            lo, hi = max(0, a - margin), min(t, b + margin)
            g_win = g if g is None or g.shape[2] == 1 else g[:, :, lo:hi]
            y = self._channels_last_window(x[:, :, lo:hi], har_source[:, lo * hop : hi * hop], g_win)
            out[:, :, a * hop : b * hop] = y[:, :, (a - lo) * hop : (b - lo) * hop]
        return out

    def _channels_last_window(self, x: torch.Tensor, har_source: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        """One window of :meth:`_forward_channels_last`: x [B, C, T], har_source [B, T_wav, 1] -> [B, 1, T_wav]."""
        source = har_source[:, :, 0]  # [B, T_wav]
        x = self.conv_pre(x)
        if g is not None:
            x = x + self.cond(g)
        x = x.transpose(1, 2).contiguous()  # [B, T, C]
        up_acts = getattr(self, self.up_activation_attr)
        for i in range(self.num_upsamples):
            up = self.ups[i]
            x = F.leaky_relu(x, leaky_slope(up_acts[i]), inplace=True)  # x is always a fresh temporary here
            x = frames_conv_cl(self.noise_convs[i], source, up.bias).add_(conv_transpose1d_cl(up, x, False))
            x4 = as_cl4(x)
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            xs = blocks[0].forward_cl4(x4)
            for block in blocks[1:]:
                xs.add_(block.forward_cl4(x4))
            x = from_cl4(xs.div_(self.num_kernels))
        post = getattr(self, self.post_activation_attr)
        y = conv1d_cl4(self.conv_post, as_cl4(F.leaky_relu(x, leaky_slope(post), inplace=True)))
        return torch.tanh(y.reshape(y.shape[0], 1, -1))

    def forward(self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """x [B, C, T], f0 [B, T] Hz (0 = unvoiced), g [B, G, 1 or T] (None: no speaker cond.) -> [B, 1, T_wav].

        The harmonic source's random phases and noise come from ``generator`` (None: torch's global RNG)."""
        self._check_inputs(x, f0, g)
        if self.channels_last_inference(x):
            return self._forward_channels_last(x, self.m_source(f0, self.hop_length, generator)[0], g)
        matmul_io = self._matmul_io_inference(x)  # e.g. the Snake generator at inference
        har_source = self.m_source(f0, self.hop_length, generator)[0].transpose(1, 2)  # [B, 1, T_wav]
        x = self.conv_pre(x)
        if g is not None:
            x = x + self.cond(g)
        up_acts = getattr(self, self.up_activation_attr)
        for i in range(self.num_upsamples):
            up, noise_conv = self.ups[i], self.noise_convs[i]
            if matmul_io:  # same maths; avoids oneDNN's slow 1-channel convs and its per-length kernel builds
                up_in = up_acts[i](x).transpose(1, 2)
                y = frames_conv_cl(noise_conv, har_source[:, 0], up.bias).add_(conv_transpose1d_cl(up, up_in, False))
                x = y.transpose(1, 2).contiguous()
            else:  # in-place adds only on fresh outputs whose values autograd does not keep
                x = up(up_acts[i](x)).add_(noise_conv(har_source))
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            xs = blocks[0](x)
            for block in blocks[1:]:
                xs.add_(block(x))
            x = xs.div_(self.num_kernels)
        x = self.conv_post(getattr(self, self.post_activation_attr)(x))
        return torch.tanh(x)

    def remove_weight_norm(self) -> None:
        """Fold weight norm of conv_pre, ups, resblocks and conv_post (idempotent)."""
        convs = [self.conv_pre, *self.ups, self.conv_post]
        for conv in convs:
            if has_weight_norm(conv):
                remove_weight_norm(conv)
        for block in self.resblocks:
            if any(has_weight_norm(m) for m in block.modules() if m is not block):
                block.remove_weight_norm()
