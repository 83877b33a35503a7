"""What every coordination backend offers: merchant locks, the run journal, the audit log.

The storage behind it is a subclass (`file.FileBackend`, `postgres.PostgresBackend`);
`reconciler.backend.open_backend` picks one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from reconciler.backend.audit import AuditContext
from reconciler.model import Change

POLL_SECONDS = 0.05


class RunJournal(Protocol):
    run_id: str

    @property
    def location(self) -> str: ...

    async def record(self, merchant: str, change: Change, phase: str,
                     error: str | None = None) -> None: ...

    async def close(self) -> None: ...


class Backend:
    """Locks, journal and audit log. Subclasses provide the storage."""

    name: str  # how outputs name it (a DSN without its password)

    def try_lock(self, slugs: list[str]) -> set[str]:
        """Take whichever of `slugs` are free, without waiting; return those taken."""
        raise NotImplementedError

    def holders(self, slugs: list[str]) -> dict[str, str]:
        raise NotImplementedError

    def acquire(self, slugs: Iterable[str], wait: float,
                on_wait: Callable[[dict[str, str], int], None] | None = None) -> dict[str, str]:
        """Lock every merchant it can within `wait` seconds for the whole run (not each merchant).

        `on_wait` is told, once, who holds the first merchants it has to wait for, and how
        many there are. Returns the merchants left locked by someone else, with who holds them.
        """
        deadline = time.monotonic() + wait
        pending = sorted(set(slugs))
        told = False
        while pending:
            taken = self.try_lock(pending)
            pending = [s for s in pending if s not in taken]
            if not pending or time.monotonic() >= deadline:
                break
            if on_wait is not None and not told:
                on_wait(self.holders(pending[:1]), len(pending))
                told = True
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        return self.holders(pending) if pending else {}

    def release(self) -> None:
        raise NotImplementedError

    def in_flight(self, slugs: list[str], warn: Callable[[str], None]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def acknowledge(self, slugs: list[str], run_id: str) -> None:
        raise NotImplementedError

    def journal(self, context: AuditContext) -> RunJournal:
        raise NotImplementedError

    def history(self, merchant: str | None, since: datetime | None,
                warn: Callable[[str], None]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def migrate(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self.release()
