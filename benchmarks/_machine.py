"""The CPU's fp32 FMA peak from what /proc/cpuinfo says (flags, clock, cores), for "how far from the limit"."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

FMA_UNITS = 2  # FMA pipes per core on the x86 cores of the last decade (Haswell on, Zen 1-5)


def cpu_info() -> dict[str, Any]:
    """Model, family, flags and clock (MHz) of the first CPU in /proc/cpuinfo."""
    info: dict[str, Any] = {"model": "unknown", "family": None, "flags": set(), "mhz": None}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, val = (s.strip() for s in line.partition(":"))
        if key == "model name":
            info["model"] = val
        elif key == "cpu family":
            info["family"] = int(val)
        elif key == "flags":
            info["flags"] = set(val.split())
        elif key == "cpu MHz":
            info["mhz"] = float(val)
    return info


def fp32_peak(threads: int) -> dict[str, Any]:
    """Peak fp32 FLOP/s of ``threads`` cores: threads x SIMD fp32 lanes x FMA units x 2 (an FMA is 2 FLOPs) x clock.

    Lanes from the widest vector ISA in the flags (avx512f 16, avx2+fma 8, else sse 4). The clock is /proc/cpuinfo's
    "cpu MHz" (the nominal clock under a hypervisor; boost, if any, is not seen). AMD family 25 (Zen 4) runs 512-bit
    FMAs as two 256-bit halves, so its lanes count as 8 there.
    """
    info = cpu_info()
    flags = info["flags"]
    if "avx512f" in flags:
        lanes = 8 if info["family"] == 25 and "AMD" in str(info["model"]).upper() else 16
        isa = "avx512f"
    elif "avx2" in flags and "fma" in flags:
        lanes, isa = 8, "avx2+fma"
    else:
        lanes, isa = 4, "sse"
    mhz = info["mhz"] or float("nan")
    peak = threads * lanes * FMA_UNITS * 2 * mhz * 1e6
    native = sorted(f for f in flags if f in ("avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni", "amx_int8"))
    return {"cpu_model": info["model"], "cpu_family": info["family"], "isa": isa, "fp32_lanes": lanes,
            "fma_units_assumed": FMA_UNITS, "clock_mhz": mhz, "threads": threads, "fp32_peak_gflops": peak / 1e9,
            "low_precision_flags": native, "cpus_online": os.cpu_count()}


def sgemm_gflops(n: int = 1536, repeats: int = 5) -> float:
    """Best fp32 matmul rate (GFLOP/s) of torch on an n x n x n product: what a dense kernel reaches here."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    c = torch.empty(n, n)
    torch.mm(a, b, out=c)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9
