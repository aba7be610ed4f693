"""The length-bucketed epoch order: every clip exactly once per epoch across all ranks, no empty rank batch,
similar lengths together, a different order each epoch, and resume from 'samples consumed' with another number
of processes still covering the epoch exactly once."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from svc_core.errors import SvcError
from svc_core.train.dataset import epoch_order, global_batches, rank_share


@pytest.mark.parametrize("n,batch,world", [(37, 4, 1), (37, 3, 2), (50, 2, 4), (5, 2, 2), (9, 4, 3), (64, 8, 2)])
def test_every_sample_exactly_once_per_epoch(n: int, batch: int, world: int) -> None:
    lengths = np.random.default_rng(n).integers(40, 900, n).tolist()
    for epoch in range(3):
        order = epoch_order(lengths, 1234, epoch)
        assert sorted(order) == list(range(n))
        seen: Counter[int] = Counter()
        for gb in global_batches(order, batch * world, world):
            shares = [rank_share(gb, r, world) for r in range(world)]
            assert all(shares), "no rank may get an empty batch"
            assert max(map(len, shares)) - min(map(len, shares)) <= 1
            for s in shares:
                seen.update(s)
        assert seen == Counter(range(n))


def test_buckets_group_lengths_and_epochs_differ() -> None:
    lengths = [50] * 20 + [600] * 20
    o1, o2 = epoch_order(lengths, 1, 0), epoch_order(lengths, 1, 1)
    assert o1 != o2 and o1 == epoch_order(lengths, 1, 0)
    batches = global_batches(o1, 4, 1)
    assert all(len({lengths[i] for i in b}) == 1 for b in batches)  # 20 per bucket: batches never mix


def test_resume_with_another_world_size_covers_the_rest_once() -> None:
    lengths = np.random.default_rng(3).integers(40, 900, 41).tolist()
    order = epoch_order(lengths, 9, 2)
    consumed = 0
    seen: Counter[int] = Counter()
    for gb in global_batches(order, 2 * 4, 4)[:3]:  # 4 processes, 3 steps, then killed
        seen.update(gb)
        consumed += len(gb)
    for gb in global_batches(order[consumed:], 3 * 2, 2):  # resumed with 2 processes
        for r in range(2):
            seen.update(rank_share(gb, r, 2))
    assert seen == Counter(range(41))


def test_too_few_clips_for_the_processes() -> None:
    with pytest.raises(SvcError, match="smaller than the number of processes"):
        global_batches([0, 1, 2], 1, 2)
