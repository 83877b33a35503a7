"""`apply --report FILE`: the run's outcome as JSON, for CI to post on the merged pull request.

Merchants whose outcome is the same (the same addresses, each with the same
result) form one group, so a profile change across thousands of merchants
reads as a few lines: "4,998 merchants: 2 applied".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.engine.apply import MerchantReport

RESULTS = ("applied", "failed", "skipped")


@dataclass
class Collected:
    """What an apply did, filled in as it goes; `stopped` says which stage stopped and why."""

    reports: list[MerchantReport] = field(default_factory=list)
    stopped: str | None = None


def _signature(report: dict[str, Any]) -> tuple:
    return (report["error"] is not None,
            tuple((c["address"], c["result"]) for c in report["changes"]))


def groups(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_signature: dict[tuple, list[dict[str, Any]]] = {}
    for report in reports:
        if report["changes"] or report["error"]:
            by_signature.setdefault(_signature(report), []).append(report)
    out = []
    for members in by_signature.values():
        first = members[0]
        out.append({
            "merchants": [m["merchant"] for m in members],
            **{r: sum(1 for c in first["changes"] if c["result"] == r) for r in RESULTS},
            "error": first["error"] if len(members) == 1 else (first["error"] and "see merchants"),
            "changes": [{"address": c["address"], "result": c["result"]} for c in first["changes"]],
        })
    return sorted(out, key=lambda g: (-len(g["merchants"]), g["merchants"][0]))


def report_document(target: str, code: int, collected: Collected) -> dict[str, Any]:
    reports = [r.to_json() for r in collected.reports]
    totals = {r: sum(1 for m in reports for c in m["changes"] if c["result"] == r)
              for r in RESULTS}
    return {"target": target, "exit_code": code, "stopped": collected.stopped,
            "totals": {**totals, "merchants": len(reports),
                       "merchants_failed": sum(1 for r in collected.reports if r.failed)},
            "groups": groups(reports), "merchants": reports}


def write_report(path: Path, document: dict[str, Any]) -> None:
    from reconciler.commands.common import CommandError
    from reconciler.output.files import OutputFileError, write_atomically
    from reconciler.output.jsonout import pretty
    from reconciler.secrets import redactor

    try:
        write_atomically(path, redactor.redact(pretty(document)) + "\n")
    except OutputFileError as exc:
        raise CommandError(f"--report {exc}") from None


def render_markdown(document: dict[str, Any], limit: int = 60_000) -> str:
    """The comment apply.yml posts: totals, then one line per group (folded past `limit`)."""
    t = document["totals"]
    verdict = {0: "applied", 3: "refused, nothing written", 4: "partial", 5: "refused (stale plan or lock)"}
    lines = [f"### reconciler apply: {verdict.get(document['exit_code'], 'failed')} "
             f"(exit {document['exit_code']})", "",
             f"{t['merchants']} merchant(s): {t['applied']} applied, {t['failed']} failed, "
             f"{t['skipped']} skipped."]
    if document["stopped"]:
        lines += ["", f"**{document['stopped']}**"]
    lines.append("")
    size = sum(len(x) + 1 for x in lines)
    for shown, group in enumerate(document["groups"]):
        names = ", ".join(f"`{m}`" for m in group["merchants"][:20])
        more = len(group["merchants"]) - 20
        line = (f"- **{len(group['merchants'])} merchant(s)**: {group['applied']} applied, "
                f"{group['failed']} failed, {group['skipped']} skipped"
                + (f"; error: {group['error']}" if group["error"] else "")
                + f" ({names}{f' and {more} more' if more > 0 else ''})")
        if size + len(line) > limit:
            lines.append(f"- … {len(document['groups']) - shown} more group(s): see the "
                         "`apply-report` artifact.")
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"
