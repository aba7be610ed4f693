"""The per-segment model path shared by file conversion, the live engine and training sample renders."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from svc_core.convert.f0_curve import curve_on_grid, load_f0_curve
from svc_core.convert.protocols import ContentEncoderLike, F0ExtractorLike, VoiceLike
from svc_core.convert.settings import ConvertSettings
from svc_core.dsp import resample
from svc_core.errors import SvcError, VoiceError
from svc_core.features import fit_length, stretch_units, volume_frames
from svc_core.memory import release_freed_memory

if TYPE_CHECKING:
    import torch

    from svc_core.retrieval import RetrievalIndex

__all__ = ["SegmentPipeline"]

_MIN_ENCODER_SECONDS = 400 / 16000  # one frame of the WavLM/HuBERT conv stack (400 samples at 16 kHz)


class SegmentPipeline:
    """Model-rate mono audio -> F0 -> content (-> optional retrieval blend) -> synthesize -> waveform.

    One object serves every job that turns a window of audio into the voice: the file converter calls it once per
    segment (with real audio as context each side), the live engine once per block on its sliding window, the
    trainer for sample renders. It holds no per-call state, so one instance may be reused for any number of calls
    (from one thread at a time; the models are not re-entrant).

    Construction: ``SegmentPipeline(voice, encoder, f0_extractor, settings=None, index=None, device=None)``.
    ``settings`` is a :class:`ConvertSettings`; only the per-segment fields are read: ``speaker``, ``transpose``,
    ``predict_f0``, ``f0_postprocess``, ``f0_min``, ``f0_max``, ``f0_curve_path``, ``retrieval_ratio``,
    ``retrieval_k``, ``noise_scale`` and ``seed``. ``device`` defaults to the voice's (``voice.device``), else CPU.
    Mismatched parts (encoder width vs the voice's ``ssl_dim``, index width) raise at construction.

    Attributes: ``sample_rate`` (the voice's rate: every array in and out is at this rate), ``hop`` (samples per
    model frame), ``speaker`` (resolved id or normalised-later mix), ``device``.

    Calls (``x`` is float32 mono ``[n]`` at ``sample_rate``; frames ``T = ceil(n / hop)``):

    - :meth:`render(x, f0=None, voiced=None, *, semitones=None, t0=0.0, skip_head=0, last=None)
      <render>` -> float32 ``[n]`` converted audio, or only part of it: ``skip_head`` drops that many leading
      samples (left context), ``last`` keeps only the final ``last`` samples (a live block). ``f0``/``voiced``
      (``[T]``, raw Hz before transpose, 0 = unvoiced) skip F0 extraction when the caller already has them (the
      live engine tracks F0 incrementally, the converter computes it once for auto-key). ``semitones`` defaults
      to ``settings.transpose``; ``t0`` is the time (s) of ``x[0]`` in the whole input, used by a manual F0 curve.
    - :meth:`f0(x, t0=0.0) <f0>` -> ``(f0 [T], voiced [T])``: raw F0 (extractor + post-processing, or the curve).
    - :meth:`content(x, n_frames) <content>` -> torch ``[ssl_dim, n_frames]`` on ``device``.
    - :meth:`auto_key_shift(voiced_f0, sample_x=None) <auto_key_shift>` -> whole semitones moving a median F0
      onto the voice's (its ``f0_stats``, else its F0 decoder run on ``sample_x``).

    The steps follow so-vits-svc 4.1 ``inference/infer_tool.py`` (AGPL-3.0) as described in shared/compat/voices.md
    1.6-1.10; the code is our own.
    """

    def __init__(self, voice: VoiceLike, encoder: ContentEncoderLike, f0_extractor: F0ExtractorLike,
                 settings: ConvertSettings | None = None, index: RetrievalIndex | None = None,
                 device: str | torch.device | None = None) -> None:
        import torch

        self.voice, self.encoder, self.f0_extractor, self.index = voice, encoder, f0_extractor, index
        self.settings = settings or ConvertSettings()
        if device is None:
            device = getattr(voice, "device", None) or "cpu"
        self.device = torch.device(device)
        if int(encoder.dim) != int(voice.ssl_dim):
            raise VoiceError(f"the content encoder gives {encoder.dim}-dim features but the voice expects ssl_dim "
                             f"{voice.ssl_dim} (speech_encoder {voice.speech_encoder!r})")
        if self.settings.retrieval_ratio > 0 and index is not None and index.dim != voice.ssl_dim:
            raise SvcError(f"{index.source or 'retrieval index'}: feature dim {index.dim} does not match the voice's "
                           f"ssl_dim {voice.ssl_dim}")
        self.sample_rate, self.hop = int(voice.sampling_rate), int(voice.hop_length)
        self.speaker = self._resolve_speaker(self.settings.speaker)
        self._curve = load_f0_curve(self.settings.f0_curve_path) if self.settings.f0_curve_path else None

    def _resolve_speaker(self, spk: int | str | Mapping[str, float] | None) -> int | dict[str, float]:
        v = self.voice
        if spk is None:
            return v.speaker_id(next(iter(v.speakers))) if v.speakers else 0
        if isinstance(spk, Mapping):
            if not spk:
                raise SvcError("speaker mix is empty")
            mix: dict[str, float] = {}
            for name, w in spk.items():
                v.speaker_id(name)  # raises for unknown names
                if not (math.isfinite(float(w)) and float(w) >= 0):
                    raise SvcError(f"speaker mix weight for {name!r} must be >= 0, got {w!r}")
                mix[str(name)] = float(w)
            if sum(mix.values()) <= 0:
                raise SvcError("speaker mix weights sum to 0")
            return mix
        return v.speaker_id(spk)

    def _retrieval_speaker(self) -> int:
        spk = self.speaker
        if isinstance(spk, dict):
            return self.voice.speaker_id(max(spk, key=lambda k: spk[k]))
        return spk

    def n_frames(self, n_samples: int) -> int:
        """Model frames of ``n_samples`` samples: ceil(n / hop)."""
        return -(-int(n_samples) // self.hop)

    def f0(self, x: np.ndarray, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Raw F0 (before transpose) of model-rate mono x [n] whose first sample is at ``t0`` s -> (f0, voiced) [T]."""
        from svc_core.f0.post import postprocess

        s, sr, hop = self.settings, self.sample_rate, self.hop
        n_frames = self.n_frames(x.shape[0])
        if self._curve is not None:
            t = t0 + (np.arange(n_frames) * hop + hop / 2.0) / sr
            return curve_on_grid(self._curve[0], self._curve[1], t)
        f0, voiced = self.f0_extractor.extract(x, sr, hop, s.f0_min, s.f0_max)
        f0 = fit_length(np.asarray(f0, np.float32), n_frames)
        voiced = fit_length(np.asarray(voiced, bool), n_frames)
        if s.f0_postprocess:
            f0 = postprocess(f0, voiced)
        return np.where(voiced, f0, 0.0).astype(np.float32), voiced

    def content(self, x: np.ndarray, n_frames: int) -> torch.Tensor:
        """Content of model-rate mono x -> [ssl_dim, n_frames] on the device (retrieval blended when enabled)."""
        import torch

        from svc_core.retrieval import blend

        enc_sr = int(self.encoder.sample_rate)
        xe = resample(x, self.sample_rate, enc_sr)
        min_samples = math.ceil(_MIN_ENCODER_SECONDS * enc_sr)
        if xe.shape[0] < min_samples:
            xe = np.pad(xe, (0, min_samples - xe.shape[0]))
        s = self.settings
        with torch.inference_mode():
            c = self.encoder.encode(torch.from_numpy(xe))
            if s.retrieval_ratio > 0 and self.index is not None:
                feats = blend(c.float().cpu().numpy(), self.index.for_speaker(self._retrieval_speaker()),
                              s.retrieval_ratio, s.retrieval_k)
                c = torch.from_numpy(feats)
            c = c.to(self.device, torch.float32).transpose(0, 1)
            return stretch_units(c, n_frames, self.voice.unit_interpolate_mode)

    def render(self, x: np.ndarray, f0: np.ndarray | None = None, voiced: np.ndarray | None = None, *,
               semitones: float | None = None, t0: float = 0.0, skip_head: int = 0,
               last: int | None = None) -> np.ndarray:
        """Model-rate mono x [n] -> converted audio at the model rate: [n - skip_head], or its last ``last``."""
        import torch

        from svc_core.f0.post import interpolate_unvoiced, transpose

        x = np.asarray(x, np.float32).reshape(-1)
        n = x.shape[0]
        if n == 0:
            raise SvcError("render: no samples")
        if not 0 <= skip_head < n:
            raise SvcError(f"render: skip_head must be in [0, {n}), got {skip_head}")
        if last is not None and not 0 < last <= n - skip_head:
            raise SvcError(f"render: last must be in [1, {n - skip_head}], got {last}")
        n_frames = self.n_frames(n)
        if f0 is None or voiced is None:
            f0, voiced = self.f0(x, t0)
        elif len(f0) != n_frames or len(voiced) != n_frames:
            raise SvcError(f"render: f0/voiced need {n_frames} frames for {n} samples, got {len(f0)}/{len(voiced)}")
        s = self.settings
        semitones = float(s.transpose if semitones is None else semitones)
        voiced = np.asarray(voiced, bool)
        f0_t = transpose(np.asarray(f0, np.float32), semitones) if semitones else np.asarray(f0, np.float32)
        f0_full = interpolate_unvoiced(f0_t, voiced)
        c = self.content(x, n_frames)
        vol = volume_frames(x, self.hop, n_frames) if self.voice.vol_embedding else None
        release_freed_memory()  # the encoder's activations are gone: hand them back before the decoder's arrive
        with torch.inference_mode():
            y = self.voice.synthesize(
                c,
                torch.from_numpy(f0_full).to(self.device),
                torch.from_numpy(voiced.astype(np.float32)).to(self.device),
                self.speaker,
                vol=None if vol is None else torch.from_numpy(vol).to(self.device),
                noise_scale=s.noise_scale,
                seed=s.seed,
                predict_f0=s.predict_f0,
            )
        out = y.detach().float().reshape(-1).cpu().numpy()
        if not np.isfinite(out).all():
            raise VoiceError("the voice produced NaN/inf samples (broken or untrained checkpoint?)")
        out = fit_length(out, n)[skip_head:]
        return out[-last:] if last is not None else out

    def auto_key_shift(self, voiced_f0: np.ndarray, sample_x: np.ndarray | None = None) -> float:
        """Whole semitones moving the median of ``voiced_f0`` (Hz) onto the voice's (f0_stats, else its F0 decoder
        run on model-rate ``sample_x``); 0 when there is no voiced F0."""
        import torch

        from svc_core.f0.post import auto_key_semitones, interpolate_unvoiced

        if voiced_f0.size == 0:
            return 0.0
        stats = self.voice.f0_stats
        target = stats.get("median_hz") if isinstance(stats, Mapping) else getattr(stats, "median_hz", None)
        if target is None and self.voice.has_f0_decoder and sample_x is not None:
            f0, v = self.f0(sample_x, 0.0)
            n_frames = f0.shape[0]
            c = self.content(sample_x, n_frames)
            uv = torch.from_numpy(v.astype(np.float32)).to(self.device)
            vol = (torch.from_numpy(volume_frames(sample_x, self.hop, n_frames)).to(self.device)
                   if self.voice.vol_embedding else None)
            f0_t = torch.from_numpy(interpolate_unvoiced(f0, v)).to(self.device)
            target = self.voice.predict_f0_median(c, f0=f0_t, uv=uv, speaker=self.speaker, vol=vol)
        if target is None:
            raise SvcError("auto-key needs the voice's F0 statistics (f0_stats in its metadata) or an F0 decoder; "
                           "this voice has neither - set --transpose instead")
        if not (math.isfinite(float(target)) and 20.0 <= float(target) <= 2000.0):
            raise SvcError(f"auto-key: the voice's target median F0 ({float(target):.1f} Hz) is not a usable pitch "
                           "(untrained F0 decoder?) - set --transpose instead")
        return auto_key_semitones(voiced_f0, np.ones(voiced_f0.shape, bool), float(target))
