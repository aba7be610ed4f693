"""Small fakes for conversion tests: a framed log-energy content encoder, an FFT-peak tone detector, and an
"F0-following decoder" voice whose synthesize renders a sine at the F0 it is given.
(A uniquely named module, not conftest.py: other test folders have their own conftest.py.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


class FakeEncoder:
    """16 kHz waveform -> [T_c, dim] log energies of ``dim`` sub-blocks of each 400-sample frame (hop 320)."""

    sample_rate = 16000
    hop = 320

    def __init__(self, dim: int = 8) -> None:
        self.dim = dim
        self.calls: list[int] = []

    def encode(self, wav_16k: torch.Tensor) -> torch.Tensor:
        x = wav_16k.reshape(-1).float()
        self.calls.append(int(x.numel()))
        n = (x.numel() - 400) // 320 + 1
        frames = x.unfold(0, 400, 320)[:n, : (400 // self.dim) * self.dim]
        e = frames.reshape(n, self.dim, -1).pow(2).mean(-1)
        return torch.log(e + 1e-6)


class FakeF0:
    """Per-frame FFT peak (Hann window, zero padded, parabolic interpolation); voiced where RMS > 1e-3."""

    def __init__(self, win: int = 1024, nfft: int = 16384) -> None:
        self.win, self.nfft = win, nfft
        self.calls: list[int] = []

    def extract(self, wav: np.ndarray, sr: int, hop: int, f0_min: float = 50.0,
                f0_max: float = 1100.0) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(wav, np.float64)
        self.calls.append(x.shape[0])
        t = -(-x.shape[0] // hop)
        pad = self.win // 2
        xp = np.pad(x, (pad, pad + t * hop))
        centres = np.arange(t) * hop + hop // 2
        frames = np.lib.stride_tricks.sliding_window_view(xp, self.win)[centres]
        rms = np.sqrt((frames ** 2).mean(axis=1))
        spec = np.abs(np.fft.rfft(frames * np.hanning(self.win), n=self.nfft, axis=1)) + 1e-12
        freqs = np.fft.rfftfreq(self.nfft, 1.0 / sr)
        band = (freqs >= f0_min) & (freqs <= f0_max)
        lo = int(np.flatnonzero(band)[0])
        k = spec[:, band].argmax(axis=1) + lo
        k = np.clip(k, 1, spec.shape[1] - 2)
        a, b, c = (np.log(spec[np.arange(t), k + d]) for d in (-1, 0, 1))
        delta = 0.5 * (a - c) / np.where(np.abs(a - 2 * b + c) > 1e-12, a - 2 * b + c, 1.0)
        f0 = (k + delta) * sr / self.nfft
        voiced = rms > 1e-3
        return np.where(voiced, f0, 0.0).astype(np.float32), voiced


class SineVoice:
    """A voice whose decoder follows F0: output = 0.3 * uv * sin(phase of f0) at ``sampling_rate``."""

    def __init__(self, sr: int = 16000, hop: int = 320, ssl_dim: int = 8, vol_embedding: bool = True,
                 f0_stats: dict[str, float] | None = None, has_f0_decoder: bool = False,
                 mode: str = "nearest") -> None:
        self.sampling_rate, self.hop_length, self.ssl_dim = sr, hop, ssl_dim
        self.speech_encoder = "fake"
        self.vol_embedding = vol_embedding
        self.has_f0_decoder = has_f0_decoder
        self.unit_interpolate_mode = mode
        self.f0_stats = f0_stats
        self.speakers = {"alto": 0, "tenor": 1}
        self.folder = None
        self.calls: list[dict[str, Any]] = []

    def speaker_id(self, name_or_id: int | str) -> int:
        from svc_core.errors import UnknownSpeakerError

        if isinstance(name_or_id, int):
            if 0 <= name_or_id < len(self.speakers):
                return name_or_id
        elif name_or_id in self.speakers:
            return self.speakers[name_or_id]
        raise UnknownSpeakerError(f"unknown speaker {name_or_id!r}")

    def synthesize(self, c: torch.Tensor, f0: torch.Tensor, uv: torch.Tensor, speaker: Any,
                   vol: torch.Tensor | None = None, noise_scale: float = 0.35, seed: int = 52468,
                   predict_f0: bool = False) -> torch.Tensor:
        t = f0.shape[0]
        assert c.shape == (self.ssl_dim, t), (c.shape, t)
        assert uv.shape == (t,)
        assert vol is None or vol.shape == (t,)
        assert torch.isfinite(c).all()
        self.calls.append({"frames": t, "speaker": speaker, "vol": vol is not None, "noise_scale": noise_scale,
                           "seed": seed, "c_mean": float(c.mean())})
        f = f0.repeat_interleave(self.hop_length)
        amp = 0.3 * uv.repeat_interleave(self.hop_length)
        phase = torch.cumsum(2 * torch.pi * f.double() / self.sampling_rate, 0)
        return (amp * torch.sin(phase)).float()

    def predict_f0_median(self, c: torch.Tensor, **kw: Any) -> float | None:
        assert c.shape[0] == self.ssl_dim and kw["f0"].shape == (c.shape[1],)
        return 330.0 if self.has_f0_decoder else None


def tone(sr: int, seconds: float, hz: float, amp: float = 0.5) -> np.ndarray:
    """A harmonic test tone [N] (fundamental + 2 weaker harmonics)."""
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * (np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(4 * np.pi * hz * t) + 0.1 * np.sin(6 * np.pi * hz * t))
            / 1.4).astype(np.float32)


def cents(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1200 log2(a / b)."""
    return 1200.0 * np.log2(np.asarray(a, np.float64) / np.asarray(b, np.float64))


def make_converter(voice: Any = None, settings: Any = None, **kw: Any) -> Any:
    """A Converter over the fakes with ``settings`` (ConvertSettings or kwargs for it)."""
    from svc_core.convert import Converter, ConvertSettings

    if settings is None:
        settings = ConvertSettings(**kw)
    elif isinstance(settings, Mapping):
        settings = ConvertSettings(**settings)
    voice = voice or SineVoice()
    return Converter(voice, FakeEncoder(voice.ssl_dim), FakeF0(), settings)


def cli_runner(monkeypatch: Any, tmp_path: Any, voice_factory: Any = None) -> Any:
    """``run(*argv) -> exit code`` of ``svc-studio convert ... -m <tmp>/MyVoice`` with load_converter replaced by
    the fakes (``voice_factory()`` builds the voice; default SineVoice). ``run.loads`` counts voice loads."""
    from pathlib import Path

    import svc_core.cli
    import svc_core.convert
    from svc_core.convert import Converter

    monkeypatch.setattr(svc_core.cli, "SUBCOMMAND_MODULES", ("convert",))
    voice_dir = Path(tmp_path) / "MyVoice"
    voice_dir.mkdir(exist_ok=True)
    loads: list[Any] = []

    def fake_load(voice_path: Any, settings: Any, **kw: Any) -> Any:
        loads.append(settings)
        v = (voice_factory or SineVoice)()
        v.folder = Path(voice_path)
        return Converter(v, FakeEncoder(v.ssl_dim), FakeF0(), settings)

    monkeypatch.setattr(svc_core.convert, "load_converter", fake_load)

    def run(*argv: str) -> int:
        return svc_core.cli.main(["convert", *argv, "-m", str(voice_dir)])

    run.loads = loads  # type: ignore[attr-defined]
    run.voice_dir = voice_dir  # type: ignore[attr-defined]
    return run
