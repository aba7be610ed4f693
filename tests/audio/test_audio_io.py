"""Audio I/O: every common format and rate reads back right; every bad file gives an AudioError naming it and why;
writes are atomic and never replace the input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from svc_core.audio import AudioReader, AudioWriter, info, iter_blocks, read_audio, write_audio
from svc_core.errors import AudioError


def _sig(n: int, ch: int = 1, sr: int = 44100) -> np.ndarray:
    t = np.arange(n) / sr
    return np.stack([0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(ch)]).astype(np.float32)


@pytest.mark.parametrize(
    ("fmt", "subtype", "tol"),
    [("WAV", "PCM_U8", 1 / 64), ("WAV", "PCM_16", 1e-4), ("WAV", "PCM_24", 1e-6), ("WAV", "PCM_32", 1e-8),
     ("WAV", "FLOAT", 0.0), ("WAV", "DOUBLE", 1e-7), ("FLAC", "PCM_16", 1e-4), ("FLAC", "PCM_24", 1e-6)],
)
def test_lossless_formats_read_back(tmp_path: Path, fmt: str, subtype: str, tol: float) -> None:
    x = _sig(4001, 2)
    p = tmp_path / f"x.{fmt.lower()}"
    sf.write(p, x.T, 44100, format=fmt, subtype=subtype)
    a = read_audio(p)
    assert a.sr == 44100 and a.samples.shape == (2, 4001) and a.samples.dtype == np.float32
    assert np.abs(a.samples - x).max() <= tol + 1e-9
    assert a.subtype == subtype


@pytest.mark.parametrize(("fmt", "subtype"), [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_lossy_formats_read(tmp_path: Path, fmt: str, subtype: str) -> None:
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} lacks {fmt}")
    x = _sig(44100)
    p = tmp_path / f"x.{fmt.lower()}"
    sf.write(p, x.T, 44100, format=fmt, subtype=subtype)
    a = read_audio(p)
    assert a.sr == 44100 and a.channels == 1
    assert abs(a.frames - 44100) < 3000  # mp3 encoder delay/padding
    # same tone: correlation of the spectra magnitude peak
    spec = np.abs(np.fft.rfft(a.samples[0]))
    assert abs(np.argmax(spec) * 44100 / a.frames - 220) < 3


@pytest.mark.parametrize("sr", [8000, 11025, 22050, 48000, 96000, 192000])
def test_sample_rates(tmp_path: Path, sr: int) -> None:
    p = tmp_path / "x.wav"
    sf.write(p, _sig(sr // 10, 1, sr).T, sr, subtype="PCM_16")
    assert info(p).sr == sr and info(p).frames == sr // 10


def test_multichannel_and_downmix(tmp_path: Path) -> None:
    x = _sig(1000, 6)
    p = tmp_path / "x.wav"
    sf.write(p, x.T, 48000, subtype="FLOAT")
    a = read_audio(p)
    assert a.channels == 6
    np.testing.assert_allclose(a.mono(), x.mean(axis=0), atol=1e-7)


def test_iter_blocks_covers_file_in_order(tmp_path: Path) -> None:
    x = _sig(10007, 2)
    p = tmp_path / "x.flac"
    sf.write(p, x.T, 44100, subtype="PCM_24")
    got = list(iter_blocks(p, block_frames=1000))
    assert [s for s, _ in got] == list(range(0, 10007, 1000))
    assert max(b.shape[1] for _, b in got) == 1000
    np.testing.assert_allclose(np.concatenate([b for _, b in got], axis=1), x, atol=1e-6)


def test_reader_read_range_pads_outside(tmp_path: Path) -> None:
    x = _sig(500)
    p = tmp_path / "x.wav"
    sf.write(p, x.T, 16000, subtype="FLOAT")
    with AudioReader(p) as r:
        y = r.read_range(-10, 510)
    assert y.shape == (1, 520)
    assert not y[:, :10].any() and not y[:, 510:].any()
    np.testing.assert_array_equal(y[:, 10:510], x)


# ---- bad input --------------------------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: empty file \(0 bytes\)"):
        read_audio(p)


def test_zero_samples(tmp_path: Path) -> None:
    p = tmp_path / "zero.wav"
    sf.write(p, np.zeros(0, np.float32), 44100)
    with pytest.raises(AudioError, match=r"zero\.wav: no audio samples"):
        read_audio(p)


def test_nan_and_inf_samples_named(tmp_path: Path) -> None:
    x = _sig(3000)
    x[0, 1234] = np.nan
    x[0, 2000] = np.inf
    p = tmp_path / "nan.wav"
    sf.write(p, x.T, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: 2 invalid samples \(NaN or infinity\), the first at sample 1234"):
        read_audio(p)
    with pytest.raises(AudioError, match=r"first at sample 1234"):
        list(iter_blocks(p, block_frames=1000))


def test_truncated_wav(tmp_path: Path) -> None:
    p = tmp_path / "cut.wav"
    sf.write(p, _sig(44100).T, 44100, subtype="PCM_16")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated file: the header declares 44100 frames"):
        read_audio(p)


def test_truncated_flac(tmp_path: Path) -> None:
    p = tmp_path / "cut.flac"
    sf.write(p, (_sig(44100) + 0.01 * np.random.default_rng(0).standard_normal(44100)).T, 44100)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.flac: (corrupt or truncated|truncated)"):
        read_audio(p)


def test_corrupt_file_with_audio_extension(tmp_path: Path) -> None:
    p = tmp_path / "junk.wav"
    p.write_bytes(b"this is not audio at all " * 20)
    with pytest.raises(AudioError, match=r"junk\.wav: corrupt file or unsupported format"):
        read_audio(p)


def test_unsupported_format(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello " * 50)
    with pytest.raises(AudioError, match=r"notes\.txt: unsupported format \(\.txt"):
        info(p)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"nope\.wav: file not found"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="is a folder"):
        read_audio(tmp_path)


def test_sample_rate_out_of_range(tmp_path: Path) -> None:
    p = tmp_path / "low.wav"
    sf.write(p, np.zeros(100, np.float32) + 0.1, 4000)
    with pytest.raises(AudioError, match=r"low\.wav: sample rate 4000 Hz is outside"):
        read_audio(p)


# ---- writing -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "subtype", "want"), [("wav", "16", "PCM_16"), ("wav", "24", "PCM_24"),
                                                      ("wav", "float", "FLOAT"), ("flac", "16", "PCM_16"),
                                                      ("flac", "24", "PCM_24")])
def test_write_formats(tmp_path: Path, fmt: str, subtype: str, want: str) -> None:
    x = _sig(999, 2)
    x[0, 5] = 1.5  # integer outputs are clipped, not wrapped
    out = write_audio(tmp_path / f"o.{fmt}", x, 32000, format=fmt, subtype=subtype)
    i = sf.info(out)
    assert (i.samplerate, i.channels, i.frames, i.subtype) == (32000, 2, 999, want)
    y, _ = sf.read(out, dtype="float32", always_2d=True)
    assert y[5, 0] == pytest.approx(1.5 if want == "FLOAT" else 1.0, abs=1e-3)
    assert [f.name for f in tmp_path.iterdir()] == [f"o.{fmt}"]


def test_write_flac_float_refused(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="FLAC cannot hold float"):
        write_audio(tmp_path / "o.flac", _sig(10), 16000, format="flac", subtype="float")


def test_writer_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    with pytest.raises(RuntimeError, match="boom"), AudioWriter(target, 16000, 1) as w:
        w.write(_sig(100))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    write_audio(target, np.zeros(10, np.float32), 16000)
    with AudioWriter(target, 16000, 1) as w:
        w.write(_sig(100))
        assert sf.info(target).frames == 10  # old file intact until commit
        w.commit()
    assert sf.info(target).frames == 100
    assert [f.name for f in tmp_path.iterdir()] == ["out.wav"]
    fresh = tmp_path / "fresh.wav"
    fresh.write_bytes(b"")
    want = fresh.stat().st_mode & 0o777
    assert target.stat().st_mode & 0o777 == want  # not mkstemp's 0600


def test_never_overwrite_input(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    write_audio(src, _sig(100), 16000)
    before = src.read_bytes()
    with pytest.raises(AudioError, match=r"in\.wav: refusing to write the output over the input"):
        write_audio(tmp_path / "." / "in.wav", _sig(50), 16000, protect=[src])
    link = tmp_path / "link.wav"
    link.symlink_to(src)
    with pytest.raises(AudioError, match="over the input"):
        write_audio(link, _sig(50), 16000, protect=[src])
    assert src.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    p = write_audio(tmp_path / "o.wav", _sig(10), 16000)
    with pytest.raises(AudioError, match=r"o\.wav: output exists \(use --force"):
        write_audio(p, _sig(10), 16000, overwrite=False)


def test_output_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(AudioError, match=r"out\.wav: cannot write output: folder .*afile does not exist or is not"):
        write_audio(blocker / "out.wav", _sig(10), 16000)
    with pytest.raises(AudioError, match="cannot write format 'mp4'"):
        write_audio(tmp_path / "o.mp4", _sig(10), 16000)
