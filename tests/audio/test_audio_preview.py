"""Display data: the spectrogram's peak sits at the tone and its size is bounded; the envelope keeps the peaks."""

from __future__ import annotations

import numpy as np

from svc_core.audio.preview import peak_envelope, spectrogram_db
from svc_core.device_info import device_info, runtime_versions


def test_spectrogram_finds_the_tone_and_stays_small() -> None:
    sr = 22050
    x = np.sin(2 * np.pi * 1000.0 * np.arange(sr * 3) / sr).astype(np.float32)
    s = spectrogram_db(x, sr, max_frames=300)
    assert s.db.shape[0] <= 300 and s.db.shape[1] == len(s.freqs) and s.freqs[-1] <= 8000
    assert abs(s.freqs[int(np.median(s.db.argmax(axis=1)))] - 1000.0) < sr / 1024
    assert s.db.max() == 0.0 and s.db.min() >= -80.0
    assert s.times[-1] < 3.0


def test_peak_envelope_keeps_extremes() -> None:
    sr = 8000
    x = np.zeros(sr * 100, np.float32)
    x[123457] = 0.9
    x[654321] = -0.7
    t, y = peak_envelope(x, sr, max_points=10_000)
    assert len(t) <= 10_000 and y.max() == np.float32(0.9) and y.min() == np.float32(-0.7)
    assert abs(t[np.argmax(y)] - 123457 / sr) < 0.02 and np.all(np.diff(t) > 0)
    short = np.arange(10, dtype=np.float32)
    t2, y2 = peak_envelope(short, 10)
    assert np.array_equal(y2, short) and t2[-1] == 0.9


def test_device_info_and_versions() -> None:
    d = device_info("cpu")
    assert d.kind == "cpu" and d.describe().startswith("CPU (")
    v = runtime_versions()
    assert v["torch"].startswith("2.") and "CUDA" in v
