"""A conversion session: keeps the last voice, content encoder, F0 extractor and retrieval index loaded between
jobs (the GUI's engine thread holds one) and gives Converters over them with memoised content features and
synthesis (:mod:`svc_core.convert.cache`), so a re-render with an edited F0 curve reloads nothing and re-runs
neither the encoder nor, for unchanged segments, the synthesizer."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from svc_core.convert.cache import CachedEncoder, CachedVoice
from svc_core.convert.converter import Converter
from svc_core.convert.settings import ConvertSettings
from svc_core.errors import SvcError

__all__ = ["ConvertSession"]


class ConvertSession:
    """Loads components on demand and keeps the most recent of each kind (one voice, one encoder, ...)."""

    def __init__(self, weights_dir: str | os.PathLike[str] | None = None, cache_bytes: int = 256 * 2**20) -> None:
        self.weights_dir = weights_dir
        self.cache_bytes = int(cache_bytes)
        self._slots: dict[str, tuple[Any, Any]] = {}
        self.loads: list[str] = []  # kinds loaded, in order (what a re-render did not have to reload)

    def _get(self, kind: str, key: Any, build: Callable[[], Any]) -> Any:
        held = self._slots.get(kind)
        if held is not None and held[0] == key:
            return held[1]
        self._slots.pop(kind, None)  # free the old one before building the new one
        obj = build()
        self._slots[kind] = (key, obj)
        self.loads.append(kind)
        return obj

    def loaded(self, kind: str) -> Any | None:
        """The component of ``kind`` ('voice', 'encoder', 'extractor', 'index') now held, or None."""
        held = self._slots.get(kind)
        return held[1] if held is not None else None

    def clear(self) -> None:
        """Drop every loaded component."""
        self._slots.clear()

    def converter(self, voice_path: str | os.PathLike[str], settings: ConvertSettings | None = None, *,
                  encoder_path: str | os.PathLike[str] | None = None) -> Converter:
        """A Converter for ``voice_path`` with ``settings``, reusing what is loaded when it fits."""
        from svc_core.content import load_content_encoder
        from svc_core.device import pick_device
        from svc_core.f0 import DEFAULT_EXTRACTOR, get_extractor
        from svc_core.retrieval import find_index, load_index
        from svc_core.voices import load_voice
        from svc_core.weights import find_weights
        from vencoder.registry import UnsupportedEncoderError, weights_key_for

        settings = replace(settings or ConvertSettings())
        settings.validate()
        device = pick_device(settings.device)
        vp = Path(voice_path).resolve()
        folder = vp if vp.is_dir() else vp.parent
        index = None
        if settings.retrieval_ratio > 0:
            index_file = find_index(folder)
            if index_file is None:
                raise SvcError(f"{folder}: retrieval ratio {settings.retrieval_ratio} needs a retrieval index "
                               "(index.json or feature_and_index.pkl) in the voice folder")
            index = self._get("index", str(index_file), lambda: load_index(index_file))
        stamp = _newest_mtime(folder)
        voice = self._get("voice", (str(vp), str(device), stamp),
                          lambda: CachedVoice(load_voice(vp, device=device), self.cache_bytes))
        name = voice.speech_encoder
        try:
            wpath = find_weights(weights_key_for(name or ""), explicit=encoder_path, voice_dir=folder,
                                 weights_dir=self.weights_dir)
        except UnsupportedEncoderError as e:
            raise SvcError(str(e)) from None
        encoder = self._get("encoder", (name, str(wpath), str(device)), lambda: CachedEncoder(
            load_content_encoder(name, explicit=wpath, device=device), self.cache_bytes))
        method = settings.f0_method or DEFAULT_EXTRACTOR
        extractor = self._get("extractor", (method, str(device)), lambda: get_extractor(
            method, device=device, weights_dir=self.weights_dir, voice_dir=folder))
        return Converter(voice, encoder, extractor, settings, index=index, device=device)


def _newest_mtime(folder: Path) -> float:
    try:
        return max((p.stat().st_mtime for p in folder.iterdir() if p.suffix in (".pth", ".json")), default=0.0)
    except OSError:
        return 0.0
