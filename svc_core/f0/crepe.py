"""CREPE pitch extractor through torchcrepe (``tiny`` / ``full``; weights ship in its wheel)."""

from __future__ import annotations

import numpy as np
import torch

from svc_core.dsp import resample
from svc_core.f0.base import F0Extractor

MODEL_SR = 16000
MODEL_HOP = 160
#: Periodicity below this is unvoiced (so-vits-svc uses 0.05 after a 3-frame median; 0.2 rejects white noise).
DEFAULT_PERIODICITY = 0.2
#: Frames whose RMS (1024-sample window at 16 kHz) is below this (dBFS) are unvoiced.
SILENCE_DB = -60.0


def frame_rms_db(x16: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS level in dBFS of 1024-sample windows centred at i*160 of 16 kHz audio [T_wav] -> [n_frames]."""
    half = 512
    padded = np.pad(x16.astype(np.float64), (half, half + n_frames * MODEL_HOP))
    c = np.concatenate([[0.0], np.cumsum(padded**2)])
    starts = np.arange(n_frames) * MODEL_HOP
    ms = (c[starts + 2 * half] - c[starts]) / (2 * half)
    return 10.0 * np.log10(np.maximum(ms, 1e-20))


class CrepeExtractor(F0Extractor):
    """torchcrepe on 16 kHz audio, hop 160 (frame i centred at sample i*160), Viterbi decoding + periodicity."""

    def __init__(
        self,
        model: str = "full",
        device: torch.device | None = None,
        *,
        periodicity_threshold: float = DEFAULT_PERIODICITY,
        batch_size: int = 512,
        decoder: str = "viterbi",
    ) -> None:
        if model not in ("full", "tiny"):
            raise ValueError(f"crepe model must be 'full' or 'tiny', got {model!r}")
        if decoder not in ("viterbi", "weighted_argmax"):
            raise ValueError(f"crepe decoder must be 'viterbi' or 'weighted_argmax', got {decoder!r}")
        self.name = f"crepe-{model}"
        self.model = model
        self.device = device if device is not None else torch.device("cpu")
        self.periodicity_threshold = float(periodicity_threshold)
        self.batch_size = int(batch_size)
        self.decoder = decoder

    def extract_native(
        self, wav: np.ndarray, sr: int, f0_min: float, f0_max: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CREPE on its 10 ms grid."""
        import torchcrepe

        x16 = resample(wav, sr, MODEL_SR)
        if x16.shape[0] < 3 * MODEL_HOP:  # torchcrepe's 3-frame median filter needs a few frames: zero-extend
            x16 = np.pad(x16, (0, 3 * MODEL_HOP - x16.shape[0]))
        audio = torch.from_numpy(np.ascontiguousarray(x16))[None].to(self.device)
        decoder = torchcrepe.decode.viterbi if self.decoder == "viterbi" else torchcrepe.decode.weighted_argmax
        fmax = min(float(f0_max), 2006.0)
        with torch.inference_mode():
            pitch, periodicity = torchcrepe.predict(
                audio, MODEL_SR, MODEL_HOP, max(float(f0_min), 31.7), fmax, self.model,
                decoder=decoder, return_periodicity=True, batch_size=self.batch_size, device=self.device, pad=True,
            )
            periodicity = torchcrepe.filter.median(periodicity, 3)
        f0 = pitch[0].cpu().double().numpy()
        per = periodicity[0].cpu().double().numpy()
        loud = frame_rms_db(x16, f0.shape[0]) >= SILENCE_DB
        voiced = (per >= self.periodicity_threshold) & loud & np.isfinite(f0) & (f0 > 0)
        times = np.arange(f0.shape[0]) * MODEL_HOP / MODEL_SR
        return times, np.where(voiced, f0, 0.0), voiced
