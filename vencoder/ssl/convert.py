"""Map checkpoint key names (Microsoft WavLM / fairseq HuBERT, Hugging Face transformers, bshall HuBERT-Soft)
onto :class:`vencoder.ssl.model.SSLModel` parameters.

Key tables: ``../shared/compat/weights.md`` sections 1-2b. Separate q/k/v projections are fused into one
``qkv`` matrix; the weight norm of the positional conv (``weight_g``/``weight_v`` or the newer
``parametrizations.weight.original0/1``) is folded into a plain weight.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import torch

__all__ = [
    "KeyMismatchError",
    "fold_weight_norm",
    "from_original",
    "from_hf",
    "from_hubert_soft",
    "load_into",
]


class KeyMismatchError(ValueError):
    """A state dict does not fit the model built from its config (names the differing keys)."""


def fold_weight_norm(g: torch.Tensor, v: torch.Tensor, dim: int = 2) -> torch.Tensor:
    """Weight norm -> plain weight: ``g * v / ||v||`` with the norm over every axis except ``dim``."""
    axes = [a for a in range(v.dim()) if a != dim]
    return v * (g / v.norm(dim=axes, keepdim=True))


def _pos_conv_weight(sd: Mapping[str, torch.Tensor], prefix: str) -> torch.Tensor | None:
    pairs = (("weight_g", "weight_v"), ("parametrizations.weight.original0", "parametrizations.weight.original1"))
    for g_name, v_name in pairs:
        if prefix + g_name in sd and prefix + v_name in sd:
            return fold_weight_norm(sd[prefix + g_name].float(), sd[prefix + v_name].float())
    if prefix + "weight" in sd:
        return sd[prefix + "weight"].float()
    return None


_POS_PARTS = (
    "weight_g", "weight_v", "parametrizations.weight.original0", "parametrizations.weight.original1", "weight"
)


def _convert(
    sd: Mapping[str, torch.Tensor],
    rules: list[tuple[str, str]],
    pos_prefix: str,
    attn_re: str,
    skip: Callable[[str], bool],
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename with ``rules`` (regex, replacement), fuse q/k/v matched by ``attn_re``; returns (ours, unknown keys)."""
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    unknown: list[str] = []
    compiled = [(re.compile(p), r) for p, r in rules]
    qkv_re = re.compile(attn_re)
    for key, t in sd.items():
        if skip(key):
            continue
        if key.startswith(pos_prefix):
            part = key[len(pos_prefix) :]
            if part == "bias":
                out["pos_conv.conv.bias"] = t.float()
            elif part not in _POS_PARTS:
                unknown.append(key)
            continue
        m = qkv_re.fullmatch(key)
        if m:
            qkv.setdefault((m.group(1), m.group(3)), {})[m.group(2)] = t.float()
            continue
        for pat, rep in compiled:
            if pat.fullmatch(key):
                out[pat.sub(rep, key)] = t.float()
                break
        else:
            unknown.append(key)
    w = _pos_conv_weight(sd, pos_prefix)
    if w is not None:
        out["pos_conv.conv.weight"] = w
    for (layer, kind), parts in qkv.items():
        if set(parts) != {"q", "k", "v"}:
            unknown.extend(f"layer {layer} {p}_proj.{kind}" for p in sorted(set("qkv") - set(parts)))
            continue
        out[f"layers.{layer}.attn.qkv.{kind}"] = torch.cat([parts["q"], parts["k"], parts["v"]], 0)
    return out, unknown


_COMMON_LAYER_RULES = [
    (r"encoder\.layers\.(\d+)\.fc1\.(weight|bias)", r"layers.\1.fc1.\2"),
    (r"encoder\.layers\.(\d+)\.fc2\.(weight|bias)", r"layers.\1.fc2.\2"),
    (r"encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)", r"layers.\1.ffn_norm.\2"),
    (r"encoder\.layer_norm\.(weight|bias)", r"encoder_norm.\1"),
]


def from_original(sd: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Microsoft WavLM (``WavLM-Base+.pt``) or fairseq HuBERT/ContentVec state dict -> (ours, extras).

    ``extras`` holds ``final_proj.weight``/``.bias`` when present (ContentVec ``vec256l9``).
    Training-only keys (``mask_emb``, ``label_embs_concat``, ``final_proj`` of WavLM-style targets) are dropped.
    """
    rules = [
        (r"feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)", r"feature_extractor.convs.\1.\2"),
        (r"feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)", r"feature_extractor.norms.\1.\2"),
        (r"feature_extractor\.conv_layers\.0\.2\.(weight|bias)", r"feature_extractor.norms.0.\1"),
        (r"layer_norm\.(weight|bias)", r"feature_norm.\1"),
        (r"post_extract_proj\.(weight|bias)", r"feature_proj.\1"),
        (r"encoder\.layers\.(\d+)\.self_attn\.out_proj\.(weight|bias)", r"layers.\1.attn.out.\2"),
        (r"encoder\.layers\.(\d+)\.self_attn\.grep_linear\.(weight|bias)", r"layers.\1.attn.gate.\2"),
        (r"encoder\.layers\.(\d+)\.self_attn\.grep_a", r"layers.\1.attn.gate_const"),
        (r"encoder\.layers\.0\.self_attn\.relative_attention_bias\.weight", r"rel_attn_embed.weight"),
        (r"encoder\.layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)", r"layers.\1.attn_norm.\2"),
        *_COMMON_LAYER_RULES,
    ]
    extras = {k: v.float() for k, v in sd.items() if k.startswith("final_proj.")}
    drop = {"mask_emb", "label_embs_concat"}
    ours, unknown = _convert(
        sd,
        rules,
        "encoder.pos_conv.0.",
        r"encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)",
        lambda k: k in drop or k.startswith(("final_proj.", "label_embs")),
    )
    if unknown:
        raise KeyMismatchError(f"unexpected keys for a WavLM/HuBERT checkpoint: {', '.join(unknown[:8])}")
    _gate_const_to_vector(ours)
    return ours, extras


def from_hf(sd: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """transformers ``WavLMModel`` / ``HubertModel`` state dict (optionally ``wavlm.``/``hubert.`` prefixed,
    with a top-level ``final_proj`` as in content-vec-best / RVC ``hubert_base``) -> (ours, extras)."""
    stripped: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        for p in ("wavlm.", "hubert.", "model."):
            if k.startswith(p):
                k = k[len(p) :]
                break
        stripped[k] = v
    rules = [
        (r"feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)", r"feature_extractor.convs.\1.\2"),
        (r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)", r"feature_extractor.norms.\1.\2"),
        (r"feature_projection\.layer_norm\.(weight|bias)", r"feature_norm.\1"),
        (r"feature_projection\.projection\.(weight|bias)", r"feature_proj.\1"),
        (r"encoder\.layers\.(\d+)\.attention\.out_proj\.(weight|bias)", r"layers.\1.attn.out.\2"),
        (r"encoder\.layers\.(\d+)\.attention\.gru_rel_pos_linear\.(weight|bias)", r"layers.\1.attn.gate.\2"),
        (r"encoder\.layers\.(\d+)\.attention\.gru_rel_pos_const", r"layers.\1.attn.gate_const"),
        (r"encoder\.layers\.0\.attention\.rel_attn_embed\.weight", r"rel_attn_embed.weight"),
        (r"encoder\.layers\.(\d+)\.layer_norm\.(weight|bias)", r"layers.\1.attn_norm.\2"),
        (r"encoder\.layers\.(\d+)\.feed_forward\.intermediate_dense\.(weight|bias)", r"layers.\1.fc1.\2"),
        (r"encoder\.layers\.(\d+)\.feed_forward\.output_dense\.(weight|bias)", r"layers.\1.fc2.\2"),
        *_COMMON_LAYER_RULES,
    ]
    extras = {k: v.float() for k, v in stripped.items() if k.startswith("final_proj.")}
    ours, unknown = _convert(
        stripped,
        rules,
        "encoder.pos_conv_embed.conv.",
        r"encoder\.layers\.(\d+)\.attention\.([qkv])_proj\.(weight|bias)",
        lambda k: k == "masked_spec_embed" or k.startswith(("final_proj.", "lm_head.", "project_", "quantizer.")),
    )
    if unknown:
        raise KeyMismatchError(f"unexpected keys for a transformers WavLM/HuBERT model: {', '.join(unknown[:8])}")
    _gate_const_to_vector(ours)
    return ours, extras


def from_hubert_soft(sd: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """bshall HuBERT-Soft (``hubert-soft-0d54a1f4.pt``; ``module.`` prefix allowed) -> (ours, extras with ``proj``)."""
    stripped = {(k[len("module.") :] if k.startswith("module.") else k): v for k, v in sd.items()}
    out: dict[str, torch.Tensor] = {}
    extras: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    rules = [
        (r"feature_extractor\.conv(\d+)\.(weight|bias)", r"feature_extractor.convs.\1.\2"),
        (r"feature_extractor\.norm0\.(weight|bias)", r"feature_extractor.norms.0.\1"),
        (r"feature_projection\.norm\.(weight|bias)", r"feature_norm.\1"),
        (r"feature_projection\.projection\.(weight|bias)", r"feature_proj.\1"),
        (r"positional_embedding\.conv\.bias", r"pos_conv.conv.bias"),
        (r"norm\.(weight|bias)", r"encoder_norm.\1"),
        (r"encoder\.layers\.(\d+)\.self_attn\.in_proj_(weight|bias)", r"layers.\1.attn.qkv.\2"),
        (r"encoder\.layers\.(\d+)\.self_attn\.out_proj\.(weight|bias)", r"layers.\1.attn.out.\2"),
        (r"encoder\.layers\.(\d+)\.linear1\.(weight|bias)", r"layers.\1.fc1.\2"),
        (r"encoder\.layers\.(\d+)\.linear2\.(weight|bias)", r"layers.\1.fc2.\2"),
        (r"encoder\.layers\.(\d+)\.norm1\.(weight|bias)", r"layers.\1.attn_norm.\2"),
        (r"encoder\.layers\.(\d+)\.norm2\.(weight|bias)", r"layers.\1.ffn_norm.\2"),
    ]
    compiled = [(re.compile(p), r) for p, r in rules]
    for key, t in stripped.items():
        if key in ("masked_spec_embed", "label_embedding.weight") or key.startswith("positional_embedding.conv.weight"):
            continue
        if key.startswith("proj."):
            extras[key] = t.float()
            continue
        for pat, rep in compiled:
            if pat.fullmatch(key):
                out[pat.sub(rep, key)] = t.float()
                break
        else:
            unknown.append(key)
    w = _pos_conv_weight(stripped, "positional_embedding.conv.")
    if w is not None:
        out["pos_conv.conv.weight"] = w
    if unknown:
        raise KeyMismatchError(f"unexpected keys for a HuBERT-Soft checkpoint: {', '.join(unknown[:8])}")
    return out, extras


def _gate_const_to_vector(sd: dict[str, torch.Tensor]) -> None:
    for k in [k for k in sd if k.endswith("attn.gate_const")]:
        sd[k] = sd[k].reshape(-1)


def load_into(model: torch.nn.Module, sd: Mapping[str, torch.Tensor], source: str) -> None:
    """Strict load; on mismatch raise :class:`KeyMismatchError` naming missing/unexpected/mis-shaped keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [
        f"{k} {tuple(sd[k].shape)} vs {tuple(own[k].shape)}" for k in own if k in sd and sd[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {', '.join(missing[:6])}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)}: {', '.join(unexpected[:6])}")
        if shapes:
            parts.append(f"wrong shape {len(shapes)}: {'; '.join(shapes[:4])}")
        raise KeyMismatchError(f"{source}: weights do not fit the model built from its config ({' | '.join(parts)})")
    model.load_state_dict(sd, strict=True)
