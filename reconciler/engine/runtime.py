"""Building what a command talks to: the client pool for a target, with the
embedded sandbox transport when the target is the in-process emulator.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from reconciler.model import DesiredState
from reconciler.targets import Target


@contextlib.asynccontextmanager
async def client_pool(target: Target, merchants: list[DesiredState], merchants_dir: Path, *,
                      read_only: bool) -> AsyncIterator:
    """A `ClientPool` whose providers read (and, unless read_only, write) the target."""
    from reconciler.http.pool import ClientPool

    transport = None
    if target.embedded:
        from reconciler.sandbox import embedded_transport, load_scenarios

        transport = embedded_transport(target.state_dir, merchants, load_scenarios(merchants_dir))
    async with ClientPool(target, read_only=read_only, transport=transport) as pool:
        yield pool
