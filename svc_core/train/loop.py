"""The training loop: resume or warm start, length-bucketed batches, GAN steps, logs, validation and samples,
atomic checkpoints every ``eval_interval`` steps (last K kept), a clean stop on cancel (checkpoint first), and at
the end a voice folder that ``load_voice`` / ``svc-studio convert`` load as it is (config.json, G_<step>.pth,
f0_stats.json, retrieval index). Works the same under ``torchrun`` (rank 0 writes)."""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from svc_core.errors import SvcError
from svc_core.jobs import CancelToken, Progress
from svc_core.train import checkpoint as ckpt
from svc_core.train.dataset import ClipDataset, collate, epoch_order, global_batches, rank_share
from svc_core.train.sources import write_json
from svc_core.voices.config import VoiceConfig

__all__ = ["TrainSettings", "run_training"]

T, U = TypeVar("T"), TypeVar("U")
_END = object()


@dataclass
class TrainSettings:
    """Run options (config.json holds the model and loss settings); None = the config's value."""

    steps: int = 10000
    device: str | None = None
    batch_size: int | str | None = None  # an int, "auto", or None for config train.batch_size
    precision: str = "auto"
    pretrained_g: Path | None = None
    pretrained_d: Path | None = None
    eval_interval: int | None = None
    log_interval: int | None = None
    keep: int | None = None
    micro_batches: int = 1
    samples: int = 2
    tensorboard: bool = True
    build_index: bool = True
    val_max_frames: int = 400


def _mel_cfg(cfg: VoiceConfig) -> dict:
    d = cfg.data
    return {"n_fft": d.filter_length, "n_mels": d.n_mel_channels, "sr": d.sampling_rate, "win": d.win_length,
            "fmin": d.mel_fmin, "fmax": d.mel_fmax}


def _shard_seed(seed: int, step: int, shard: int) -> int:
    return int(np.random.SeedSequence([seed, step, shard]).generate_state(1)[0])


def _items(data: ClipDataset, idx: list[int], seed: int, epoch: int) -> list[dict]:
    return [data.item(i, np.random.default_rng([seed, epoch, i])) for i in idx]


def _prefetch(fn: Callable[[T], U], items: list[T], depth: int = 2) -> Iterator[tuple[T, U]]:
    """``(item, fn(item))`` in order, ``fn`` running on a worker thread ``depth`` items ahead (data loading
    overlaps the training step; the results do not depend on timing)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="svc-train-data") as ex:
        it = iter(items)
        queue = deque((x, ex.submit(fn, x)) for x in itertools.islice(it, depth))
        while queue:
            x, fut = queue.popleft()
            nxt = next(it, _END)
            if nxt is not _END:
                queue.append((nxt, ex.submit(fn, nxt)))
            yield x, fut.result()


def _eta(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def run_training(dataset: str | Path, out_dir: str | Path, settings: TrainSettings | None = None,
                 cancel: CancelToken | None = None) -> Iterator[Progress]:
    """Generator job: train until ``settings.steps``; returns the final step (StopIteration.value)."""
    from svc_core.train.build import build_networks, build_optimizers, warm_start
    from svc_core.train.config import check_against_dataset
    from svc_core.train.distributed import init_from_env
    from svc_core.train.step import StepParts, pick_precision, train_step

    s = settings or TrainSettings()
    ds, out = Path(dataset), Path(out_dir)
    dist, device = init_from_env(s.device)
    cfg_path = out / "config.json" if (out / "config.json").is_file() else ds / "config.json"
    if not cfg_path.is_file():
        raise SvcError(f"{ds}: no config.json; run svc-studio train-config {ds} first")
    cfg = VoiceConfig.from_file(cfg_path)
    man = check_against_dataset(cfg, ds, str(cfg_path))
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
        if cfg_path.parent != out:
            cfg.save(out / "config.json")
        for p in ckpt.clean_partial(out):
            yield Progress(0.0, f"removed the leftover of an interrupted write: {p.name}")
    dist.barrier()
    t = cfg.train
    seed = int(t.seed)
    eval_every = int(s.eval_interval or t.eval_interval)
    log_every = int(s.log_interval or t.log_interval)
    keep = int(s.keep if s.keep is not None else t.keep_ckpts)
    micro = max(1, int(s.micro_batches))
    if micro > 1 and dist.active:
        raise SvcError("micro-batches are for one process; under torchrun use more processes instead")
    torch.manual_seed(seed)
    net_g, net_d = build_networks(cfg, device)
    optim_g, optim_d, sched_g, sched_d = build_optimizers(cfg, net_g, net_d)
    precision = pick_precision(s.precision if not t.fp16_run or s.precision != "auto" else t.half_type, device)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.scaler)
    step, epoch, consumed, skipped = 0, 0, 0, 0
    resumed = ckpt.find_resumable(out)
    if resumed is not None:
        for n in resumed.notes:
            yield Progress(0.0, n)
        st = resumed.g["svc_studio"]
        net_g.load_state_dict(resumed.g["model"])
        net_d.load_state_dict(resumed.d["model"])
        optim_g.load_state_dict(resumed.g["optimizer"])
        optim_d.load_state_dict(resumed.d["optimizer"])
        sched_g.load_state_dict(st["scheduler"])
        sched_d.load_state_dict(resumed.d["svc_studio"]["scheduler"])
        if st.get("scaler") and precision.scaler:
            scaler.load_state_dict(st["scaler"])
        step, epoch, consumed, skipped = (int(st[k]) for k in ("step", "epoch", "consumed", "skipped"))
        yield Progress(step / max(1, s.steps), f"resumed from G_{step}.pth (step {step}, epoch {epoch})")
    elif s.pretrained_g is not None:
        for n in warm_start(net_g, Path(s.pretrained_g), "generator"):
            yield Progress(0.0, n)
        if s.pretrained_d is not None:
            for n in warm_start(net_d, Path(s.pretrained_d), "discriminator"):
                yield Progress(0.0, n)
    g_run, d_run = dist.wrap(net_g, device), dist.wrap(net_d, device)
    clips = man["clips"]
    frames = {f: int(e["frames"]) for f, e in clips.items()}
    speakers = {f: e["speaker"] for f, e in clips.items()}
    split = man["split"]
    train = ClipDataset(ds, split["train"], cfg, frames, speakers, max_frames=t.max_speclen)
    val = ClipDataset(ds, split["val"] or split["train"][:1], cfg, frames, speakers, max_frames=s.val_max_frames)
    batch = s.batch_size if isinstance(s.batch_size, int) else int(t.batch_size)
    if s.batch_size == "auto":
        from svc_core.train.autobatch import find_batch_size

        batch = find_batch_size(cfg, train, device, precision)
        yield Progress(step / max(1, s.steps), f"batch size {batch} (auto, {device})")
    global_batch = batch * dist.world * micro
    if len(train) < dist.world:
        raise SvcError(f"{len(train)} training clips cannot feed {dist.world} processes")
    parts = StepParts(g_run, d_run, optim_g, optim_d, scaler, precision, device, cfg.data.hop_length,
                      t.segment_size, _mel_cfg(cfg), float(t.c_mel), float(t.c_kl),
                      t.extra.get("grad_clip_norm"), bool(cfg.model.use_automatic_f0_prediction))
    log = None
    if dist.main:
        from svc_core.train.logs import MetricsLog

        log = MetricsLog(out / "logs", tensorboard=s.tensorboard)
        log.write(step, "start", {"precision": precision.name, "batch_size": batch, "world": dist.world,
                                  "device": str(device), "clips": len(train), "resumed": resumed is not None})

    def save() -> None:
        if not dist.main:
            return
        if not (ckpt.state_is_finite(net_g) and ckpt.state_is_finite(net_d)):
            raise SvcError(f"step {step}: the weights hold NaN/inf; not writing a checkpoint (resume from the last "
                           "good one with a lower learning rate or --precision fp32)")
        state = {"epoch": epoch, "consumed": consumed, "skipped": skipped, "world": dist.world,
                 "scaler": scaler.state_dict() if precision.scaler else None, "seed": seed,
                 "batch_size": batch}
        ckpt.save_pair(out, step, epoch, float(t.learning_rate),
                       {"model": net_g.state_dict(), "optimizer": optim_g.state_dict(),
                        "scheduler": sched_g.state_dict()},
                       {"model": net_d.state_dict(), "optimizer": optim_d.state_dict(),
                        "scheduler": sched_d.state_dict()}, state)
        ckpt.prune(out, keep)

    def evaluate() -> None:
        if not dist.main:
            return
        from svc_core.audio import write_audio
        from svc_core.train.validate import validate

        v = validate(net_g, val, _mel_cfg(cfg), device, n_samples=s.samples, seed=seed)
        log.write(step, "val", {"mel": v.mel, "mel_recon": v.mel_recon})
        folder = out / "samples" / f"step_{step}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, y in v.samples.items():
            stem = Path(name).stem
            write_audio(folder / f"{stem}.wav", np.clip(y, -1, 1), cfg.data.sampling_rate, subtype="16")
            log.audio(f"sample/{stem}", step, y, cfg.data.sampling_rate)

    stopped = False
    t_last, n_last = time.perf_counter(), step
    t_start, step_start = t_last, step
    last_saved = step if resumed is not None else -1
    try:
        while step < s.steps and not stopped:
            order = epoch_order(train.lengths, seed, epoch)

            def load(gb: list[int], epoch: int = epoch) -> list:
                mine = rank_share(gb, dist.rank, dist.world)
                return [collate(_items(train, mine[k::micro], seed, epoch), cfg.data.hop_length,
                                cfg.model.vol_embedding) for k in range(micro) if mine[k::micro]]

            for gb, cpu_batches in _prefetch(load, global_batches(order[consumed:], global_batch, dist.world)):
                mine = rank_share(gb, dist.rank, dist.world)
                batches = [b.to(device) for b in cpu_batches]
                seeds = [_shard_seed(seed, step, dist.rank * micro + k) for k in range(len(batches))]
                try:
                    res = train_step(parts, batches, seeds, rank_weight=len(mine) * dist.world / len(gb))
                except torch.OutOfMemoryError:
                    raise SvcError(f"out of memory on {device} at batch size {batch} (segment {t.segment_size} "
                                   "samples): lower --batch-size, or use --batch-size auto") from None
                step += 1
                consumed += len(gb)
                skipped += int(res.skipped)
                if log is not None and (step % log_every == 0 or step == 1):
                    now = time.perf_counter()
                    sps = (step - n_last) / max(now - t_last, 1e-9)
                    t_last, n_last = now, step
                    log.write(step, "train", {**res.losses, "grad_norm_g": res.grad_norm_g,
                                              "grad_norm_d": res.grad_norm_d, "lr": optim_g.param_groups[0]["lr"],
                                              "epoch": epoch, "skipped_steps": skipped, "steps_per_s": sps})
                rate = (step - step_start) / max(time.perf_counter() - t_start, 1e-9)
                mel = res.losses.get("g/mel", float("nan")) / max(float(t.c_mel), 1e-9)
                yield Progress(step / s.steps, f"step {step}/{s.steps} mel {mel:.3f} {rate:.2f} steps/s ETA "
                                               f"{_eta((s.steps - step) / max(rate, 1e-9))}"
                                               + (f" ({skipped} skipped)" if skipped else ""))
                if step % eval_every == 0 or step == s.steps:
                    evaluate()
                    save()
                    last_saved = step
                    dist.barrier()
                if dist.any_true(cancel is not None and cancel.cancelled):
                    stopped = True
                    break
                if step >= s.steps:
                    break
            else:
                epoch += 1
                consumed = 0
                sched_g.step()
                sched_d.step()
        if last_saved != step:
            save()
            dist.barrier()
        if stopped:
            yield Progress(step / s.steps, f"stopped at step {step}; checkpoint G_{step}.pth written")
            return step
        if dist.main:
            _finish(ds, out, man, cfg, s)
        yield Progress(1.0, f"done: {step} steps; voice folder {out}")
        return step
    finally:
        if log is not None:
            log.close()
        dist.close()


def _finish(ds: Path, out: Path, man: dict, cfg: VoiceConfig, s: TrainSettings) -> None:
    """F0 statistics and the retrieval index beside the checkpoints."""
    stats = man.get("all_f0_stats")
    if stats:
        write_json(out / "f0_stats.json", {**stats, "speakers": man.get("f0_stats", {})})
    if s.build_index:
        from svc_core.train.index import build_voice_index

        build_voice_index(ds, out, cfg)
