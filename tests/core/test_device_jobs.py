"""Device choice and job plumbing."""

from __future__ import annotations

import pytest
import torch

from svc_core.device import pick_device
from svc_core.errors import Cancelled, SvcError
from svc_core.jobs import CancelToken


def test_pick_device_auto_and_cpu() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    auto = pick_device(None)
    assert auto.type in {"cpu", "cuda", "mps"}


def test_auto_is_the_cpu_in_tests_and_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pick_device("auto") == torch.device("cpu")  # tests/conftest.py: unmarked tests run on the CPU
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("SVC_STUDIO_DEVICE", "tpu-9000")
    with pytest.raises(SvcError, match="unknown device 'tpu-9000'"):
        pick_device(None)
    monkeypatch.delenv("SVC_STUDIO_DEVICE")
    assert pick_device(None).type in {"cpu", "cuda", "mps"}


@pytest.mark.cuda
def test_cuda_marked_tests_get_the_gpu() -> None:
    assert pick_device("auto").type == "cuda"


def test_pick_device_errors() -> None:
    with pytest.raises(SvcError, match="unknown device"):
        pick_device("tpu-9000")
    if not torch.cuda.is_available():
        with pytest.raises(SvcError, match="CUDA is not available"):
            pick_device("cuda")


def test_cancel_token() -> None:
    tok = CancelToken()
    tok.check()
    tok.cancel()
    assert tok.cancelled
    with pytest.raises(Cancelled):
        tok.check()


def test_drive_returns_the_result_and_cancels_by_closing() -> None:
    from svc_core.jobs import Progress, drive

    closed: list[bool] = []

    def job():
        try:
            for i in range(3):
                yield Progress(i / 3, "step")
            return "result"
        finally:
            closed.append(True)

    seen: list[Progress] = []
    assert drive(job(), progress=seen.append) == "result"
    assert [p.fraction for p in seen] == [0.0, 1 / 3, 2 / 3] and closed == [True]
    tok = CancelToken()
    with pytest.raises(Cancelled):
        drive(job(), tok, lambda p: tok.cancel())
    assert closed == [True, True]  # the generator's cleanup ran


def test_warnings_go_through_one_channel() -> None:
    import warnings

    from svc_core.jobs import SvcWarning, capture_warnings, warn

    got: list[str] = []
    with capture_warnings(got.append):
        warn("a.wav: something")
        warn("a.wav: something")  # repeats are not swallowed
    assert got == ["a.wav: something", "a.wav: something"]
    with pytest.warns(SvcWarning, match="b.wav"):
        warn("b.wav: other")
    assert issubclass(SvcWarning, UserWarning) and warnings.filters[0][2] is not SvcWarning
