"""SegmentPipeline, the per-segment model path the converter, the live engine and training renders share."""

from __future__ import annotations

import numpy as np
import pytest
from convert_fakes import FakeEncoder, FakeF0, SineVoice, tone

from svc_core.convert import ConvertSettings, SegmentPipeline
from svc_core.errors import SvcError


def _pipe(**kw: object) -> SegmentPipeline:
    v = SineVoice()
    return SegmentPipeline(v, FakeEncoder(v.ssl_dim), FakeF0(), ConvertSettings(**kw))  # type: ignore[arg-type]


def test_render_window_options_match_the_full_render() -> None:
    p = _pipe(transpose=3)
    x = tone(16000, 0.5, 220)
    full = p.render(x)
    assert full.shape == x.shape and full.dtype == np.float32
    np.testing.assert_array_equal(p.render(x, skip_head=1600), full[1600:])
    np.testing.assert_array_equal(p.render(x, last=640), full[-640:])
    f0, voiced = p.f0(x)
    assert f0.shape == voiced.shape == (p.n_frames(x.shape[0]),)
    calls = len(p.f0_extractor.calls)
    np.testing.assert_array_equal(p.render(x, f0, voiced), full)  # precomputed F0: no extraction
    assert len(p.f0_extractor.calls) == calls
    assert not np.array_equal(p.render(x, f0, voiced, semitones=0.0), full)  # semitones overrides transpose


def test_render_rejects_bad_arguments() -> None:
    p = _pipe()
    x = tone(16000, 0.2, 220)
    f0, voiced = p.f0(x)
    with pytest.raises(SvcError, match="f0/voiced need"):
        p.render(x, f0[:-1], voiced[:-1])
    with pytest.raises(SvcError, match="skip_head"):
        p.render(x, skip_head=x.shape[0])
    with pytest.raises(SvcError, match="last"):
        p.render(x, skip_head=10, last=x.shape[0])
    with pytest.raises(SvcError, match="no samples"):
        p.render(np.zeros(0, np.float32))
