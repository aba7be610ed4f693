"""vdecoder tests: run torch on one thread (tiny models; avoids OpenMP spin-waiting on a shared CPU)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Use one intra-op thread during each test, restore the previous count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
