"""The core surface the GUI imports before it shows a window loads no torch (and no Qt)."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = (
    "svc_core.jobs", "svc_core.errors", "svc_core.settings", "svc_core.voices.config", "svc_core.weights",
    "svc_core.audio", "svc_core.voices", "svc_core.convert", "svc_core.f0", "svc_core.cli", "svc_core.atomic",
    "svc_core.features",
)


@pytest.mark.parametrize("module", LIGHT)
def test_module_imports_without_torch(module: str) -> None:
    code = (f"import sys, {module}\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'vdecoder'))\n"
            "print(heavy)")
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]", f"{module} imports {r.stdout.strip()}"
    imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")]
    assert "torch" not in imported, f"{module}: -X importtime shows torch being imported"


def test_lazy_voice_names_still_resolve() -> None:
    from svc_core.voices import Voice, load_voice
    from svc_core.voices.load import load_voice as direct

    assert load_voice is direct and Voice.__name__ == "Voice"
