"""STFT magnitude and log-mel helpers matching so-vits-svc training and the NSF-HiFiGAN mel extractor.

Ports (no code copied) of so-vits-svc 4.1 ``modules/mel_processing.py`` (spectrogram_torch, spec_to_mel_torch,
mel_spectrogram_torch) and of the openvpi NSF-HiFiGAN ``nvSTFT.STFT.get_mel`` with keyshift / speed, as
shipped in so-vits-svc ``vdecoder/nsf_hifigan/nvSTFT.py`` (svc-develop-team/so-vits-svc, BSD-3-Clause).
Mel filters are librosa's (Slaney mel scale, Slaney area normalisation).

Shapes: B batch, T_wav samples, F = n_fft // 2 + 1 bins, M mel bands, N frames.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "dynamic_range_compression_torch",
    "dynamic_range_decompression_torch",
    "mel_basis",
    "spectrogram_torch",
    "spec_to_mel_torch",
    "mel_spectrogram_torch",
    "MelSTFT",
]


def dynamic_range_compression_torch(x: torch.Tensor, C: float = 1.0, clip_val: float = 1e-5) -> torch.Tensor:
    """log(max(x, clip_val) * C)."""
    return torch.log(torch.clamp(x, min=clip_val) * C)


def dynamic_range_decompression_torch(x: torch.Tensor, C: float = 1.0) -> torch.Tensor:
    """exp(x) / C (inverse of the compression above the clip)."""
    return torch.exp(x) / C


@functools.lru_cache(maxsize=16)
def _mel_basis_np(sampling_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    from librosa.filters import mel as librosa_mel  # heavy import, only when a mel is needed

    return librosa_mel(sr=sampling_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)


def mel_basis(
    sampling_rate: int,
    n_fft: int,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """librosa Slaney mel filterbank [M, F] (cached per parameters)."""
    return torch.from_numpy(_mel_basis_np(int(sampling_rate), int(n_fft), int(n_mels), fmin, fmax)).to(device, dtype)


@functools.lru_cache(maxsize=16)
def _hann(win_size: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.hann_window(win_size, dtype=dtype, device=device)


def _check_wave(y: torch.Tensor, pad: int, name: str) -> torch.Tensor:
    if y.dim() == 1:
        y = y.unsqueeze(0)
    if y.dim() != 2:
        raise ValueError(f"{name}: waveform must be [B, T_wav] or [T_wav], got shape {tuple(y.shape)}")
    if y.shape[-1] <= pad:
        raise ValueError(f"{name}: waveform of {y.shape[-1]} samples is too short for reflect padding of {pad}")
    return y


def _stft_magnitude(y: torch.Tensor, n_fft: int, hop: int, win: int, center: bool, eps: float) -> torch.Tensor:
    """sqrt(|STFT|^2 + eps) with a periodic Hann window of ``win``: [B, T_wav] (already padded) -> [B, F, N]."""
    spec = torch.stft(
        y,
        n_fft,
        hop_length=hop,
        win_length=win,
        window=_hann(win, y.dtype, str(y.device)),
        center=center,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    return torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + eps)


def spectrogram_torch(
    y: torch.Tensor, n_fft: int, sampling_rate: int, hop_size: int, win_size: int, center: bool = False
) -> torch.Tensor:
    """Linear magnitude sqrt(|STFT|^2 + 1e-6): [B, T_wav] -> [B, F, N] (reflect pad (n_fft - hop) / 2 each side)."""
    pad = int((n_fft - hop_size) / 2)
    y = _check_wave(y, pad, "spectrogram_torch")
    y = F.pad(y.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    return _stft_magnitude(y, n_fft, hop_size, win_size, center, 1e-6)


def spec_to_mel_torch(
    spec: torch.Tensor, n_fft: int, num_mels: int, sampling_rate: int, fmin: float, fmax: float | None
) -> torch.Tensor:
    """Log-mel from a linear magnitude: [B, F, N] -> [B, M, N] (log of max(mel, 1e-5))."""
    basis = mel_basis(sampling_rate, n_fft, num_mels, fmin, fmax, dtype=spec.dtype, device=spec.device)
    return dynamic_range_compression_torch(torch.matmul(basis, spec))


def mel_spectrogram_torch(
    y: torch.Tensor,
    n_fft: int,
    num_mels: int,
    sampling_rate: int,
    hop_size: int,
    win_size: int,
    fmin: float,
    fmax: float | None,
    center: bool = False,
) -> torch.Tensor:
    """so-vits-svc training mel: [B, T_wav] -> [B, M, N]."""
    spec = spectrogram_torch(y, n_fft, sampling_rate, hop_size, win_size, center)
    return spec_to_mel_torch(spec, n_fft, num_mels, sampling_rate, fmin, fmax)


class MelSTFT:
    """NSF-HiFiGAN (openvpi) log-mel extractor with key shift and speed change."""

    def __init__(
        self,
        sr: int = 22050,
        n_mels: int = 80,
        n_fft: int = 1024,
        win_size: int = 1024,
        hop_length: int = 256,
        fmin: float = 20,
        fmax: float | None = 11025,
        clip_val: float = 1e-5,
    ) -> None:
        self.target_sr = int(sr)
        self.n_mels = int(n_mels)
        self.n_fft = int(n_fft)
        self.win_size = int(win_size)
        self.hop_length = int(hop_length)
        self.fmin = fmin
        self.fmax = fmax
        self.clip_val = clip_val

    def get_mel(self, y: torch.Tensor, keyshift: float = 0, speed: float = 1, center: bool = False) -> torch.Tensor:
        """[B, T_wav] -> log-mel [B, M, N]; keyshift (semitones) scales window and FFT size, speed the hop."""
        factor = 2 ** (keyshift / 12)
        n_fft_new = int(np.round(self.n_fft * factor))
        win_new = int(np.round(self.win_size * factor))
        hop_new = int(np.round(self.hop_length * speed))
        if hop_new < 1 or win_new < 1:
            raise ValueError(f"MelSTFT: keyshift {keyshift} / speed {speed} give window {win_new}, hop {hop_new}")
        if y.dim() == 1:
            y = y.unsqueeze(0)
        if y.dim() != 2 or y.shape[-1] < 1:
            raise ValueError(f"MelSTFT: waveform must be [B, T_wav] with T_wav >= 1, got shape {tuple(y.shape)}")
        pad_left = (win_new - hop_new) // 2
        pad_right = max((win_new - hop_new + 1) // 2, win_new - y.shape[-1] - pad_left)
        mode = "reflect" if pad_right < y.shape[-1] else "constant"
        y = F.pad(y.unsqueeze(1), (pad_left, pad_right), mode=mode).squeeze(1)
        spec = _stft_magnitude(y, n_fft_new, hop_new, win_new, center, 1e-9)
        if keyshift != 0:
            size = self.n_fft // 2 + 1
            if spec.shape[1] < size:
                spec = F.pad(spec, (0, 0, 0, size - spec.shape[1]))
            spec = spec[:, :size, :] * self.win_size / win_new
        basis = mel_basis(
            self.target_sr, self.n_fft, self.n_mels, self.fmin, self.fmax, dtype=spec.dtype, device=spec.device
        )
        return dynamic_range_compression_torch(torch.matmul(basis, spec), clip_val=self.clip_val)
