"""Running one coroutine per merchant across a fleet, at most N at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def bounded_map(items: Iterable[T], work: Callable[[T], Awaitable[R]], *, parallelism: int,
                      on_done: Callable[[R], None] | None = None) -> list[R]:
    """Results in input order; `on_done` sees each result as it completes (progress).

    `parallelism` workers take the items in order, one at a time: a fleet of
    thousands costs that many tasks, not one parked task per merchant.
    """
    todo = list(items)
    results: list[Any] = [None] * len(todo)
    queue = iter(enumerate(todo))  # shared: each item is taken by exactly one worker

    async def worker() -> None:
        for index, item in queue:
            result = await work(item)
            results[index] = result
            if on_done:
                on_done(result)

    await asyncio.gather(*(worker() for _ in range(min(max(1, parallelism), len(todo)))))
    return results
