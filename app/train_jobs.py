"""Train-wizard jobs for the engine thread: preprocess a folder of clips (slice, normalise, dataset report), and
train (content features with the chosen encoder, the preset's config.json, the training loop) with Pause / Stop
controls the GUI sets from its thread. Stop goes through the loop's own cancel token, so the loop writes a
checkpoint before it returns; the engine's cancel (app shutdown) is only the last resort."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine import JobContext
from svc_core.errors import SvcError
from svc_core.jobs import CancelToken, Progress

__all__ = ["PrepResult", "TrainControl", "TrainOptions", "TrainOutcome", "has_checkpoints", "latest_samples",
           "preprocess_job", "train_job"]


@dataclass
class PrepResult:
    """What preprocessing did and the dataset doctor's report."""

    dataset: Path
    processed: int
    skipped: int
    clips: int
    rejected: list[tuple[str, str]]
    report: dict[str, Any]


@dataclass
class TrainOptions:
    """The wizard's training choices."""

    dataset: Path
    voice_dir: Path
    encoder: str = "vec768l12"
    f0_method: str = "fcpe"
    preset: str = "default"
    steps: int = 10000
    device: str = "auto"
    pretrained_g: Path | None = None
    pretrained_d: Path | None = None
    eval_interval: int = 800
    log_interval: int = 50
    weights_dir: str | None = None
    resume: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (for the resume offer in the settings file)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainOptions:
        """Inverse of :meth:`to_dict` (unknown keys ignored)."""
        known = set(cls.__dataclass_fields__)
        vals = {k: v for k, v in d.items() if k in known}
        for k in ("dataset", "voice_dir", "pretrained_g", "pretrained_d"):
            if vals.get(k):
                vals[k] = Path(vals[k])
        return cls(**vals)


@dataclass
class TrainControl:
    """Set from the GUI thread, read by the training job between steps."""

    stop: CancelToken = field(default_factory=CancelToken)
    pause: threading.Event = field(default_factory=threading.Event)


@dataclass
class TrainOutcome:
    """How a training job ended."""

    voice_dir: Path
    step: int
    stopped: bool


def has_checkpoints(voice_dir: Path) -> int:
    """The newest G_<step>.pth step in ``voice_dir`` (0 when none); a file listing, no torch."""
    steps = [int(p.stem[2:]) for p in Path(voice_dir).glob("G_*.pth") if p.stem[2:].isdigit()]
    return max(steps, default=0)


def latest_samples(voice_dir: Path) -> tuple[int, list[Path]]:
    """(step, wav files) of the newest validation samples folder."""
    best: tuple[int, Path | None] = (-1, None)
    for d in (Path(voice_dir) / "samples").glob("step_*"):
        s = d.name[5:]
        if s.isdigit() and int(s) > best[0]:
            best = (int(s), d)
    if best[1] is None:
        return 0, []
    return best[0], sorted(best[1].glob("*.wav"))


def preprocess_job(folder: Path, dataset: Path, sr: int) -> Callable[[JobContext], Generator]:
    """Slice + normalise ``folder`` into ``dataset`` at ``sr`` Hz, then the doctor's report (PrepResult)."""

    def run(ctx: JobContext) -> Generator[Progress, None, PrepResult]:
        from svc_core.train.doctor import dataset_report
        from svc_core.train.preprocess import PreprocessSettings, run_preprocess
        from svc_core.train.presets import hop_layout

        hop_layout(sr)  # fail fast on an unsupported rate
        res = yield from run_preprocess(folder, dataset, PreprocessSettings(sr=sr), ctx.cancel)
        if res.clips == 0:
            why = "; ".join(f"{k}: {r}" for k, r in res.rejected[:5]) or "no audio files found"
            raise SvcError(f"{folder}: no usable clips ({why})")
        yield Progress(1.0, "dataset report")
        return PrepResult(dataset, res.processed, res.skipped, res.clips, list(res.rejected), dataset_report(dataset))

    return run


def _features(ctx: JobContext, o: TrainOptions) -> Generator[Progress, None, None]:
    from svc_core.content import encoder_weights_path, load_content_encoder
    from svc_core.device import pick_device
    from svc_core.f0 import get_extractor
    from svc_core.train.cache import FeatureSettings, compute_features
    from svc_core.train.presets import hop_layout
    from svc_core.train.sources import read_json

    sr = int((read_json(o.dataset / "preprocess.json") or {})["settings"]["sr"])
    hop, _, _, n_fft = hop_layout(sr)
    yield Progress(0.0, f"loading the {o.encoder} content encoder")
    device = pick_device(o.device)
    path = encoder_weights_path(o.encoder, weights_dir=o.weights_dir)
    enc = load_content_encoder(o.encoder, explicit=path, device=device)
    f0 = get_extractor(o.f0_method, device=device, weights_dir=o.weights_dir)
    fs = FeatureSettings(speech_encoder=o.encoder, f0_method=o.f0_method, sr=sr, hop=hop, filter_length=n_fft,
                         win_length=n_fft, encoder_id=f"{path.name}:{path.stat().st_size if path.is_file() else 0}")
    for p in compute_features(o.dataset, fs, enc, f0, ctx.cancel):
        yield Progress(0.0, p.stage)


def train_job(o: TrainOptions, control: TrainControl) -> Callable[[JobContext], Generator]:
    """Features (new runs), config.json from the preset, then the training loop; returns a TrainOutcome."""

    def run(ctx: JobContext) -> Generator[Progress, None, TrainOutcome]:
        from svc_core.train.config import write_train_config
        from svc_core.train.loop import TrainSettings, run_training

        voice = Path(o.voice_dir)
        if not o.resume:
            if has_checkpoints(voice):
                raise SvcError(f"{voice}: holds checkpoints of another run; pick another voice name (or resume)")
            yield from _features(ctx, o)
            voice.mkdir(parents=True, exist_ok=True)
            write_train_config(o.dataset, o.preset, output=voice / "config.json", force=True)
        s = TrainSettings(steps=o.steps, device=o.device, pretrained_g=o.pretrained_g,
                          pretrained_d=o.pretrained_d, eval_interval=o.eval_interval,
                          log_interval=o.log_interval, tensorboard=False)
        gen = run_training(o.dataset, voice, s, control.stop)
        try:
            while True:
                p = next(gen)
                yield p
                while control.pause.is_set() and not control.stop.cancelled:
                    time.sleep(0.1)
                    yield Progress(p.fraction, "paused")
        except StopIteration as e:
            step = int(e.value or 0)
        return TrainOutcome(voice, step, control.stop.cancelled)

    return run
