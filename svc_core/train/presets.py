"""Training presets: a so-vits-svc 4.1 ``config.json`` for a prepared dataset (speakers, encoder width, sizes).

``default`` is so-vits-svc 4.1's ``configs_template/config_template.json`` (shared/compat/voices.md 1.2) with the
encoder-dependent widths its ``preprocess_flist_config.py`` writes; ``small`` is a lighter voice for modest GPUs;
``tiny`` is a smoke-test network small enough to train on a CPU in minutes (not for real voices). Keys so-vits-svc
does not know go into ``train`` (``grad_clip_norm``, ``disc_width_div``, ``val_interval``) and are ignored by it.
"""

from __future__ import annotations

import copy
from typing import Any

from svc_core.errors import SvcError

__all__ = ["PRESETS", "ENCODER_DIMS", "build_config", "hop_layout"]

PRESETS = ("tiny", "small", "default")

#: speech_encoder -> content width (so-vits-svc preprocess_flist_config.py); gin/filter follow it for default.
ENCODER_DIMS: dict[str, int] = {
    "vec768l12": 768, "vec256l9": 256, "hubertsoft": 256, "wavlmbase+": 768, "dphubert": 768,
    "whisper-ppg": 1024, "cnhubertlarge": 1024, "whisper-ppg-large": 1280,
}

# sample rate -> (hop, upsample_rates, upsample_kernel_sizes, filter_length); 44.1 kHz is so-vits-svc's layout
_HOPS: dict[int, tuple[int, list[int], list[int], int]] = {
    16000: (320, [5, 4, 4, 4], [11, 8, 8, 8], 1280),
    22050: (256, [8, 8, 2, 2], [16, 16, 4, 4], 1024),
    24000: (240, [5, 4, 4, 3], [11, 8, 8, 7], 1024),
    32000: (320, [5, 4, 4, 2, 2], [11, 8, 8, 4, 4], 1280),
    40000: (400, [10, 10, 2, 2], [20, 20, 4, 4], 2048),
    44100: (512, [8, 8, 2, 2, 2], [16, 16, 4, 4, 4], 2048),
    48000: (480, [10, 6, 2, 2, 2], [20, 12, 4, 4, 4], 2048),
}

_TRAIN = {
    "log_interval": 200, "eval_interval": 800, "seed": 1234, "epochs": 10000, "learning_rate": 0.0001,
    "betas": [0.8, 0.99], "eps": 1e-09, "batch_size": 6, "fp16_run": False, "half_type": "fp16",
    "lr_decay": 0.999875, "segment_size": 10240, "init_lr_ratio": 1, "warmup_epochs": 0, "c_mel": 45,
    "c_kl": 1.0, "use_sr": True, "max_speclen": 512, "port": "8001", "keep_ckpts": 3, "all_in_mem": False,
    "vol_aug": False, "grad_clip_norm": 1000.0, "disc_width_div": 1,
}

_MODEL = {
    "inter_channels": 192, "hidden_channels": 192, "filter_channels": 768, "n_heads": 2, "n_layers": 6,
    "kernel_size": 3, "p_dropout": 0.1, "resblock": "1", "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "upsample_initial_channel": 512,
    "n_layers_q": 3, "n_layers_trans_flow": 3, "n_flow_layer": 4, "use_spectral_norm": False,
    "vocoder_name": "nsf-hifigan", "speaker_embedding": False, "vol_embedding": False,
    "use_depthwise_conv": False, "flow_share_parameter": False, "use_automatic_f0_prediction": True,
    "use_transformer_flow": False,
}

_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "default": {"train": {}, "model": {}},
    "small": {
        "train": {"batch_size": 8, "segment_size_frames": 16},
        "model": {"inter_channels": 128, "hidden_channels": 128, "filter_channels": 512, "n_layers": 4,
                  "upsample_initial_channel": 256},
    },
    "tiny": {
        "train": {"batch_size": 4, "segment_size_frames": 8, "learning_rate": 0.002, "max_speclen": 48,
                  "eval_interval": 100, "log_interval": 10, "disc_width_div": 16, "c_mel": 45},
        "model": {"inter_channels": 16, "hidden_channels": 16, "filter_channels": 32, "n_heads": 2, "n_layers": 1,
                  "p_dropout": 0.0, "resblock": "2", "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 3]],
                  "upsample_initial_channel": 32, "n_flow_layer": 2, "gin_channels": 16},
    },
}


def hop_layout(sr: int) -> tuple[int, list[int], list[int], int]:
    """(hop, upsample_rates, upsample_kernel_sizes, filter_length) for a model sample rate."""
    if sr not in _HOPS:
        raise SvcError(f"no model layout for {sr} Hz; use one of {', '.join(map(str, sorted(_HOPS)))} (--sr)")
    hop, rates, kernels, n_fft = _HOPS[sr]
    return hop, list(rates), list(kernels), n_fft


def build_config(preset: str, *, sampling_rate: int, speakers: list[str], speech_encoder: str,
                 ssl_dim: int | None = None, vol_embedding: bool | None = None) -> dict[str, Any]:
    """A complete so-vits-svc 4.1 config dict for ``preset`` (see PRESETS). ``vol_embedding`` None: off for
    ``default`` (so-vits-svc's default), on for the smaller presets."""
    if preset not in PRESETS:
        raise SvcError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    if not speakers:
        raise SvcError("the dataset has no speakers")
    dim = ssl_dim if ssl_dim is not None else ENCODER_DIMS.get(speech_encoder)
    if dim is None:
        raise SvcError(f"unknown width of speech encoder {speech_encoder!r}")
    hop, rates, kernels, n_fft = hop_layout(int(sampling_rate))
    over = copy.deepcopy(_OVERRIDES[preset])
    train = {**copy.deepcopy(_TRAIN), **over["train"]}
    seg_frames = train.pop("segment_size_frames", None)
    train["segment_size"] = hop * seg_frames if seg_frames else (10240 if hop == 512 else hop * 20)
    model = copy.deepcopy(_MODEL)
    wide = max(dim, 768) if preset == "default" else None  # so-vits-svc: 768, or the width of wider encoders
    model.update({"gin_channels": dim, "ssl_dim": dim, "filter_channels": wide or model["filter_channels"]})
    model.update(over["model"])
    model.update({"upsample_rates": rates, "upsample_kernel_sizes": kernels, "n_speakers": len(speakers),
                  "speech_encoder": speech_encoder,
                  "vol_embedding": preset != "default" if vol_embedding is None else bool(vol_embedding),
                  "sampling_rate": int(sampling_rate)})
    train["vol_aug"] = False
    data = {
        "training_files": "filelists/train.txt", "validation_files": "filelists/val.txt", "max_wav_value": 32768.0,
        "sampling_rate": int(sampling_rate), "filter_length": n_fft, "hop_length": hop, "win_length": n_fft,
        "n_mel_channels": 80, "mel_fmin": 0.0, "mel_fmax": int(sampling_rate) // 2, "unit_interpolate_mode": "nearest",
    }
    return {"train": train, "data": data, "model": model, "spk": {name: i for i, name in enumerate(speakers)}}
