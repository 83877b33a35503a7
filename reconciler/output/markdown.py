"""The plan as a pull-request comment.

Verdict first, then blocked and destructive changes, then a folded table per
merchant, then the checksum and the apply command. GitHub rejects comments
over 65,536 characters: merchant sections that do not fit are folded into a
list of names that points at the plan artifact.
"""

from __future__ import annotations

import json
from typing import Any

GITHUB_LIMIT = 65_536
MARKER = "<!-- reconciler-plan -->"
_RESERVE = 2_000  # room for the footer and the folded-merchants note


def _cell(value: Any, width: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > width:
        text = text[: width - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


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
                            f"{_cell(c['before'], 40)} → {_cell(c['after'], 40)} ({state})")
    return (["", "#### Needs attention", *rows] if rows else [])


def merchant_section(entry: dict[str, Any]) -> str:
    changes, manual = entry["changes"], entry["manual_actions"]
    if entry["status"] == "error":
        head = f"❌ {entry['merchant']}: error"
    else:
        head = f"{entry['merchant']}: {len(changes)} change(s), {len(manual)} manual action(s)"
    lines = ["<details>", f"<summary>{head}</summary>", ""]
    if changes:
        lines += ["| | address | before | after | note |", "|---|---|---|---|---|"]
        for c in changes:
            sign = {"create": "+", "update": "~", "delete": "-"}[c["action"]]
            note = c["blocked_by"] and f"held by `{c['blocked_by']}`" or ""
            if c["blocked_by"] == "destructive":
                note = "**blocked: destructive**"
            lines.append(f"| {sign} | `{c['address']}` | {_cell(c['before'])} | "
                         f"{_cell(c['after'])} | {note} |")
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
