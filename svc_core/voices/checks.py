"""Checkpoint checks: the generator state dict out of a checkpoint object, and an exact fit against the network
config.json describes, with the likely cause named when it does not fit (shared/compat/voices.md sections 1-3)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from svc_core.models.synthesizer import SynthesizerTrn
from svc_core.voices.config import VoiceConfig, speech_encoder_for_dim
from svc_core.voices.errors import CheckpointMismatchError, VoiceFileError

__all__ = ["check_keys", "state_dict"]


def _is_rvc(obj: Mapping[str, Any]) -> bool:
    return "weight" in obj and "config" in obj


def state_dict(obj: Any, ck: Path) -> dict[str, torch.Tensor]:
    """The float32 generator state dict of a loaded checkpoint (``module.`` prefixes dropped); VoiceFileError else."""
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


def check_keys(model: SynthesizerTrn, sd: dict[str, torch.Tensor], cfg: VoiceConfig, raw_model: Mapping[str, Any],
               ck: Path, config_path: Path) -> None:
    """Raise CheckpointMismatchError (keys, shapes and likely cause) unless ``sd`` fits ``model`` exactly."""
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
