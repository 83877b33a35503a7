"""The plan as a pull-request comment.

Verdict first, then blocked and destructive changes, then a folded table per
merchant, then the checksum and the apply command. GitHub rejects comments
over 65,536 characters: merchant sections that do not fit are folded into a
list of names that points at the plan artifact. Values are shown in full; a
long or multi-line one is shown under the table as a diff.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.output.printable import is_long, line_diff, value_diff

GITHUB_LIMIT = 65_536
MARKER = "<!-- reconciler-plan -->"
_RESERVE = 2_000  # room for the footer and the folded-merchants note


def _cell(value: Any) -> str:
    if is_long(value):
        return "(see below)"
    text = json.dumps(value, ensure_ascii=False)
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _detail(change: dict[str, Any]) -> list[str]:
    """A fenced diff block for a change whose value is long or multi-line; nothing otherwise."""
    before, after = change["before"], change["after"]
    if change["action"] == "update":
        lines = value_diff(before, after)
    else:
        value, sign = (after, "+") if change["action"] == "create" else (before, "-")
        if not is_long(value):
            return []
        lines = [f"{sign} {line[2:]}" for line in line_diff("", value)]
    if not lines:
        return []
    # A fence longer than any run of backticks inside, so no value can close it.
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return ["", f"`{change['address']}`:", "", fence + "diff", *lines, fence]


def verdict(document: dict[str, Any]) -> str:
    s = document["summary"]
    if s["errored"]:
        icon, text = "❌", f"{s['errored']} merchant(s) could not be planned"
    elif s["blocked"]:
        icon, text = "⛔", f"{s['blocked']} destructive change(s) blocked: apply needs --allow-destructive"
    elif s["with_changes"]:
        icon, text = "📝", f"{s['with_changes']} of {s['merchants']} merchant(s) have changes"
    else:
        icon, text = "✅", f"no changes in {s['merchants']} merchant(s)"
    counts = (f"{s['create']} to create, {s['update']} to update, {s['delete']} to delete, "
              f"{s['manual']} manual action(s), {s.get('held', 0)} held back")
    return f"### {icon} reconciler plan on `{document['target']}`: {text}\n\n{counts}."


def _attention(document: dict[str, Any]) -> list[str]:
    rows = []
    for entry in document["merchants"]:
        if entry["status"] == "error":
            rows.append(f"- ❌ **{entry['merchant']}**: {entry['error']}")
        for c in entry["changes"]:
            if c["destructive"] or c["blocked_by"] == "destructive":
                state = "blocked" if c["blocked_by"] == "destructive" else "allowed"
                rows.append(f"- ⛔ **{entry['merchant']}** `{c['address']}` "
                            f"{_cell(c['before'])} → {_cell(c['after'])} ({state})")
    return (["", "#### Needs attention", *rows] if rows else [])


def merchant_section(entry: dict[str, Any]) -> str:
    changes, manual = entry["changes"], entry["manual_actions"]
    if entry["status"] == "error":
        head = f"❌ {entry['merchant']}: error"
    else:
        head = f"{entry['merchant']}: {len(changes)} change(s), {len(manual)} manual action(s)"
    lines = ["<details>", f"<summary>{head}</summary>", ""]
    details: list[str] = []
    if changes:
        lines += ["| | address | before | after | note |", "|---|---|---|---|---|"]
        for c in changes:
            sign = {"create": "+", "update": "~", "delete": "-"}[c["action"]]
            note = c["blocked_by"] and f"held by `{c['blocked_by']}`" or ""
            if c["blocked_by"] == "destructive":
                note = "**blocked: destructive**"
            lines.append(f"| {sign} | `{c['address']}` | {_cell(c['before'])} | "
                         f"{_cell(c['after'])} | {note} |")
            details += _detail(c)
    lines += details
    for action in manual:
        lines.append(f"\n- 🖐 **{action['id']}**: {action['instructions']}")
    if entry["status"] == "error":
        lines.append(f"\n{entry['error']}")
    lines += ["", "</details>"]
    return "\n".join(lines)


def render_markdown(document: dict[str, Any], limit: int = GITHUB_LIMIT,
                    apply_command: str = "reconciler apply --plan plan.json") -> str:
    head = "\n".join([verdict(document), *_attention(document), ""])
    footer = (f"\n---\nChecksum `{document['checksum']}`\n\n"
              f"Apply this reviewed plan with:\n\n```\n{apply_command}\n```\n{MARKER}\n")
    if len(head) > limit // 2:  # a huge attention list is itself folded
        head = head[: limit // 2] + "\n\n… (list truncated: see the plan artifact)\n"
    budget = limit - len(head) - len(footer) - _RESERVE
    sections, folded = [], []
    for entry in document["merchants"]:
        if not entry["changes"] and not entry["manual_actions"] and entry["status"] == "ok":
            continue
        section = merchant_section(entry)
        if len(section) + 1 <= budget:
            sections.append(section)
            budget -= len(section) + 1
        else:
            folded.append(entry["merchant"])
    body = "\n".join(sections)
    if folded:
        names = ", ".join(folded)
        note = f"\n\n{len(folded)} more merchant(s) with changes are in the plan artifact: {names}"
        body += note[: _RESERVE - 10] + ("…" if len(note) > _RESERVE - 10 else "")
    return head + "\n" + body + footer
