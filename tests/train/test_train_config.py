"""train-config presets: valid so-vits-svc 4.1 configs; ``default`` builds exactly so-vits-svc 4.1's generator
(key names and shapes of shared/compat/keylists) and discriminator layout; mismatches with the dataset are refused;
the CLI stays light (no torch for --help)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from svc_core.errors import SvcError
from svc_core.train.build import build_networks
from svc_core.train.config import check_against_dataset, write_train_config
from svc_core.train.presets import build_config, hop_layout
from svc_core.voices.config import VoiceConfig

ROOT = Path(__file__).resolve().parents[2]


def _keylist(path: Path) -> dict[str, tuple[int, ...]]:
    out = {}
    for line in path.read_text().splitlines():
        name, shape = line.split(" ", 1)
        out[name] = tuple(int(x) for x in shape.strip("()").split(",") if x.strip())
    return out


def test_default_preset_is_sovits41(fixtures_dir: Path) -> None:
    d = build_config("default", sampling_rate=44100, speakers=["a", "b", "c"], speech_encoder="vec256l9")
    cfg = VoiceConfig.from_dict(d)
    assert (cfg.train.batch_size, cfg.train.segment_size, cfg.train.learning_rate, cfg.train.c_mel) == \
        (6, 10240, 1e-4, 45)
    assert (cfg.train.lr_decay, cfg.train.eval_interval, cfg.train.keep_ckpts, tuple(cfg.train.betas)) == \
        (0.999875, 800, 3, (0.8, 0.99))
    assert (cfg.data.hop_length, cfg.data.filter_length, cfg.model.vol_embedding) == (512, 2048, False)
    g, disc = build_networks(cfg, torch.device("cpu"))
    expected = _keylist(fixtures_dir.parent / "compat" / "keylists" / "keys_sovits41.txt")
    got = {k: tuple(v.shape) for k, v in g.state_dict().items()}
    assert got == expected
    dk = disc.state_dict()
    assert dk["discriminators.0.convs.5.weight_v"].shape == (1024, 1024, 5)
    assert dk["discriminators.5.conv_post.weight_v"].shape == (1, 1024, 3, 1)
    assert sum(1 for k in dk if k.startswith("discriminators.")) == len(dk)


@pytest.mark.parametrize("preset", ["tiny", "small", "default"])
@pytest.mark.parametrize("sr", [16000, 22050, 32000, 44100, 48000])
def test_presets_are_valid_configs(preset: str, sr: int) -> None:
    d = build_config(preset, sampling_rate=sr, speakers=["x"], speech_encoder="vec768l12")
    cfg = VoiceConfig.from_dict(d)  # raises on a bad field
    assert cfg.data.hop_length == hop_layout(sr)[0] and cfg.model.sampling_rate == sr
    assert cfg.train.segment_size % cfg.data.hop_length == 0 and cfg.spk == {"x": 0}


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(SvcError, match="no model layout for 11025 Hz"):
        build_config("tiny", sampling_rate=11025, speakers=["x"], speech_encoder="vec768l12")
    with pytest.raises(SvcError, match="unknown preset"):
        build_config("huge", sampling_rate=44100, speakers=["x"], speech_encoder="vec768l12")


def test_config_against_dataset(tiny_dataset: Path, tmp_path: Path) -> None:
    cfg = VoiceConfig.from_file(tiny_dataset / "config.json")
    assert cfg.model.speech_encoder == "wavlmbase+" and cfg.model.ssl_dim == 64 and cfg.spk == {"kal": 0}
    check_against_dataset(cfg, tiny_dataset, "config.json")
    with pytest.raises(SvcError, match="exists"):
        write_train_config(tiny_dataset, "tiny")
    other = VoiceConfig.from_dict(build_config("tiny", sampling_rate=22050, speakers=["kal"],
                                               speech_encoder="wavlmbase+", ssl_dim=64))
    with pytest.raises(SvcError, match="sample-rate mismatch"):
        check_against_dataset(other, tiny_dataset, "config.json")
    cfg.spk = {"someone": 0}
    with pytest.raises(SvcError, match="speakers kal of the dataset are not in spk"):
        check_against_dataset(cfg, tiny_dataset, "config.json")


def test_help_imports_no_torch() -> None:
    code = ("import sys, svc_core.cli as c; p = c.build_parser(); "
            "assert 'torch' not in sys.modules, 'torch imported'; print(sorted(p._subparsers._group_actions[0]"
            ".choices))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in ("preprocess", "train-config", "train", "train-index"):
        assert f"'{name}'" in out.stdout
