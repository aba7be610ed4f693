"""svc_core.threads: the thread setting's parsing and precedence, the free-core count, and (in fresh processes)
that the CLI applies the count and the passive wait policy before torch's OpenMP runtime starts."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from svc_core import threads
from svc_core.errors import SvcError
from svc_core.threads import ThreadSettingError, parse_threads, plan_threads, resolve_thread_setting

ROOT = Path(__file__).resolve().parents[2]
_OMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "SVC_STUDIO_THREADS")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OMP_VARS}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.mark.parametrize("value, expected", [("auto", "auto"), (None, "auto"), ("", "auto"), (0, "auto"),
                                             ("AUTO", "auto"), ("free", "free"), (" Free", "free"), (3, 3), ("2", 2),
                                             (" 4 ", 4)])
def test_parse_threads(value: object, expected: int | str) -> None:
    assert parse_threads(value) == expected


@pytest.mark.parametrize("value", ["many", "-1", -2, True, "1.5"])
def test_parse_threads_refuses_with_a_user_error(value: object) -> None:
    with pytest.raises(ThreadSettingError, match="thread") as e:
        parse_threads(value)
    assert isinstance(e.value, SvcError)


def test_precedence_cli_then_env_then_settings() -> None:
    assert resolve_thread_setting("3", 2, {"SVC_STUDIO_THREADS": "4"}) == "3"
    assert resolve_thread_setting(None, 2, {"SVC_STUDIO_THREADS": "4"}) == "4"
    assert resolve_thread_setting(None, 2, {"SVC_STUDIO_THREADS": " "}) == 2
    assert resolve_thread_setting(None, "auto", {}) == "auto"


def test_busy_cpus_from_proc_stat_deltas(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = iter([{0: (100, 1000), 1: (50, 1000), 2: (0, 0)},
                    {0: (190, 1100), 1: (55, 1100), 2: (0, 0)}])  # cpu 0: 90 of 100 busy, cpu 1: 5 of 100
    monkeypatch.setattr(threads, "_cpu_times", lambda: next(samples))
    assert threads.busy_cpus(0.0, {0, 1, 2}) == pytest.approx(0.95)


def test_cpu_times_reads_this_machine() -> None:
    times = threads._cpu_times()
    assert set(os.sched_getaffinity(0)) <= set(times)
    assert all(0 <= busy <= total for busy, total in times.values())


@pytest.mark.parametrize("cpus, busy, expected", [(2, 0.05, 2), (2, 1.0, 1), (2, 1.9, 1), (8, 2.4, 6),
                                                  (4, math.nan, 4), (2, 0.6, 1)])
def test_free_plan_uses_the_free_cores(monkeypatch: pytest.MonkeyPatch, cpus: int, busy: float,
                                       expected: int) -> None:
    monkeypatch.setattr(threads, "available_cpus", lambda: cpus)
    monkeypatch.setattr(threads, "busy_cpus", lambda sample_s: busy)
    plan = plan_threads("free", env={})
    assert (plan.threads, plan.source, plan.cpus) == (expected, "free cores", cpus)


def test_auto_plan_takes_every_cpu_a_count_or_omp_num_threads_win(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sampling(sample_s: float) -> float:
        raise AssertionError("sampled although no free-core count was asked for")

    monkeypatch.setattr(threads, "busy_cpus", no_sampling)
    monkeypatch.setattr(threads, "available_cpus", lambda: 6)
    assert (plan_threads("auto", env={}).threads, plan_threads("auto", env={}).source) == (6, "all CPUs")
    assert plan_threads(3, env={"OMP_NUM_THREADS": "1"}).threads == 3
    plan = plan_threads("auto", env={"OMP_NUM_THREADS": "1"})
    assert (plan.threads, plan.source) == (1, "OMP_NUM_THREADS")


def test_configure_keeps_a_wait_policy_the_user_set() -> None:
    import torch

    env = {"GOMP_SPINCOUNT": "1000"}
    before = torch.get_num_threads()
    try:
        plan = threads.configure_threads(2, env=env)
        assert torch.get_num_threads() == 2  # torch is loaded here: the count is set live
    finally:
        torch.set_num_threads(before)
    assert env == {"GOMP_SPINCOUNT": "1000", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    assert plan.wait_policy == "GOMP_SPINCOUNT=1000"


_PROBE = """
import json, os, sys, threading
from svc_core.threads import configure_threads
plan = configure_threads(sys.argv[1])
import torch
seen = {}
t = threading.Thread(target=lambda: seen.update(worker=torch.get_num_threads()))
t.start(); t.join()
print(json.dumps({"threads": plan.threads, "torch": torch.get_num_threads(), "worker": seen["worker"],
                  "applied": plan.wait_policy_applied, "wait": os.environ.get("OMP_WAIT_POLICY")}))
"""


def test_configure_before_torch_sets_count_and_passive_wait_in_libgomp() -> None:
    # OMP_DISPLAY_ENV makes libgomp print the values it read when torch loaded it: proof the policy came first.
    r = subprocess.run([sys.executable, "-c", _PROBE, "1"], capture_output=True, text=True, timeout=120,
                       env=_clean_env(OMP_DISPLAY_ENV="VERBOSE"), check=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"threads": 1, "torch": 1, "worker": 1, "applied": True, "wait": "PASSIVE"}
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in r.stderr and "GOMP_SPINCOUNT = '0'" in r.stderr
    assert "OMP_NUM_THREADS = '1'" in r.stderr


def test_cli_applies_the_setting_env_and_option(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"threads": 1}))
    base = _clean_env(SVC_STUDIO_CONFIG_DIR=str(tmp_path), OMP_DISPLAY_ENV="VERBOSE")
    # the settings file's count; the env var over it (the option over both: test_precedence and the next test)
    for opts, extra, expected in [([], {}, 1), ([], {"SVC_STUDIO_THREADS": "2"}, 2)]:
        r = subprocess.run([sys.executable, "-m", "svc_core", *opts, "doctor"], capture_output=True, text=True,
                           timeout=120, env={**base, **extra}, check=False)
        assert f"CPU threads: {expected}\n" in r.stdout, (opts, extra, r.stdout, r.stderr)
        assert "OMP_WAIT_POLICY = 'PASSIVE'" in r.stderr, r.stderr


def test_cli_reports_a_bad_thread_setting(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "svc_core", "--threads", "lots", "doctor"], capture_output=True,
                       text=True, timeout=120, env=_clean_env(SVC_STUDIO_CONFIG_DIR=str(tmp_path)), check=False)
    assert r.returncode == 1
    assert "'lots' is not a thread count" in r.stderr and "Traceback" not in r.stderr
