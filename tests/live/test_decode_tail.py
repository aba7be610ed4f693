"""Decoding only a window's newest part: ``decode_from`` in ``Voice.synthesize`` / ``SynthesizerTrn.infer`` runs
the waveform decoder on the frames from there on plus its receptive field, and ``SegmentPipeline.render``'s
``decode_tail`` uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from svc_core.voices import load_voice


def test_decode_from_decodes_only_the_tail(fixtures_dir: Path) -> None:
    voice = load_voice(fixtures_dir / "sovits41/tiny_44k_vec768", device="cpu")
    dec = voice.model.dec
    seen: list[int] = []
    handle = dec.register_forward_pre_hook(lambda m, args: seen.append(int(args[0].shape[2])))
    try:
        t, hop = 120, voice.hop_length
        g = torch.Generator().manual_seed(0)
        c = torch.randn(voice.ssl_dim, t, generator=g)
        f0 = torch.full((t,), 220.0)
        uv = torch.ones(t)
        full = voice.synthesize(c, f0, uv, 0)
        tail = voice.synthesize(c, f0, uv, 0, decode_from=100)
    finally:
        handle.remove()
    reach = dec.receptive_frames()
    assert seen == [t, 20 + reach]
    assert full.shape == (t * hop,) and tail.shape == (20 * hop,)
    assert torch.isfinite(tail).all() and float(tail.abs().max()) > 0
    # same content and pitch: the same loudness as the full decode's tail (the NSF source phase differs)
    rms_full = float(full[100 * hop:].pow(2).mean().sqrt())
    rms_tail = float(tail.pow(2).mean().sqrt())
    assert 0.5 < rms_tail / rms_full < 2.0


def test_render_decode_tail_returns_the_same_span(fixtures_dir: Path) -> None:
    from svc_core.convert import ConvertSettings, SegmentPipeline
    from svc_core.f0.pm import PraatAcExtractor

    voice = load_voice(fixtures_dir / "sovits41/tiny_44k_vec768", device="cpu")

    class Enc:
        sample_rate, hop, dim = 16000, 320, voice.ssl_dim

        def encode(self, wav: torch.Tensor) -> torch.Tensor:
            return torch.zeros((wav.shape[0] - 80) // 320, self.dim) + wav[:1]

    pipe = SegmentPipeline(voice, Enc(), PraatAcExtractor(), ConvertSettings(), device="cpu")
    x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(512 * 80) / 44100)).astype(np.float32)
    f0, v = np.full(80, 220.0, np.float32), np.ones(80, bool)
    a = pipe.render(x, f0, v, skip_head=512 * 70 + 100)
    b = pipe.render(x, f0, v, skip_head=512 * 70 + 100, decode_tail=True)
    assert a.shape == b.shape == (512 * 10 - 100,)
    assert np.isfinite(b).all()
