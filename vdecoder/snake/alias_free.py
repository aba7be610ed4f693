"""Anti-aliased activation: upsample with a Kaiser-windowed sinc, activate, low-pass and downsample.

Port of alias-free-torch (junjun3518/alias-free-torch, Apache-2.0) as used by BigVGAN (MIT) and by so-vits-svc
``vdecoder/hifiganwithsnake/alias/{filter,resample,act}.py`` (BSD-3-Clause). Buffers ``upsample.filter`` and
``downsample.lowpass.filter`` keep their names, so so-vits-svc tensors load strictly.

Speed: channels are folded into the batch (the filter is shared by all channels) and each resampler is one
matrix product over blocks of the signal: a block of outputs depends on a short window of inputs through a
fixed banded (Toeplitz) matrix built from the filter, so ``unfold`` + ``matmul`` replaces the depthwise
``conv_transpose1d`` / ``conv1d`` that are very slow on CPU. The wrapper runs long signals in time chunks
(with a halo wider than the filters' reach, so results are unchanged) sized to stay in cache: the up / activate /
down chain is memory-bound and runs ~3x faster that way. Equal to the reference to float rounding.

Shapes: B batch, C channels, T time at the input rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["kaiser_sinc_filter1d", "UpSample1d", "LowPassFilter1d", "DownSample1d", "AliasFreeActivation1d"]


def kaiser_sinc_filter1d(cutoff: float, half_width: float, kernel_size: int) -> torch.Tensor:
    """Kaiser-windowed sinc low-pass (cutoff in cycles/sample, sums to 1) as [1, 1, kernel_size]."""
    even = kernel_size % 2 == 0
    half_size = kernel_size // 2
    delta_f = 4 * half_width
    attenuation = 2.285 * (half_size - 1) * math.pi * delta_f + 7.95
    if attenuation > 50.0:
        beta = 0.1102 * (attenuation - 8.7)
    elif attenuation >= 21.0:
        beta = 0.5842 * (attenuation - 21) ** 0.4 + 0.07886 * (attenuation - 21.0)
    else:
        beta = 0.0
    window = torch.kaiser_window(kernel_size, beta=beta, periodic=False)
    time = torch.arange(-half_size, half_size) + 0.5 if even else torch.arange(kernel_size) - half_size
    if cutoff == 0:
        return torch.zeros(1, 1, kernel_size)
    filt = 2 * cutoff * window * torch.sinc(2 * cutoff * time)
    filt /= filt.sum()
    return filt.view(1, 1, kernel_size)


_BLOCK = 16  # low-rate samples per block of the block-Toeplitz products


def _replicate_pad(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """[N, L] -> [N, left + L + right], edges repeated (one concatenation; F.pad's replicate kernel is slow on CPU)."""
    n = x.shape[0]
    return torch.cat([x[:, :1].expand(n, left), x, x[:, -1:].expand(n, right)], dim=1)


def _blocked_filter(xp: torch.Tensor, matrix: torch.Tensor, step: int, nblocks: int) -> torch.Tensor:
    """Windows of xp [N, L] (length matrix rows, hop ``step``) times matrix [W, R] -> [N, nblocks * R]."""
    width = matrix.shape[0]
    windows = xp.unfold(-1, width, step)[:, :nblocks].reshape(-1, width)
    return torch.mm(windows, matrix).view(xp.shape[0], nblocks * matrix.shape[1])


class _MatrixCache:
    """Per-module cache of the filter's block matrix, invalidated when the filter buffer changes.

    A filter made under ``torch.inference_mode()`` (a voice loaded there) has no version counter: its key leaves the
    version out, and the owning module clears the cache whenever a state dict is loaded into it.
    """

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.value: torch.Tensor | None = None

    def clear(self) -> None:
        """Forget the cached matrix (the filter was replaced)."""
        self.key = self.value = None

    def get(self, filt: torch.Tensor, dtype: torch.dtype, build: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The cached matrix, rebuilt with ``build`` when the filter or dtype changed."""
        version = None if filt.is_inference() else filt._version
        key = (filt.data_ptr(), version, filt.device, dtype)
        if self.key != key or self.value is None:
            with torch.inference_mode(False), torch.no_grad():  # usable later with or without autograd
                self.value = build().to(dtype)
            self.key = key
        return self.value


class _FilterModule(nn.Module):
    """A module with a ``filter`` buffer and a ``_cache`` of a matrix built from it."""

    _cache: _MatrixCache

    def _load_from_state_dict(self, *args: object, **kwargs: object) -> None:
        self._cache.clear()
        super()._load_from_state_dict(*args, **kwargs)


class UpSample1d(_FilterModule):
    """Upsample by ``ratio`` with a Kaiser sinc (replicate-padded edges): [B, C, T] -> [B, C, T * ratio].

    Same result as so-vits-svc's ``ratio * conv_transpose1d(pad(x), filter, stride=ratio)`` cropped.
    """

    def __init__(self, ratio: int = 2, kernel_size: int | None = None) -> None:
        super().__init__()
        self.ratio = int(ratio)
        self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else int(kernel_size)
        if self.kernel_size % self.ratio:
            raise ValueError(f"UpSample1d: kernel_size {self.kernel_size} must be a multiple of ratio {ratio}")
        self.pad = self.kernel_size // self.ratio - 1
        self.crop = (self.kernel_size - self.ratio) // 2
        self.register_buffer("filter", kaiser_sinc_filter1d(0.5 / ratio, 0.6 / ratio, self.kernel_size))
        self._cache = _MatrixCache()

    def block_matrix(self) -> torch.Tensor:
        """[W, ratio * _BLOCK]: output j of block k = (padded input window from b k + crop // ratio) @ column j."""
        r, taps, b = self.ratio, self.kernel_size // self.ratio, _BLOCK
        f = self.filter.reshape(taps, r).t().flip(-1) * r  # phase p, tap i: r * f[r (taps - 1 - i) + p]
        j = torch.arange(r * b).unsqueeze(1)  # [R, 1]
        i = torch.arange(taps).unsqueeze(0)  # [1, taps]
        rows = (j + self.crop) // r + i - self.crop // r
        width = int(rows.max()) + 1
        mat = torch.zeros(width, r * b, dtype=f.dtype, device=f.device)
        mat[rows.to(f.device), j.expand_as(rows).to(f.device)] = f[(j + self.crop) % r, i.expand_as(rows)]
        return mat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T * ratio]."""
        bsz, ch, length = x.shape
        mat = self._cache.get(self.filter, x.dtype, self.block_matrix)
        nblocks = -(-length // _BLOCK)
        offset = self.crop // self.ratio
        needed = offset + _BLOCK * (nblocks - 1) + mat.shape[0]
        xp = _replicate_pad(x.reshape(bsz * ch, length), self.pad, max(self.pad, needed - length - self.pad))
        y = _blocked_filter(xp[:, offset:], mat, _BLOCK, nblocks)
        return y[:, : length * self.ratio].reshape(bsz, ch, length * self.ratio)


class LowPassFilter1d(_FilterModule):
    """Kaiser-sinc low-pass, optionally strided, replicate-padded: [B, C, T] -> [B, C, ceil(T / stride)]."""

    def __init__(self, cutoff: float = 0.5, half_width: float = 0.6, stride: int = 1, kernel_size: int = 12) -> None:
        super().__init__()
        if cutoff < 0.0 or cutoff > 0.5:
            raise ValueError(f"LowPassFilter1d: cutoff must be in [0, 0.5], got {cutoff}")
        self.kernel_size = int(kernel_size)
        self.even = self.kernel_size % 2 == 0
        self.pad_left = self.kernel_size // 2 - int(self.even)
        self.pad_right = self.kernel_size // 2
        self.stride = int(stride)
        self.register_buffer("filter", kaiser_sinc_filter1d(cutoff, half_width, self.kernel_size))
        self._cache = _MatrixCache()

    def block_matrix(self) -> torch.Tensor:
        """[stride * (_BLOCK - 1) + K, _BLOCK]: column j holds the filter at rows stride * j ... + K - 1."""
        s, k, b = self.stride, self.kernel_size, _BLOCK
        rows = s * torch.arange(b).unsqueeze(0) + torch.arange(k).unsqueeze(1)  # [K, b]
        cols = torch.arange(b).unsqueeze(0).expand_as(rows)
        f = self.filter.reshape(-1)
        mat = torch.zeros(s * (b - 1) + k, b, dtype=f.dtype, device=f.device)
        mat[rows.to(f.device), cols.to(f.device)] = f.unsqueeze(1).expand_as(rows)
        return mat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T_out]."""
        bsz, ch, length = x.shape
        out_len = (length + self.pad_left + self.pad_right - self.kernel_size) // self.stride + 1
        mat = self._cache.get(self.filter, x.dtype, self.block_matrix)
        nblocks = -(-out_len // _BLOCK)
        needed = self.stride * _BLOCK * (nblocks - 1) + mat.shape[0]
        pad_right = max(self.pad_right, needed - length - self.pad_left)
        xp = _replicate_pad(x.reshape(bsz * ch, length), self.pad_left, pad_right)
        y = _blocked_filter(xp, mat, self.stride * _BLOCK, nblocks)
        return y[:, :out_len].reshape(bsz, ch, out_len)


class DownSample1d(nn.Module):
    """Low-pass and decimate by ``ratio``: [B, C, T] -> [B, C, T / ratio]."""

    def __init__(self, ratio: int = 2, kernel_size: int | None = None) -> None:
        super().__init__()
        self.ratio = int(ratio)
        self.kernel_size = int(6 * ratio // 2) * 2 if kernel_size is None else int(kernel_size)
        self.lowpass = LowPassFilter1d(0.5 / ratio, 0.6 / ratio, stride=ratio, kernel_size=self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T / ratio]."""
        return self.lowpass(x)


class AliasFreeActivation1d(nn.Module):
    """Wrap any activation: upsample, activate, low-pass, downsample. [B, C, T] -> [B, C, T * up / down].

    ``activation`` maps [B, C, T'] -> [B, C, T'] elementwise along time (e.g. ``SnakeBeta``). When the up and
    down ratios are equal, signals larger than ``chunk_elements`` (B * C * T) per torch thread are processed in
    time chunks of that size.
    """

    chunk_elements = 1 << 18  # per intra-op thread: about 1 MiB of input, 2 MiB at the upsampled rate

    def __init__(
        self,
        activation: nn.Module,
        up_ratio: int = 2,
        down_ratio: int = 2,
        up_kernel_size: int = 12,
        down_kernel_size: int = 12,
    ) -> None:
        super().__init__()
        self.act = activation
        self.upsample = UpSample1d(up_ratio, up_kernel_size)
        self.downsample = DownSample1d(down_ratio, down_kernel_size)
        # input samples on each side that can influence an output sample (generous bound)
        self.halo = self.upsample.kernel_size + self.downsample.kernel_size

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(self.act(self.upsample(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, T] -> [B, C, T * up_ratio / down_ratio]."""
        bsz, ch, length = x.shape
        step = max(4 * self.halo, self.chunk_elements * torch.get_num_threads() // max(1, bsz * ch))
        if self.upsample.ratio != self.downsample.ratio or length <= step + 2 * self.halo:
            return self._run(x)
        pieces = []
        for start in range(0, length, step):  # chunks of time (cache blocking), not single samples
            stop = min(length, start + step)
            lo, hi = max(0, start - self.halo), min(length, stop + self.halo)
            pieces.append(self._run(x[..., lo:hi])[..., start - lo : stop - lo])
        return torch.cat(pieces, dim=-1)


def reference_alias_free(module: AliasFreeActivation1d, x: torch.Tensor) -> torch.Tensor:
    """Literal (slow) so-vits-svc algorithm with depthwise conv_transpose1d / conv1d, for tests and benchmarks."""
    up, lp = module.upsample, module.downsample.lowpass
    ch = x.shape[1]
    y = F.pad(x, (up.pad, up.pad), mode="replicate")
    y = up.ratio * F.conv_transpose1d(y, up.filter.expand(ch, -1, -1), stride=up.ratio, groups=ch)
    pad_right = up.pad * up.ratio + (up.kernel_size - up.ratio + 1) // 2
    y = y[..., up.pad * up.ratio + up.crop : -pad_right]
    y = module.act(y)
    y = F.pad(y, (lp.pad_left, lp.pad_right), mode="replicate")
    return F.conv1d(y, lp.filter.expand(ch, -1, -1), stride=lp.stride, groups=ch)
