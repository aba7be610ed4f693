"""Voice library entries: what a voice needs and has, or why it does not load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from svc_core.voices.summary import find_voice_folders, summarize_voice

TINY = "sovits41/tiny_e2e_wavlm64"


def test_summary_of_a_voice_and_its_missing_weights(tmp_path: Path, fixtures_dir: Path) -> None:
    v = tmp_path / "voices" / "alto"
    shutil.copytree(fixtures_dir / TINY, v, ignore=shutil.ignore_patterns("reference.pt"))
    (v / "f0_stats.json").write_text(json.dumps({"median_hz": 220.0, "p5_hz": 150.0, "p95_hz": 330.0}))
    s = summarize_voice(v)
    assert s.ok and s.name == "alto" and s.speakers == ["spk0", "spk1"] and s.sampling_rate == 44100
    assert s.speech_encoder == "wavlmbase+" and s.vocoder == "nsf-hifigan"
    assert s.has_f0_stats and not s.has_index
    assert s.encoder_weights is None and "WavLM-Base+.pt" in s.encoder_missing and str(v / "pretrain") in \
        s.encoder_missing  # which file, and every place looked
    w = tmp_path / "w"
    w.mkdir()
    shutil.copy(fixtures_dir / "wavlm" / "wavlm_tiny_base_plus" / "WavLM-tiny.pt", w / "WavLM-Base+.pt")
    found = summarize_voice(v, weights_dir=w)
    assert found.encoder_weights == w / "WavLM-Base+.pt" and found.encoder_missing is None


def test_broken_voices_give_their_load_error(tmp_path: Path, fixtures_dir: Path) -> None:
    root = tmp_path / "voices"
    (root / "junk").mkdir(parents=True)
    shutil.copy(fixtures_dir / TINY / "config.json", root / "junk")
    (root / "junk" / "G_5.pth").write_bytes(b"\x00" * 64)
    (root / "noconfig").mkdir()
    (root / "badjson").mkdir()
    (root / "badjson" / "config.json").write_text("{ not json")
    assert [p.name for p in find_voice_folders(root)] == ["badjson", "junk"]
    assert find_voice_folders(root / "junk") == [root / "junk"] and find_voice_folders(tmp_path / "nope") == []
    junk = summarize_voice(root / "junk")
    assert not junk.ok and "G_5.pth" in junk.error
    bad = summarize_voice(root / "badjson")
    assert not bad.ok and "no generator checkpoint" in bad.error
    shutil.copy(root / "junk" / "G_5.pth", root / "badjson" / "G_1.pth")
    bad = summarize_voice(root / "badjson")
    assert not bad.ok and "config.json" in bad.error
