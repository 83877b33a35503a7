"""Every write, journaled as it happens (JSON lines under `<state>/journal/`), file backend.

Each write gets an `intent` line before the request is sent and an
`applied` or `failed` line after. An `intent` with no outcome is a write
that was in flight when the process died: writes set absolute values, so
re-running the apply (after a fresh plan) converges either way. A later run
that re-read a merchant's live state under its lock acknowledges that
merchant's interrupted writes (an `acknowledged` line naming the merchant),
so the note about them is shown until then, and never after.

Reading never fails on a bad line (torn by a full disk inside a multi-byte
character, or valid JSON that is not an entry): it is reported once, with
file and line number, and skipped. Which lines were reported is kept in
`journal/noted.json`, never written into another run's journal.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler import private
from reconciler.model import Change
from reconciler.secrets import redactor

NOTED = "noted.json"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def append_line(fd: int, line: str) -> None:
    """One `write` per line on an O_APPEND descriptor: lines of concurrent writers never interleave."""
    data = (line + "\n").encode("utf-8")
    while data:  # a short write (disk full) raises on the next attempt
        data = data[os.write(fd, data):]


def open_private(path: Path) -> int:
    """An append descriptor on `path`, created 0600 whatever the umask: the operator's record."""
    return private.open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)


class Journal:
    def __init__(self, state_dir: Path, target: str, run_id: str | None = None) -> None:
        directory = state_dir / "journal"
        private.private_dir(directory)
        self.run_id = run_id or new_run_id()
        self.path = directory / f"{self.run_id}.jsonl"
        self.target = target
        self._lock = threading.Lock()
        self._fd = open_private(self.path)

    @property
    def location(self) -> str:
        return str(self.path)

    def write(self, merchant: str, change: Change, phase: str, error: str | None = None) -> None:
        entry: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "run": self.run_id, "target": self.target, "merchant": merchant,
            "address": change.address, "action": change.action.value,
            "before": change.before, "after": change.after, "phase": phase,
        }
        if error:
            entry["error"] = redactor.redact(error)
        # Values are redacted by value, never the serialized line; the fields that
        # identify a write (merchant, address, phase) stay as they are, so outcomes
        # still pair with their intents.
        entry["before"], entry["after"] = redactor.redact_values([change.before, change.after])
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            # In the kernel before the request is sent: the line survives the
            # process being killed (not a power cut, like any write-back cache),
            # without an fsync stalling the event loop.
            append_line(self._fd, line)

    async def record(self, merchant: str, change: Change, phase: str,
                     error: str | None = None) -> None:
        self.write(merchant, change, phase, error)

    def close(self) -> None:
        os.close(self._fd)


def json_lines(raw: bytes) -> Iterator[tuple[int, Any]]:
    """(line number, decoded value) of each non-blank line of a JSON-lines file; None for a
    line that is not JSON (torn inside a character, cut short, or foreign)."""
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            yield number, None


def _entries(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """The entries of a journal file, and the numbers of the lines that are not entries."""
    entries, bad = [], []
    try:
        raw = path.read_bytes()
    except OSError:
        return [], []
    for number, entry in json_lines(raw):
        if isinstance(entry, dict) and isinstance(entry.get("phase"), str):
            entries.append(entry)
        else:
            bad.append(number)
    return entries, bad


def _pending(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pending: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        merchant, address = entry.get("merchant"), entry.get("address")
        if entry["phase"] == "acknowledged":
            if merchant is None:  # written by releases that acknowledged whole runs
                pending.clear()
            else:
                pending = {k: v for k, v in pending.items() if k[0] != merchant}
        elif isinstance(merchant, str) and isinstance(address, str):
            if entry["phase"] == "intent":
                pending[(merchant, address)] = entry
            else:
                pending.pop((merchant, address), None)
    return list(pending.values())


class _Noted:
    """Which bad lines were already reported, per journal file name."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / NOTED
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            self.lines = {str(k): set(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        except (OSError, ValueError, TypeError):
            self.lines = {}
        self.changed = False

    def fresh(self, name: str, bad: list[int]) -> list[int]:
        seen = self.lines.setdefault(name, set())
        new = [n for n in bad if n not in seen]
        if new:
            seen.update(new)
            self.changed = True
        return new

    def save(self) -> None:
        if not self.changed:
            return
        temporary = self.path.with_name(f".{NOTED}.{os.getpid()}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({k: sorted(v) for k, v in self.lines.items()}, handle)
            temporary.replace(self.path)
        except OSError:
            pass  # reported again next time: better than not at all


def in_flight(state_dir: Path, merchants: Iterable[str] | None = None,
              warn: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Writes of `merchants` (all when None) whose outcome was never recorded and that no
    later run has acknowledged. Bad lines are passed to `warn` the first time they are seen."""
    directory = state_dir / "journal"
    if not directory.is_dir():
        return []
    wanted = None if merchants is None else set(merchants)
    noted = _Noted(directory)
    found = []
    for path in sorted(directory.glob("*.jsonl")):
        entries, bad = _entries(path)
        for number in noted.fresh(path.name, bad):
            if warn:
                warn(f"{path}:{number}: not a journal entry (cut short or corrupt); skipped")
        found += [e for e in _pending(entries) if wanted is None or e["merchant"] in wanted]
    noted.save()
    return found


def acknowledge(state_dir: Path, by_run: str, merchants: Iterable[str]) -> int:
    """Mark the interrupted writes of `merchants` as seen, once this run has re-read their live
    state under their locks. Returns how many journal files had some."""
    directory = state_dir / "journal"
    wanted = set(merchants)
    count = 0
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        entries, _ = _entries(path)
        slugs = sorted({e["merchant"] for e in _pending(entries)} & wanted)
        if not slugs:
            continue
        fd = open_private(path)
        try:
            if path.read_bytes()[-1:] not in (b"", b"\n"):
                append_line(fd, "")  # end a line torn by a crash before adding one
            for slug in slugs:
                append_line(fd, json.dumps({"phase": "acknowledged", "merchant": slug,
                                            "by": by_run}))
        finally:
            os.close(fd)
        count += 1
    return count
