"""Building what a command talks to: the client pool for a target, with the
embedded sandbox transport when the target is the in-process emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.model import DesiredState
from reconciler.targets import Target

if TYPE_CHECKING:  # the HTTP stack loads only when a run reads
    from reconciler.http.notices import Notices

R = TypeVar("R")


def run(main: Coroutine[Any, Any, R]) -> R:
    """Run a command's coroutine to completion on a fresh event loop.

    uvloop where it is installed (it is a dependency; the fallback keeps
    platforms without a wheel working): a fleet run spends a large share of
    its CPU in the event loop's scheduling.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships wheels for every supported platform
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def load_client_stack(target: Target) -> None:
    """Import what talking to `target` needs (the HTTP stack; the emulator when embedded).

    Done once before a run's first request, so the time a run spends reading
    is spent reading, and forked workers inherit the modules instead of each
    importing them.
    """
    import reconciler.engine.pool  # noqa: F401

    if target.embedded:
        import reconciler.sandbox  # noqa: F401


@contextlib.asynccontextmanager
async def client_pool(target: Target, merchants: list[DesiredState], merchants_dir: Path, *,
                      read_only: bool) -> AsyncIterator:
    """A `ClientPool` whose providers read (and, unless read_only, write) the target."""
    from reconciler.engine.pool import ClientPool

    transport = None
    if target.embedded:
        from reconciler.sandbox import embedded_transport, load_scenarios

        transport = embedded_transport(target.state_dir, merchants, load_scenarios(merchants_dir))
    async with ClientPool(target, read_only=read_only, transport=transport) as pool:
        yield pool


async def read_fleet(target: Target, merchants: list[DesiredState], chosen: list[DesiredState],
                     merchants_dir: Path, fleet: Callable[..., Awaitable[list[R]]], *,
                     parallelism: int, on_done: Callable[[R], None] | None = None,
                     notices: Notices | None = None) -> list[R]:
    """Run a read-only fleet function (plan, verify) over `chosen` with a read-only pool;
    what the services warned about is added to `notices`."""
    async with client_pool(target, merchants, merchants_dir, read_only=True) as pool:
        try:
            return await fleet(chosen, pool, parallelism=parallelism, on_done=on_done)
        finally:
            if notices is not None:
                notices.extend(pool.notices)
