"""``svc-studio convert`` through svc_core.cli.main with the fake components: batch with bad files, exit codes,
output naming, -o file/folder, --force, never over the input, progress bar and summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from convert_fakes import FakeEncoder, FakeF0, SineVoice, tone

import svc_core.cli
import svc_core.convert
from svc_core.convert import Converter, ConvertSettings


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Run the CLI with "convert" registered and load_converter replaced by the fakes; returns run(argv)."""
    monkeypatch.setattr(svc_core.cli, "SUBCOMMAND_MODULES", ("convert",))
    seen: dict[str, Any] = {}
    voice_dir = tmp_path / "MyVoice"
    voice_dir.mkdir()

    def fake_load(voice_path: Any, settings: ConvertSettings, **kw: Any) -> Converter:
        if not Path(voice_path).is_dir():
            from svc_core.errors import VoiceError

            raise VoiceError(f"{voice_path}: voice folder not found")
        seen["settings"], seen["kw"] = settings, kw
        v = SineVoice()
        v.folder = Path(voice_path)
        return Converter(v, FakeEncoder(), FakeF0(), settings)

    monkeypatch.setattr(svc_core.convert, "load_converter", fake_load)

    def run(*argv: str) -> int:
        return svc_core.cli.main(["convert", *argv, "-m", str(voice_dir)])

    run.seen = seen  # type: ignore[attr-defined]
    run.voice_dir = voice_dir  # type: ignore[attr-defined]
    return run


def _wav(p: Path, seconds: float = 0.6, sr: int = 22050) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    sf.write(p, tone(sr, seconds, 220), sr, subtype="PCM_16")
    return p


def test_batch_one_bad_file_does_not_stop_others(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    d = tmp_path / "in"
    a, b = _wav(d / "a.wav"), _wav(d / "sub" / "b.flac")
    (d / "broken.wav").write_bytes(b"not audio " * 30)
    (d / "empty.ogg").write_bytes(b"")
    (d / "readme.txt").write_text("ignored: not an audio extension")
    code = cli(str(d), "-o", str(tmp_path / "out"), "--transpose", "3", "--speaker", "tenor")
    cap = capsys.readouterr()
    assert code == 1
    assert (tmp_path / "out" / "a_MyVoice.wav").is_file()
    assert (tmp_path / "out" / "sub" / "b_MyVoice.wav").is_file()
    assert "broken.wav: corrupt file or unsupported format" in cap.err
    assert "empty.ogg: empty file (0 bytes)" in cap.err
    assert "converted 2 of 4 file(s), 2 failed" in cap.out
    assert "%" in cap.err and "converting" in cap.err  # the progress bar
    s = cli.seen["settings"]
    assert s.transpose == 3 and s.speaker == "tenor"
    assert a.exists() and b.exists()


def test_single_file_default_name_and_force(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = _wav(tmp_path / "song.wav")
    assert cli(str(src), "--format", "flac", "--bits", "16", "-q") == 0
    out = tmp_path / "song_MyVoice.flac"
    i = sf.info(out)
    assert (i.format, i.subtype, i.samplerate) == ("FLAC", "PCM_16", 16000)
    assert i.frames == round(sf.info(src).frames * 16000 / 22050)
    capsys.readouterr()
    assert cli(str(src), "--format", "flac", "-q") == 1
    assert "output exists (use --force" in capsys.readouterr().err
    assert cli(str(src), "--format", "flac", "-q", "--force") == 0


def test_output_file_and_never_over_input(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = _wav(tmp_path / "take.wav")
    before = src.read_bytes()
    assert cli(str(src), "-o", str(tmp_path / "x" / "named.wav"), "-q") == 0
    assert (tmp_path / "x" / "named.wav").is_file()
    assert cli(str(src), "-o", str(src), "-q", "--force") == 1
    assert "refusing to write the output over the input" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_missing_inputs_and_empty_folder(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    code = cli(str(empty), str(tmp_path / "ghost.wav"))
    cap = capsys.readouterr()
    assert code == 1
    assert "nothing: folder holds no audio files" in cap.err
    assert "ghost.wav: file not found" in cap.err
    assert "converted 0 of 2 file(s)" in cap.out


def test_usage_errors_exit_2(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = _wav(tmp_path / "a.wav")
    assert cli(str(src), "--retrieval-ratio", "1.5") == 2
    assert "--retrieval-ratio must be between 0 and 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli(str(src), "--f0", "nope")
    assert e.value.code == 2


def test_broken_voice_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fixtures_dir: Path,
                                  capsys: pytest.CaptureFixture) -> None:
    import shutil

    monkeypatch.setattr(svc_core.cli, "SUBCOMMAND_MODULES", ("convert",))
    src = _wav(tmp_path / "a.wav")
    v = tmp_path / "v"
    v.mkdir()
    code = svc_core.cli.main(["convert", str(src), "-m", str(v)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"svc-studio: error: {v}: no config.json" in err
    shutil.copy(fixtures_dir / "sovits41" / "tiny_e2e_wavlm64" / "G_1234.pth", v)
    (v / "config.json").write_text("{ not json")
    code = svc_core.cli.main(["convert", str(src), "-m", str(v)])
    err = capsys.readouterr().err
    assert code == 1
    assert "svc-studio: error:" in err and "config.json" in err
    assert not list(tmp_path.glob("a_*"))


def test_speaker_mix_and_settings(cli: Any, tmp_path: Path) -> None:
    src = _wav(tmp_path / "a.wav")
    assert cli(str(src), "-q", "--speaker", "alto:1,tenor:3", "--auto-key", "--sr", "44100", "--per-channel",
               "--match-loudness", "0.5", "--noise-scale", "0.1", "--seed", "7", "--slice-db", "-50") in (0, 1)
    s = cli.seen["settings"]
    assert s.speaker == {"alto": 1.0, "tenor": 3.0}
    assert (s.auto_key, s.output_sr, s.per_channel, s.match_loudness, s.noise_scale, s.seed) == (
        True, 44100, True, 0.5, 0.1, 7)
    assert s.slicing.threshold_db == -50


def test_f0_choices_are_the_extractors(capsys: pytest.CaptureFixture) -> None:
    from svc_core.f0 import EXTRACTOR_NAMES

    with pytest.raises(SystemExit) as e:
        svc_core.cli.main(["convert", "x.wav", "-m", "v", "--f0", "yin"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'yin'" in err and all(name in err for name in EXTRACTOR_NAMES)


def test_help_imports_no_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, svc_core.cli as c; c.SUBCOMMAND_MODULES=('convert',); p=c.build_parser();"
            "p.parse_args(['convert','x','-m','v']); assert 'torch' not in sys.modules, 'torch imported'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


def test_stereo_per_channel_file(cli: Any, tmp_path: Path) -> None:
    src = tmp_path / "st.wav"
    sf.write(src, np.stack([tone(16000, 0.7, 220), tone(16000, 0.7, 330)]).T, 16000)
    assert cli(str(src), "-q", "--per-channel") == 0
    assert sf.info(tmp_path / "st_MyVoice.wav").channels == 2


def test_help_defaults_match_settings() -> None:
    """--help states defaults that live on ConvertSettings / SliceSettings; keep them in step."""
    import argparse

    from svc_core.cli.convert import add_parser
    from svc_core.f0 import DEFAULT_EXTRACTOR

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    text = parser._subparsers._group_actions[0].choices["convert"].format_help()  # type: ignore[union-attr]
    text = " ".join(text.split())
    s = ConvertSettings()
    assert f"default {s.noise_scale:g}" in text and f"default {s.seed}" in text
    assert f"default {s.slicing.threshold_db:g}" in text and DEFAULT_EXTRACTOR in text


def test_clipped_input_warning_is_printed_once_per_file(cli: Any, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    x = tone(22050, 0.6, 220)
    x[100:200] = 1.0
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    for p in (a, b):
        sf.write(p, x, 22050, subtype="FLOAT")
    assert cli(str(a), str(b), "-q") == 0
    err = capsys.readouterr().err
    assert err.count("warning: ") == 2
    assert f"warning: {a}: input is clipped" in err and f"warning: {b}: input is clipped" in err
