"""The postgres backend: locks, journal and audit log shared by every machine.

Each merchant's lock is a session advisory lock on a stable 64-bit hash of
its slug, taken on one connection held for the whole apply: the server frees
it the moment the process or its connection dies. The holder (user, host,
pid, command, since) is a row written while holding the lock, shown to
whoever waits. Journal and audit rows go through a second, asynchronous
connection on the apply's event loop, so recording a write never stalls the
other merchants' requests.

If the lock connection alone is closed (the server terminated it, a proxy dropped it), the
locks are gone while the apply runs on: every write's journal row is therefore inserted only
while the lock connection still holds that merchant's lock, checked in the same statement
(no extra round trip), and a merchant whose lock is gone stops writing (LockLost).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from reconciler.backend.audit import FIELDS, AuditContext
from reconciler.backend.base import Backend
from reconciler.backend.dsn import parse_dsn
from reconciler.backend.errors import BackendError, BackendLost, LockLost
from reconciler.backend.identity import Identity
from reconciler.backend.migrations import ensure_schema
from reconciler.engine.lock import holder_text
from reconciler.model import Change
from reconciler.secrets import redactor

CONNECT_TIMEOUT = 10  # seconds


def lock_key(slug: str) -> int:
    """A stable signed 64-bit key per merchant (the same on every machine and release)."""
    digest = hashlib.blake2b(f"reconciler merchant {slug}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_oids(slug: str) -> tuple[int, int]:
    """How pg_locks shows the advisory lock on `lock_key(slug)`: (classid, objid), the high and
    low 32 bits of the key as unsigned numbers."""
    unsigned = lock_key(slug) & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


# The journal row of a write is inserted only while the lock connection holds the merchant's lock.
INTENT_WHILE_LOCKED = (
    "INSERT INTO journal (run, target, merchant, address, action, before, after) "
    "SELECT %s, %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM pg_locks "
    "WHERE locktype = 'advisory' AND granted AND pid = %s AND classid = %s::bigint::oid "
    "AND objid = %s::bigint::oid AND objsubid = 1) RETURNING id")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redactor.redact(text[0] if text else type(exc).__name__)


class PgRunJournal:
    """One apply's journal and audit rows, on its own asynchronous connection."""

    def __init__(self, backend: PostgresBackend, context: AuditContext) -> None:
        self._backend = backend
        self._context = context
        self._conn: psycopg.AsyncConnection | None = None
        self._opening = asyncio.Lock()
        self._ids: dict[tuple[str, str], int] = {}
        self.run_id = context.run

    @property
    def location(self) -> str:
        return f"{self._backend.name} (run {self.run_id})"

    async def _connection(self) -> psycopg.AsyncConnection:
        async with self._opening:
            if self._conn is None:
                self._conn = await psycopg.AsyncConnection.connect(
                    **self._backend.dsn.params, autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT, application_name="reconciler journal")
        return self._conn

    async def record(self, merchant: str, change: Change, phase: str,
                     error: str | None = None) -> None:
        try:
            conn = await self._connection()
            if phase == "intent":
                await self._intent(conn, merchant, change)
            else:
                await self._outcome(conn, merchant, change, phase, error)
        except psycopg.Error as exc:
            raise BackendLost(f"the backend {self._backend.name} went away mid-apply "
                              f"({_reason(exc)})") from None

    async def _intent(self, conn: psycopg.AsyncConnection, merchant: str, change: Change) -> None:
        c = self._context
        cursor = await conn.execute(INTENT_WHILE_LOCKED, (
            c.run, c.target, merchant, change.address, change.action.value,
            Jsonb(change.before), Jsonb(change.after), self._backend.lock_pid, *lock_oids(merchant)))
        row = await cursor.fetchone()
        if row is None:
            raise LockLost(f"the lock on {merchant} in {self._backend.name} was lost mid-apply "
                           "(its connection was closed) and another apply may hold it now")
        self._ids[(merchant, change.address)] = row[0]

    async def _outcome(self, conn: psycopg.AsyncConnection, merchant: str, change: Change,
                       phase: str, error: str | None) -> None:
        e = self._context.entry(merchant, change, phase, error)
        # The journal row's outcome and the audit row in one statement (one round trip).
        await conn.execute(
            "WITH done AS (UPDATE journal SET outcome = %s, error = %s WHERE id = %s) "
            "INSERT INTO audit_log (run, user_name, host, pid, ci_url, target, merchant, "
            "address, action, before, after, plan_checksum, outcome, error) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (phase, e["error"], self._ids.pop((merchant, change.address), None),
             e["run"], e["user"], e["host"], e["pid"], e["ci_url"], e["target"], merchant,
             e["address"], e["action"], Jsonb(e["before"]), Jsonb(e["after"]),
             e["plan_checksum"], phase, e["error"]))

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


class PostgresBackend(Backend):
    def __init__(self, spec: str) -> None:
        self.dsn = parse_dsn(spec)
        self.name = self.dsn.display
        self._identity = Identity.current()
        self._conn: psycopg.Connection | None = None
        self.lock_pid: int | None = None  # the server process holding this run's locks

    def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            try:
                self._conn = psycopg.connect(**self.dsn.params, autocommit=True,
                                             connect_timeout=CONNECT_TIMEOUT,
                                             application_name="reconciler locks")
                self.version = ensure_schema(self._conn, self.name)
                self.lock_pid = self._conn.info.backend_pid
            except psycopg.Error as exc:
                raise BackendError(f"backend {self.name}: {_reason(exc)}") from None
        return self._conn

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            cursor = self._connection().execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise BackendError(f"backend {self.name}: {_reason(exc)}") from None

    def try_lock(self, slugs: list[str]) -> set[str]:
        rows = self._query(
            "SELECT t.s FROM unnest(%s::text[], %s::bigint[]) AS t(s, k) "
            "WHERE pg_try_advisory_lock(t.k)", (slugs, [lock_key(s) for s in slugs]))
        taken = [r[0] for r in rows]
        if taken:
            who = self._identity
            self._query(
                "INSERT INTO lock_holders (merchant, backend_pid, user_name, host, pid, command) "
                "SELECT unnest(%s::text[]), pg_backend_pid(), %s, %s, %s, %s "
                "ON CONFLICT (merchant) DO UPDATE SET backend_pid = excluded.backend_pid, "
                "user_name = excluded.user_name, host = excluded.host, pid = excluded.pid, "
                "command = excluded.command, since = now()",
                (taken, who.user, who.host, who.pid, who.command))
        return set(taken)

    def holders(self, slugs: list[str]) -> dict[str, str]:
        rows = self._query(
            "SELECT h.merchant, h.user_name, h.host, h.pid, h.command, h.since FROM lock_holders h "
            "WHERE h.merchant = ANY(%s) AND EXISTS "
            "(SELECT 1 FROM pg_stat_activity a WHERE a.pid = h.backend_pid)", (slugs,))
        known = {r[0]: holder_text({"user": r[1], "host": r[2], "pid": r[3], "command": r[4],
                                    "since": r[5].isoformat(timespec="seconds")}) for r in rows}
        return {s: known.get(s, "another apply (holder unknown)") for s in slugs}

    def release(self) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.execute("DELETE FROM lock_holders WHERE backend_pid = pg_backend_pid()")
            conn.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error:
            pass  # the connection is gone, and the server freed its locks with it
        finally:
            conn.close()

    def in_flight(self, slugs: list[str], warn: Callable[[str], None]) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT merchant, address, run FROM journal WHERE merchant = ANY(%s) "
            "AND outcome IS NULL AND acknowledged_by IS NULL ORDER BY id", (slugs,))
        return [{"merchant": m, "address": a, "run": r} for m, a, r in rows]

    def acknowledge(self, slugs: list[str], run_id: str) -> None:
        self._query("UPDATE journal SET acknowledged_by = %s WHERE merchant = ANY(%s) "
                    "AND outcome IS NULL AND acknowledged_by IS NULL", (run_id, slugs))

    def journal(self, context: AuditContext) -> PgRunJournal:
        return PgRunJournal(self, context)

    def history(self, merchant: str | None, since: datetime | None,
                warn: Callable[[str], None]) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT ts, run, user_name, host, pid, ci_url, target, merchant, address, action, "
            "before, after, plan_checksum, outcome, error FROM audit_log "
            "WHERE (%s::text IS NULL OR merchant = %s) AND (%s::timestamptz IS NULL OR ts >= %s) "
            "ORDER BY id", (merchant, merchant, since, since))
        entries = [dict(zip(FIELDS, row, strict=True)) for row in rows]
        for entry in entries:
            entry["ts"] = entry["ts"].isoformat(timespec="milliseconds")
        return entries

    def migrate(self) -> str:
        self._connection()
        return f"backend {self.name}: schema at version {self.version}"
