"""Interleaved timing shared by the benchmarks: on a shared machine, load changes then hit every configuration alike."""

from __future__ import annotations

import time
from collections.abc import Callable


def interleaved_times(
    fns: dict[str, Callable[[int], object]], repeats: dict[str, int]
) -> dict[str, tuple[list[float], list[float]]]:
    """Run ``fns[key](r)`` for r = 0 .. repeats[key] - 1, interleaved, the first key alternating per round.

    Returns, per key, the wall-clock and the process-CPU seconds of each run (CPU time is steadier when shared).
    """
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns)
    for r in range(max(repeats.values())):
        for key in order if r % 2 == 0 else order[::-1]:
            if r >= repeats[key]:
                continue
            start, start_cpu = time.perf_counter(), time.process_time()
            fns[key](r)
            wall[key].append(time.perf_counter() - start)
            cpu[key].append(time.process_time() - start_cpu)
    return {k: (wall[k], cpu[k]) for k in fns}
