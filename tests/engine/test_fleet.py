"""bounded_map: at most N merchants at a time, each once, results in input order."""

from __future__ import annotations

import asyncio
import random

from reconciler.engine.fleet import bounded_map


async def test_at_most_parallelism_at_a_time_each_item_once_in_input_order() -> None:
    running, peak, started, done = 0, 0, [], []
    delays = random.Random(7).choices([0, 0.001, 0.003], k=60)

    async def work(i: int) -> int:
        nonlocal running, peak
        started.append(i)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(delays[i])
        running -= 1
        return i * 10

    results = await bounded_map(range(60), work, parallelism=7, on_done=done.append)
    assert results == [i * 10 for i in range(60)]
    assert peak == 7
    assert started == list(range(60))  # taken in order, each once
    assert sorted(done) == results


async def test_fewer_items_than_parallelism_and_no_items() -> None:
    async def work(i: int) -> int:
        await asyncio.sleep(0)
        return -i

    assert await bounded_map([1, 2], work, parallelism=64) == [-1, -2]
    assert await bounded_map([], work, parallelism=10) == []
    assert await bounded_map([3], work, parallelism=0) == [-3]
