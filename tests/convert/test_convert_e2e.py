"""End to end with real parts: the tiny so-vits-svc 4.1 fixture voice (random weights, WavLM-64 content, volume
embedding, 2 speakers), the tiny WavLM checkpoint found through $SVC_STUDIO_WEIGHTS as WavLM-Base+.pt, real F0
extractors, sung clips from the shared corpus - through the CLI as a user runs it."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from convert_fakes import tone

import svc_core.cli
from svc_core.audio.slicer import SliceSettings
from svc_core.convert import ConvertSettings, load_converter

VOICE = "sovits41/tiny_e2e_wavlm64"
CLIP = "kal_diphone/kal_diphone_06.flac"  # the shortest corpus clip (3.1 s)


@pytest.mark.slow
def test_cli_end_to_end(tiny_weights: Path, fixtures_dir: Path, corpus_dir: Path, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(svc_core.cli, "SUBCOMMAND_MODULES", ("convert",))
    src = corpus_dir / CLIP
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEfmt " + b"\0" * 10)
    out = tmp_path / "out"
    code = svc_core.cli.main(["convert", str(src), str(bad), "-m", str(fixtures_dir / VOICE), "-o", str(out),
                              "--speaker", "spk1", "--transpose", "12", "--format", "flac"])
    cap = capsys.readouterr()
    assert code == 1, cap.err
    assert "bad.wav: corrupt or truncated file" in cap.err
    assert "converted 1 of 2 file(s), 1 failed" in cap.out
    res = out / "kal_diphone_06_tiny_e2e_wavlm64.flac"
    y, sr = sf.read(res, dtype="float32")
    assert sr == 44100 and y.ndim == 1
    assert y.shape[0] == sf.info(src).frames  # 44.1 kHz in, 44.1 kHz out: same length
    assert np.isfinite(y).all() and np.abs(y).max() > 0
    # only the good input and its output exist: no temp files left behind
    assert [p.name for p in out.iterdir()] == [res.name]


@pytest.mark.slow
def test_tiny_voice_length_nan_silence(tiny_weights: Path, fixtures_dir: Path) -> None:
    sr = 22050
    z = np.zeros
    x = np.concatenate([z(sr), tone(sr, 0.8, 220), z(int(1.2 * sr)), tone(sr, 0.6, 330), z(333)]).astype(np.float32)
    slicing = SliceSettings(min_length_ms=400, min_interval_ms=200, hop_ms=10, max_sil_kept_ms=100)
    conv = load_converter(fixtures_dir / VOICE, ConvertSettings(f0_method="pm", slicing=slicing, speaker="spk0"))
    hop = conv.voice.hop_length
    for out_sr in (None, 48000):
        conv.settings.output_sr = out_sr
        y = conv.convert_array(x, sr)
        sr_o = out_sr or 44100
        assert abs(y.shape[0] - x.shape[0] * sr_o / sr) <= hop
        assert np.isfinite(y).all()
        assert np.abs(y[: int(0.85 * sr_o)]).max() < 1e-5  # leading silence
        assert np.abs(y[int(2.05 * sr_o): int(2.75 * sr_o)]).max() < 1e-5  # middle silence
        assert np.abs(y[int(1.1 * sr_o): int(1.7 * sr_o)]).max() > 0  # the note went through the model


@pytest.mark.slow
def test_tiny_voice_retrieval_from_sovits_pickle(tiny_weights: Path, fixtures_dir: Path, tmp_path: Path) -> None:
    import faiss

    voice = tmp_path / "voice"
    shutil.copytree(fixtures_dir / VOICE, voice)
    feats = np.random.default_rng(0).standard_normal((500, 64)).astype(np.float32)
    index = faiss.IndexFlatL2(64)
    index.add(feats)
    with open(voice / "feature_and_index.pkl", "wb") as f:
        pickle.dump({0: index, 1: index}, f)
    sr = 16000
    x = tone(sr, 1.0, 200)
    base = load_converter(voice, ConvertSettings(f0_method="pm")).convert_array(x, sr)
    conv = load_converter(voice, ConvertSettings(f0_method="pm", retrieval_ratio=0.8, speaker="spk1"))
    assert conv.index is not None and sorted(conv.index.speakers) == [0, 1]
    y = conv.convert_array(x, sr)
    assert y.shape == base.shape and np.isfinite(y).all()
    assert not np.allclose(y, base)  # the blend changed the content fed to the model


def test_missing_index_and_weights_are_clear(fixtures_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from svc_core.errors import SvcError, WeightsNotFoundError

    monkeypatch.setenv("SVC_STUDIO_WEIGHTS", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="WavLM|wavlm"):
        load_converter(fixtures_dir / VOICE, ConvertSettings(f0_method="pm"))
    shutil.copy(fixtures_dir / "wavlm" / "wavlm_tiny_base_plus" / "WavLM-tiny.pt", tmp_path / "WavLM-Base+.pt")
    with pytest.raises(SvcError, match="needs a retrieval index"):
        load_converter(fixtures_dir / VOICE, ConvertSettings(f0_method="pm", retrieval_ratio=0.5))


def _tiny_voice(folder: Path, fixtures_dir: Path) -> Path:
    """A tiny random so-vits-svc 4.0-style voice at 32 kHz (hop 320, 'left' unit stretch, no volume, 1 speaker)."""
    import json

    import torch

    from svc_core.models.synthesizer import SynthesizerTrn
    from svc_core.voices.config import VoiceConfig

    cfg = json.loads((fixtures_dir / VOICE / "config.json").read_text())
    cfg["data"].update({"sampling_rate": 32000, "hop_length": 320, "filter_length": 1280, "win_length": 1280,
                        "mel_fmax": 16000})
    del cfg["data"]["unit_interpolate_mode"]  # absent in 4.0 configs -> 'left'
    cfg["model"].update({"upsample_rates": [10, 8, 2, 2], "upsample_kernel_sizes": [20, 16, 4, 4],
                         "vol_embedding": False, "n_speakers": 1, "use_automatic_f0_prediction": False,
                         "sampling_rate": 32000})
    cfg["spk"] = {"solo": 0}
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg))
    vc = VoiceConfig.from_file(folder / "config.json")
    torch.manual_seed(3)
    m = SynthesizerTrn(vc.data.filter_length // 2 + 1, vc.train.segment_size // vc.data.hop_length,
                       **vc.model.synthesizer_kwargs())
    torch.save({"model": m.state_dict(), "iteration": 1, "optimizer": None, "learning_rate": 1e-4},
               folder / "G_1.pth")
    return folder


def test_tiny_random_voice_other_rate(tiny_weights: Path, fixtures_dir: Path, tmp_path: Path) -> None:
    voice = _tiny_voice(tmp_path / "v32k", fixtures_dir)
    conv = load_converter(voice, ConvertSettings(f0_method="pm", transpose=12))
    assert conv.voice.unit_interpolate_mode == "left" and not conv.voice.vol_embedding
    sr = 48000
    x = np.concatenate([np.zeros(sr // 2, np.float32), tone(sr, 1.1, 246.9), np.zeros(sr // 3, np.float32)])
    y = conv.convert_array(x, sr)
    assert abs(y.shape[0] - x.shape[0] * 32000 / sr) <= 320
    assert np.isfinite(y).all() and np.abs(y).max() > 0


def test_quiet_vocal_is_converted_not_copied(tiny_weights: Path, fixtures_dir: Path, corpus_dir: Path,
                                             tmp_path: Path) -> None:
    """A vocal whose loudest 20 ms is at -46 dBFS was below the absolute -40 dB threshold and came out bit-identical
    to the input (issue 13, item 2): it is converted, and the output holds no copy of the input."""
    x, sr = sf.read(corpus_dir / CLIP, dtype="float32")
    from svc_core.audio.slicer import frame_rms

    x = x / np.abs(x).max()
    x *= 10 ** (-46 / 20) / frame_rms(x, 882, 882).max()  # loudest 20 ms frame (RMS) at -46 dBFS
    src = tmp_path / "quiet.wav"
    sf.write(src, x, sr, subtype="FLOAT")
    conv = load_converter(fixtures_dir / VOICE, ConvertSettings(f0_method="pm", speaker="spk0"))
    res = conv.convert_file(src, tmp_path / "out.wav")
    y, sr_o = sf.read(res.output_path, dtype="float32")
    assert sr_o == sr and y.shape == x.shape and res.warnings == []
    assert np.abs(y).max() > 0 and not np.allclose(y, x)
    # no copy of the input, at any lag: normalised cross-correlation measured 0.0095 (1.0 for a copy)
    from scipy.signal import correlate

    xc = correlate(y.astype(np.float64), x.astype(np.float64), mode="full", method="fft")
    assert np.abs(xc).max() / np.sqrt((x.astype(np.float64) ** 2).sum() * (y.astype(np.float64) ** 2).sum()) < 0.1
    with pytest.raises(Exception, match="nothing to convert"):  # the same file with so-vits-svc's absolute -40 dB
        load_converter(fixtures_dir / VOICE, ConvertSettings(f0_method="pm", slicing=SliceSettings(
            threshold_db=-40.0))).convert_file(src, tmp_path / "out40.wav")
    assert not (tmp_path / "out40.wav").exists()
