"""The layer contracts in pyproject.toml ([tool.importlinter]) hold, and ``lint-imports`` catches each kind of
violation when one is planted in a temporary copy of the packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "svc_core", "vencoder", "vdecoder")


def _copy_tree(dst: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from importlinter.cli import lint_imports_command "
                                                                 "as c; c()"]
    # the copy must be what is analysed, not an installed svc_core: run with only the copy on the path
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd), "PYTHONNOUSERSITE": "1", "LC_ALL": "C.UTF-8"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_tree(tmp_path_factory.mktemp("layers"))


def test_contracts_hold(tree: Path) -> None:
    r = _lint(tree)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "broken" in r.stdout and " 0 broken" in r.stdout


VIOLATIONS = {
    "vencoder imports svc_core": ("vencoder/_planted.py", "import svc_core.errors\n",
                                  "vencoder._planted -> svc_core.errors"),
    "vencoder imports vdecoder": ("vencoder/_planted.py", "import vdecoder.base\n",
                                  "vencoder._planted -> vdecoder.base"),
    "svc_core imports Qt": ("svc_core/_planted.py", "from PySide6 import QtCore\n",
                            "svc_core._planted -> PySide6"),
    "app imports torch": ("app/_planted.py", "import torch\n", "app._planted -> torch"),
    "live ring imports torch": ("svc_core/live/ring.py", "import torch\n",
                                "svc_core.live.ring -> torch"),
    "live stream reaches torch": ("svc_core/live/stream.py", "from svc_core.convert import pipeline\n",
                                  "svc_core.live.stream -> svc_core.convert.pipeline"),
}


@pytest.mark.parametrize("case", list(VIOLATIONS))
def test_planted_violation_fails(case: str, tmp_path: Path) -> None:
    rel, code, expect = VIOLATIONS[case]
    tree = _copy_tree(tmp_path)
    target = tree / rel
    if not target.parent.exists():
        target.parent.mkdir(parents=True)
        (target.parent / "__init__.py").write_text("")
    target.write_text(code)
    r = _lint(tree)
    assert r.returncode != 0, f"{case}: lint-imports passed\n{r.stdout}"
    assert expect in " ".join(r.stdout.split()), r.stdout
