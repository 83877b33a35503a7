"""What `status` remembers between runs, in the state directory (files 0600).

- `status/manual-actions.json`: per merchant, each pending manual action and
  when a run first saw it pending ("since when"); an action no longer
  pending is forgotten, so a later one starts its own clock.
- `status/verify.json`: per merchant, the last verify result (when, passed,
  the failing checks).

Both hold slugs, action and check ids and times only, never a secret. A
record that cannot be read starts empty; one that cannot be written is a
warning, not a failed run: they inform, they do not gate.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANUAL = "manual-actions.json"
VERIFY = "verify.json"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read(state_dir: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads((state_dir / "status" / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write(state_dir: Path, name: str, data: Mapping[str, Any]) -> None:
    """Atomically, 0600 from the first byte (mkstemp creates the file so)."""
    directory = state_dir / "status"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def note_manual_actions(state_dir: Path, pending: Mapping[str, Iterable[str]],
                        at: str | None = None) -> dict[str, dict[str, str]]:
    """Record first-seen times of the pending actions of the merchants in `pending`."""
    at = at or now()
    known = read(state_dir, MANUAL)
    for slug, actions in pending.items():
        before = known.get(slug)
        if not isinstance(before, dict):
            before = {}
        current = {a: before.get(a, at) for a in actions}
        if current:
            known[slug] = current
        else:
            known.pop(slug, None)
    write(state_dir, MANUAL, known)
    return known


def note_verify(state_dir: Path, results: Mapping[str, list[str]], at: str | None = None) -> None:
    """`results`: slug -> the ids of its failed checks (empty: every check passed)."""
    # Milliseconds, as the audit log's times: status compares them with the last apply.
    at = at or datetime.now(UTC).isoformat(timespec="milliseconds")
    known = read(state_dir, VERIFY)
    for slug, failed in results.items():
        known[slug] = {"at": at, "passed": not failed, "failed_checks": list(failed)}
    write(state_dir, VERIFY, known)
