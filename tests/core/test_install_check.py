"""The installed stack loads (issue 13, item 1): torchaudio/torchfcpe/torchcrepe import and fcpe runs; a broken
torchaudio (a fake package that raises OSError on import, as torchaudio 2.11.1 does with torch 2.11.0) is named by
``doctor`` with its version and the fixing command, and stops a conversion once, before any file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from svc_core.install_check import CHECK_NAMES, InstallError, check_install, needed_for_conversion, require_working

ROOT = Path(__file__).resolve().parents[2]
FAKE_ERROR = "Could not load this library: /fake/libtorchaudio.so (undefined symbol, planted by the test)"


def test_native_stack_imports_and_fcpe_extracts() -> None:
    import torchaudio
    import torchcrepe
    import torchfcpe

    assert torchaudio.__version__ and torchcrepe and torchfcpe
    from svc_core.f0 import get_extractor

    sr = 16000
    t = np.arange(sr // 2) / sr
    f0, voiced = get_extractor("fcpe", device="cpu").extract((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32),
                                                             sr, 160)
    assert voiced[5:-5].all() and np.abs(1200 * np.log2(f0[5:-5] / 220)).max() < 30
    assert all(r.ok for r in check_install()), [r for r in check_install() if not r.ok]


@pytest.fixture()
def broken_torchaudio(tmp_path: Path) -> dict[str, str]:
    """Environment whose ``import torchaudio`` raises OSError (a fake package first on PYTHONPATH)."""
    pkg = tmp_path / "fake" / "torchaudio"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"raise OSError({FAKE_ERROR!r})\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pkg.parent), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def test_doctor_names_broken_torchaudio_version_and_fix(broken_torchaudio: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "svc_core", "doctor"], env=broken_torchaudio, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout
    print(out)  # the doctor output for a broken torchaudio, shown with -s / on failure
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in out + proc.stderr
    import importlib.metadata as md

    ta = md.version("torchaudio")
    assert f"torchaudio (torchaudio {ta}) does not load: OSError: {FAKE_ERROR}" in out
    assert f"installed: torch {md.version('torch')}, torchaudio {ta}" in out
    assert 'fix: pip install --force-reinstall --no-cache-dir "torch' in out and '"torchaudio' in out
    loads = out.split("Loads:")[1].split("\n\n")[0].splitlines()
    for name in ("torch ", "faiss", "libsndfile", "PortAudio"):
        line = next(ln for ln in loads if ln.strip().startswith(name))
        assert " ok " in line, line
    for name in ("torchaudio", "torchfcpe"):
        assert "FAILED" in next(ln for ln in loads if ln.strip().startswith(name))


def test_checks_report_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import svc_core.install_check as ic

    def boom() -> None:
        raise OSError("libportaudio.so.2: cannot open shared object file")

    monkeypatch.setattr(ic, "_CHECKS", tuple((n, d, boom if n == "PortAudio" else c) for n, d, c in ic._CHECKS))
    results = {r.name: r for r in check_install()}
    assert set(results) == set(CHECK_NAMES)
    pa = results["PortAudio"]
    assert not pa.ok and "cannot open shared object" in pa.error and "apt install libportaudio2" in pa.fix
    require_working(["torch", "libsndfile"])  # the others still load
    with pytest.raises(InstallError, match=r"PortAudio \(sounddevice .*\) does not load.*\n    fix: sudo apt"):
        require_working(["PortAudio"])
    with pytest.raises(ValueError, match="unknown install check"):
        check_install(["nosuch"])
    assert needed_for_conversion("fcpe", retrieval=True) == ("torch", "libsndfile", "torchaudio", "torchfcpe", "faiss")
    assert needed_for_conversion("harvest", retrieval=False) == ("torch", "libsndfile")


def test_convert_on_a_broken_install_fails_once_before_any_file(broken_torchaudio: dict[str, str], tmp_path: Path,
                                                                fixtures_dir: Path) -> None:
    import soundfile as sf

    files = []
    for name in ("a.wav", "b.wav"):
        files.append(tmp_path / name)
        sf.write(files[-1], np.zeros(1600, np.float32), 16000)
    voice = fixtures_dir / "sovits41" / "tiny_e2e_wavlm64"
    proc = subprocess.run([sys.executable, "-m", "svc_core", "convert", *map(str, files), "-m", str(voice), "-q"],
                          env=broken_torchaudio, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("this installation is broken") == 1 and "FAILED" not in proc.stderr
    assert f"torchaudio (torchaudio {__import__('importlib.metadata').metadata.version('torchaudio')}) does not load" \
        in proc.stderr and "fix: pip install" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav", "fake"]
