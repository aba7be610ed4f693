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
from pathlib import Path

import torch

from svc_core.device import pick_device
from svc_core.errors import CheckpointError, UnsafeCheckpointError, VoiceError
from svc_core.models.synthesizer import SynthesizerTrn
from svc_core.voices.checks import check_keys, state_dict
from svc_core.voices.config import ConfigError, VoiceConfig
from svc_core.voices.errors import CheckpointMismatchError, UnsafeVoiceFileError, VoiceFileError
from svc_core.voices.files import F0Stats, find_checkpoint, load_f0_stats, resolve_voice_files
from svc_core.voices.voice import Voice
from vencoder.safe_load import load_torch_file

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


def load_voice(
    path: str | Path,
    *,
    checkpoint: str | Path | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> Voice:
    """Load a voice from a folder (config.json + newest G_*.pth) or a checkpoint file (config.json beside it).

    Raises ConfigError (a VoiceError) for a missing/invalid config, VoiceFileError / UnsafeVoiceFileError for a bad
    or unsafe checkpoint and CheckpointMismatchError when the weights do not fit the config. The synthesizer goes
    to ``device`` ("auto"/None: :func:`~svc_core.device.pick_device`) in ``dtype`` (None: float32; e.g.
    ``torch.float16`` on a GPU); ``Voice.synthesize`` casts its inputs to match.
    """
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise VoiceError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    folder, config_path, ck = resolve_voice_files(path, checkpoint)
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
    sd = state_dict(obj, ck)
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
    check_keys(model, sd, cfg, raw_model, ck, config_path)
    model.load_state_dict(sd, strict=True)
    model.eval()
    model.remove_weight_norm()
    model.requires_grad_(False)
    dev = device if isinstance(device, torch.device) else pick_device(device)
    model.to(device=dev, dtype=dtype)

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
        f0_stats=load_f0_stats(folder, notes),
        notes=notes,
    )
