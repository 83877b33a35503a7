"""`reconciler status`: where each merchant stands in the setup procedure (docs/procedure.md).

Reads live state as `plan` does (never writes to a service), then puts each
merchant in one stage, the first that applies:

- `error`: its plan failed (the reason is shown);
- `waiting`: a manual action is pending (which, and since when);
- `drift`: changes apply would write (a new merchant, or live settings moved);
- `failing`: nothing to apply, but the last recorded verify failed;
- `unverified`: nothing to apply, and no verify result recorded since the
  merchant's last apply (never verified, or the verify is older: stale);
- `verified`: nothing to apply, and the last verify passed.

Manual actions' first-seen times and verify results are kept in the state
directory (reconciler/engine/records.py); the last apply of each merchant is
its latest applied write in the audit log of the backend (`--backend`, so an
apply from another machine counts). Exit 0, or 1 when a merchant errored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.backend import BackendError, open_backend
from reconciler.commands.common import Selection, check_credentials, require_state_dir, say
from reconciler.commands.plan import read_plans
from reconciler.commands.verify import remember_manual
from reconciler.engine import exitcodes
from reconciler.engine.plan import MerchantPlan
from reconciler.engine.records import VERIFY, read
from reconciler.output.jsonout import pretty
from reconciler.targets import Target

STAGES = ("error", "waiting", "drift", "failing", "unverified", "verified")


def _stage(plan: MerchantPlan, drift: int, verified: dict[str, Any] | None) -> str:
    if plan.error:
        return "error"
    if plan.manual_actions:
        return "waiting"
    if drift:
        return "drift"
    if verified is None or verified["stale"]:
        return "unverified"
    return "verified" if verified.get("passed") else "failing"


def _with_staleness(verified: dict[str, Any] | None, last_apply: str | None) -> dict[str, Any] | None:
    """The verify record, with `stale`: true when an apply wrote to the merchant after it."""
    if verified is None:
        return None
    at, applied = _moment(verified.get("at")), _moment(last_apply) if last_apply else None
    stale = applied is not None and (at is None or applied > at)
    return {**verified, "stale": stale}


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def entry(plan: MerchantPlan, since: dict[str, str], verified: dict[str, Any] | None,
          last_apply: str | None = None) -> dict[str, Any]:
    drift = sum(1 for c in plan.changes if c.blocked_by in (None, "destructive"))
    verified = _with_staleness(verified, last_apply)
    return {
        "merchant": plan.slug,
        "stage": _stage(plan, drift, verified),
        "error": plan.error,
        "manual_actions": [{"id": a.id, "title": a.title, "since": since.get(a.id)}
                           for a in plan.manual_actions],
        "drift": drift,
        "held": len(plan.changes) - drift,
        "last_apply": last_apply,
        "last_verify": verified,
    }


def status_document(target: Target, plans: list[MerchantPlan],
                    applied: dict[str, str] | None = None) -> dict[str, Any]:
    """`applied`: per merchant, when an apply last wrote to it (see last_applies)."""
    pending = {p.slug: [a.id for a in p.manual_actions] for p in plans if not p.error}
    since = remember_manual(target, pending)
    verified = read(target.state_dir, VERIFY)
    applied = applied or {}
    merchants = [entry(p, since.get(p.slug, {}), verified.get(p.slug), applied.get(p.slug))
                 for p in sorted(plans, key=lambda p: p.slug)]
    counts = {stage: sum(1 for m in merchants if m["stage"] == stage) for stage in STAGES}
    return {"target": target.name, "stages": counts, "merchants": merchants}


def last_applies(target: Target, backend_spec: str | None, slugs: list[str]) -> dict[str, str]:
    """Per merchant, the time of its latest applied write on this target, from the audit log.

    Only entries since the oldest recorded verify are read: an apply before every verify
    cannot make one stale. An unreadable backend is a warning: status informs, it does not gate.
    """
    verified = read(target.state_dir, VERIFY)
    times = [m for m in (_moment(verified[s].get("at")) for s in slugs
                         if isinstance(verified.get(s), dict)) if m is not None]
    if not times:
        return {}
    wanted = set(slugs)
    latest: dict[str, str] = {}
    try:
        backend = open_backend(backend_spec, target.state_dir)
        try:
            entries = backend.history(None, min(times), _warn)
        finally:
            backend.close()
    except BackendError as exc:
        _warn(f"the last applies could not be read ({exc}); a verify may be shown as current "
              "although an apply came after it")
        return {}
    for e in entries:
        if e.get("outcome") == "applied" and e.get("target") == target.name \
                and e.get("merchant") in wanted:
            latest[e["merchant"]] = max(latest.get(e["merchant"], ""), e["ts"], key=_order)
    return latest


def _warn(text: str) -> None:
    say(f"warning: {text}", err=True)


def _order(ts: str) -> datetime:
    return _moment(ts) or datetime.min.replace(tzinfo=UTC)


def _detail(m: dict[str, Any]) -> str:
    parts = []
    if m["error"]:
        parts.append(m["error"])
    for action in m["manual_actions"]:
        parts.append(f"manual action {action['id']} pending since {action['since'] or 'now'}")
    if m["drift"]:
        parts.append(f"{m['drift']} change(s) to apply")
    if m["held"]:
        parts.append(f"{m['held']} held back")
    last = m["last_verify"]
    if last:
        verdict = "passed" if last["passed"] else "failed (" + ", ".join(last["failed_checks"]) + ")"
        parts.append(f"last verify {verdict} at {last['at']}")
        if last["stale"]:
            parts.append(f"stale: verify before last apply (at {m['last_apply']}); verify again")
    else:
        parts.append("never verified")
    return "; ".join(parts)


def _counts(document: dict[str, Any]) -> str:
    return ", ".join(f"{n} {stage}" for stage, n in document["stages"].items() if n) or "no merchants"


def render_text(document: dict[str, Any]) -> str:
    lines = [f"Target: {document['target']}"]
    lines += [f"{m['merchant']}: {m['stage']}: {_detail(m)}" for m in document["merchants"]]
    lines.append(f"Stages: {_counts(document)}.")
    return "\n".join(lines)


def render_markdown(document: dict[str, Any]) -> str:
    lines = [f"### reconciler status: {document['target']}", "",
             f"**{len(document['merchants'])} merchant(s):** {_counts(document)}.", "",
             "| merchant | stage | details |", "|---|---|---|"]
    for m in document["merchants"]:
        detail = _detail(m).replace("|", "\\|")
        lines.append(f"| `{m['merchant']}` | {m['stage']} | {detail} |")
    return "\n".join(lines) + "\n"


def run_status(target: Target, selection: Selection, merchants_dir: Path, *, fmt: str,
               parallelism: int, workers: int | str | None = None,
               backend_spec: str | None = None) -> int:
    if fmt != "text":
        say(f"Target: {target.name}", err=True)
    require_state_dir(target)
    check_credentials(target, selection.chosen)
    plans = read_plans(target, selection, merchants_dir, parallelism, workers, verb="read")
    applied = last_applies(target, backend_spec, [p.slug for p in plans])
    document = status_document(target, plans, applied)
    renderers = {"json": pretty, "markdown": render_markdown, "text": render_text}
    say(renderers[fmt](document))
    return exitcodes.ERROR if document["stages"]["error"] else exitcodes.OK
