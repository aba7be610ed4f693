"""``svc-studio pitch``: text and JSON reports, bad files reported without stopping the others."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from f0_signals import harmonic

import svc_core.cli as cli


@pytest.fixture()
def with_pitch(monkeypatch: pytest.MonkeyPatch) -> None:
    if "pitch" not in cli.SUBCOMMAND_MODULES:
        monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", (*cli.SUBCOMMAND_MODULES, "pitch"))


def _write_tone(path, hz: float, sr: int = 22050, seconds: float = 1.0, stereo: bool = False) -> None:
    x = harmonic(np.full(int(sr * seconds), hz), sr)
    if stereo:
        x = np.stack([x, x], axis=1)
    sf.write(str(path), x, sr)


def test_pitch_text_json_and_bad_files(with_pitch, tmp_path, capsys) -> None:
    good = tmp_path / "a3.wav"
    _write_tone(good, 220.0, stereo=True)
    high = tmp_path / "e5.flac"
    _write_tone(high, 659.26, sr=48000)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    rc = cli.main(["pitch", str(good), str(broken), str(high), "--f0", "pm", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert rc == 1
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{good}: median A3 ") and "% voiced" in lines[0]
    assert lines[1].startswith(f"{high}: median E5 ")
    assert str(broken) in err and "corrupt file or unsupported format" in err
    rc = cli.main(["pitch", str(good), "--f0", "harvest", "--json"])
    out, _ = capsys.readouterr()
    assert rc == 0
    rep = json.loads(out.strip())
    assert rep["file"] == str(good) and rep["f0"] == "harvest"
    assert rep["median_note"].startswith("A3") and abs(rep["median_hz"] - 220.0) < 3.0
    assert rep["voiced_percent"] > 90 and rep["duration_s"] == pytest.approx(1.0, abs=0.02)


def test_pitch_default_extractor_and_errors(with_pitch, tmp_path, capsys) -> None:
    silent = tmp_path / "silence.wav"
    sf.write(str(silent), np.zeros(8000, np.float32), 16000)
    assert cli.main(["pitch", str(silent)]) == 0
    out, _ = capsys.readouterr()
    assert "no pitched singing found" in out
    assert cli.main(["pitch", str(silent), "--f0", "yin"]) == 1
    assert "unknown F0 extractor" in capsys.readouterr().err
    missing = tmp_path / "missing.wav"
    assert cli.main(["pitch", str(missing), "--f0", "dio"]) == 1
    err = capsys.readouterr().err
    assert f"{missing}: file not found" in err and "System error" not in err  # issue 13, item 5
    assert cli.main(["--weights-dir", str(tmp_path), "pitch", str(silent), "--f0", "rmvpe"]) == 1
    assert "rmvpe.pt" in capsys.readouterr().err
