"""The JSON plan document (docs/design.md section 5, format_version "1") and its checksum.

The checksum covers what a reviewer approves: the target and, per merchant,
its status, error, changes and manual actions, in slug order. It leaves out
when and by which version the plan was made, so the same inputs always give
the same checksum, and merged shard plans give the unsharded plan's checksum.

Each merchant entry also carries its own `checksum` (the same content, for
that merchant alone), so `apply --plan --merchant/--exclude/--shard` can
check the selected part of a reviewed plan for staleness without the rest.

Entries are redacted by value before any checksum is taken, so the saved,
printed and checked documents are the same bytes-for-meaning.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from reconciler import __version__
from reconciler.secrets import redactor

FORMAT_VERSION = "1"
_CHECKSUM_KEYS = ("merchant", "status", "error", "changes", "manual_actions")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(payload: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def checksum(target: str, merchants: Iterable[Mapping[str, Any]]) -> str:
    """The whole plan's checksum (the per-merchant `checksum` fields are not part of it)."""
    entries = sorted(
        ({k: m.get(k) for k in _CHECKSUM_KEYS} for m in merchants),
        key=itemgetter("merchant"),
    )
    return _digest({"format_version": FORMAT_VERSION, "target": target, "merchants": entries})


def merchant_checksum(target: str, merchant: Mapping[str, Any]) -> str:
    """One merchant's part of a plan, on its own: what `apply --plan` with a selection checks."""
    entry = {k: merchant.get(k) for k in _CHECKSUM_KEYS}
    return _digest({"format_version": FORMAT_VERSION, "target": target, "merchant": entry})


def summarize(merchants: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    summary = {"merchants": 0, "with_changes": 0, "create": 0, "update": 0, "delete": 0,
               "manual": 0, "blocked": 0, "held": 0, "errored": 0}
    for m in merchants:
        summary["merchants"] += 1
        changes = m.get("changes") or []
        if changes:
            summary["with_changes"] += 1
        for change in changes:
            summary[change["action"]] += 1
            blocked_by = change.get("blocked_by")
            if blocked_by == "destructive":
                summary["blocked"] += 1  # refused by apply without --allow-destructive
            elif blocked_by:
                summary["held"] += 1  # waits for a manual action; apply skips it
        summary["manual"] += len(m.get("manual_actions") or [])
        if m.get("status") == "error":
            summary["errored"] += 1
    return summary


def build_document(target: str, merchants: Sequence[Mapping[str, Any]],
                   created_at: datetime | None = None) -> dict[str, Any]:
    """Assemble a plan document from per-merchant entries (any order), redacted by value."""
    ordered = [{**m, "checksum": merchant_checksum(target, m)}
               for m in redactor.redact_values(sorted(merchants, key=lambda m: m["merchant"]))]
    return {
        "format_version": FORMAT_VERSION,
        "tool_version": __version__,
        "target": target,
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "checksum": checksum(target, ordered),
        "summary": summarize(ordered),
        "merchants": ordered,
    }
