"""The file backend: locks, journal and audit log in one machine's state directory."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.backend.audit import AuditContext, entry_time
from reconciler.backend.base import Backend
from reconciler.backend.errors import BackendLost
from reconciler.backend.identity import Identity
from reconciler.engine import journal as files
from reconciler.engine.lock import MerchantLock
from reconciler.model import Change

AUDIT = "audit.jsonl"


class FileRunJournal:
    def __init__(self, state_dir: Path, context: AuditContext) -> None:
        self._journal = files.Journal(state_dir, context.target, context.run)
        self._audit = files.open_private(state_dir / AUDIT)
        self._context = context
        self.run_id = context.run

    @property
    def location(self) -> str:
        return self._journal.location

    async def record(self, merchant: str, change: Change, phase: str,
                     error: str | None = None) -> None:
        try:
            self._journal.write(merchant, change, phase, error)
            if phase != "intent":
                entry = self._context.entry(merchant, change, phase, error)
                files.append_line(self._audit, json.dumps(entry, ensure_ascii=False))
        except OSError as exc:  # a full disk, a read-only state directory
            raise BackendLost(f"the journal {self.location} cannot be written "
                              f"({exc.strerror or type(exc).__name__})") from None

    async def close(self) -> None:
        self._journal.close()
        os.close(self._audit)


class FileBackend(Backend):
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.name = "file"
        self._identity = Identity.current()
        self._held: dict[str, MerchantLock] = {}
        self._waiting: dict[str, MerchantLock] = {}

    def try_lock(self, slugs: list[str]) -> set[str]:
        taken = set()
        for slug in slugs:
            lock = self._waiting.get(slug) or MerchantLock(self.state_dir, slug, wait_seconds=0)
            self._waiting[slug] = lock
            if lock.try_acquire(self._identity):
                self._held[slug] = self._waiting.pop(slug)
                taken.add(slug)
        return taken

    def holders(self, slugs: list[str]) -> dict[str, str]:
        return {s: self._waiting[s].holder() for s in slugs}

    def release(self) -> None:
        for lock in reversed(list(self._held.values())):
            lock.release()
        self._held.clear()

    def in_flight(self, slugs: list[str], warn: Callable[[str], None]) -> list[dict[str, Any]]:
        return files.in_flight(self.state_dir, slugs, warn)

    def acknowledge(self, slugs: list[str], run_id: str) -> None:
        files.acknowledge(self.state_dir, run_id, slugs)

    def journal(self, context: AuditContext) -> FileRunJournal:
        return FileRunJournal(self.state_dir, context)

    def history(self, merchant: str | None, since: datetime | None,
                warn: Callable[[str], None]) -> list[dict[str, Any]]:
        path = self.state_dir / AUDIT
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        entries = []
        for number, entry in files.json_lines(raw):
            moment = entry_time(entry) if isinstance(entry, dict) else None
            if moment is None:
                warn(f"{path}:{number}: not an audit entry (cut short or corrupt); skipped")
                continue
            if merchant and entry.get("merchant") != merchant:
                continue
            if since and moment < since:
                continue
            entries.append(entry)
        return entries

    def migrate(self) -> str:
        return "file backend: nothing to migrate"
