"""Live conversion: the microphone through a voice in real time (no Qt). Light to import: the engine, stream and
model adapter are modules of their own (``svc_core.live.engine``, ``.stream``, ``.infer``)."""

from svc_core.live.settings import LiveSettings

__all__ = ["LiveSettings"]
