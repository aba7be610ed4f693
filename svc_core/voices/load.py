"""Load a so-vits-svc 4.x voice (config.json + generator checkpoint) safely and strictly.

Safety: every checkpoint goes through ``vencoder.safe_load.load_torch_file`` (``weights_only=True``); a pickle that
would run code is refused and never executed. Strictness: unlike so-vits-svc (which silently keeps random weights for
missing or mis-shaped keys) the state dict must fit the model built from config.json exactly (only the training-only
posterior encoder ``enc_q.*`` is ignored); otherwise the error names the differing keys and the likely cause.
Formats: shared/compat/voices.md sections 1-3.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from svc_core.device import pick_device
from svc_core.errors import VoiceError
from svc_core.models.f0_decoder import lf0_to_hz
from svc_core.models.synthesizer import SynthesizerTrn
from svc_core.voices.config import ConfigError, VoiceConfig, speech_encoder_for_dim
from vencoder.safe_load import CheckpointError, UnsafeCheckpointError, load_torch_file

__all__ = [
    "CheckpointMismatchError",
    "F0Stats",
    "UnsafeVoiceFileError",
    "Voice",
    "VoiceFileError",
    "find_checkpoint",
    "load_voice",
]

log = logging.getLogger(__name__)


class VoiceFileError(VoiceError, CheckpointError):
    """A voice's checkpoint is missing, empty, truncated, corrupt or not a so-vits-svc generator."""

    def __init__(self, path: str | Path, reason: str) -> None:
        CheckpointError.__init__(self, path, reason)


class UnsafeVoiceFileError(VoiceFileError, UnsafeCheckpointError):
    """A voice's checkpoint would run code when unpickled; it was refused and nothing was executed."""


class CheckpointMismatchError(VoiceError):
    """The checkpoint's keys or shapes do not fit the network config.json describes."""

    def __init__(self, message: str, missing: list[str], unexpected: list[str],
                 mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]], causes: list[str]) -> None:
        super().__init__(message)
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched
        self.causes = causes


@dataclass(frozen=True)
class F0Stats:
    """Pitch statistics of the voice's training data (``f0_stats.json``), used for automatic key."""

    median_hz: float
    p5_hz: float
    p95_hz: float


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
    ) -> torch.Tensor:
        """Waveform [T * hop] at ``sampling_rate`` from content c [ssl_dim, T], f0 [T] Hz (0 = unvoiced), uv [T]
        (1 voiced), a speaker (name, id, or {speaker: weight} mix, normalised) and vol [T] (needed when the voice
        has a volume embedding). Same result as so-vits-svc's ``infer`` for the same seed."""
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


# -- file resolution -------------------------------------------------------------------------------------------
_G_RE = re.compile(r"G_(\d+)\.pth")


def find_checkpoint(folder: Path) -> Path:
    """Newest ``G_<step>.pth`` by step; else a single ``*_release*.pth``; else the only ``.pth`` (not D_*)."""
    steps = [(int(m.group(1)), p) for p in folder.glob("G_*.pth") if (m := _G_RE.fullmatch(p.name)) and p.is_file()]
    if steps:
        return max(steps)[1]
    release = sorted(p for p in folder.glob("*_release*.pth") if p.is_file())
    if len(release) > 1:
        full = [p for p in release if "half" not in p.name]
        release = full if len(full) == 1 else release
    if len(release) == 1:
        return release[0]
    candidates = sorted(p for p in folder.glob("*.pth") if p.is_file() and not p.name.startswith("D_"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise VoiceError(f"{folder}: no generator checkpoint (G_<step>.pth or another .pth file) in the voice folder")
    names = ", ".join(p.name for p in candidates[:8])
    raise VoiceError(f"{folder}: several .pth files and none named G_<step>.pth ({names}); name the one to use")


def _resolve(path: str | Path, checkpoint: str | Path | None) -> tuple[Path, Path, Path]:
    p = Path(path).expanduser()
    if not p.exists():
        raise VoiceError(f"{p}: voice not found (expected a folder with config.json and G_*.pth, or a .pth file)")
    if p.is_dir():
        folder = p
        ck = None
    elif p.suffix.lower() == ".json":
        folder, ck = p.parent, None
    else:
        folder, ck = p.parent, p
    config_path = p if p.suffix.lower() == ".json" and p.is_file() else folder / "config.json"
    if checkpoint is not None:
        ck = Path(checkpoint).expanduser()
        if not ck.is_absolute() and not ck.exists():
            ck = folder / ck
        if not ck.is_file():
            raise VoiceError(f"{ck}: checkpoint not found")
    if not config_path.is_file():
        raise ConfigError(
            f"{folder}: no config.json (so-vits-svc voices need the config.json written by training, e.g. "
            "logs/44k/config.json or configs/config.json, next to the checkpoint)"
        )
    if ck is None:
        ck = find_checkpoint(folder)
    return folder, config_path, ck


# -- checkpoint inspection ---------------------------------------------------------------------------------------
def _is_rvc(obj: Mapping[str, Any]) -> bool:
    return "weight" in obj and "config" in obj


def _state_dict(obj: Any, ck: Path) -> dict[str, torch.Tensor]:
    if not isinstance(obj, Mapping):
        raise VoiceFileError(ck, f"not a so-vits-svc checkpoint (holds a {type(obj).__name__}, expected a dict)")
    if _is_rvc(obj):
        version = obj.get("version", "v1")
        raise VoiceFileError(
            ck,
            f"looks like an RVC model (top-level 'weight' and 'config' keys, version {version}), not a so-vits-svc "
            "voice: RVC voices need the RVC pipeline",
        )
    if "model" in obj and isinstance(obj["model"], Mapping):
        sd = obj["model"]
    elif obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        sd = obj
    else:
        keys = ", ".join(map(str, list(obj)[:8]))
        raise VoiceFileError(ck, f"no 'model' state dict in the checkpoint (top-level keys: {keys or 'none'})")
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise VoiceFileError(ck, f"state dict entry {k!r} is a {type(v).__name__}, not a tensor")
        k = str(k)
        k = k[len("module."):] if k.startswith("module.") else k
        if v.is_floating_point() and v.dtype != torch.float32:
            v = v.float()  # fp16 / bf16 release files -> float32 (CPU inference is float32)
        out[k] = v
    if not out:
        raise VoiceFileError(ck, "the checkpoint's state dict is empty")
    if any(k.startswith(("enc_p.emb_phone", "enc_p.emb_pitch", "enc_p.encoder.")) for k in out):
        raise VoiceFileError(ck, "looks like an RVC generator (enc_p.emb_phone / enc_p.encoder keys), not a "
                                 "so-vits-svc voice")
    return out


def _shape(t: torch.Tensor | None) -> tuple[int, ...]:
    return tuple(t.shape) if t is not None else ()


def _diagnose(sd: dict[str, torch.Tensor], cfg: VoiceConfig, raw_model: Mapping[str, Any]) -> list[str]:
    m = cfg.model
    causes: list[str] = []
    keys = set(sd)
    if any(k.startswith(("dec.subband_conv_post", "dec.multistream_conv_post", "dec.updown_filter")) for k in keys):
        causes.append("the checkpoint is a so-vits-svc-fork iSTFT model (quickvc / ms-istft decoder), which is not "
                      "supported")
    pre = sd.get("pre.weight")
    if pre is not None and pre.dim() == 3:
        if pre.shape[1] != m.ssl_dim:
            enc = speech_encoder_for_dim(pre.shape[1]) or f"an encoder with {pre.shape[1]}-dim output"
            causes.append(
                f"wrong ssl_dim / speech_encoder in config.json: the checkpoint's pre.weight takes {pre.shape[1]}-dim "
                f"content features, the config says ssl_dim {m.ssl_dim} (speech_encoder {m.speech_encoder}); "
                f"set ssl_dim {pre.shape[1]} and speech_encoder '{enc}'"
            )
        if pre.shape[0] != m.hidden_channels:
            causes.append(f"hidden_channels differ: checkpoint {pre.shape[0]}, config {m.hidden_channels} "
                          "(config.json from another model?)")
    emb_g = sd.get("emb_g.weight")
    if emb_g is not None and emb_g.dim() == 2 and emb_g.shape[1] != m.gin_channels:
        if "speech_encoder" not in raw_model:
            causes.append(f"config.json looks like a so-vits-svc 4.0 config (no speech_encoder, gin_channels "
                          f"{m.gin_channels}) but the checkpoint is a 4.1 model (speaker embedding width "
                          f"{emb_g.shape[1]}); use the config.json that came with this checkpoint")
        else:
            causes.append(f"gin_channels differ: checkpoint speaker embedding width {emb_g.shape[1]}, config "
                          f"{m.gin_channels}")
    has_vol = any(k.startswith("emb_vol.") for k in keys)
    if has_vol != m.vol_embedding:
        causes.append("vol_embedding mismatch: the checkpoint " + ("has" if has_vol else "has no")
                      + f" volume embedding (emb_vol), config.json says vol_embedding {str(m.vol_embedding).lower()}")
    has_snake = any(k.startswith(("dec.snakes", "dec.snake_post")) or (k.startswith("dec.") and ".activations." in k)
                    for k in keys)
    want_snake = m.vocoder_name == "nsf-snake-hifigan"
    if any(k.startswith("dec.") for k in keys) and has_snake != want_snake:
        causes.append(f"vocoder_name mismatch: config.json says '{m.vocoder_name}' but the checkpoint's decoder is "
                      + ("nsf-snake-hifigan" if has_snake else "nsf-hifigan"))
    has_wn = any(k.startswith("flow.wn.") for k in keys)
    if has_wn != m.flow_share_parameter:
        causes.append(f"flow_share_parameter mismatch: checkpoint {'has' if has_wn else 'has no'} shared flow.wn, "
                      f"config says {str(m.flow_share_parameter).lower()}")
    has_tf = any(k.startswith("flow.") and ".self_attn_layers." in k for k in keys)
    if has_tf != m.use_transformer_flow:
        causes.append(f"use_transformer_flow mismatch: checkpoint {'has' if has_tf else 'has no'} transformer flow, "
                      f"config says {str(m.use_transformer_flow).lower()}")
    has_dw = any(k.startswith("flow.") and ".depth_conv." in k for k in keys)
    if has_dw != m.use_depthwise_conv:
        causes.append(f"use_depthwise_conv mismatch: checkpoint {'uses' if has_dw else 'does not use'} depthwise "
                      f"convs, config says {str(m.use_depthwise_conv).lower()}")
    if not causes:
        causes.append("config.json does not describe this checkpoint (copied from another model, or edited?)")
    return causes


def _fmt_keys(keys: list[str], n: int = 5) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", ... ({len(keys) - n} more)" if len(keys) > n else "")


def _check_keys(model: SynthesizerTrn, sd: dict[str, torch.Tensor], cfg: VoiceConfig, raw_model: Mapping[str, Any],
                ck: Path, config_path: Path) -> None:
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    mismatched = [(k, tuple(sd[k].shape), expected[k]) for k in expected if k in sd
                  and tuple(sd[k].shape) != expected[k]]
    if not (missing or unexpected or mismatched):
        return
    causes = _diagnose(sd, cfg, raw_model)
    lines = [f"{ck}: the checkpoint does not fit {config_path.name} ({config_path}):"]
    if missing:
        lines.append(f"  missing from the checkpoint ({len(missing)}): {_fmt_keys(missing)}")
    if unexpected:
        lines.append(f"  not expected by the config ({len(unexpected)}): {_fmt_keys(unexpected)}")
    if mismatched:
        shown = "; ".join(f"{k} checkpoint {a} vs config {b}" for k, a, b in mismatched[:5])
        more = f"; ... ({len(mismatched) - 5} more)" if len(mismatched) > 5 else ""
        lines.append(f"  different shape ({len(mismatched)}): {shown}{more}")
    lines.append("Likely cause: " + "; ".join(causes))
    raise CheckpointMismatchError("\n".join(lines), missing, unexpected, mismatched, causes)


def _load_f0_stats(folder: Path, notes: list[str]) -> F0Stats | None:
    p = folder / "f0_stats.json"
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
        vals = [float(d[k]) for k in ("median_hz", "p5_hz", "p95_hz")]
        if not all(math.isfinite(v) and v > 0 for v in vals):
            raise ValueError("values must be positive numbers")
        return F0Stats(*vals)
    except (OSError, ValueError, KeyError, TypeError) as e:
        notes.append(f"{p.name} ignored: {e}")
        log.warning("%s ignored: %s", p, e)
        return None


# -- entry point ---------------------------------------------------------------------------------------------------
def load_voice(
    path: str | Path,
    *,
    checkpoint: str | Path | None = None,
    device: str | torch.device | None = None,
) -> Voice:
    """Load a voice from a folder (config.json + newest G_*.pth) or a checkpoint file (config.json beside it).

    Raises ConfigError (a VoiceError) for a missing/invalid config, VoiceFileError / UnsafeVoiceFileError for a bad
    or unsafe checkpoint and CheckpointMismatchError when the weights do not fit the config.
    """
    folder, config_path, ck = _resolve(path, checkpoint)
    cfg = VoiceConfig.from_file(config_path)
    raw_model = json.loads(config_path.read_text(encoding="utf-8-sig")).get("model", {})
    fork_type = cfg.model.extra.get("type_")
    if fork_type in ("istft", "ms-istft", "mb-istft"):
        raise ConfigError(f"{config_path}: a so-vits-svc-fork '{fork_type}' voice (iSTFT decoder); only NSF-HiFiGAN "
                          "and Snake decoders are supported")
    try:
        obj = load_torch_file(ck)
    except UnsafeCheckpointError as e:
        raise UnsafeVoiceFileError(ck, e.reason) from None
    except CheckpointError as e:
        raise VoiceFileError(ck, e.reason) from None
    sd = _state_dict(obj, ck)
    del obj
    notes = list(cfg.applied_defaults)

    kwargs = cfg.model.synthesizer_kwargs()
    emb_g = sd.get("emb_g.weight")
    if emb_g is not None and emb_g.dim() == 2 and emb_g.shape[1] == cfg.model.gin_channels \
            and emb_g.shape[0] != cfg.model.n_speakers:
        notes.append(f"speaker table sized from the checkpoint: {emb_g.shape[0]} rows (config n_speakers "
                     f"{cfg.model.n_speakers})")
        kwargs["n_speakers"] = int(emb_g.shape[0])
    has_f0_dec = any(k.startswith("f0_decoder.") for k in sd)
    if cfg.model.use_automatic_f0_prediction and not has_f0_dec:
        notes.append("checkpoint has no F0 decoder: automatic F0 prediction disabled")
        kwargs["use_automatic_f0_prediction"] = False
    elif has_f0_dec and not cfg.model.use_automatic_f0_prediction:
        notes.append("checkpoint's F0 decoder ignored (use_automatic_f0_prediction is false in config.json)")
        sd = {k: v for k, v in sd.items() if not k.startswith("f0_decoder.")}
    sd = {k: v for k, v in sd.items() if not k.startswith("enc_q.")}  # posterior encoder: training only

    try:
        model = SynthesizerTrn(
            cfg.data.filter_length // 2 + 1,
            cfg.train.segment_size // cfg.data.hop_length,
            **kwargs,
            posterior_encoder=False,
        )
    except ValueError as e:
        raise ConfigError(f"{config_path}: cannot build the synthesizer: {e}") from None
    _check_keys(model, sd, cfg, raw_model, ck, config_path)
    model.load_state_dict(sd, strict=True)
    model.eval()
    model.remove_weight_norm()
    model.requires_grad_(False)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    model.to(dev)

    n_rows = model.emb_g.num_embeddings
    speakers = dict(cfg.spk) if cfg.spk else {"0": 0}
    bad = {name: sid for name, sid in speakers.items() if sid >= n_rows}
    if bad:
        listing = ", ".join(f"{n} -> {i}" for n, i in bad.items())
        raise VoiceError(f"{config_path}: spk maps {listing}, but the checkpoint has only {n_rows} speaker(s)")
    for n in notes:
        log.info("%s: %s", folder, n)
    return Voice(
        folder=folder,
        config_path=config_path,
        checkpoint_path=ck,
        config=cfg,
        model=model,
        speakers=speakers,
        f0_stats=_load_f0_stats(folder, notes),
        notes=notes,
    )
