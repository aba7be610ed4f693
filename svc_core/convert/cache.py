"""Memoising wrappers for the converter's two expensive steps, so re-rendering a file with an edited F0 curve
re-runs neither the content encoder (the audio did not change) nor the synthesizer for segments whose inputs did
not change. Keys are hashes of the exact inputs, so a hit is always the result the model would give."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["CachedEncoder", "CachedVoice", "LruCache"]


def _digest(*parts: Any) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    for p in parts:
        if p is None:
            h.update(b"\0none")
        elif hasattr(p, "detach"):  # a tensor
            a = p.detach().cpu().contiguous().numpy()
            h.update(str((a.dtype, a.shape)).encode())
            h.update(a.tobytes())
        elif isinstance(p, np.ndarray):
            h.update(str((p.dtype, p.shape)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        elif isinstance(p, Mapping):
            h.update(repr(sorted((str(k), float(v)) for k, v in p.items())).encode())
        else:
            h.update(repr(p).encode())
        h.update(b"|")
    return h.digest()


class LruCache:
    """Least-recently-used map of tensors bounded by total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> torch.Tensor | None:
        """The stored tensor (marked recently used) or None."""
        t = self._items.get(key)
        if t is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return t

    def put(self, key: bytes, value: torch.Tensor) -> None:
        """Store ``value``; evict the oldest entries beyond ``max_bytes`` (a value larger than that is not kept)."""
        size = value.element_size() * value.nelement()
        if size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old.element_size() * old.nelement()
        self._items[key] = value
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, ev = self._items.popitem(last=False)
            self.bytes -= ev.element_size() * ev.nelement()

    def clear(self) -> None:
        """Drop everything."""
        self._items.clear()
        self.bytes = 0


class CachedEncoder:
    """A content encoder whose ``encode`` is memoised by the exact 16 kHz input samples."""

    def __init__(self, encoder: Any, max_bytes: int = 256 * 2**20) -> None:
        self.inner = encoder
        self.cache = LruCache(max_bytes)

    @property
    def sample_rate(self) -> int:
        """Input rate of the wrapped encoder."""
        return int(self.inner.sample_rate)

    @property
    def hop(self) -> int:
        """Hop of the wrapped encoder."""
        return int(self.inner.hop)

    @property
    def dim(self) -> int:
        """Feature width of the wrapped encoder."""
        return int(self.inner.dim)

    def encode(self, wav_16k: torch.Tensor) -> torch.Tensor:
        """[T_wav] at 16 kHz -> [T_c, dim], from the cache when these exact samples were encoded before."""
        key = _digest(wav_16k)
        hit = self.cache.get(key)
        if hit is not None:
            return hit.clone()
        out = self.inner.encode(wav_16k)
        self.cache.put(key, out.detach().clone())
        return out


class CachedVoice:
    """A voice whose ``synthesize`` is memoised by all of its inputs; every other attribute is the voice's."""

    def __init__(self, voice: Any, max_bytes: int = 256 * 2**20) -> None:
        self.inner = voice
        self.cache = LruCache(max_bytes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def synthesize(self, c: torch.Tensor, f0: torch.Tensor, uv: torch.Tensor, speaker: Any,
                   vol: torch.Tensor | None = None, noise_scale: float = 0.35, seed: int = 52468,
                   predict_f0: bool = False) -> torch.Tensor:
        """The voice's synthesize, from the cache when called with these exact inputs before."""
        key = _digest(c, f0, uv, speaker, vol, float(noise_scale), int(seed), bool(predict_f0))
        hit = self.cache.get(key)
        if hit is not None:
            return hit.clone()
        out = self.inner.synthesize(c, f0, uv, speaker, vol=vol, noise_scale=noise_scale, seed=seed,
                                    predict_f0=predict_f0)
        self.cache.put(key, out.detach().clone())
        return out
