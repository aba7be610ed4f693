"""``svc-studio live`` as a user runs it: --simulate (passthrough: exact delay; the tiny random voice: length,
no NaN), --calibrate saving its choice to the settings file, option errors; no torch for --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import svc_core.cli
from svc_core.live.calibrate import crossfade_for
from svc_core.live.latency import find_delay
from svc_core.live.settings import LiveSettings, load_calibrated

CLIP = "kal_diphone/kal_diphone_06.flac"  # the shortest corpus clip (3.1 s)


def live(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = svc_core.cli.main(["live", *argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def last_json(text: str) -> dict:
    return json.loads([ln for ln in text.splitlines() if ln.startswith("{")][-1])


@pytest.mark.parametrize("sr", [None, 48000])
def test_simulate_passthrough_is_the_input_delayed_by_the_reported_latency(
        corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, sr: int | None) -> None:
    out = tmp_path / "heard.wav"
    argv = ["--passthrough", "--simulate", str(corpus_dir / CLIP), str(out), "--block-ms", "40",
            "--crossfade-ms", "15", "--json"]
    code, text, err = live(argv + (["--sr", str(sr)] if sr else []), capsys)
    assert code == 0, err
    res = last_json(text)
    x, sr_in = sf.read(corpus_dir / CLIP, dtype="float32")
    y, sr_out = sf.read(out, dtype="float32")
    assert sr_out == (sr or sr_in) == res["samplerate"]
    assert y.shape[0] == round(x.shape[0] * sr_out / sr_in) == res["frames"]
    assert np.isfinite(y).all()
    if sr:
        from svc_core.dsp import resample

        x = resample(x, sr_in, sr)
    lat = res["latency"]["total_ms"] * sr_out / 1000.0
    k, peak = find_delay(x[sr_out // 2: sr_out], y[sr_out // 2:], sr_out // 2)
    assert abs(k - lat) <= 0.5 + 0.01 * sr_out / 1000 and peak > 0.99, (k, lat)
    assert "algorithmic latency" in text and "compute/block" in text
    code, _, err = live(argv, capsys)  # OUT exists now: refused without -f
    assert code == 1 and "already exists" in err


@pytest.mark.slow
def test_simulate_tiny_random_voice(tiny_voice: Path, corpus_dir: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "heard.wav"
    code, text, err = live(["-m", str(tiny_voice), "--simulate", str(corpus_dir / CLIP), str(out), "--f0", "pm",
                            "--block-ms", "200", "--context-ms", "500", "--speaker", "spk1", "--transpose", "3",
                            "--json"], capsys)
    assert code == 0, err
    res = last_json(text)
    y, sr = sf.read(out, dtype="float32")
    assert sr == 44100 and y.shape[0] == sf.info(corpus_dir / CLIP).frames == res["frames"]
    assert np.isfinite(y).all() and np.abs(y).max() > 1e-3
    block = int(res["latency"]["block_ms"] * sr / 1000)
    assert np.abs(y[:block]).max() == 0.0  # the first block is still being captured: nothing heard yet
    assert res["times"]["blocks"] > 5


def test_calibrate_picks_and_saves_the_lowest_latency_that_keeps_up(capsys: pytest.CaptureFixture) -> None:
    code, text, err = live(["--passthrough", "--calibrate", "--sr", "44100"], capsys)
    assert code == 0, err
    saved = load_calibrated()
    assert saved is not None
    trials = saved["report"]["trials"]
    chosen = next(t for t in trials if t["ok"])  # the first candidate (shortest block) that kept up wins
    assert trials[-1] is chosen and not any(t["ok"] for t in trials[:-1])
    assert (saved["block_ms"], saved["context_ms"]) == (chosen["block_ms"], chosen["context_ms"])
    assert saved["crossfade_ms"] == crossfade_for(saved["block_ms"])
    assert chosen["p99_ms"] <= 0.7 * chosen["block_real_ms"]
    assert saved["block_ms"] <= 100  # passthrough costs well under a millisecond per block
    assert "shortest block" in saved["report"]["reason"]
    assert f"saved: block {saved['block_ms']:.0f} ms" in text
    # later runs use it unless told otherwise
    from svc_core.live.settings import apply_calibrated

    assert apply_calibrated(LiveSettings(), saved).block_ms == saved["block_ms"]


def test_calibrate_rejects_too_slow_candidates() -> None:
    import time

    from svc_core.live.calibrate import calibrate
    from svc_core.live.engine import Passthrough

    class Slow(Passthrough):
        def infer(self, window: np.ndarray, n_out: int, end: int, lookahead: int) -> np.ndarray:
            time.sleep(0.03)  # 30 ms per block: too slow for 20-30 ms blocks, fine for 250 ms
            return super().infer(window, n_out, end, lookahead)

    cal = calibrate(LiveSettings(), 44100, lambda: Slow(44100, 512), blocks_ms=(20, 30, 250), contexts_ms=(500,),
                    seconds=1.0, min_blocks=6)
    assert cal.choice is not None and cal.choice.block_ms == 250
    assert [t.ok for t in cal.trials] == [False, False, True]


def test_option_errors_are_messages(capsys: pytest.CaptureFixture, tmp_path: Path, corpus_dir: Path) -> None:
    code, _, err = live(["--simulate", str(corpus_dir / CLIP), str(tmp_path / "b.wav")], capsys)
    assert code == 1 and "needs a voice" in err
    code, _, err = live(["--passthrough", "--simulate", str(tmp_path / "missing.wav"), str(tmp_path / "b.wav")],
                        capsys)
    assert code == 1 and "missing.wav" in err
    code, _, err = live(["--passthrough", "--block-ms", "1", "--simulate", "a", "b"], capsys)
    assert code == 1 and "block must be" in err


def test_help_and_light_modules_load_no_torch() -> None:
    code = ("import sys, svc_core.cli, svc_core.live.stream, svc_core.live.ring, svc_core.live.measure\n"
            "svc_core.cli.build_parser().parse_args(['live', '--passthrough'])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"
