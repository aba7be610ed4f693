"""Load WavLM / HuBERT / ContentVec / HuBERT-Soft weights from the files users have, safely.

Accepted: Microsoft WavLM ``{"cfg", "model"}`` files, fairseq HuBERT/ContentVec trainer checkpoints (the
``fairseq.data.dictionary.Dictionary`` object inside is unpickled into an inert stand-in, nothing from fairseq
runs), bshall HuBERT-Soft state dicts, and Hugging Face folders (``config.json`` + ``model.safetensors`` or
``pytorch_model.bin``). Everything goes through :func:`vencoder.safe_load.load_torch_file` (weights_only).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vencoder.safe_load import CheckpointError, load_safetensors_file, load_torch_file
from vencoder.ssl.config import SSLConfig
from vencoder.ssl.convert import KeyMismatchError, from_hf, from_hubert_soft, from_original, load_into
from vencoder.ssl.model import SSLModel

__all__ = ["FairseqDictionaryStandIn", "LoadedSSL", "load_ssl", "read_checkpoint", "ALLOWED_GLOBALS"]


class FairseqDictionaryStandIn:
    """Inert stand-in for ``fairseq.data.dictionary.Dictionary`` (label vocabulary; never used).

    The weights-only unpickler only creates the object and fills its ``__dict__``; no fairseq code runs.
    """


ALLOWED_GLOBALS: tuple[Any, ...] = (
    (FairseqDictionaryStandIn, "fairseq.data.dictionary.Dictionary"),
    argparse.Namespace,  # old fairseq files keep their args in an (inert) Namespace
)


@dataclass
class LoadedSSL:
    """A built, eval-mode encoder plus the extra heads stored beside it (``final_proj``, HuBERT-Soft ``proj``)."""

    model: SSLModel
    kind: str  # "wavlm", "fairseq", "hf", "hubert-soft"
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


def read_checkpoint(path: str | os.PathLike[str]) -> Any:
    """weights_only load of a ``.pt`` file, allowing only the inert fairseq Dictionary stand-in and Namespace.

    Any other global is refused by the weights-only unpickler and reported by name (UnsafeCheckpointError).
    """
    return load_torch_file(path, allowed_globals=ALLOWED_GLOBALS)


def _build(cfg: SSLConfig, sd: dict[str, torch.Tensor], path: Path, kind: str, extras: dict) -> LoadedSSL:
    model = SSLModel(cfg)
    if "feature_proj.weight" not in sd:
        if cfg.conv_layers[-1][0] != cfg.encoder_embed_dim:
            raise CheckpointError(path, "the feature projection (post_extract_proj) is missing")
        model.set_identity_projection()
    try:
        load_into(model, sd, str(path))
    except KeyMismatchError as e:
        raise CheckpointError(path, str(e).removeprefix(f"{path}: ")) from None
    model.eval()
    return LoadedSSL(model, kind, extras)


def _state_dict(obj: Any, path: Path, where: str) -> dict[str, torch.Tensor]:
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(path, f"{where} is not a state dict of tensors")
    return obj


def _fairseq_cfg(obj: dict, path: Path) -> dict[str, Any]:
    cfg = obj.get("cfg")
    if isinstance(cfg, dict) and isinstance(cfg.get("model"), dict):
        return cfg["model"]
    args = obj.get("args")
    if isinstance(args, argparse.Namespace):
        return vars(args)
    if isinstance(args, dict):
        return args
    raise CheckpointError(path, "fairseq checkpoint without a model config (cfg['model'] or args)")


def load_ssl(path: str | os.PathLike[str]) -> LoadedSSL:
    """Build the encoder stored at ``path`` (file or Hugging Face folder); raises CheckpointError with the reason."""
    p = Path(path)
    if p.is_dir():
        return _load_hf_folder(p)
    obj = read_checkpoint(p)
    try:
        if isinstance(obj, dict) and "model" in obj and isinstance(obj.get("cfg"), dict) and "model" not in obj["cfg"]:
            # Microsoft WavLM: {"cfg": flat dict, "model": state dict}
            sd = _state_dict(obj["model"], p, "'model'")
            ours, extras = from_original(sd)
            cfg = SSLConfig.from_original(obj["cfg"])
            return _build(cfg, ours, p, "wavlm", {})
        if isinstance(obj, dict) and "model" in obj and ("cfg" in obj or "args" in obj):
            sd = _state_dict(obj["model"], p, "'model'")
            mcfg = _fairseq_cfg(obj, p)
            name = str(mcfg.get("_name", mcfg.get("arch", "hubert")))
            if "wavlm" in name.lower():
                cfg = SSLConfig.from_original(mcfg)
            else:
                cfg = SSLConfig.from_original(
                    mcfg, normalize=False, relative_position_embedding=False, gru_rel_pos=False
                )
            ours, extras = from_original(sd)
            return _build(cfg, ours, p, "fairseq", extras)
        if isinstance(obj, dict) and isinstance(obj.get("hubert"), dict):
            obj = obj["hubert"]  # bshall v0.2 container
        if isinstance(obj, dict) and any(k.endswith("feature_extractor.conv0.weight") for k in obj):
            sd = _state_dict(obj, p, "the file")
            ours, extras = from_hubert_soft(sd)
            cfg = _hubert_soft_config(ours, p)
            if "proj.weight" not in extras:
                raise CheckpointError(p, "HuBERT-Soft file without the 'proj' layer")
            return _build(cfg, ours, p, "hubert-soft", extras)
    except (KeyMismatchError, ValueError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(p, str(e)) from None
    raise CheckpointError(
        p,
        "not a WavLM, HuBERT/ContentVec (fairseq) or HuBERT-Soft checkpoint (found "
        + (f"keys {sorted(map(str, obj))[:6]}" if isinstance(obj, dict) else type(obj).__name__)
        + ")",
    )


def _hubert_soft_config(sd: dict[str, torch.Tensor], path: Path) -> SSLConfig:
    """bshall's HuBERT-Soft has no config: read the sizes from the tensor shapes."""
    n_layers = 1 + max((int(k.split(".")[1]) for k in sd if k.startswith("layers.")), default=-1)
    convs = sorted(
        int(k.split(".")[2]) for k in sd if k.startswith("feature_extractor.convs.") and k.endswith("weight")
    )
    if n_layers == 0 or not convs:
        raise CheckpointError(path, "HuBERT-Soft file has no transformer layers or conv stack")
    layers = []
    strides = [5] + [2] * (len(convs) - 1)
    for i in convs:
        w = sd[f"feature_extractor.convs.{i}.weight"]
        layers.append((int(w.shape[0]), int(w.shape[2]), strides[i]))
    d = int(sd["feature_proj.weight"].shape[0])
    pos = sd["pos_conv.conv.weight"]
    heads = 12 if d % 64 == 0 and d // 64 == 12 else max(1, d // 64)
    return SSLConfig(
        extractor_mode="default",
        conv_layers=layers,
        encoder_layers=n_layers,
        encoder_embed_dim=d,
        encoder_ffn_embed_dim=int(sd["layers.0.fc1.weight"].shape[0]),
        encoder_attention_heads=heads,
        conv_pos=int(pos.shape[2]),
        conv_pos_groups=d // int(pos.shape[1]),
    )


def _load_hf_folder(folder: Path) -> LoadedSSL:
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise CheckpointError(folder, "Hugging Face folder without config.json")
    try:
        hf_cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(cfg_path, f"unreadable config.json ({e})") from None
    if not isinstance(hf_cfg, dict):
        raise CheckpointError(cfg_path, "config.json is not a JSON object")
    normalize = False
    pre = folder / "preprocessor_config.json"
    if pre.is_file():
        try:
            normalize = bool(json.loads(pre.read_text(encoding="utf-8")).get("do_normalize", False))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as e:
            raise CheckpointError(pre, f"unreadable preprocessor_config.json ({e})") from None
    try:
        cfg = SSLConfig.from_hf_config(hf_cfg, normalize=normalize)
    except ValueError as e:
        raise CheckpointError(cfg_path, str(e)) from None
    if (folder / "model.safetensors").is_file():
        wfile = folder / "model.safetensors"
        sd = load_safetensors_file(wfile)
    elif (folder / "pytorch_model.bin").is_file():
        wfile = folder / "pytorch_model.bin"
        sd = _state_dict(load_torch_file(wfile), wfile, "the file")
    else:
        raise CheckpointError(folder, "no model.safetensors or pytorch_model.bin in the folder")
    try:
        ours, extras = from_hf(sd)
    except KeyMismatchError as e:
        raise CheckpointError(wfile, str(e)) from None
    return _build(cfg, ours, wfile, "hf", extras)
