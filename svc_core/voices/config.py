"""Typed so-vits-svc ``config.json`` (4.0 / 4.1 / so-vits-svc-fork): dataclasses for the ``train``, ``data`` and
``model`` sections plus the ``spk`` map. Missing keys get the values so-vits-svc 4.1 would use; unknown keys are kept
and written back unchanged. Schema and defaults: shared/compat/voices.md sections 1.2, 1.2.1 and 2.2 (read from
so-vits-svc 4.1-Stable ``configs_template/config_template.json``, ``models.SynthesizerTrn`` and ``Svc.__init__``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from svc_core.atomic import write_json_atomic
from svc_core.errors import VoiceError

__all__ = [
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "VoiceConfig",
    "speech_encoder_for_dim",
]

# content-feature width -> speech encoder, for configs without ``speech_encoder`` (4.0 and fork configs)
_ENCODER_BY_DIM = {256: "vec256l9", 768: "vec768l12"}


def speech_encoder_for_dim(ssl_dim: int) -> str | None:
    """The speech encoder an old config without ``speech_encoder`` means, from the feature width (None if unsure)."""
    return _ENCODER_BY_DIM.get(int(ssl_dim))


class ConfigError(VoiceError):
    """config.json is missing, not JSON, or has a field of the wrong type or value (the message names the field)."""


# -- field checking ----------------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


_KINDS: dict[str, tuple[Any, str]] = {
    "int": (_is_int, "an integer"),
    "num": (_is_num, "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "str|int": (lambda v: isinstance(v, str) or _is_int(v), "a string"),
    "num|null": (lambda v: v is None or _is_num(v), "a number or null"),
    "int|null": (lambda v: v is None or _is_int(v), "an integer or null"),
    "str|null": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "ints": (lambda v: isinstance(v, list) and all(_is_int(x) for x in v), "a list of integers"),
    "nums": (lambda v: isinstance(v, list) and all(_is_num(x) for x in v), "a list of numbers"),
    "intss": (
        lambda v: isinstance(v, list) and all(isinstance(x, list) and all(_is_int(y) for y in x) for x in v),
        "a list of lists of integers",
    ),
    "any": (lambda v: True, "anything"),
}

_REQUIRED = object()


def _f(kind: str, default: Any = _REQUIRED) -> Any:
    """A dataclass field with a JSON kind; ``default`` may be a list (copied per instance)."""
    meta = {"kind": kind}
    if default is _REQUIRED:
        return field(metadata=meta)
    if isinstance(default, list):
        return field(default_factory=lambda d=default: json.loads(json.dumps(d)), metadata=meta)
    return field(default=default, metadata=meta)


class _Section:
    """Shared from_dict/to_dict for a config section dataclass (fields + ``extra`` for unknown keys)."""

    SECTION = ""
    extra: dict[str, Any]

    @classmethod
    def from_dict(cls, d: Any, source: str = "config.json") -> Any:
        """Build from a JSON object: type-checked known keys, defaults for missing ones, unknown keys in ``extra``."""
        if d is None:
            d = {}
        if not isinstance(d, Mapping):
            raise ConfigError(f"{source}: section '{cls.SECTION}' must be a JSON object, got {type(d).__name__}")
        kwargs: dict[str, Any] = {}
        known = set()
        missing = []
        for f in fields(cls):
            if f.name == "extra":
                continue
            known.add(f.name)
            if f.name in d:
                value = d[f.name]
                check, what = _KINDS[f.metadata["kind"]]
                if not check(value):
                    raise ConfigError(
                        f"{source}: {cls.SECTION}.{f.name} must be {what}, got {json.dumps(value)[:80]}"
                    )
                kwargs[f.name] = json.loads(json.dumps(value))
            elif f.default is _dataclass_missing() and f.default_factory is _dataclass_missing():
                missing.append(f.name)
        if missing:
            names = ", ".join(f"{cls.SECTION}.{m}" for m in missing)
            raise ConfigError(f"{source}: required key(s) missing: {names}")
        kwargs["extra"] = {k: json.loads(json.dumps(v)) for k, v in d.items() if k not in known}
        obj = cls(**kwargs)
        obj.validate(source)
        return obj

    def validate(self, source: str = "config.json") -> None:
        """Value checks beyond types (positive sizes etc.); raises ConfigError naming the field."""

    def to_dict(self) -> dict[str, Any]:
        """JSON object with every known key (defaults filled in) followed by the unknown keys, unchanged."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None and f.name in self._OMIT_IF_NONE:
                continue
            out[f.name] = json.loads(json.dumps(value))
        out.update(json.loads(json.dumps(self.extra)))
        return out

    _OMIT_IF_NONE: tuple[str, ...] = ()


def _dataclass_missing() -> Any:
    from dataclasses import MISSING

    return MISSING


def _positive(source: str, section: str, obj: Any, names: tuple[str, ...]) -> None:
    for n in names:
        v = getattr(obj, n)
        if v is not None and v <= 0:
            raise ConfigError(f"{source}: {section}.{n} must be > 0, got {v}")


@dataclass
class TrainConfig(_Section):
    """``train`` section (only ``segment_size`` matters for inference)."""

    SECTION = "train"
    log_interval: int = _f("int", 200)
    eval_interval: int = _f("int", 800)
    seed: int = _f("int", 1234)
    epochs: int = _f("int", 10000)
    learning_rate: float = _f("num", 0.0001)
    betas: list[float] = _f("nums", [0.8, 0.99])
    eps: float = _f("num", 1e-09)
    batch_size: int = _f("int", 6)
    fp16_run: bool = _f("bool", False)
    half_type: str = _f("str", "fp16")
    lr_decay: float = _f("num", 0.999875)
    segment_size: int = _f("int", 10240)
    init_lr_ratio: float = _f("num", 1)
    warmup_epochs: int = _f("int", 0)
    c_mel: float = _f("num", 45)
    c_kl: float = _f("num", 1.0)
    use_sr: bool = _f("bool", True)
    max_speclen: int = _f("int", 512)
    port: str = _f("str|int", "8001")
    keep_ckpts: int = _f("int", 3)
    all_in_mem: bool = _f("bool", False)
    vol_aug: bool = _f("bool", False)
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self, source: str = "config.json") -> None:
        """segment_size and batch_size must be positive."""
        _positive(source, self.SECTION, self, ("segment_size", "batch_size"))


@dataclass
class DataConfig(_Section):
    """``data`` section: sample rate, hop, STFT sizes and how content units are stretched to frames."""

    SECTION = "data"
    training_files: str = _f("str", "filelists/train.txt")
    validation_files: str = _f("str", "filelists/val.txt")
    max_wav_value: float = _f("num", 32768.0)
    sampling_rate: int = _f("int", 44100)
    filter_length: int = _f("int", 2048)
    hop_length: int = _f("int", 512)
    win_length: int = _f("int", 2048)
    n_mel_channels: int = _f("int", 80)
    mel_fmin: float = _f("num", 0.0)
    mel_fmax: float | None = _f("num|null", 22050)
    # absent in 4.0 configs: so-vits-svc 4.1's Svc.__init__ then uses the old 'left' repeat
    unit_interpolate_mode: str = _f("str", "left")
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self, source: str = "config.json") -> None:
        """Sizes must be positive."""
        _positive(source, self.SECTION, self,
                  ("sampling_rate", "filter_length", "hop_length", "win_length", "n_mel_channels"))


@dataclass
class ModelConfig(_Section):
    """``model`` section = ``SynthesizerTrn`` constructor arguments (defaults of the constructor where absent)."""

    SECTION = "model"
    inter_channels: int = _f("int")
    hidden_channels: int = _f("int")
    filter_channels: int = _f("int")
    n_heads: int = _f("int")
    n_layers: int = _f("int")
    kernel_size: int = _f("int")
    p_dropout: float = _f("num")
    resblock: str = _f("str|int")
    resblock_kernel_sizes: list[int] = _f("ints")
    resblock_dilation_sizes: list[list[int]] = _f("intss")
    upsample_rates: list[int] = _f("ints")
    upsample_initial_channel: int = _f("int")
    upsample_kernel_sizes: list[int] = _f("ints")
    gin_channels: int = _f("int")
    ssl_dim: int = _f("int")
    n_speakers: int = _f("int")
    n_layers_q: int = _f("int", 3)
    n_layers_trans_flow: int = _f("int", 3)
    n_flow_layer: int = _f("int", 4)
    use_spectral_norm: bool = _f("bool", False)
    vocoder_name: str = _f("str", "nsf-hifigan")
    speech_encoder: str | None = _f("str|null", None)
    speaker_embedding: bool = _f("bool", False)
    vol_embedding: bool = _f("bool", False)
    use_depthwise_conv: bool = _f("bool", False)
    flow_share_parameter: bool = _f("bool", False)
    use_automatic_f0_prediction: bool = _f("bool", True)
    use_transformer_flow: bool = _f("bool", False)
    # NSF sine-source rate; so-vits-svc reads it from *model* (absent -> 44100), not from data.sampling_rate
    sampling_rate: int | None = _f("int|null", None)
    extra: dict[str, Any] = field(default_factory=dict)

    _OMIT_IF_NONE = ("sampling_rate", "speech_encoder")

    def validate(self, source: str = "config.json") -> None:
        """Positive sizes, matching list lengths, heads dividing the width, even latent channels."""
        s = self.SECTION
        _positive(source, s, self, ("inter_channels", "hidden_channels", "filter_channels", "n_heads", "n_layers",
                                    "kernel_size", "upsample_initial_channel", "gin_channels", "ssl_dim",
                                    "n_speakers", "n_flow_layer", "n_layers_trans_flow"))
        if not 0 <= self.p_dropout < 1:
            raise ConfigError(f"{source}: {s}.p_dropout must be in [0, 1), got {self.p_dropout}")
        if self.hidden_channels % self.n_heads:
            raise ConfigError(f"{source}: {s}.hidden_channels ({self.hidden_channels}) must be divisible by "
                              f"{s}.n_heads ({self.n_heads})")
        if self.inter_channels % 2:
            raise ConfigError(f"{source}: {s}.inter_channels must be even, got {self.inter_channels}")
        if not self.upsample_rates or any(r <= 0 for r in self.upsample_rates):
            raise ConfigError(f"{source}: {s}.upsample_rates must be positive integers, got {self.upsample_rates}")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ConfigError(f"{source}: {s}.upsample_rates and {s}.upsample_kernel_sizes must have the same "
                              f"length ({len(self.upsample_rates)} vs {len(self.upsample_kernel_sizes)})")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ConfigError(f"{source}: {s}.resblock_kernel_sizes and {s}.resblock_dilation_sizes must have the "
                              "same length")

    @property
    def hop_length(self) -> int:
        """Samples per frame produced by the vocoder = product of ``upsample_rates``."""
        return math.prod(self.upsample_rates)

    def synthesizer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``SynthesizerTrn`` (known model keys only; sampling_rate default 44100)."""
        names = ("inter_channels", "hidden_channels", "filter_channels", "n_heads", "n_layers", "kernel_size",
                 "p_dropout", "resblock", "resblock_kernel_sizes", "resblock_dilation_sizes", "upsample_rates",
                 "upsample_initial_channel", "upsample_kernel_sizes", "gin_channels", "ssl_dim", "n_speakers",
                 "vol_embedding", "vocoder_name", "use_depthwise_conv", "use_automatic_f0_prediction",
                 "flow_share_parameter", "n_flow_layer", "n_layers_trans_flow", "use_transformer_flow")
        kw = {n: getattr(self, n) for n in names}
        kw["sampling_rate"] = self.sampling_rate if self.sampling_rate is not None else 44100
        return kw


@dataclass
class VoiceConfig:
    """A whole config.json: sections, speaker map, unknown top-level keys, and the defaults that were applied."""

    train: TrainConfig
    data: DataConfig
    model: ModelConfig
    spk: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)
    applied_defaults: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Any, source: str = "config.json") -> VoiceConfig:
        """Parse and validate a config object; 4.0 / fork configs get so-vits-svc 4.1's defaults."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"{source}: top level must be a JSON object, got {type(d).__name__}")
        if "model" not in d:
            raise ConfigError(f"{source}: no 'model' section (is this a so-vits-svc config.json?)")
        train = TrainConfig.from_dict(d.get("train"), source)
        data = DataConfig.from_dict(d.get("data"), source)
        model = ModelConfig.from_dict(d.get("model"), source)
        spk = _parse_spk(d.get("spk", {}), source)
        applied = []
        raw_model = d["model"]
        raw_data = d.get("data") or {}
        if "unit_interpolate_mode" not in raw_data:
            applied.append("data.unit_interpolate_mode = 'left' (absent: so-vits-svc 4.0 behaviour)")
        if model.speech_encoder is None:
            fork_flag = raw_data.get("contentvec_final_proj") if isinstance(raw_data, Mapping) else None
            if "contentvec_final_proj" in raw_data and isinstance(fork_flag, bool):
                model.speech_encoder = "vec256l9" if fork_flag else "vec768l12"
                applied.append(f"model.speech_encoder = '{model.speech_encoder}' (from so-vits-svc-fork "
                               f"data.contentvec_final_proj = {str(fork_flag).lower()})")
            elif speech_encoder_for_dim(model.ssl_dim) is not None:
                model.speech_encoder = speech_encoder_for_dim(model.ssl_dim)
                applied.append(f"model.speech_encoder = '{model.speech_encoder}' (absent: inferred from "
                               f"ssl_dim {model.ssl_dim})")
        for key in ("vocoder_name", "vol_embedding", "use_depthwise_conv", "flow_share_parameter",
                    "use_automatic_f0_prediction", "use_transformer_flow", "n_flow_layer"):
            if key not in raw_model:
                applied.append(f"model.{key} = {json.dumps(getattr(model, key))} (absent: so-vits-svc default)")
        if model.hop_length != data.hop_length:
            raise ConfigError(f"{source}: data.hop_length ({data.hop_length}) must equal the product of "
                              f"model.upsample_rates ({model.upsample_rates} -> {model.hop_length})")
        extra = {k: json.loads(json.dumps(v)) for k, v in d.items() if k not in ("train", "data", "model", "spk")}
        return cls(train=train, data=data, model=model, spk=spk, extra=extra, applied_defaults=applied)

    def to_dict(self) -> dict[str, Any]:
        """JSON object for config.json (known keys with defaults filled in, unknown keys kept)."""
        out: dict[str, Any] = {
            "train": self.train.to_dict(),
            "data": self.data.to_dict(),
            "model": self.model.to_dict(),
            "spk": dict(self.spk),
        }
        out.update(json.loads(json.dumps(self.extra)))
        return out

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> VoiceConfig:
        """Read and parse config.json; clear errors for a missing, unreadable or invalid file."""
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: cannot read config ({e})") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
        return cls.from_dict(d, source=str(p))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write config.json atomically (temp file + rename)."""
        p = Path(path)
        write_json_atomic(p, self.to_dict(), ensure_ascii=False, newline=True)


def _parse_spk(spk: Any, source: str) -> dict[str, int]:
    if spk is None:
        return {}
    if not isinstance(spk, Mapping):
        raise ConfigError(f"{source}: spk must be an object mapping speaker names to ids, got {type(spk).__name__}")
    out: dict[str, int] = {}
    for name, sid in spk.items():
        if not _is_int(sid) or sid < 0:
            raise ConfigError(f"{source}: spk.{name} must be a non-negative integer id, got {json.dumps(sid)}")
        out[str(name)] = int(sid)
    return out
