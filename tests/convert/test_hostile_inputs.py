"""What a hostile-input run of ``svc-studio convert`` found (issue 13, items 2-5), each case through the CLI with
the fake components: silence written as silence, batches that survive any bad file, outputs in the format their
name says, every numeric option validated, this app's own outputs skipped, and messages that name the real cause."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from convert_fakes import SineVoice, cli_runner, make_converter, tone

from svc_core.errors import NothingToConvertError


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    return cli_runner(monkeypatch, tmp_path)


def _wav(p: Path, x: np.ndarray | None = None, sr: int = 22050, subtype: str = "PCM_16") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    sf.write(p, tone(sr, 0.6, 220) if x is None else x, sr, subtype=subtype)
    return p


# -- item 2: quiet singing is converted, silence is silence --------------------------------------------------------
def test_quiet_take_and_quieter_second_half_are_converted() -> None:
    sr = 16000
    loud, quiet = tone(sr, 1.0, 220, amp=0.5), tone(sr, 1.0, 330, amp=0.5 * 10 ** (-30 / 20))  # 30 dB quieter
    conv = make_converter()
    y = conv.convert_array(np.concatenate([loud, quiet]), sr)
    f0_seen = np.concatenate([c["frames"] * [1] for c in conv.voice.calls])
    assert f0_seen.size >= 0.95 * 2 * sr / 320  # the voice rendered (nearly) every frame of both halves
    second = y[int(1.1 * sr):int(1.9 * sr)]
    assert np.abs(second).max() > 0.25  # SineVoice sings at 0.3, the input there peaks at 0.016
    quiet_only = make_converter()
    quiet_only.convert_array(quiet * 10 ** (-20 / 20), sr)  # loudest frame near -55 dBFS: all of it to the voice
    assert sum(c["frames"] for c in quiet_only.voice.calls) >= 0.95 * sr / 320


def test_silent_stretches_are_written_as_silence_not_the_source() -> None:
    sr = 16000
    hiss = (10 ** (-75 / 20) * np.random.default_rng(0).standard_normal(int(1.5 * sr))).astype(np.float32)
    x = np.concatenate([tone(sr, 0.6, 220), hiss, tone(sr, 0.6, 220)])
    from svc_core.audio.slicer import SliceSettings

    conv = make_converter(slicing=SliceSettings(min_length_ms=500, min_interval_ms=200, hop_ms=10,
                                                max_sil_kept_ms=100))
    y = conv.convert_array(x, sr)
    gap = y[int(0.6 * sr) + 800:int(2.1 * sr) - 800]  # inside the hiss, beyond the 20 ms fades at the joins
    assert gap.size > sr and not gap.any()  # exact zeros: the hiss (the source) is not in the output


def test_nothing_above_the_threshold_is_a_warning_and_a_failure(cli: Any, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    silent = _wav(tmp_path / "silent.wav", np.zeros(22050, np.float32))
    quiet = _wav(tmp_path / "quiet.wav", tone(22050, 0.6, 220, amp=0.01))
    assert cli(str(silent), "-q") == 1
    cap = capsys.readouterr()
    assert f"warning: {silent}: nothing to convert: the input is silent or below the threshold" in cap.err
    assert "converted 0 of 1 file(s), 1 failed" in cap.out and not (tmp_path / "silent_MyVoice.wav").exists()
    assert cli(str(quiet), "--slice-db", "-20", "-q") == 1  # an absolute override above the take
    assert "nothing to convert" in capsys.readouterr().err
    assert cli(str(quiet), "-q") == 0  # relative by default: converted
    assert cli(str(quiet), "--slice-db", "100") == 2  # out of range (was: the input returned unchanged, exit 0)
    assert "silence threshold must be between -200 and 0 dBFS" in capsys.readouterr().err
    with pytest.raises(NothingToConvertError):
        make_converter().convert_file(silent, tmp_path / "x.wav")


# -- item 3: a batch survives any one bad file; overflow is named ----------------------------------------------------
def test_overflowing_float_wav_first_and_middle_of_a_batch(cli: Any, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    d = tmp_path / "in"
    t = tone(22050, 0.6, 220)
    big = (t / np.abs(t).max()).astype(np.float32) * np.float32(3e38)
    assert np.isfinite(big).all()
    _wav(d / "a_overflow.wav", big, subtype="FLOAT")
    _wav(d / "b_good.wav")
    _wav(d / "c_overflow.wav", big, subtype="FLOAT")
    _wav(d / "d_good.wav")
    assert cli(str(d), "-o", str(tmp_path / "out"), "-q") == 1
    cap = capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b_good_MyVoice.wav", "d_good_MyVoice.wav"]
    for name in ("a_overflow.wav", "c_overflow.wav"):
        line = next(ln for ln in cap.err.splitlines() if ln.startswith("FAILED") and name in ln)
        assert "samples overflow: the float samples peak at 3e+38" in line and "checkpoint" not in line
        assert line.count(name) == 1  # the path once
    assert "converted 2 of 4 file(s), 2 failed" in cap.out and "Traceback" not in cap.err


def test_any_exception_type_is_reported_per_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    class Boom(SineVoice):
        def synthesize(self, c: Any, f0: Any, uv: Any, speaker: Any, **kw: Any) -> Any:
            if len(self.calls) == 0 and not hasattr(self, "_raised"):
                self._raised = True
                raise ZeroDivisionError("not an SvcError")
            return super().synthesize(c, f0, uv, speaker, **kw)

    run = cli_runner(monkeypatch, tmp_path, Boom)
    a, b = _wav(tmp_path / "a.wav"), _wav(tmp_path / "b.wav")
    assert run(str(a), str(b), "-o", str(tmp_path / "o"), "-q") == 1
    cap = capsys.readouterr()
    assert f"FAILED {a}: unexpected error (ZeroDivisionError: not an SvcError)" in cap.err
    assert (tmp_path / "o" / "b_MyVoice.wav").is_file() and "converted 1 of 2 file(s), 1 failed" in cap.out


@pytest.mark.parametrize("mix", ["alto:1e308,tenor:1e308", "alto:inf", "alto:nan", "alto:-1", "alto:0,tenor:0"])
def test_speaker_mix_weights_are_validated(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture, mix: str) -> None:
    assert cli(str(_wav(tmp_path / "a.wav")), "--speaker", mix) == 2
    err = capsys.readouterr().err
    assert "speaker mix" in err and "Traceback" not in err
    assert cli.loads == []  # refused before any model loads
    if "1e308" in mix:
        assert "overflow" in err


# -- item 4: formats, validation, own outputs, tiny files ------------------------------------------------------------
@pytest.mark.parametrize(("name", "fmt", "subtype"), [("out.mp3", "MP3", "MPEG_LAYER_III"), ("out.flac", "FLAC", None),
                                                      ("out.ogg", "OGG", "VORBIS"), ("o.WAV", "WAV", None)])
def test_output_extension_sets_the_format(cli: Any, tmp_path: Path, name: str, fmt: str, subtype: str | None) -> None:
    from svc_core.audio.write import WRITE_FORMATS

    if name.split(".")[-1].lower() not in WRITE_FORMATS:
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} cannot write {name}")  # refused: tested below
    src = _wav(tmp_path / "song.wav")
    assert cli(str(src), "-o", str(tmp_path / name), "-q") == 0
    info = sf.info(tmp_path / name)
    assert (tmp_path / name).is_file() and info.format == fmt and (subtype is None or info.subtype == subtype)
    assert abs(info.frames - round(sf.info(src).frames * 16000 / 22050)) <= (1152 if fmt == "MP3" else 0)


@pytest.mark.parametrize(("argv", "needle"), [
    (["-o", "{t}/out.m4a"], "cannot write format 'm4a'"),
    (["-o", "{t}/out.wav", "--format", "flac"], "ends in .wav but the format asked for is flac"),
    (["--format", "flac", "--bits", "float"], "FLAC cannot hold float samples"),
    (["--format", "mp3", "--bits", "16"], "lossy format without a bit depth"),
    (["--seed", str(2**63)], "seed must be an integer from 0 to 2**63-1"),
    (["--seed", "-1"], "seed must be an integer from 0 to 2**63-1"),
    (["--encoder-weights", "/no/such/file.pt"], "--encoder-weights /no/such/file.pt: no such file"),
    (["--slice-db", "nan"], "silence threshold must be between"),
    (["--transpose", "nan"], "transpose"),
    (["--transpose", "inf"], "transpose"),
    (["--noise-scale", "nan"], "noise scale"),
    (["--retrieval-ratio", "nan"], "retrieval ratio"),
    (["--match-loudness", "nan"], "loudness match"),
    (["--sr", "1"], "output rate"),
])
def test_usage_errors_exit_2_before_loading(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                                            needle: str) -> None:
    src = _wav(tmp_path / "a.wav")
    assert cli(str(src), *[a.format(t=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and "None" not in err, err
    assert cli.loads == []  # found before the model loads
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["a.wav"]  # no out.m4a folder or file


def test_unknown_speaker_is_a_usage_error(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli(str(_wav(tmp_path / "a.wav")), "--speaker", "nosuch") == 2
    assert "--speaker: unknown speaker 'nosuch'" in capsys.readouterr().err
    assert not (tmp_path / "a_MyVoice.wav").exists()


def test_folder_in_place_twice_skips_own_outputs(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    d = tmp_path / "songs"
    _wav(d / "song.wav")
    _wav(d / "take2.flac")
    assert cli(str(d), "-q") == 0
    capsys.readouterr()
    assert cli(str(d), "-q", "-f") == 0
    cap = capsys.readouterr()
    assert "skipped 2 file(s) that are outputs of svc-studio" in cap.err and "2 skipped (own outputs)" in cap.out
    assert sorted(p.name for p in d.iterdir()) == ["song.wav", "song_MyVoice.wav", "take2.flac",
                                                   "take2_MyVoice.wav"]
    # an output renamed away from the pattern is still recognised by its tag
    os.replace(d / "song_MyVoice.wav", d / "renamed.wav")
    assert cli(str(d), "-q", "-f") == 0
    assert "skipped 2 file(s)" in capsys.readouterr().err and not (d / "renamed_MyVoice.wav").exists()


@pytest.mark.parametrize(("n", "sr", "expect"), [(2, 192000, None), (1, 8000, 2), (7, 44100, 3)])
def test_tiny_files_keep_their_duration_or_are_too_short(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                         n: int, sr: int, expect: int | None) -> None:
    src = _wav(tmp_path / "tiny.wav", np.full(n, 0.3, np.float32), sr=sr, subtype="FLOAT")
    code = cli(str(src), "-q")
    if expect is None:  # 2 samples at 192 kHz are 0.17 samples at the voice's 16 kHz
        assert code == 1 and "too short to convert: 2 sample(s) at 192000 Hz" in capsys.readouterr().err
        assert not (tmp_path / "tiny_MyVoice.wav").exists()
    else:
        assert code == 0, capsys.readouterr().err
        assert sf.info(tmp_path / "tiny_MyVoice.wav").frames == expect == round(n * 16000 / sr)


def test_truncated_mp3_warns_and_converts_what_decodes(cli: Any, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    if "MP3" not in sf.available_formats():
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} has no MP3")
    full = tmp_path / "full.mp3"
    sf.write(full, tone(44100, 3.0, 220), 44100, format="MP3", subtype="MPEG_LAYER_III")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    declared = sf.info(cut).frames
    assert cli(str(cut), "-q") == 0
    cap = capsys.readouterr()
    assert f"warning: {cut}: truncated or damaged file: the header declares {declared} frames" in cap.err
    out = sf.info(tmp_path / "cut_MyVoice.wav").frames
    assert out < 0.6 * round(declared * 16000 / 44100)  # the decodable ~half, no synthesised tail
    ogg = tmp_path / "cut.ogg"
    sf.write(tmp_path / "full.ogg", tone(44100, 3.0, 220), 44100, format="OGG", subtype="VORBIS")
    ogg.write_bytes((tmp_path / "full.ogg").read_bytes()[:3000])
    assert cli(str(ogg), "-q") == 1
    assert "corrupt or truncated file" in capsys.readouterr().err


# -- item 5: messages ----------------------------------------------------------------------------------------------
def test_fifo_long_name_and_full_disk_messages(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    long_src = _wav(tmp_path / ("x" * 240 + ".wav"))
    assert cli(str(fifo), str(long_src), "-q") == 1
    cap = capsys.readouterr()
    assert f"FAILED {fifo}: not a regular file (a pipe, socket or device)" in cap.err
    made = [p for p in tmp_path.iterdir() if p.name.endswith("_MyVoice.wav")]
    assert len(made) == 1 and len(made[0].name.encode()) <= 223 and made[0].name.startswith("xxxx")
    assert cli(str(long_src), "-o", str(tmp_path / ("y" * 240 + ".wav"))) == 2
    assert "the file name is too long" in capsys.readouterr().err

    import svc_core.audio.write as w

    def no_space(self: Any, data: Any) -> None:
        raise sf.LibsndfileError(errno.ENOSPC, "System error.")  # what libsndfile says on a full disk

    z = _wav(tmp_path / "z.wav")
    monkeypatch.setattr(w.sf.SoundFile, "write", no_space)
    monkeypatch.setattr(w, "_disk_full", lambda path: True)
    assert cli(str(z), "-q", "-f") == 1
    err = capsys.readouterr().err
    assert "writing failed: the disk is full" in err and "System error" not in err


def test_help_names_no_internal_constant(capsys: pytest.CaptureFixture) -> None:
    import svc_core.cli

    with pytest.raises(SystemExit):
        svc_core.cli.main(["convert", "--help"])
    text = capsys.readouterr().out
    assert "svc_core" not in text and "DEFAULT_EXTRACTOR" not in text and "mp3" in text


# -- item 3: signals leave no debris; stale temp files are swept ---------------------------------------------------
_DRIVER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
import convert_fakes as cf
import svc_core.cli, svc_core.convert
from svc_core.convert import Converter

class Slow(cf.SineVoice):
    def synthesize(self, *a, **k):
        time.sleep(1.0)
        return super().synthesize(*a, **k)

def fake_load(voice_path, settings, **kw):
    v = Slow()
    v.folder = Path(voice_path)
    return Converter(v, cf.FakeEncoder(v.ssl_dim), cf.FakeF0(), settings)

svc_core.convert.load_converter = fake_load
sys.exit(svc_core.cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_signal_mid_conversion_leaves_no_part_file(tmp_path: Path, signame: str) -> None:
    import signal
    import subprocess
    import sys
    import time

    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER.format(tests=str(Path(__file__).parent)))
    src = _wav(tmp_path / "in" / "long.wav", tone(16000, 40.0, 220), sr=16000)  # 3 segments of <= 15 s
    out = tmp_path / "out"
    (tmp_path / "MyVoice").mkdir()
    path = os.pathsep.join([str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    proc = subprocess.Popen([sys.executable, str(driver), "convert", str(src), "-m", str(tmp_path / "MyVoice"), "-o",
                             str(out), "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out.is_dir() and any(p.name.endswith(".part") for p in out.iterdir())):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)  # mid-file: the temp output exists, the first segment is being synthesised
        proc.send_signal(getattr(signal, signame))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + getattr(signal, signame), err
    assert f"stopped by {signame}; unfinished outputs removed" in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # no .part, no output


def test_stale_part_files_of_dead_runs_are_swept(cli: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    src = _wav(tmp_path / "song.wav")
    stale = tmp_path / f".song_MyVoice.wav.{dead.pid}.0123abcd.part"
    stale_other = tmp_path / f".old_MyVoice.flac.{dead.pid}.89abcdef.part"
    live = tmp_path / f".song_MyVoice.wav.{os.getppid()}.deadbeef.part"  # a running process: kept
    for p in (stale, stale_other, live):
        p.write_bytes(b"x" * 1000)
    assert cli(str(src), "-q") == 0
    assert not stale.exists() and not stale_other.exists() and live.exists()
    assert (tmp_path / "song_MyVoice.wav").is_file()
