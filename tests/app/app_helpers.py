"""Helpers for the GUI tests (a uniquely named module: other test folders have their own conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

TINY = "sovits41/tiny_e2e_wavlm64"  # 44.1 kHz, hop 512, WavLM (ssl_dim 64), NSF-HiFiGAN, 2 speakers
CLIP = "kal_diphone/kal_diphone_06.flac"  # the shortest corpus clip (3.1 s)
F0_METHOD = "pm"  # fast and needs no weights


def make_f0_following(src: Path, dst: Path) -> Path:
    """Copy a voice and rewrite its NSF decoder so its output is the NSF sine source alone: every decoder weight
    and bias 0 (the residual blocks become identities), the source merge takes the fundamental only, the last
    noise conv passes the source into channel 0 and conv_post reads channel 0 (gain 8). The output then follows
    the F0 it is given, whatever the content; the rest of the model stays the random fixture."""
    dst.mkdir(parents=True)
    shutil.copy(src / "config.json", dst / "config.json")
    ck = torch.load(src / "G_1234.pth", map_location="cpu", weights_only=True)
    sd = ck["model"]
    for k, v in sd.items():
        decoder = k.startswith("dec.") and not k.startswith("dec.cond")
        if decoder and (k.endswith(("weight_g", "bias")) or k.startswith("dec.noise_convs")
                        or (k.endswith("weight") and "m_source" not in k)):
            sd[k] = torch.zeros_like(v)
    w = torch.zeros_like(sd["dec.m_source.l_linear.weight"])
    w[0, 0] = 1.0
    sd["dec.m_source.l_linear.weight"] = w
    nc = torch.zeros_like(sd["dec.noise_convs.4.weight"])
    nc[0, 0, 0] = 1.0
    sd["dec.noise_convs.4.weight"] = nc
    v = torch.zeros_like(sd["dec.conv_post.weight_v"])
    v[0, 0, v.shape[-1] // 2] = 1.0
    sd["dec.conv_post.weight_v"] = v
    sd["dec.conv_post.weight_g"] = torch.full_like(sd["dec.conv_post.weight_g"], 8.0)
    torch.save(ck, dst / "G_1234.pth")
    return dst
