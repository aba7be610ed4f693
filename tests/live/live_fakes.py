"""Small fakes for live tests: a framed log-energy content encoder and an F0-following voice (it sings a sine at
the F0 it is given, starting every call at phase 0 like a real vocoder starts fresh on each window). A uniquely
named module, not conftest.py: other test folders have their own fakes."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class FakeEncoder:
    """16 kHz waveform -> [T_c, dim] log energies of ``dim`` sub-blocks of each 400-sample frame (hop 320)."""

    sample_rate = 16000
    hop = 320

    def __init__(self, dim: int = 8) -> None:
        self.dim = dim

    def encode(self, wav_16k: torch.Tensor) -> torch.Tensor:
        x = wav_16k.reshape(-1).float()
        n = (x.numel() - 400) // 320 + 1
        frames = x.unfold(0, 400, 320)[:n, : (400 // self.dim) * self.dim]
        return torch.log(frames.reshape(n, self.dim, -1).pow(2).mean(-1) + 1e-6)


class SineVoice:
    """Output = 0.3 * uv * sin(phase of f0), decoding only from ``decode_from`` when asked."""

    def __init__(self, sr: int = 44100, hop: int = 512, ssl_dim: int = 8) -> None:
        self.sampling_rate, self.hop_length, self.ssl_dim = sr, hop, ssl_dim
        self.speech_encoder = "fake"
        self.vol_embedding = False
        self.has_f0_decoder = False
        self.unit_interpolate_mode = "nearest"
        self.f0_stats = None
        self.speakers = {"alto": 0, "tenor": 1}
        self.folder = None
        self.calls: list[dict[str, Any]] = []

    def speaker_id(self, name_or_id: int | str) -> int:
        from svc_core.errors import VoiceError

        if isinstance(name_or_id, int) and 0 <= name_or_id < len(self.speakers):
            return name_or_id
        if name_or_id in self.speakers:
            return self.speakers[name_or_id]
        raise VoiceError(f"unknown speaker {name_or_id!r}")

    def synthesize(self, c: torch.Tensor, f0: torch.Tensor, uv: torch.Tensor, speaker: Any,
                   vol: torch.Tensor | None = None, noise_scale: float = 0.35, seed: int = 52468,
                   predict_f0: bool = False, decode_from: int = 0) -> torch.Tensor:
        t = f0.shape[0]
        assert c.shape == (self.ssl_dim, t) and uv.shape == (t,)
        self.calls.append({"frames": t, "decode_from": decode_from, "speaker": speaker})
        f = f0[decode_from:].repeat_interleave(self.hop_length)
        amp = 0.3 * uv[decode_from:].repeat_interleave(self.hop_length)
        phase = torch.cumsum(2 * torch.pi * f.double() / self.sampling_rate, 0)
        return (amp * torch.sin(phase)).float()

    def predict_f0_median(self, c: torch.Tensor, **kw: Any) -> float | None:
        return None


def sine_pipeline(sr: int = 44100, hop: int = 512, **settings: Any) -> Any:
    """A SegmentPipeline over SineVoice, FakeEncoder and the real numpy Praat-style F0 tracker."""
    from svc_core.convert import ConvertSettings, SegmentPipeline
    from svc_core.f0.pm import PraatAcExtractor

    voice = SineVoice(sr, hop)
    return SegmentPipeline(voice, FakeEncoder(voice.ssl_dim), PraatAcExtractor(), ConvertSettings(**settings))


def harmonic(sr: int, seconds: float, hz: float, amp: float = 0.4) -> np.ndarray:
    """A harmonic tone [n] (fundamental + two weaker harmonics)."""
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * (np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(4 * np.pi * hz * t)) / 1.3).astype(np.float32)


def peak_hz(x: np.ndarray, sr: int) -> float:
    """Frequency of the strongest spectral peak (Hann window, parabolic interpolation)."""
    n = 1 << 16
    spec = np.abs(np.fft.rfft(x * np.hanning(x.shape[0]), n))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / n


def run_blocks(engine: Any, x: np.ndarray, hook: Any = None) -> np.ndarray:
    """x through a live engine block by block -> output of the same length (the last block zero-padded)."""
    b = engine.block_size
    xp = np.pad(x, (0, -x.shape[0] % b))
    out = []
    for i in range(xp.shape[0] // b):
        if hook is not None:
            hook(i, engine)
        out.append(engine.process(xp[i * b:(i + 1) * b]).copy())
    return np.concatenate(out)[: x.shape[0]]
