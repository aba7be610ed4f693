"""STFT / mel helpers against a direct numpy + librosa computation on test tones."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal
import torch
import torchaudio

from vdecoder.mel import MelSTFT, mel_basis, mel_spectrogram_torch, spec_to_mel_torch, spectrogram_torch

SR = 44100


def _tone(seconds: float = 0.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * hz * t) + 0.1 * np.sin(2 * np.pi * 3 * hz * t + 1)).astype(np.float64)


def _np_stft_mag(y: np.ndarray, n_fft: int, hop: int, win: int, pad: tuple[int, int], mode: str, eps: float):
    yp = np.pad(y, pad, mode=mode)
    window = np.zeros(n_fft)
    off = (n_fft - win) // 2
    window[off : off + win] = scipy.signal.get_window("hann", win, fftbins=True)  # torch.hann_window is periodic
    n_frames = 1 + (len(yp) - n_fft) // hop
    frames = np.stack([yp[i * hop : i * hop + n_fft] for i in range(n_frames)], axis=1)
    spec = np.fft.rfft(frames * window[:, None], axis=0)
    return np.sqrt(np.abs(spec) ** 2 + eps)


def test_spectrogram_and_mel_match_numpy_librosa() -> None:
    y = _tone()
    spec = spectrogram_torch(torch.from_numpy(y).float().unsqueeze(0), 2048, SR, 512, 2048)
    ref = _np_stft_mag(y, 2048, 512, 2048, (768, 768), "reflect", 1e-6)
    assert spec.shape == (1, 1025, ref.shape[1])
    assert np.abs(spec[0].double().numpy() - ref).max() < 1e-3 * ref.max()

    basis = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=80, fmin=0.0, fmax=22050, htk=False, norm="slaney")
    mel = mel_spectrogram_torch(torch.from_numpy(y).float().unsqueeze(0), 2048, 80, SR, 512, 2048, 0.0, 22050)
    ref_mel = np.log(np.maximum(basis @ ref, 1e-5))
    assert mel.shape == (1, 80, ref.shape[1])
    assert np.abs(mel[0].double().numpy() - ref_mel).max() < 1e-3
    assert torch.allclose(spec_to_mel_torch(spec, 2048, 80, SR, 0.0, 22050), mel)
    # the peak mel band holds the 440 Hz tone
    centre = librosa.mel_frequencies(82, fmin=0.0, fmax=22050, htk=False)[1:-1]
    assert abs(centre[int(mel[0, :, 5].argmax())] - 440) < 60


def test_mel_basis_is_librosa_slaney_and_equals_torchaudio() -> None:
    ours = mel_basis(SR, 2048, 128, 40.0, 16000.0).double().numpy()
    ref = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128, fmin=40.0, fmax=16000.0, htk=False, norm="slaney")
    assert np.allclose(ours, ref, atol=1e-7)
    ta = torchaudio.functional.melscale_fbanks(1025, 40.0, 16000.0, 128, SR, norm="slaney", mel_scale="slaney")
    assert np.allclose(ours, ta.t().double().numpy(), atol=1e-5)


@pytest.mark.parametrize(("keyshift", "speed"), [(0, 1), (2, 1), (-3, 1), (0, 2)])
def test_nvstft_mel_with_keyshift_and_speed(keyshift: float, speed: float) -> None:
    y = _tone(0.3, 330.0)
    stft = MelSTFT(SR, 128, 2048, 2048, 512, 40, 16000)
    mel = stft.get_mel(torch.from_numpy(y).float().unsqueeze(0), keyshift=keyshift, speed=speed)
    factor = 2 ** (keyshift / 12)
    n_fft, win, hop = round(2048 * factor), round(2048 * factor), round(512 * speed)
    pad = ((win - hop) // 2, max((win - hop + 1) // 2, win - len(y) - (win - hop) // 2))
    mag = _np_stft_mag(y, n_fft, hop, win, pad, "reflect", 1e-9)
    if keyshift != 0:
        size = 1025
        if mag.shape[0] < size:
            mag = np.pad(mag, ((0, size - mag.shape[0]), (0, 0)))
        mag = mag[:size] * 2048 / win
    basis = librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128, fmin=40, fmax=16000)
    ref = np.log(np.maximum(basis @ mag, 1e-5))
    assert mel.shape == (1, 128, ref.shape[1])
    ours = mel[0].double().numpy()
    loud = ref > -7  # float32 resolution limits the log of near-silent bins
    assert loud.sum() > 100 and np.abs(ours - ref)[loud].max() < 2e-3
    assert np.abs(np.exp(ours) - np.exp(ref)).max() < 1e-4 * np.exp(ref).max()


def test_short_or_malformed_input_raises() -> None:
    with pytest.raises(ValueError, match="too short"):
        spectrogram_torch(torch.zeros(1, 100), 2048, SR, 512, 2048)
    with pytest.raises(ValueError, match="must be"):
        spectrogram_torch(torch.zeros(1, 1, 4000), 2048, SR, 512, 2048)
    with pytest.raises(ValueError, match="must be"):
        MelSTFT(SR).get_mel(torch.zeros(2, 1, 100))
    # shorter than a window: NSF-HiFiGAN's extractor zero-pads instead of failing
    assert MelSTFT(SR).get_mel(torch.zeros(1, 300)).shape[:2] == (1, 80)
