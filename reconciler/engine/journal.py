"""Every write, journaled as it happens (JSON lines under `<state>/journal/`).

Each write gets an `intent` line before the request is sent and an
`applied` or `failed` line after. An `intent` with no outcome is a write
that was in flight when the process died: writes set absolute values, so
re-running the apply (after a fresh plan) converges either way. Values in the
journal are the plan's already-redacted before/after; errors are redacted.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.model import Change
from reconciler.secrets import redactor


class Journal:
    def __init__(self, state_dir: Path, target: str) -> None:
        directory = state_dir / "journal"
        directory.mkdir(parents=True, exist_ok=True)
        self.run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
        self.path = directory / f"{self.run_id}.jsonl"
        self.target = target
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    def record(self, merchant: str, change: Change, phase: str, error: str | None = None) -> None:
        entry: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "run": self.run_id, "target": self.target, "merchant": merchant,
            "address": change.address, "action": change.action.value,
            "before": change.before, "after": change.after, "phase": phase,
        }
        if error:
            entry["error"] = redactor.redact(error)
        line = redactor.redact(json.dumps(entry, ensure_ascii=False))
        with self._lock:
            self._file.write(line + "\n")
            # Flushed to the kernel before the request is sent: the line
            # survives the process being killed (not a power cut, like any
            # write-back cache), without an fsync stalling the event loop.
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def _pending_in(path: Path) -> list[dict[str, Any]]:
    pending: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # a line cut short by a crash
        phase = entry.get("phase")
        if phase == "acknowledged":
            return []  # a later run re-read live state after this one died
        key = (entry.get("merchant", ""), entry.get("address", ""))
        if phase == "intent":
            pending[key] = entry
        else:
            pending.pop(key, None)
    return list(pending.values())


def in_flight(state_dir: Path) -> list[dict[str, Any]]:
    """Writes whose outcome was never recorded, from runs no later run has acknowledged."""
    directory = state_dir / "journal"
    if not directory.is_dir():
        return []
    return [entry for path in sorted(directory.glob("*.jsonl")) for entry in _pending_in(path)]


def acknowledge(state_dir: Path, by_run: str) -> int:
    """Mark interrupted runs as seen, once a new run has re-read live state. Returns how many."""
    directory = state_dir / "journal"
    count = 0
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        if _pending_in(path):
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"phase": "acknowledged", "by": by_run}) + "\n")
            count += 1
    return count
