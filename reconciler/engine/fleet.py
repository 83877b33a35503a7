"""Running one coroutine per merchant across a fleet, at most N at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def bounded_map(items: Iterable[T], work: Callable[[T], Awaitable[R]], *, parallelism: int,
                      on_done: Callable[[R], None] | None = None) -> list[R]:
    """Results in input order; `on_done` sees each result as it completes (progress)."""
    semaphore = asyncio.Semaphore(max(1, parallelism))

    async def one(item: T) -> R:
        async with semaphore:
            result = await work(item)
        if on_done:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(item) for item in items)))
