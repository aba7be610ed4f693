"""A loaded voice: its files, config, synthesizer and speakers, and synthesis from content + F0."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from svc_core.errors import VoiceError
from svc_core.models.f0_decoder import lf0_to_hz
from svc_core.models.synthesizer import SynthesizerTrn
from svc_core.voices.config import VoiceConfig
from svc_core.voices.files import F0Stats

__all__ = ["Voice"]


@dataclass
class Voice:
    """A loaded voice: files, parsed config, the synthesizer (eval, weight norm removed) and speakers."""

    folder: Path
    config_path: Path
    checkpoint_path: Path
    config: VoiceConfig
    model: SynthesizerTrn
    speakers: dict[str, int]
    f0_stats: F0Stats | None = None
    notes: list[str] = field(default_factory=list)

    # -- properties ---------------------------------------------------------------------------------------------
    @property
    def sampling_rate(self) -> int:
        """Output sample rate (data.sampling_rate)."""
        return self.config.data.sampling_rate

    @property
    def hop_length(self) -> int:
        """Samples per frame (data.hop_length = product of upsample_rates)."""
        return self.config.data.hop_length

    @property
    def speech_encoder(self) -> str | None:
        """Content encoder the voice was trained with (config, or inferred for old configs)."""
        return self.config.model.speech_encoder

    @property
    def ssl_dim(self) -> int:
        """Content feature width the synthesizer expects."""
        return self.model.ssl_dim

    @property
    def vol_embedding(self) -> bool:
        """True if the voice needs a per-frame volume envelope."""
        return bool(self.model.vol_embedding)

    @property
    def has_f0_decoder(self) -> bool:
        """True if the checkpoint has the automatic F0 predictor."""
        return bool(self.model.use_automatic_f0_prediction)

    @property
    def unit_interpolate_mode(self) -> str:
        """How 50 Hz content units are stretched to the frame rate ('left' for 4.0 configs)."""
        return self.config.data.unit_interpolate_mode

    @property
    def device(self) -> torch.device:
        """Device of the synthesizer's weights."""
        return self.model.emb_g.weight.device

    # -- speakers -----------------------------------------------------------------------------------------------
    def speaker_id(self, speaker: int | str) -> int:
        """Speaker id for a name (from config spk) or an id; VoiceError listing the speakers if unknown."""
        n_rows = self.model.emb_g.num_embeddings
        if isinstance(speaker, str):
            if speaker in self.speakers:
                return self.speakers[speaker]
            if speaker.strip().isdigit() and int(speaker) < n_rows:
                return int(speaker)
        elif isinstance(speaker, numbers.Integral) and not isinstance(speaker, bool) and 0 <= int(speaker) < n_rows:
            return int(speaker)  # also numpy integer scalars
        listing = ", ".join(f"{name} ({sid})" for name, sid in self.speakers.items()) or "(none named)"
        raise VoiceError(f"unknown speaker {speaker!r} for voice {self.folder.name}; speakers: {listing}")

    def _speaker_g(self, speaker: int | str | Mapping[str | int, float]) -> torch.Tensor:
        if isinstance(speaker, Mapping):
            n_rows = self.model.emb_g.num_embeddings
            w = torch.zeros(1, n_rows, dtype=torch.float32)
            for key, weight in speaker.items():
                wf = float(weight)
                if not math.isfinite(wf) or wf < 0:
                    raise VoiceError(f"speaker mix weight for {key!r} must be a finite number >= 0, got {weight!r}")
                w[0, self.speaker_id(key)] += wf
            total = float(w.sum())
            if total <= 0:
                raise VoiceError("speaker mix weights are all zero; give at least one speaker a positive weight")
            return (w / total).to(self.device)
        return torch.tensor([self.speaker_id(speaker)], dtype=torch.long, device=self.device)

    # -- synthesis ----------------------------------------------------------------------------------------------
    def _check_inputs(self, c: torch.Tensor, f0: torch.Tensor | None, uv: torch.Tensor | None,
                      vol: torch.Tensor | None) -> int:
        if not isinstance(c, torch.Tensor) or c.dim() != 2:
            raise VoiceError(f"content c must be a tensor [ssl_dim, T], got {getattr(c, 'shape', type(c))}")
        if c.size(0) != self.ssl_dim:
            raise VoiceError(
                f"content c has {c.size(0)} features per frame but voice {self.folder.name} expects {self.ssl_dim} "
                f"(speech encoder {self.speech_encoder}); extract content with that encoder"
            )
        t = c.size(1)
        if t == 0:
            raise VoiceError("content c has no frames")
        for name, x in (("f0", f0), ("uv", uv), ("vol", vol)):
            if x is None:
                continue
            if x.dim() != 1 or x.size(0) != t:
                raise VoiceError(f"{name} must be a tensor [T] with T = {t} (frames of c), got {tuple(x.shape)}")
            if not bool(torch.isfinite(x).all()):
                raise VoiceError(f"{name} contains NaN or infinite values")
        if not bool(torch.isfinite(c).all()):
            raise VoiceError("content c contains NaN or infinite values")
        if f0 is not None and bool((f0 < 0).any()):
            raise VoiceError("f0 must be >= 0 Hz (0 for unvoiced frames)")
        return t

    def synthesize(
        self,
        c: torch.Tensor,
        f0: torch.Tensor,
        uv: torch.Tensor,
        speaker: int | str | Mapping[str | int, float] = 0,
        vol: torch.Tensor | None = None,
        noise_scale: float = 0.35,
        seed: int = 52468,
        predict_f0: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Waveform [T * hop] at ``sampling_rate`` from content c [ssl_dim, T], f0 [T] Hz (0 = unvoiced), uv [T]
        (1 voiced), a speaker (name, id, or {speaker: weight} mix, normalised) and vol [T] (needed when the voice
        has a volume embedding). Same result as so-vits-svc's ``infer`` for the same seed; random draws come from
        ``generator`` when given (else a fresh one seeded with ``seed``), never from torch's global RNG."""
        self._check_inputs(c, f0, uv, vol)
        if self.vol_embedding and vol is None:
            raise VoiceError(f"voice {self.folder.name} has a volume embedding: pass vol (per-frame volume)")
        if predict_f0 and not self.has_f0_decoder:
            raise VoiceError(f"voice {self.folder.name} has no F0 decoder (use_automatic_f0_prediction is off)")
        g = self._speaker_g(speaker)
        dev, dt = self.device, self.model.pre.weight.dtype
        with torch.inference_mode():
            o, _ = self.model.infer(
                c.to(dev, dt).unsqueeze(0),
                f0.to(dev, torch.float32).unsqueeze(0),
                uv.to(dev, dt).unsqueeze(0),
                g=g,
                noice_scale=float(noise_scale),
                seed=int(seed),
                predict_f0=predict_f0,
                generator=generator,
                vol=None if vol is None else vol.to(dev, dt).unsqueeze(0),
            )
        return o[0, 0]

    def predict_f0_median(
        self,
        c: torch.Tensor,
        f0: torch.Tensor | None = None,
        uv: torch.Tensor | None = None,
        speaker: int | str | Mapping[str | int, float] = 0,
        vol: torch.Tensor | None = None,
    ) -> float | None:
        """Median (Hz, over voiced frames) of the F0 the voice's F0 decoder predicts for this content; None when the
        voice has no F0 decoder. Without f0 the source contour is taken as flat (its mean)."""
        if not self.has_f0_decoder:
            return None
        t = self._check_inputs(c, f0, uv, vol)
        dev, dt = self.device, self.model.pre.weight.dtype
        uv_t = torch.ones(t) if uv is None else uv
        with torch.inference_mode():
            m = self.model
            cc = c.to(dev, dt).unsqueeze(0)
            uu = uv_t.to(dev, dt).unsqueeze(0)
            x_mask = torch.ones(1, 1, t, dtype=dt, device=dev)
            vv = None if vol is None else vol.to(dev, dt).unsqueeze(0)
            if self.vol_embedding and vv is None:
                vv = torch.zeros(1, t, dtype=dt, device=dev)
            x = m.content_prenet(cc, uu, x_mask, vv)
            if f0 is None:
                norm = torch.zeros(1, 1, t, dtype=dt, device=dev)
            else:
                norm = m.norm_lf0(f0.to(dev, torch.float32).unsqueeze(0), uu, x_mask, random_scale=False)
            g = m.speaker_embedding(self._speaker_g(speaker))
            hz = lf0_to_hz(m.f0_decoder(x, norm, x_mask, spk_emb=g))[0, 0]
        voiced = hz[uu[0] > 0] if bool((uu > 0).any()) else hz
        return float(voiced.median())
