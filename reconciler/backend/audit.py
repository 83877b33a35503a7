"""The audit log: one entry per write, append-only, on every backend.

An entry says who (user, host, pid, CI run), when, against what target,
which merchant and address, the action, the redacted before and after, the
checksum of the plan being applied, and the outcome (applied or failed,
with the redacted error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.backend.identity import Identity
from reconciler.model import Change
from reconciler.secrets import redactor

FIELDS = ("ts", "run", "user", "host", "pid", "ci_url", "target", "merchant", "address",
          "action", "before", "after", "plan_checksum", "outcome", "error")


def redact_value(value: Any) -> Any:
    """Redact by value before it is serialized (never the JSON text): a string holding a
    secret becomes `***` whole, so neither where the secret sat nor its length shows."""
    return redactor.redact_values(value)


@dataclass(frozen=True)
class AuditContext:
    """What every entry of one apply run shares."""

    identity: Identity
    target: str
    run: str
    plan_checksum: str

    def entry(self, merchant: str, change: Change, outcome: str,
              error: str | None = None) -> dict[str, Any]:
        who = self.identity
        return {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "run": self.run,
            "user": who.user, "host": who.host, "pid": who.pid, "ci_url": who.ci_url,
            "target": self.target, "merchant": merchant, "address": change.address,
            "action": change.action.value, "before": redact_value(change.before),
            "after": redact_value(change.after), "plan_checksum": self.plan_checksum,
            "outcome": outcome, "error": redactor.redact(error) if error else None,
        }


_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`30m`, `12h`, `7d`, `2w` ago, or an ISO 8601 date or time (UTC when no offset is given)."""
    text = text.strip()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), _UNITS[match.group(2)]
        return (now or datetime.now(UTC)) - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: use a duration (30m, 12h, 7d, 2w) or an ISO date "
                         "or time (2026-12-01, 2026-12-01T09:30:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entry_time(entry: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(entry["ts"]))
    except (KeyError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def render_text(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "No writes recorded."
    lines = []
    for e in entries:
        where = f" {e['ci_url']}" if e.get("ci_url") else ""
        failed = f": {e['error']}" if e.get("error") else ""
        lines.append(f"{e['ts']}  {e['merchant']}  {e['address']}  {e['action']}  "
                     f"{e['outcome']}{failed}  by {e['user']}@{e['host']}{where}  "
                     f"target {e['target']}  plan {e['plan_checksum']}")
    return "\n".join(lines)
