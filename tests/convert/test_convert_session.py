"""Memoised encoder/synthesis, re-rendering with an edited curve, the session's component reuse and the whole-file
source pitch the pitch editor shows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from convert_fakes import FakeEncoder, FakeF0, SineVoice, cents, tone

from svc_core.audio.slicer import SliceSettings
from svc_core.convert import Converter, ConvertSettings
from svc_core.convert.cache import CachedEncoder, CachedVoice, LruCache
from svc_core.convert.source_pitch import analyse_pitch
from svc_core.pitch_edit import save_f0_curve, shift

SR = 16000


def three_notes() -> np.ndarray:
    gap = np.zeros(int(0.6 * SR), np.float32)
    return np.concatenate([tone(SR, 1.0, 220.0), gap, tone(SR, 1.0, 330.0), gap, tone(SR, 1.0, 262.0)])


def test_lru_cache_bounds_bytes() -> None:
    import torch

    c = LruCache(max_bytes=3 * 400)
    for i in range(5):
        c.put(bytes([i]), torch.zeros(100))  # 400 bytes each
    assert c.bytes == 1200 and c.get(bytes([0])) is None and c.get(bytes([4])) is not None
    c.put(b"big", torch.zeros(1000))  # larger than the whole cache: not kept
    assert c.get(b"big") is None


def test_edited_curve_rerender_reuses_content_and_unchanged_segments(tmp_path: Path) -> None:
    x = three_notes()
    src = tmp_path / "in.wav"
    sf.write(src, x, SR)
    enc = CachedEncoder(FakeEncoder(8))
    voice = CachedVoice(SineVoice())
    f0x = FakeF0()
    conv = Converter(voice, enc, f0x, ConvertSettings())
    curve = analyse_pitch(src, conv)
    assert curve.times[1] - curve.times[0] == pytest.approx(320 / SR)
    tsv = save_f0_curve(tmp_path / "c.tsv", curve)
    s = ConvertSettings(f0_curve_path=tsv, slicing=SliceSettings(min_length_ms=500, max_sil_kept_ms=100))
    base = Converter(voice, enc, f0x, s).convert_file(src, tmp_path / "a.wav")
    assert base.segments >= 3
    enc_calls, synth_calls = len(enc.inner.calls), len(voice.inner.calls)
    edited = save_f0_curve(tmp_path / "e.tsv", shift(curve, 1.6, 2.6, 12.0))  # the second note only
    Converter(voice, enc, f0x, replace(s, f0_curve_path=edited)).convert_file(src, tmp_path / "b.wav")
    assert len(enc.inner.calls) == enc_calls, "content encoder ran again"
    assert 1 <= len(voice.inner.calls) - synth_calls < base.segments, "every segment was synthesized again"
    a, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    b, _ = sf.read(tmp_path / "b.wav", dtype="float32")
    assert a.shape == b.shape
    f_a, v_a = FakeF0().extract(a, SR, 320)
    f_b, v_b = FakeF0().extract(b, SR, 320)
    t = (np.arange(len(f_a)) * 320 + 160) / SR
    both = v_a & v_b
    mid = both & (t > 1.75) & (t < 2.45)
    out = both & ((t < 1.5) | (t > 2.7))
    assert np.abs(cents(f_b[mid], f_a[mid]) - 1200).max() < 10
    assert np.abs(cents(f_b[out], f_a[out])).max() < 1


def test_analyse_pitch_chunks_agree_and_follow_the_tone(tmp_path: Path) -> None:
    x = three_notes()
    src = tmp_path / "in.wav"
    sf.write(src, x, SR)
    conv = Converter(SineVoice(), FakeEncoder(8), FakeF0(), ConvertSettings(f0_postprocess=False))
    whole = analyse_pitch(src, conv)
    chunked = analyse_pitch(src, conv, chunk_s=0.7)
    assert len(whole.times) == -(-len(x) // 320)
    np.testing.assert_allclose(chunked.f0, whole.f0, rtol=1e-6)
    note2 = whole.mask(1.8, 2.4)
    assert np.abs(cents(whole.f0[note2], 330.0)).max() < 5
    assert not whole.voiced[whole.mask(1.1, 1.5)].any()


def test_session_keeps_components_loaded(tmp_path: Path, fixtures_dir: Path) -> None:
    import shutil

    from svc_core.convert.session import ConvertSession

    w = tmp_path / "w"
    w.mkdir()
    shutil.copy(fixtures_dir / "wavlm" / "wavlm_tiny_base_plus" / "WavLM-tiny.pt", w / "WavLM-Base+.pt")
    voice = tmp_path / "v"
    shutil.copytree(fixtures_dir / "sovits41" / "tiny_e2e_wavlm64", voice, ignore=shutil.ignore_patterns("ref*"))
    s = ConvertSession(w)
    a = s.converter(voice, ConvertSettings(f0_method="pm", device="cpu"))
    assert s.loads == ["voice", "encoder", "extractor"]
    b = s.converter(voice, ConvertSettings(f0_method="pm", transpose=5, device="cpu"))
    assert s.loads == ["voice", "encoder", "extractor"] and b.voice is a.voice and b.encoder is a.encoder
    s.converter(voice, ConvertSettings(f0_method="dio", device="cpu"))
    assert s.loads[-1] == "extractor" and len(s.loads) == 4
    y = b.convert_array(tone(44100, 0.5, 220.0), 44100)
    assert y.shape == (22050,) and np.isfinite(y).all()
