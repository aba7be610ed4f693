"""Preview playback of an in-memory clip through PortAudio (sounddevice), with a readable play position.

The PortAudio callback only copies a slice of the preloaded array; it never allocates or touches torch.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from svc_core.errors import SvcError

__all__ = ["Player"]


class Player:
    """Plays one mono or [C, N] clip at a time; :attr:`position_s` follows the callback."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data = np.zeros((0, 1), np.float32)
        self._pos = 0
        self._sr = 44100
        self._stream: Any = None

    @property
    def playing(self) -> bool:
        """True while a clip is being played."""
        return self._stream is not None and self._pos < self._data.shape[0]

    @property
    def position_s(self) -> float:
        """Seconds from the clip's start to the sample now being played."""
        return self._pos / self._sr

    def play(self, samples: np.ndarray, sr: int, start_s: float = 0.0) -> None:
        """Stop what plays and start ``samples`` ([N] or [C, N]) at ``start_s``; SvcError when no output device."""
        self.stop()
        x = np.asarray(samples, np.float32)
        data = np.ascontiguousarray((x[None] if x.ndim == 1 else x).T)  # [N, C]
        try:
            import sounddevice as sd
        except (ImportError, OSError) as e:  # OSError: PortAudio library missing
            raise SvcError(f"audio playback is not available ({e})") from e
        with self._lock:
            self._data, self._sr = data, int(sr)
            self._pos = max(0, min(int(round(start_s * sr)), data.shape[0]))

        def callback(out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
            with self._lock:
                a = self._pos
                n = max(0, min(frames, self._data.shape[0] - a))
                out[:n] = self._data[a:a + n]
                out[n:] = 0
                self._pos = a + n
            if n < frames:
                raise sd.CallbackStop

        try:
            self._stream = sd.OutputStream(samplerate=self._sr, channels=data.shape[1], dtype="float32",
                                           callback=callback)
            self._stream.start()
        except Exception as e:  # PortAudioError and friends: no device, busy device, unsupported rate
            self._stream = None
            raise SvcError(f"cannot open the audio output ({e})") from e

    def stop(self) -> None:
        """Stop playback (the position stays where it was)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # noqa: BLE001 - closing a dead stream must not raise into the GUI
                pass
