"""CLI basics: --help is light, --version, doctor, and the weights finder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from svc_core import __version__
from svc_core.cli import main
from svc_core.errors import WeightsNotFoundError
from svc_core.settings import Settings
from svc_core.weights import find_weights


def test_help_does_not_import_torch() -> None:
    code = "import sys; from svc_core.cli import main\ntry:\n main(['--help'])\nexcept SystemExit: pass\n" \
        "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_doctor_lists_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rmvpe.pt").write_bytes(b"x")
    rc = main(["--weights-dir", str(tmp_path), "doctor"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "torch" in out and "Device: cpu" in out or "Device: cuda" in out
    assert str(tmp_path / "rmvpe.pt") in out
    assert "not found (WavLM-Base+.pt)" in out


def test_find_weights_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_dir, voice = tmp_path / "env", tmp_path / "voices" / "alice"
    (voice / "pretrain").mkdir(parents=True)
    env_dir.mkdir()
    (voice / "pretrain" / "WavLM-Base+.pt").write_bytes(b"v")
    assert find_weights("wavlm-base-plus", voice_dir=voice) == voice / "pretrain" / "WavLM-Base+.pt"
    (env_dir / "WavLM-Base+.pt").write_bytes(b"e")
    monkeypatch.setenv("SVC_STUDIO_WEIGHTS", str(env_dir))
    assert find_weights("wavlm-base-plus", voice_dir=voice) == env_dir / "WavLM-Base+.pt"
    explicit = tmp_path / "mine.pt"
    explicit.write_bytes(b"x")
    assert find_weights("wavlm-base-plus", explicit=explicit, voice_dir=voice) == explicit


def test_find_weights_settings_and_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "somewhere" / "rmvpe.pt"
    target.parent.mkdir()
    target.write_bytes(b"r")
    s = Settings(weights={"rmvpe.pt": str(target)})
    assert find_weights("rmvpe", settings=s) == target
    snap = tmp_path / "hf" / "models--microsoft--wavlm-base-plus" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("abc")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    assert find_weights("wavlm-base-plus", settings=Settings()) == snap


def test_missing_weights_message_names_file_places_and_source(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError) as e:
        find_weights("rmvpe", weights_dir=tmp_path, settings=Settings())
    msg = str(e.value)
    assert "rmvpe.pt" in msg and str(tmp_path) in msg and "Get it from" in msg


def test_settings_roundtrip_keeps_unknown_keys(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text('{"device": "cpu", "future_key": [1, 2]}')
    s = Settings.load(p)
    assert s.device == "cpu" and s.extra == {"future_key": [1, 2]}
    s.weights_dir = "/w"
    s.save(p)
    s2 = Settings.load(p)
    assert s2.weights_dir == "/w" and s2.extra == {"future_key": [1, 2]}


def test_a_named_weights_file_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit path that does not exist is an error, never a fallback to other weights (issue 13, item 4)."""
    (tmp_path / "WavLM-Base+.pt").write_bytes(b"found elsewhere")
    monkeypatch.setenv("SVC_STUDIO_WEIGHTS", str(tmp_path))
    assert find_weights("wavlm-base-plus") == tmp_path / "WavLM-Base+.pt"
    with pytest.raises(WeightsNotFoundError, match=r"/no/such/file\.pt \(given explicitly: no such file\)") as e:
        find_weights("wavlm-base-plus", explicit="/no/such/file.pt")
    assert e.value.searched == ["/no/such/file.pt (given explicitly: no such file)"]
