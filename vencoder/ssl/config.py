"""Configuration of the self-supervised speech transformers (WavLM, HuBERT, ContentVec, HuBERT-Soft).

Field names follow Microsoft's WavLM / fairseq ``cfg`` dictionaries; ``from_hf_config`` maps the Hugging Face
``config.json`` names onto them.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SSLConfig", "parse_conv_layers"]

DEFAULT_CONV_LAYERS = "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2"


def parse_conv_layers(spec: str | list | tuple) -> list[tuple[int, int, int]]:
    """Parse ``conv_feature_layers`` (e.g. ``"[(512,10,5)] + [(512,3,2)] * 4"``) without eval.

    Only list/tuple literals of ints combined with ``+`` and ``* int`` are accepted.
    """
    if isinstance(spec, (list, tuple)):
        value: Any = [tuple(x) for x in spec]
    else:
        try:
            tree = ast.parse(str(spec), mode="eval")
        except SyntaxError as e:
            raise ValueError(f"conv_feature_layers {spec!r} is not a valid layer list ({e.msg})") from None
        value = _eval_node(tree.body, str(spec))
    if not isinstance(value, list) or not value:
        raise ValueError(f"conv_feature_layers {spec!r} must be a non-empty list of (dim, kernel, stride)")
    out: list[tuple[int, int, int]] = []
    for item in value:
        if (
            not isinstance(item, tuple)
            or len(item) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in item)
        ):
            raise ValueError(f"conv_feature_layers {spec!r}: entry {item!r} is not (dim, kernel, stride)")
        out.append(item)
    return out


def _eval_node(node: ast.AST, src: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval_node(e, src) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _eval_node(node.left, src), _eval_node(node.right, src)
        if isinstance(a, list) and isinstance(b, list):
            return a + b
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        a, b = _eval_node(node.left, src), _eval_node(node.right, src)
        if isinstance(a, list) and isinstance(b, int) and 0 <= b <= 1000:
            return a * b
        if isinstance(b, list) and isinstance(a, int) and 0 <= a <= 1000:
            return b * a
    raise ValueError(f"conv_feature_layers {src!r}: unsupported expression (only lists of int tuples, + and *)")


@dataclass
class SSLConfig:
    """Hyper-parameters of a wav2vec2-family encoder; WavLM adds the relative-position fields."""

    extractor_mode: str = "default"  # "default": GroupNorm after conv 0; "layer_norm": LayerNorm in every block
    conv_layers: list[tuple[int, int, int]] = field(default_factory=lambda: parse_conv_layers(DEFAULT_CONV_LAYERS))
    conv_bias: bool = False
    encoder_layers: int = 12
    encoder_embed_dim: int = 768
    encoder_ffn_embed_dim: int = 3072
    encoder_attention_heads: int = 12
    activation_fn: str = "gelu"
    layer_norm_first: bool = False
    conv_pos: int = 128
    conv_pos_groups: int = 16
    relative_position_embedding: bool = False
    num_buckets: int = 320
    max_distance: int = 800
    gru_rel_pos: bool = False
    normalize: bool = False  # layer-norm the whole waveform first (WavLM-Large)
    feature_layer_norm: bool = True  # LayerNorm on the conv features before the projection
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.extractor_mode not in ("default", "layer_norm"):
            raise ValueError(f"extractor_mode {self.extractor_mode!r} must be 'default' or 'layer_norm'")
        if self.activation_fn != "gelu":
            raise ValueError(f"activation_fn {self.activation_fn!r} is not supported (only gelu)")
        if self.encoder_embed_dim % self.encoder_attention_heads:
            raise ValueError(
                f"encoder_embed_dim {self.encoder_embed_dim} is not divisible by "
                f"encoder_attention_heads {self.encoder_attention_heads}"
            )
        for name in ("encoder_layers", "encoder_embed_dim", "encoder_ffn_embed_dim", "conv_pos", "conv_pos_groups"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.relative_position_embedding and (self.num_buckets < 4 or self.max_distance < 2):
            raise ValueError(f"num_buckets {self.num_buckets} / max_distance {self.max_distance} are too small")

    @property
    def hop(self) -> int:
        """Samples between frames (product of the conv strides)."""
        return math.prod(s for _, _, s in self.conv_layers)

    @property
    def receptive_field(self) -> int:
        """Samples seen by one frame of the conv stack (400 for the standard stack)."""
        rf, jump = 1, 1
        for _, k, s in self.conv_layers:
            rf += (k - 1) * jump
            jump *= s
        return rf

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.encoder_embed_dim // self.encoder_attention_heads

    @classmethod
    def from_original(cls, cfg: Mapping[str, Any], **overrides: Any) -> SSLConfig:
        """Build from a Microsoft WavLM / fairseq ``cfg`` dict; only known keys are read, the rest ignored."""
        c: dict[str, Any] = {}
        simple = (
            ("extractor_mode", str), ("conv_bias", bool), ("encoder_layers", int), ("encoder_embed_dim", int),
            ("encoder_ffn_embed_dim", int), ("encoder_attention_heads", int), ("activation_fn", str),
            ("layer_norm_first", bool), ("conv_pos", int), ("conv_pos_groups", int),
            ("relative_position_embedding", bool), ("num_buckets", int), ("max_distance", int),
            ("gru_rel_pos", bool), ("normalize", bool),
        )
        for name, typ in simple:
            if name in cfg and cfg[name] is not None:
                c[name] = typ(cfg[name])
        if "conv_feature_layers" in cfg and cfg["conv_feature_layers"] is not None:
            c["conv_layers"] = parse_conv_layers(cfg["conv_feature_layers"])
        c.update(overrides)
        return cls(**c)

    @classmethod
    def from_hf_config(cls, cfg: Mapping[str, Any], *, normalize: bool = False) -> SSLConfig:
        """Build from a transformers ``WavLMConfig`` / ``HubertConfig`` ``config.json`` dict."""
        model_type = str(cfg.get("model_type", "")).lower()
        if model_type not in ("wavlm", "hubert"):
            raise ValueError(f"config.json model_type {model_type!r} is not 'wavlm' or 'hubert'")
        if cfg.get("conv_pos_batch_norm"):
            raise ValueError("HuBERT with conv_pos_batch_norm is not supported")
        if cfg.get("feat_extract_activation", "gelu") != "gelu" or cfg.get("hidden_act", "gelu") != "gelu":
            raise ValueError("only gelu activations are supported")
        dims = list(cfg.get("conv_dim", [512] * 7))
        kernels = list(cfg.get("conv_kernel", [10, 3, 3, 3, 3, 2, 2]))
        strides = list(cfg.get("conv_stride", [5, 2, 2, 2, 2, 2, 2]))
        if not (len(dims) == len(kernels) == len(strides)):
            raise ValueError("conv_dim, conv_kernel and conv_stride have different lengths")
        norm = cfg.get("feat_extract_norm", "group")
        if norm not in ("group", "layer"):
            raise ValueError(f"feat_extract_norm {norm!r} must be 'group' or 'layer'")
        is_wavlm = model_type == "wavlm"
        return cls(
            extractor_mode="default" if norm == "group" else "layer_norm",
            conv_layers=[(int(d), int(k), int(s)) for d, k, s in zip(dims, kernels, strides, strict=True)],
            conv_bias=bool(cfg.get("conv_bias", False)),
            encoder_layers=int(cfg.get("num_hidden_layers", 12)),
            encoder_embed_dim=int(cfg.get("hidden_size", 768)),
            encoder_ffn_embed_dim=int(cfg.get("intermediate_size", 3072)),
            encoder_attention_heads=int(cfg.get("num_attention_heads", 12)),
            layer_norm_first=bool(cfg.get("do_stable_layer_norm", False)),
            conv_pos=int(cfg.get("num_conv_pos_embeddings", 128)),
            conv_pos_groups=int(cfg.get("num_conv_pos_embedding_groups", 16)),
            relative_position_embedding=is_wavlm,
            num_buckets=int(cfg.get("num_buckets", 320)),
            max_distance=int(cfg.get("max_bucket_distance", 800)),
            gru_rel_pos=is_wavlm,
            normalize=normalize,
            feature_layer_norm=bool(cfg.get("feat_proj_layer_norm", True)) if not is_wavlm else True,
            layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-5)),
        )
