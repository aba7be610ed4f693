"""CPU thread policy for every entry point: how many threads torch uses and how its OpenMP threads wait.

Why: torch's bundled GNU OpenMP (libgomp) lets an idle worker spin up to ``GOMP_SPINCOUNT`` = 300000 pause
loops (milliseconds) before it sleeps. When another program keeps a core busy, one of our threads is descheduled
and the other spins at every barrier waiting for it, competing for the CPU with the very thread it waits on:
measured, a 5 s synthesizer call took 36 s next to a busy core with the default wait and 15 s with the passive one
(``benchmarks/cpu_contention.py``; numbers in the README). The policy:

- the wait ``OMP_WAIT_POLICY=PASSIVE`` (libgomp's spin count 0: an idle thread sleeps on a futex at once).
  libgomp reads it once, when ``import torch`` loads it, so :func:`configure_threads` must run first;
- the count: ``auto`` = every CPU this process may use (affinity, capped by a cgroup quota). With the passive wait
  this measured faster next to a busy program than leaving its core free (the scheduler shares the CPUs per thread,
  and a waiting thread no longer burns its share); ``free`` = the CPUs less what other processes keep busy, sampled
  from ``/proc/stat`` over a short window (polite: leaves busy cores to the other program, at some speed cost).

Overrides: the ``threads`` setting (:class:`svc_core.settings.Settings`), ``$SVC_STUDIO_THREADS`` or the CLI's
``--threads`` (``auto``, ``free`` or a count); an ``OMP_NUM_THREADS`` in the environment is honoured when the
setting is ``auto``; an ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` already in the environment is left as it is.

No torch at import; :func:`configure_threads` imports torch only if it is already loaded (to set the count live).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from svc_core.errors import SvcError

__all__ = [
    "ENV_THREADS",
    "WAIT_POLICY_ENV",
    "ThreadPlan",
    "ThreadSettingError",
    "available_cpus",
    "busy_cpus",
    "configure_threads",
    "parse_threads",
    "plan_threads",
    "resolve_thread_setting",
]

#: Environment variable that overrides the ``threads`` setting ("auto" or a positive integer).
ENV_THREADS = "SVC_STUDIO_THREADS"
#: What :func:`configure_threads` puts into the environment before torch loads its OpenMP runtime.
WAIT_POLICY_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE"}
_USER_WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
_COUNT_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


class ThreadSettingError(SvcError):
    """A thread setting is not ``auto``, ``free`` or a positive integer."""


@dataclass(frozen=True)
class ThreadPlan:
    """The chosen policy: ``threads`` intra-op threads; why (``source``); what was seen when choosing it."""

    threads: int
    source: str  # "setting", "OMP_NUM_THREADS", "all CPUs" or "free cores"
    cpus: int  # CPUs this process may run on (affinity, capped by a cgroup quota)
    busy: float  # CPUs kept busy by other processes during the sample (nan when not sampled)
    wait_policy: str  # e.g. "OMP_WAIT_POLICY=PASSIVE", or the user's own variables
    wait_policy_applied: bool  # False when torch's OpenMP runtime had started before the policy was set

    def describe(self) -> str:
        """One line for logs and ``doctor``."""
        busy = "" if math.isnan(self.busy) else f", {self.busy:.1f} busy elsewhere"
        late = "" if self.wait_policy_applied else " (not applied: torch was loaded first)"
        return f"{self.threads} thread(s) ({self.source}; {self.cpus} CPU(s){busy}); {self.wait_policy}{late}"


def parse_threads(value: object, what: str = "threads setting") -> int | str:
    """``"auto"``/None/""/0 -> ``"auto"``; ``"free"`` -> ``"free"``; a positive integer (or its text) -> it."""
    bad = f"{what}: {value!r} is not a thread count (use auto, free or a positive integer)"
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return "auto"
    if isinstance(value, str) and value.strip().lower() == "free":
        return "free"
    if isinstance(value, bool):
        raise ThreadSettingError(bad)
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ThreadSettingError(bad) from None
    if n < 0:
        raise ThreadSettingError(bad)
    return n or "auto"


def resolve_thread_setting(cli_value: str | None = None, settings_value: object = "auto",
                           env: Mapping[str, str] | None = None) -> object:
    """The thread setting in force: the CLI option, else ``$SVC_STUDIO_THREADS``, else the settings file's."""
    env = os.environ if env is None else env
    if cli_value is not None:
        return cli_value
    if env.get(ENV_THREADS, "").strip():
        return env[ENV_THREADS]
    return settings_value


def _cgroup_cpu_limit() -> float | None:
    """CPUs allowed by a cgroup v2 quota (``cpu.max``), None when unlimited or unknown."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(float(quota) / float(period), 1.0)
    except (ValueError, ZeroDivisionError):
        return None


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, max(1, math.floor(limit)))
    return max(1, n)


def _cpu_times() -> dict[int, tuple[int, int]]:
    """Per CPU (busy, total) jiffies from /proc/stat; idle and iowait count as not busy, steal as busy."""
    out: dict[int, tuple[int, int]] = {}
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *vals = line.split()
            v = [int(x) for x in vals[:8]]
            idle = v[3] + v[4]
            total = sum(v)
            out[int(name[3:])] = (total - idle, total)
    return out


def busy_cpus(sample_s: float = 0.2, cpus: set[int] | None = None) -> float:
    """How many of ``cpus`` (default: this process's affinity) other processes keep busy, from two /proc/stat
    samples ``sample_s`` apart (this process sleeps between them); nan where /proc/stat cannot be read."""
    try:
        cpus = set(os.sched_getaffinity(0)) if cpus is None else cpus
        a = _cpu_times()
        time.sleep(sample_s)
        b = _cpu_times()
    except (AttributeError, OSError, ValueError):
        return math.nan
    busy = 0.0
    for c in cpus:
        if c in a and c in b and b[c][1] > a[c][1]:
            busy += (b[c][0] - a[c][0]) / (b[c][1] - a[c][1])
    return busy


def _wait_policy_text(env: Mapping[str, str]) -> str:
    own = [f"{k}={env[k]}" for k in _USER_WAIT_VARS if k in env]
    return ", ".join(own) if own else ", ".join(f"{k}={v}" for k, v in WAIT_POLICY_ENV.items())


def plan_threads(setting: object = "auto", env: Mapping[str, str] | None = None, sample_s: float = 0.2) -> ThreadPlan:
    """Choose the policy without applying it: a count wins; ``auto``: ``OMP_NUM_THREADS`` if set, else every
    available CPU; ``free``: the available CPUs less the busy ones (sampled ``sample_s``), rounded, at least 1."""
    env = os.environ if env is None else env
    cpus = available_cpus()
    wait = _wait_policy_text(env)
    applied = "torch" not in sys.modules or any(k in env for k in _USER_WAIT_VARS)
    mode = parse_threads(setting)
    if isinstance(mode, int):
        return ThreadPlan(mode, "setting", cpus, math.nan, wait, applied)
    if mode == "auto":
        omp = parse_threads(env.get("OMP_NUM_THREADS"), "OMP_NUM_THREADS")
        if isinstance(omp, int):
            return ThreadPlan(omp, "OMP_NUM_THREADS", cpus, math.nan, wait, applied)
        return ThreadPlan(cpus, "all CPUs", cpus, math.nan, wait, applied)
    busy = busy_cpus(sample_s) if cpus > 1 else math.nan
    free = cpus if math.isnan(busy) else cpus - busy
    return ThreadPlan(max(1, min(cpus, math.floor(free + 0.5))), "free cores", cpus, busy, wait, applied)


def configure_threads(setting: object = "auto", env: MutableMapping[str, str] | None = None,
                      sample_s: float = 0.2) -> ThreadPlan:
    """Choose and apply the policy; call it at an entry point BEFORE anything imports torch, in the thread that
    will run torch (an OpenMP thread count is per thread: a count set later in another thread does not reach it).

    Sets the wait policy (unless the user set one) and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` in ``env``
    (default ``os.environ``, inherited by child processes); if torch is already loaded, also
    ``torch.set_num_threads`` (the wait policy then cannot change: ``plan.wait_policy_applied`` is False).
    """
    env = os.environ if env is None else env
    plan = plan_threads(setting, env, sample_s)
    if not any(k in env for k in _USER_WAIT_VARS):
        env.update(WAIT_POLICY_ENV)
    for k in _COUNT_VARS:
        env[k] = str(plan.threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(plan.threads)
    return plan
