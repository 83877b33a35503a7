"""The sandbox state file: atomic snapshots plus an append-only log, a lock between processes.

`FILE` holds a snapshot of the whole state; `FILE.log` holds one JSON line
per merchant record written since (`{"merchant": slug, "record": {...}}`),
so a write costs one merchant's record, not the fleet's. Every
`COMPACT_AFTER` entries (and whenever the whole state changed: seeding,
reset) a new snapshot replaces `FILE` atomically (temporary file +
`os.replace`) and the log starts over. Replaying a log line twice is
harmless, so a crash between the two steps loses nothing. Everything happens
under `FILE.lock`. The three files are created 0600 (`reconciler.private`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

from reconciler.failures import StateFileError
from reconciler.private import FILE_MODE, append_private, private_dir, replace_file
from reconciler.sandbox.state import Emulator

STATE_FILE_NAME = "sandbox-state.json"
COMPACT_AFTER = 256
_FRESH = "move it away (or delete it) and the sandbox starts afresh, seeded from the merchant files"


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.log_path = self.path.with_name(self.path.name + ".log")
        self._lock = FileLock(str(self.path) + ".lock", timeout=30, mode=FILE_MODE)
        self._directory_made = False
        self._snapshot_seen: tuple[int, int, int] | None = None
        self._log_offset = 0
        self._log_entries = 0

    @property
    def lock(self) -> FileLock:
        """The lock between processes; its directory is made (0700) when first asked for."""
        if not self._directory_made:  # once: every request takes the lock
            private_dir(self.path.parent)
            self._directory_made = True
        return self._lock

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def read(self) -> dict[str, Any] | None:
        """The whole state (snapshot plus log), or None before the first save."""
        identity = self._identity()
        if identity is None:
            return None
        data = self._parse_snapshot()
        self._snapshot_seen, self._log_offset, self._log_entries = identity, 0, 0
        for slug, record in self._new_log_entries():
            data["merchants"][slug] = record
        return data

    def _parse_snapshot(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot read the sandbox state ({exc.strerror or exc})") from None
        except json.JSONDecodeError as exc:
            raise StateFileError(f"{self.path}:{exc.lineno}:{exc.colno}: the sandbox state file is "
                                 f"corrupt ({exc.msg}); {_FRESH}") from None
        except (UnicodeDecodeError, RecursionError):
            raise StateFileError(f"{self.path}: the sandbox state file is corrupt (not UTF-8 JSON); "
                                 f"{_FRESH}") from None
        if not isinstance(data, dict) or not isinstance(data.get("merchants"), dict):
            raise StateFileError(f"{self.path}: not a sandbox state file; {_FRESH}")
        return data

    def _new_log_entries(self) -> list[tuple[str, dict[str, Any]]]:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a torn last line is ignored
        self._log_offset += len(complete)
        entries = [self._log_entry(line) for line in complete.splitlines() if line.strip()]
        self._log_entries += len(entries)
        return entries

    def _log_entry(self, line: bytes) -> tuple[str, dict[str, Any]]:
        try:
            entry = json.loads(line)
            slug, record = entry["merchant"], entry["record"]
        except (ValueError, KeyError, TypeError, RecursionError):
            slug = record = None
        if not isinstance(slug, str) or not isinstance(record, dict):
            raise StateFileError(f"{self.log_path}: a line of the sandbox state log is corrupt; "
                                 f"move it and {self.path.name} away and the sandbox starts afresh")
        return slug, record

    def load_if_changed(self, emulator: Emulator) -> bool:
        """Bring `emulator` up to date with another process's writes; True if anything changed."""
        identity = self._identity()
        if identity is None:
            return False
        log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
        if identity != self._snapshot_seen or log_size < self._log_offset:
            data = self.read()
            if data is not None:
                emulator.load(data, copy_data=False)
            return True
        if log_size == self._log_offset:
            return False
        entries = self._new_log_entries()
        for slug, record in entries:
            emulator.replace_merchant(slug, record)
        return bool(entries)

    def save(self, emulator: Emulator) -> None:
        """Persist what changed in `emulator` since the last save."""
        whole, slugs = emulator.take_changes()
        with self.lock:
            if whole or self._identity() is None or self._log_entries + len(slugs) > COMPACT_AFTER:
                self._write_snapshot(emulator)
            elif slugs:
                self._append(emulator, slugs)

    def _append(self, emulator: Emulator, slugs: set[str]) -> None:
        lines = b"".join(
            json.dumps({"merchant": slug, "record": emulator.merchants[slug]}, separators=(",", ":")).encode()
            + b"\n"
            for slug in sorted(slugs)
            if slug in emulator.merchants
        )
        with append_private(self.log_path, binary=True) as handle:
            start = handle.tell()
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())
        if start == self._log_offset:  # else another writer's lines precede ours: re-read them later
            self._log_offset = start + len(lines)
            self._log_entries += len(slugs)

    def _write_snapshot(self, emulator: Emulator) -> None:
        private_dir(self.path.parent)
        text = json.dumps(emulator.data, separators=(",", ":"))
        replace_file(self.path, text, mode=FILE_MODE)
        self.log_path.unlink(missing_ok=True)
        self._snapshot_seen, self._log_offset, self._log_entries = self._identity(), 0, 0
