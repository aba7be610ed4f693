"""vdecoder tests: run torch on one thread (tiny models; avoids OpenMP spin-waiting on a shared CPU)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from vdecoder.registry import build_vocoder

TINY_VOCODER = dict(
    sampling_rate=44100,
    inter_channels=16,
    resblock_kernel_sizes=[3, 5],
    upsample_rates=[4, 2, 2],
    upsample_initial_channel=32,
    upsample_kernel_sizes=[8, 4, 4],
    gin_channels=8,
)
DILATIONS = {"1": [[1, 3, 5], [1, 3, 5]], "2": [[1, 3], [1, 3]]}


def tiny_vocoder(name: str, resblock: str, **overrides: object) -> nn.Module:
    """A seeded tiny vocoder (hop 16, 16 mel-side channels, gin 8); ``overrides`` replace TINY_VOCODER entries."""
    torch.manual_seed(0)
    kwargs = {**TINY_VOCODER, **overrides}
    return build_vocoder(name, resblock=resblock, resblock_dilation_sizes=DILATIONS[resblock], **kwargs)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Use one intra-op thread during each test, restore the previous count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
