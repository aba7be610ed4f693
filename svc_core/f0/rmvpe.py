"""RMVPE pitch extractor: our implementation of the RMVPE network (Wei et al. 2023, "RMVPE: A Robust Model for
Vocal Pitch Estimation in Polyphonic Music"), loading the user's ``rmvpe.pt``.

Architecture and state-dict key names follow the published checkpoints (RVC-Project/Retrieval-based-Voice-
Conversion-WebUI ``infer/lib/rmvpe.py``, MIT; yxlllc/RMVPE, MIT; so-vits-svc, AGPL-3.0), re-implemented here:
E2E(n_blocks=4, n_gru=1, kernel=(2, 2)) = DeepUnet (5 encoder stages 16..256 ch, 4 intermediate at 512 ch,
5 decoder stages) -> Conv2d(16->3) -> BiGRU(384->2x256) -> Linear(512->360) -> Sigmoid.
Input: log-mel [B, 128, T] of 16 kHz audio (n_fft 1024, hop 160, Hann, centred, fmin 30, fmax 8000, HTK mel).
Both file layouts are accepted: RVC's bare fp16 state dict and yxlllc/so-vits-svc's ``{"model": sd}`` (its
``unet.tf.*`` keys belong to an unused block and are dropped).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import torch
from torch import nn

from svc_core.errors import SvcError
from svc_core.f0.decode import SalienceExtractor, cents_table

MODEL_SR = 16000
MODEL_HOP = 160
N_FFT = 1024
N_MELS = 128
FMIN = 30.0
FMAX = 8000.0
#: Voicing threshold on the max salience (RVC and yxlllc use 0.03, so-vits-svc 0.05).
DEFAULT_THRESHOLD = 0.03


class ConvBlockRes(nn.Module):
    """Two conv3x3-BN-ReLU plus a residual (1x1 conv when channels change): [B, C_in, T, F] -> [B, C_out, T, F]."""

    def __init__(self, in_channels: int, out_channels: int, momentum: float = 0.01) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=momentum),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=momentum),
            nn.ReLU(),
        )
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, T, F] -> [B, C_out, T, F]."""
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.conv(x) + skip


class ResEncoderBlock(nn.Module):
    """``n_blocks`` ConvBlockRes, then optional average pooling: returns (pre-pool, pooled) or the features."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: tuple[int, int] | None, n_blocks: int
    ) -> None:
        super().__init__()
        self.conv = nn.ModuleList(
            [ConvBlockRes(in_channels if i == 0 else out_channels, out_channels) for i in range(n_blocks)]
        )
        self.pool = nn.AvgPool2d(kernel_size) if kernel_size is not None else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
        """[B, C_in, T, F] -> ([B, C_out, T, F], [B, C_out, T/2, F/2]) or [B, C_out, T, F] without pooling."""
        for block in self.conv:
            x = block(x)
        if self.pool is None:
            return x
        return x, self.pool(x)


class Encoder(nn.Module):
    """Input BatchNorm + ``n_stages`` pooling ResEncoderBlocks doubling channels from ``out_channels``."""

    def __init__(
        self, in_channels: int, n_stages: int, kernel_size: tuple[int, int], n_blocks: int, out_channels: int
    ) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_channels, momentum=0.01)
        layers = []
        for _ in range(n_stages):
            layers.append(ResEncoderBlock(in_channels, out_channels, kernel_size, n_blocks))
            in_channels, out_channels = out_channels, out_channels * 2
        self.layers = nn.ModuleList(layers)
        self.out_channels = out_channels  # twice the last stage's channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """[B, 1, T, 128] -> (pooled [B, C, T/32, 4], skips per stage)."""
        x = self.bn(x)
        skips = []
        for layer in self.layers:
            skip, x = layer(x)
            skips.append(skip)
        return x, skips


class Intermediate(nn.Module):
    """``n_stages`` non-pooling ResEncoderBlocks (first maps in -> out channels)."""

    def __init__(self, in_channels: int, out_channels: int, n_stages: int, n_blocks: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [ResEncoderBlock(in_channels if i == 0 else out_channels, out_channels, None, n_blocks)
             for i in range(n_stages)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C_in, T', F'] -> [B, C_out, T', F']."""
        for layer in self.layers:
            x = layer(x)
        return x


class ResDecoderBlock(nn.Module):
    """Transposed-conv upsampling (x2) + BN + ReLU, concatenation with the skip, ``n_blocks`` ConvBlockRes."""

    def __init__(self, in_channels: int, out_channels: int, stride: tuple[int, int], n_blocks: int) -> None:
        super().__init__()
        out_pad = (0, 1) if tuple(stride) == (1, 2) else (1, 1)
        self.conv1 = nn.Sequential(
            nn.ConvTranspose2d(in_channels, out_channels, 3, stride, 1, output_padding=out_pad, bias=False),
            nn.BatchNorm2d(out_channels, momentum=0.01),
            nn.ReLU(),
        )
        self.conv2 = nn.ModuleList(
            [ConvBlockRes(out_channels * 2 if i == 0 else out_channels, out_channels) for i in range(n_blocks)]
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """[B, C_in, T', F'] + skip [B, C_out, 2T', 2F'] -> [B, C_out, 2T', 2F']."""
        x = torch.cat((self.conv1(x), skip), dim=1)
        for block in self.conv2:
            x = block(x)
        return x


class Decoder(nn.Module):
    """``n_stages`` ResDecoderBlocks halving channels."""

    def __init__(self, in_channels: int, n_stages: int, stride: tuple[int, int], n_blocks: int) -> None:
        super().__init__()
        layers = []
        for _ in range(n_stages):
            layers.append(ResDecoderBlock(in_channels, in_channels // 2, stride, n_blocks))
            in_channels //= 2
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """Bottleneck [B, C, T/32, 4] + encoder skips -> [B, 16, T, 128]."""
        for layer, skip in zip(self.layers, reversed(skips), strict=True):
            x = layer(x, skip)
        return x


class DeepUnet(nn.Module):
    """Encoder -> Intermediate -> Decoder on [B, 1, T, 128] (T a multiple of 32)."""

    def __init__(
        self,
        kernel_size: tuple[int, int],
        n_blocks: int,
        en_de_layers: int = 5,
        inter_layers: int = 4,
        in_channels: int = 1,
        en_out_channels: int = 16,
    ) -> None:
        super().__init__()
        self.encoder = Encoder(in_channels, en_de_layers, kernel_size, n_blocks, en_out_channels)
        top = self.encoder.out_channels
        self.intermediate = Intermediate(top // 2, top, inter_layers, n_blocks)
        self.decoder = Decoder(top, en_de_layers, kernel_size, n_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 1, T, 128] -> [B, en_out_channels, T, 128]."""
        x, skips = self.encoder(x)
        return self.decoder(self.intermediate(x), skips)


class BiGRU(nn.Module):
    """Bidirectional GRU returning the output sequence: [B, T, D] -> [B, T, 2H]."""

    def __init__(self, input_features: int, hidden_features: int, num_layers: int) -> None:
        super().__init__()
        self.gru = nn.GRU(input_features, hidden_features, num_layers=num_layers, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, D] -> [B, T, 2H]."""
        return self.gru(x)[0]


class E2E(nn.Module):
    """RMVPE network: log-mel [B, 128, T] -> pitch salience [B, T, 360] in 0..1."""

    def __init__(
        self,
        n_blocks: int = 4,
        n_gru: int = 1,
        kernel_size: tuple[int, int] = (2, 2),
        en_de_layers: int = 5,
        inter_layers: int = 4,
        in_channels: int = 1,
        en_out_channels: int = 16,
    ) -> None:
        super().__init__()
        if n_gru < 1:
            raise ValueError("only the BiGRU variant of RMVPE (n_gru >= 1) is supported")
        self.unet = DeepUnet(kernel_size, n_blocks, en_de_layers, inter_layers, in_channels, en_out_channels)
        self.cnn = nn.Conv2d(en_out_channels, 3, 3, padding=1)
        self.fc = nn.Sequential(BiGRU(3 * N_MELS, 256, n_gru), nn.Linear(512, 360), nn.Dropout(0.25), nn.Sigmoid())

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """[B, 128, T] (T a multiple of 32) -> [B, T, 360]."""
        x = self.cnn(self.unet(mel.transpose(-1, -2).unsqueeze(1)))  # [B, 3, T, 128]
        return self.fc(x.transpose(1, 2).flatten(-2))


class MelFrontend(nn.Module):
    """RMVPE log-mel: |STFT| (1024/160, Hann, centred) @ HTK mel (128, 30-8000 Hz): [B, T_wav] -> [B, 128, T]."""

    def __init__(self) -> None:
        super().__init__()
        import librosa

        basis = librosa.filters.mel(sr=MODEL_SR, n_fft=N_FFT, n_mels=N_MELS, fmin=FMIN, fmax=FMAX, htk=True)
        self.register_buffer("mel_basis", torch.from_numpy(basis).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, T_wav] at 16 kHz -> log-mel [B, 128, T_wav // 160 + 1]."""
        n = audio.shape[-1]
        if n <= N_FFT // 2:  # reflect padding needs more samples than the pad: zero-extend very short input
            audio = torch.nn.functional.pad(audio, (0, N_FFT // 2 + 1 - n))
        spec = torch.stft(audio, N_FFT, MODEL_HOP, N_FFT, self.window, center=True, pad_mode="reflect",
                          return_complex=True).abs()
        mel = torch.matmul(self.mel_basis, spec)[..., : n // MODEL_HOP + 1]
        return torch.log(mel.clamp_min(1e-5))


def state_dict_from_checkpoint(obj: object, path: str | os.PathLike[str] = "rmvpe.pt") -> dict[str, torch.Tensor]:
    """The E2E state dict (float32, without ``unet.tf.*``) of a loaded RVC or yxlllc/so-vits-svc ``rmvpe.pt``."""
    sd = obj["model"] if isinstance(obj, dict) and isinstance(obj.get("model"), dict) else obj
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise SvcError(f"{path}: not an RMVPE checkpoint (expected a state dict or {{'model': state_dict}})")
    out = {}
    for k, v in sd.items():
        if k.startswith("unet.tf."):
            continue
        out[k] = v.float() if v.is_floating_point() else v
    return out


def load_rmvpe_model(path: str | os.PathLike[str], device: torch.device | None = None) -> E2E:
    """Build E2E(4, 1, (2, 2)) and strictly load ``rmvpe.pt`` into it (weights_only); eval mode on ``device``."""
    from vencoder.safe_load import load_torch_file

    obj = load_torch_file(path, allowed_globals=(), mmap=None)
    sd = state_dict_from_checkpoint(obj, path)
    model = E2E(4, 1, (2, 2))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        detail = []
        if missing:
            detail.append(f"missing {len(missing)} key(s), e.g. {', '.join(missing[:3])}")
        if unexpected:
            detail.append(f"unexpected {len(unexpected)} key(s), e.g. {', '.join(unexpected[:3])}")
        raise SvcError(f"{path}: does not fit the RMVPE network ({'; '.join(detail)})")
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise SvcError(f"{path}: tensor shapes do not fit the RMVPE network: {e}") from e
    return model.eval().to(device or torch.device("cpu"))


_CACHE: dict[tuple[str, str, float], E2E] = {}
_LOCK = threading.Lock()


def release_models() -> None:
    """Drop the cached RMVPE networks (extractors that already hold one keep it)."""
    with _LOCK:
        _CACHE.clear()


class RmvpeExtractor(SalienceExtractor):
    """RMVPE on 16 kHz audio, 10 ms frames centred at i*160 samples; f0 by local weighted average + threshold."""

    name = "rmvpe"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        device: torch.device | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        model: E2E | None = None,
        voice_dir: str | os.PathLike[str] | None = None,
        weights_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.device = device if device is not None else torch.device("cpu")
        self.threshold = float(threshold)
        self._model = model.eval().to(self.device) if model is not None else None
        self.model_path: Path | None = None
        if self._model is None:
            from svc_core.weights import find_weights

            self.model_path = find_weights("rmvpe", explicit=model_path, voice_dir=voice_dir, weights_dir=weights_dir)
        self._mel = MelFrontend().to(self.device)
        self._cents = cents_table()

    @property
    def model(self) -> E2E:
        """The loaded network (loaded lazily, cached per file and device)."""
        if self._model is None:
            assert self.model_path is not None
            p = self.model_path.resolve()
            key = (str(p), str(self.device), p.stat().st_mtime)
            with _LOCK:
                if key not in _CACHE:
                    _CACHE[key] = load_rmvpe_model(p, self.device)
                self._model = _CACHE[key]
        return self._model

    def salience(self, wav16: np.ndarray) -> torch.Tensor:
        """Salience [1, N, 360] for 16 kHz audio [T_wav], N = T_wav // 160 + 1."""
        x = torch.from_numpy(np.ascontiguousarray(wav16, np.float32)).to(self.device)[None]
        with torch.inference_mode():
            mel = self._mel(x)
            n = mel.shape[-1]
            pad = (-n) % 32
            if pad:
                mel = torch.nn.functional.pad(mel, (0, pad))  # zeros, as RVC and so-vits-svc do
            sal = self.model(mel)[:, :n]
        return sal.float()

    def salience_with_cents(self, wav16: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Salience [1, N, 360] and the 20-cent bin table [360]."""
        return self.salience(wav16), self._cents
