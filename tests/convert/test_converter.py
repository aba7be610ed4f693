"""Converter with injected fakes: exact output length, silence passthrough, transposition measured on the output of an
F0-following decoder, auto-key, manual F0 curve, per-channel, progress/cancel, streaming memory bound, bad input."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from convert_fakes import FakeEncoder, FakeF0, SineVoice, cents, make_converter, tone

from svc_core.audio.slicer import SliceSettings
from svc_core.convert import Converter, ConvertSettings, load_f0_curve, stretch_units, volume_frames
from svc_core.errors import AudioError, Cancelled, SvcError, VoiceError
from svc_core.jobs import CancelToken, SvcWarning

SHORT_SLICES = SliceSettings(min_length_ms=500, min_interval_ms=200, hop_ms=10, max_sil_kept_ms=100)


def _phrase(sr: int) -> np.ndarray:
    """silence 1 s, A3 1.5 s, silence 0.8 s, E4 1.2 s, silence 0.5 s + 77 samples."""
    z = np.zeros
    return np.concatenate([z(sr), tone(sr, 1.5, 220), z(int(0.8 * sr)), tone(sr, 1.2, 329.63),
                           z(int(0.5 * sr) + 77)]).astype(np.float32)


@pytest.mark.parametrize(("sr_in", "out_sr"), [(44100, None), (48000, 22050), (16000, 44100), (8000, None)])
def test_length_nan_and_silence(sr_in: int, out_sr: int | None) -> None:
    x = _phrase(sr_in)
    conv = make_converter(slicing=SHORT_SLICES, output_sr=out_sr)
    y = conv.convert_array(x, sr_in)
    sr_o = out_sr or 16000
    assert y.shape == (round(x.shape[0] * sr_o / sr_in),)
    assert np.isfinite(y).all()
    # the leading and middle silences stay silent (below -100 dBFS: only resampler ringing of the notes)
    assert np.abs(y[: int(0.95 * sr_o)]).max() < 1e-5
    assert np.abs(y[int(2.6 * sr_o): int(3.25 * sr_o)]).max() < 1e-5
    assert np.abs(y[int(1.2 * sr_o): int(2.3 * sr_o)]).max() > 0.2
    # silent slices never reached the model: 2 notes (2.7 s) + per note 2 x (context 0.3 s + kept silence 0.1 s)
    assert len(conv.voice.calls) == 2
    assert sum(c["frames"] for c in conv.voice.calls) * 320 <= (2.7 + 2 * 0.85) * 16000


@pytest.mark.parametrize("semitones", [12, -7, 0])
def test_transpose_measured_on_output(semitones: int) -> None:
    sr = 44100
    x = _phrase(sr)
    y = make_converter(slicing=SHORT_SLICES, transpose=semitones).convert_array(x, sr)
    f0_in, v_in = FakeF0().extract(x, sr, 441)
    f0_out, v_out = FakeF0().extract(y, 16000, 160)  # same 10 ms grid
    n = min(f0_in.shape[0], f0_out.shape[0])
    core = v_in[:n] & v_out[:n]
    core &= np.convolve(core, np.ones(9), "same") == 9  # away from note edges
    assert core.sum() > 150
    err = cents(f0_out[:n][core], f0_in[:n][core]) - 100 * semitones
    assert np.abs(err).max() < 20, np.abs(err).max()


def test_all_silence_gives_silence_same_length() -> None:
    conv = make_converter()
    for n in (1, 500, 44100 * 3 + 5):
        y = conv.convert_array(np.zeros(n, np.float32), 44100)
        assert y.shape == (round(n * 16000 / 44100),) and not y.any()
    assert conv.voice.calls == []


def test_auto_key_and_speaker_mix() -> None:
    sr = 16000
    x = tone(sr, 2.0, 220)
    voice = SineVoice(f0_stats={"median_hz": 440.0})
    conv = make_converter(voice, auto_key=True, speaker={"alto": 0.25, "tenor": 0.75})
    y = conv.convert_array(x, sr)
    f0, v = FakeF0().extract(y, sr, 320)
    assert abs(np.median(cents(f0[v][5:-5], 440.0))) < 10
    assert voice.calls[0]["speaker"] == {"alto": 0.25, "tenor": 0.75}
    # no f0_stats: the F0 decoder's prediction (330 Hz in the fake) is the target: 220 -> 330 = +7 semitones
    conv = make_converter(SineVoice(has_f0_decoder=True), auto_key=True, transpose=1)
    f0, v = FakeF0().extract(conv.convert_array(x, sr), sr, 320)
    assert abs(np.median(cents(f0[v][5:-5], 220.0)) - 800) < 10
    with pytest.raises(SvcError, match="auto-key needs the voice's F0 statistics"):
        make_converter(SineVoice(), auto_key=True).convert_array(x, sr)


def test_manual_f0_curve(tmp_path: Path) -> None:
    sr = 16000
    curve = tmp_path / "curve.tsv"
    curve.write_text("time_s\tf0_hz\n0.0\t0\n0.5\t300\n1.0\t300\n1.5\t0\n")
    conv = make_converter(f0_curve_path=curve)
    y = conv.convert_array(tone(sr, 2.0, 220), sr)
    f0, v = FakeF0().extract(y, sr, 320)
    t = (np.arange(f0.shape[0]) * 320 + 160) / sr
    inside = (t > 0.6) & (t < 0.95)
    assert np.abs(cents(f0[inside], 300.0)).max() < 15
    assert not v[(t > 1.4) & (t < 1.9)].any()
    times, vals = load_f0_curve(curve)
    assert times.tolist() == [0.0, 0.5, 1.0, 1.5] and vals.tolist() == [0, 300, 300, 0]
    bad = tmp_path / "bad.csv"
    bad.write_text("0,100\n0.1,abc\n")
    with pytest.raises(SvcError, match=r"bad\.csv: line 2: expected two numbers"):
        make_converter(f0_curve_path=bad)


def test_per_channel_and_downmix() -> None:
    sr = 16000
    st = np.stack([tone(sr, 1.5, 220), tone(sr, 1.5, 330)])
    y = make_converter(per_channel=True).convert_array(st, sr)
    assert y.shape == (2, st.shape[1])
    for ch, hz in enumerate((220, 330)):
        f0, v = FakeF0().extract(y[ch], sr, 320)
        assert abs(np.median(cents(f0[v][3:-3], hz))) < 10
    mono = make_converter().convert_array(st, sr)
    assert mono.shape == (1, st.shape[1])


def test_progress_order_and_cancel() -> None:
    sr = 16000
    x = np.concatenate([tone(sr, 1.0, 200), np.zeros(sr), tone(sr, 1.0, 300), np.zeros(sr), tone(sr, 1.0, 250)])
    conv = make_converter(slicing=SHORT_SLICES)
    seen = []
    conv.convert_array(x, sr, progress=seen.append)
    fr = [p.fraction for p in seen]
    assert fr == sorted(fr) and fr[0] == 0.0 and fr[-1] == 1.0
    stages = [p.stage for p in seen]
    assert stages[0] == "analysing" and stages[-1] == "done" and "converting" in stages
    assert stages.index("converting") > max(i for i, s in enumerate(stages) if s == "analysing")

    token = CancelToken()

    def cancel_after_first(p: object) -> None:
        if getattr(p, "stage", "") == "converting":
            token.cancel()

    conv2 = make_converter(slicing=SHORT_SLICES)
    with pytest.raises(Cancelled):
        conv2.convert_array(x, sr, progress=cancel_after_first, cancel=token)
    assert len(conv2.voice.calls) == 1


def test_cancel_leaves_no_output_file(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    sf.write(src, np.concatenate([tone(16000, 1.0, 200), np.zeros(16000), tone(16000, 1.0, 300)]), 16000)
    out = tmp_path / "out.wav"
    token = CancelToken()
    conv = make_converter(slicing=SHORT_SLICES)
    with pytest.raises(Cancelled):
        conv.convert_file(src, out, progress=lambda p: token.cancel() if p.stage == "converting" else None,
                          cancel=token)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_convert_file_formats_and_warnings(tmp_path: Path) -> None:
    sr = 22050
    x = np.stack([tone(sr, 1.5, 220), tone(sr, 1.5, 220)])
    x[:, 1000:1100] = 1.0  # clipped
    src = tmp_path / "clip.flac"
    sf.write(src, x.T, sr, subtype="PCM_24")
    with pytest.warns(SvcWarning, match=r"clip\.flac: input is clipped"):
        res = make_converter(output_sr=44100).convert_file(src, tmp_path / "o.flac", format="flac", subtype="16")
    i = sf.info(tmp_path / "o.flac")
    assert (i.samplerate, i.channels, i.frames, i.subtype) == (44100, 1, 2 * x.shape[1], "PCM_16")
    assert res.output_frames == i.frames and res.input_seconds == pytest.approx(1.5, abs=1e-3)
    assert any("clip.flac: input is clipped" in w for w in res.warnings)


def test_bad_inputs(tmp_path: Path) -> None:
    conv = make_converter()
    x = tone(16000, 1.0, 220)
    x[321] = np.nan
    p = tmp_path / "nan.wav"
    sf.write(p, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: 1 invalid samples \(NaN or infinity\), the first at sample 321"):
        conv.convert_file(p, tmp_path / "o.wav")
    with pytest.raises(AudioError, match=r"input audio: 1 invalid samples"):
        conv.convert_array(x, 16000)
    with pytest.raises(AudioError, match="no samples"):
        conv.convert_array(np.zeros(0, np.float32), 16000)
    e = tmp_path / "empty.flac"
    e.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.flac: empty file"):
        conv.convert_file(e, tmp_path / "o.wav")
    good = tmp_path / "good.wav"
    sf.write(good, tone(16000, 0.5, 220), 16000)
    with pytest.raises(AudioError, match="over the input"):
        conv.convert_file(good, good)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AudioError, match=r"cannot write output"):
        conv.convert_file(good, blocker / "o.wav")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["empty.flac", "file", "good.wav", "nan.wav"]


def test_settings_and_voice_mismatch() -> None:
    with pytest.raises(SvcError, match="retrieval ratio must be between 0 and 1"):
        make_converter(retrieval_ratio=2.0)
    with pytest.raises(VoiceError, match="unknown speaker 'bass'"):
        make_converter(speaker="bass")
    with pytest.raises(VoiceError, match="encoder gives 4-dim features but the voice expects ssl_dim 8"):
        Converter(SineVoice(), FakeEncoder(4), FakeF0())


@pytest.mark.slow
def test_long_input_is_streamed(tmp_path: Path) -> None:
    """A 10-minute file: read in blocks, model input bounded by max_segment_s, memory flat."""
    sr = 8000
    src = tmp_path / "long.wav"
    one = np.concatenate([tone(sr, 25.0, 200, 0.3), np.zeros(sr * 35, np.float32)])  # 60 s, mostly voiced
    with sf.SoundFile(src, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(10):
            f.write(one)
    conv = Converter(SineVoice(), FakeEncoder(), FakeF0(win=512, nfft=1024),
                     ConvertSettings(max_segment_s=4.0, block_s=10.0, slicing=SliceSettings(min_length_ms=2000)))
    tracemalloc.start()
    res = conv.convert_file(src, tmp_path / "out.wav", subtype="16")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert res.output_frames == round(600 * sr * 16000 / sr)
    assert max(c["frames"] for c in conv.voice.calls) * 320 <= (4.0 + 2 * 0.3 + 0.05) * 16000
    assert max(conv.encoder.calls) <= (4.0 + 2 * 0.3 + 0.05) * 16000
    # the whole input at the model rate would be 600 s * 16 kHz * 4 B = 38 MB; we stay far below
    assert peak < 12e6, peak
    y, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    assert not y[int(30 * 16000): int(55 * 16000)].any() and np.abs(y[16000:20 * 16000]).max() > 0.2


def test_retrieval_blend_reaches_the_model() -> None:
    from svc_core.retrieval import build_index

    sr = 16000
    x = tone(sr, 1.0, 220)
    enc = FakeEncoder()
    target = np.full((50, 8), 3.0, np.float32)
    idx = build_index(target)
    v0, v1 = SineVoice(), SineVoice()
    Converter(v0, enc, FakeF0(), ConvertSettings()).convert_array(x, sr)
    Converter(v1, enc, FakeF0(), ConvertSettings(retrieval_ratio=1.0), index=idx).convert_array(x, sr)
    assert v1.calls[0]["c_mean"] == pytest.approx(3.0, abs=1e-4)
    assert v0.calls[0]["c_mean"] != pytest.approx(3.0, abs=0.5)


def _left_loop(c: torch.Tensor, target_len: int) -> torch.Tensor:
    """so-vits-svc utils.repeat_expand_2d_left as a loop (the reference)."""
    src_len = c.shape[-1]
    out = torch.zeros([c.shape[0], target_len])
    temp = torch.arange(src_len + 1) * target_len / src_len
    pos = 0
    for i in range(target_len):
        if i < temp[pos + 1]:
            out[:, i] = c[:, pos]
        else:
            pos += 1
            out[:, i] = c[:, pos]
    return out


@pytest.mark.parametrize(("src", "dst"), [(10, 37), (37, 100), (99, 140), (50, 50), (5, 6)])
def test_stretch_left_matches_loop(src: int, dst: int) -> None:
    c = torch.randn(3, src)
    torch.testing.assert_close(stretch_units(c, dst, "left"), _left_loop(c, dst))
    near = stretch_units(c, dst, "nearest")
    torch.testing.assert_close(near, torch.nn.functional.interpolate(c[None], size=dst, mode="nearest")[0])


def test_volume_matches_so_vits_formula() -> None:
    x = np.random.default_rng(0).standard_normal(5 * 512 + 100).astype(np.float32)
    hop = 512
    # so-vits-svc Volume_Extractor (frames len//hop), written as a loop over frames
    a2 = np.pad(x.astype(np.float64) ** 2, (hop // 2, (hop + 1) // 2), mode="reflect")
    ref = np.sqrt([a2[n * hop:(n + 1) * hop].mean() for n in range(x.shape[0] // hop)])
    got = volume_frames(x, hop, -(-x.shape[0] // hop))
    assert got.shape == (6,)
    np.testing.assert_allclose(got[:5], ref, rtol=1e-5)


def _sparse_file(path: Path, seconds: int, sr: int = 8000) -> None:
    """Mostly silence with a 1 s note every 20 s, written in blocks."""
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(seconds // 20):
            f.write(np.concatenate([tone(sr, 1.0, 220, 0.3), np.zeros(19 * sr, np.float32)]))


def test_memory_does_not_grow_with_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Peak Python allocation converting 240 s is about that of 60 s; every read is a bounded block."""
    from svc_core.audio.io import AudioReader

    reads: list[int] = []
    orig = AudioReader.read

    def spy(self: AudioReader, frames: int) -> np.ndarray:
        reads.append(int(frames))
        return orig(self, frames)

    monkeypatch.setattr(AudioReader, "read", spy)
    peaks = {}
    for secs in (60, 240):
        src = tmp_path / f"s{secs}.wav"
        _sparse_file(src, secs)
        conv = make_converter(max_segment_s=5.0, block_s=5.0)
        reads.clear()
        tracemalloc.start()
        res = conv.convert_file(src, tmp_path / f"o{secs}.wav", subtype="16")
        peaks[secs] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert res.output_frames == secs * 16000
        assert max(reads) <= (5.0 + 2 * 0.3 + 0.05) * 8000
        assert sum(c["frames"] for c in conv.voice.calls) * 320 < 0.6 * secs * 16000  # silence skipped the model
    assert peaks[240] < 1.3 * peaks[60], peaks


def test_forced_split_of_long_voiced_slice() -> None:
    sr = 16000
    x = tone(sr, 3.5, 261.63)
    conv = make_converter(max_segment_s=1.0)
    y = conv.convert_array(x, sr)
    assert y.shape == x.shape and np.isfinite(y).all()
    assert len(conv.voice.calls) >= 4
    f0, v = FakeF0().extract(y, sr, 320)
    core = v.copy()
    core[:3] = core[-3:] = False
    err = np.abs(cents(f0[core], 261.63))
    assert np.median(err) < 2 and np.mean(err < 20) > 0.9  # only the crossfades of the fake's unaligned phases deviate


def test_bad_files_through_convert_file(tmp_path: Path) -> None:
    conv = make_converter()
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros(0, np.float32), 44100)
    with pytest.raises(AudioError, match=r"zero\.wav: no audio samples \(0 frames\)"):
        conv.convert_file(zero, tmp_path / "o1.wav")
    txt = tmp_path / "lyrics.txt"
    txt.write_text("la la la " * 20)
    with pytest.raises(AudioError, match=r"lyrics\.txt: unsupported format"):
        conv.convert_file(txt, tmp_path / "o2.wav")
    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros(44100 * 2 + 17, np.float32), 44100, subtype="PCM_16")
    res = conv.convert_file(silent, tmp_path / "o3.wav")
    y, sr = sf.read(tmp_path / "o3.wav", dtype="float32")
    assert sr == 16000 and y.shape == (round((44100 * 2 + 17) * 16000 / 44100),) and not y.any()
    assert conv.voice.calls == [] and res.warnings == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lyrics.txt", "o3.wav", "silent.flac", "zero.wav"]


def test_converter_takes_its_device_from_the_voice() -> None:
    import torch

    v = SineVoice()
    assert make_converter(v).device == torch.device("cpu")  # a voice without a device: the CPU
    v.device = torch.device("meta")  # type: ignore[attr-defined]
    conv = make_converter(v)
    assert conv.device == conv.pipeline.device == torch.device("meta")
