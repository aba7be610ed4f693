"""``--simulate``: run the exact live engine block by block over a file (no audio device) and write what a
listener would have heard: each block's output plays while the next block is captured, so the output is the
engine's output delayed by one block, i.e. by exactly the algorithmic latency. Streams through the file
(constant memory); the output is written atomically at the device rate."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from svc_core.errors import AudioError
from svc_core.live.engine import LiveEngine
from svc_core.live.latency import AlgorithmicLatency
from svc_core.live.stats import TimeSummary

__all__ = ["SimulateResult", "simulate_file"]


@dataclass
class SimulateResult:
    """What a simulation did: frames, latency, compute-time figures, late blocks (compute over a block)."""

    output_path: Path
    samplerate: int
    frames: int
    blocks: int
    latency: AlgorithmicLatency
    times: TimeSummary
    late_blocks: int  # blocks whose compute took longer than the block lasts (would be late in real time)
    gated_steps: int
    model_calls: int
    seconds: float
    rss_mb: list[float] = field(default_factory=list)  # resident size sampled every ``rss_every_s`` of audio


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return float("nan")


def simulate_file(engine: LiveEngine, in_path: str | os.PathLike[str], out_path: str | os.PathLike[str], *,
                  overwrite: bool = True, on_block: Callable[[int, LiveEngine], None] | None = None,
                  rss_every_s: float = 0.0) -> SimulateResult:
    """Feed ``in_path`` (downmixed, resampled to the engine's device rate when it differs) through ``engine``
    block by block and write the heard output to ``out_path`` (same length as the input at the device rate).
    ``on_block(i, engine)`` runs before block i (to change settings mid-stream)."""
    from svc_core.audio import AudioReader, AudioWriter
    from svc_core.live.resample import StreamResampler

    t_start = time.perf_counter()
    in_path, out_path = Path(in_path), Path(out_path)
    sr, b = engine.device_sr, engine.block_size
    blk_in = np.zeros(b, np.float32)
    late = 0
    rss: list[float] = []
    next_rss = 0
    with AudioReader(in_path) as reader:
        sr_file = reader.info.sr
        n_out = int(round(reader.info.frames * sr / sr_file))
        rs = StreamResampler(sr_file, sr)
        pending = np.zeros(0, np.float32)
        written = fed = 0
        with AudioWriter(out_path, sr, 1, protect=[in_path], overwrite=overwrite) as writer:
            writer.write(np.zeros((1, min(b, n_out)), np.float32))  # the block being captured: nothing heard yet
            written = min(b, n_out)
            i = 0
            eof = False
            while written < n_out:
                while pending.shape[0] < b and not eof:
                    chunk = reader.read(max(b, 65536))
                    if chunk.shape[1] == 0:
                        eof = True
                        tail = rs(np.zeros(4 * b, np.float32)) if sr_file != sr else np.zeros(b, np.float32)
                        pending = np.concatenate([pending, tail])
                        break
                    if not np.isfinite(chunk).all():
                        raise AudioError(f"{in_path}: invalid samples (NaN or infinity) near sample {fed}")
                    mono = chunk.mean(axis=0) if chunk.shape[0] > 1 else chunk[0]
                    fed += mono.shape[0]
                    pending = np.concatenate([pending, rs(mono)])
                m = min(b, pending.shape[0])
                blk_in[:m] = pending[:m]
                blk_in[m:] = 0.0
                pending = pending[m:]
                if on_block is not None:
                    on_block(i, engine)
                t0 = time.perf_counter()
                y = engine.process(blk_in)
                if time.perf_counter() - t0 > b / sr:
                    late += 1
                n = min(b, n_out - written)
                writer.write(y[None, :n])
                written += n
                i += 1
                if rss_every_s > 0 and written >= next_rss:
                    rss.append(_rss_mb())
                    next_rss += int(rss_every_s * sr)
            writer.commit()
    return SimulateResult(out_path, sr, written, i, engine.latency, engine.times.summary(skip_first=2), late,
                          engine.gated_steps, engine.model_calls, time.perf_counter() - t_start, rss)
