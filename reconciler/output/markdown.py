"""The plan as a pull-request comment.

Verdict first (with the commit planned), then what needs attention, then one
folded table per change set (merchants with the same changes, shown once with
their count), then the checksum and, only when there is something to apply,
the apply command. GitHub rejects comments over 65,536 characters: every
change set is always named with its count; the lists of merchant names are
shortened to fit, saying how many are left out and that the full plan is the
`reconciler-plan` artifact. Blank lines around every HTML block keep the
markdown after it (tables, the footer's rule) rendering as markdown. Values are
shown in full; a long or multi-line one is shown under its table as a diff.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.output.groups import groups_of
from reconciler.output.printable import change_diff, is_long

GITHUB_LIMIT = 65_536
MARKER = "<!-- reconciler-plan -->"
ARTIFACT = "the `reconciler-plan` artifact (plan.json)"
_MARGIN = 200  # the workflow prepends the marker; a few lines of slack for it
_SIGN = {"create": "+", "update": "~", "delete": "-"}


def _n(count: int) -> str:
    return f"{count:,}"


def _cell(value: Any) -> str:
    if is_long(value):
        return "(see below)"
    text = json.dumps(value, ensure_ascii=False)
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _detail(change: dict[str, Any]) -> list[str]:
    """A fenced diff block for a change whose value is long or multi-line; nothing otherwise."""
    lines = change_diff(change)
    if not lines:
        return []
    # A fence longer than any run of backticks inside, so no value can close it.
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return ["", f"`{change['address']}`:", "", fence + "diff", *lines, fence]


def _commit(document: dict[str, Any]) -> str:
    commit = document.get("commit")
    return f" at commit `{commit[:12]}`" if commit else ""


def verdict(document: dict[str, Any]) -> str:
    s = document["summary"]
    if s["errored"]:
        icon, text = "❌", f"{_n(s['errored'])} merchant(s) could not be planned"
    elif s["blocked"]:
        icon, text = "⛔", f"{_n(s['blocked'])} destructive change(s) blocked: apply needs --allow-destructive"
    elif s["with_changes"]:
        icon, text = "📝", f"{_n(s['with_changes'])} of {_n(s['merchants'])} merchant(s) have changes"
    else:
        icon, text = "✅", f"no changes in {_n(s['merchants'])} merchant(s)"
    counts = (f"{_n(s['create'])} to create, {_n(s['update'])} to update, {_n(s['delete'])} to delete, "
              f"{_n(s['manual'])} manual action(s), {_n(s.get('held', 0))} held back")
    return (f"### {icon} reconciler plan on `{document['target']}`{_commit(document)}: {text}"
            f"\n\n{counts}.")


def _who(group: dict[str, Any]) -> str:
    members = group["merchants"]
    if len(members) == 1:
        return f"**{members[0]}**"
    return f"**{_n(len(members))} merchants** ({members[0]}, …)"


def _attention(groups: list[dict[str, Any]]) -> list[str]:
    rows = []
    for group in groups:
        if group["status"] == "error":
            rows.append(f"- ❌ {_who(group)}: {group['error']}")
        for c in group["changes"]:
            if c["destructive"] or c["blocked_by"] == "destructive":
                state = "blocked" if c["blocked_by"] == "destructive" else "allowed"
                rows.append(f"- ⛔ {_who(group)} `{c['address']}` "
                            f"{_cell(c['before'])} → {_cell(c['after'])} ({state})")
    return rows


def _title(group: dict[str, Any]) -> str:
    count, changes, manual = len(group["merchants"]), group["changes"], group["manual_actions"]
    who = group["merchants"][0] if count == 1 else f"{_n(count)} merchants"
    if group["status"] == "error":
        return f"❌ {who}: error"
    if not changes and not manual:
        return f"{who}: no changes"
    return f"{who}: {_n(len(changes))} change(s), {_n(len(manual))} manual action(s)"


def group_table(group: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    details: list[str] = []
    if group["changes"]:
        lines += ["| | address | before | after | note |", "|---|---|---|---|---|"]
        for c in group["changes"]:
            notes = []
            if c["blocked_by"] == "destructive":
                notes.append("**blocked: destructive**")
            elif c["blocked_by"]:
                notes.append(f"held by `{c['blocked_by']}`")
            if c.get("templated"):
                notes.append("as the template states it")
            lines.append(f"| {_SIGN[c['action']]} | `{c['address']}` | {_cell(c['before'])} | "
                         f"{_cell(c['after'])} | {'; '.join(notes)} |")
            details += _detail(c)
        lines += [*details, ""]
    for action in group["manual_actions"]:
        lines.append(f"- 🖐 **{action['id']}**: {action.get('title') or ''}")
    if group["manual_actions"]:
        lines.append("")
    if group["status"] == "error":
        lines += [str(group["error"]), ""]
    return lines


def _names(group: dict[str, Any], budget: int) -> tuple[str, int]:
    """The group's merchant list within `budget` characters, and how many it leaves out."""
    members = group["merchants"]
    full = "Merchants: " + ", ".join(members)
    if len(full) <= budget:
        return full, 0
    shown, used = [], len("Merchants: ") + 120  # room for the "and N more" note
    for slug in members:
        if used + len(slug) + 2 > budget:
            break
        shown.append(slug)
        used += len(slug) + 2
    left = len(members) - len(shown)
    head = ", ".join(shown) + ", " if shown else ""
    return f"Merchants: {head}and {_n(left)} more: every name is in {ARTIFACT}", left


def _section(group: dict[str, Any], names: str | None) -> str:
    lines = ["<details>", f"<summary>{_title(group)}</summary>", "", *group_table(group)]
    if names:
        lines += [names, ""]
    lines += ["</details>", ""]
    return "\n".join(lines)


def _footer(document: dict[str, Any], apply_command: str) -> str:
    lines = ["", "---", "", f"Checksum `{document['checksum']}`{_commit(document)}", ""]
    if document["summary"]["with_changes"]:
        lines += ["Apply this reviewed plan with:", "", "```", apply_command, "```", ""]
    else:
        lines += ["Nothing to apply.", ""]
    return "\n".join([*lines, MARKER, ""])


def render_markdown(document: dict[str, Any], limit: int = GITHUB_LIMIT,
                    apply_command: str = "reconciler apply --plan plan.json") -> str:
    groups = groups_of(document)
    shown = [g for g in groups if g["changes"] or g["manual_actions"] or g["status"] == "error"]
    quiet = sum(len(g["merchants"]) for g in groups) - sum(len(g["merchants"]) for g in shown)
    head = [verdict(document), ""]
    rows = _attention(shown)
    footer = _footer(document, apply_command)
    budget = limit - _MARGIN - len(footer)
    if rows:
        head += ["#### Needs attention", ""]
        text = "\n".join(rows)
        if len(text) > budget // 4:  # a huge attention list is itself folded, at a line
            text = text[: text.rfind("\n", 0, budget // 4)] + f"\n- … more in {ARTIFACT}"
        head += [text, ""]
    if shown:
        head += [f"#### {_n(len(shown))} change set(s)"
                 + (f"; {_n(quiet)} merchant(s) with no changes" if quiet else ""), ""]
    body = _sections(shown, budget - len("\n".join(head)) - 1)
    return "\n".join(head) + "\n" + body + footer


def _sections(groups: list[dict[str, Any]], budget: int) -> str:
    """Every group's section; names of merchants as far as the budget goes."""
    bare = [_section(g, None) for g in groups]
    fixed = sum(len(s) + 1 for s in bare)
    if fixed > budget:
        return _folded_sections(groups, bare, budget)
    spare = budget - fixed
    out = []
    for group, section in zip(groups, bare, strict=True):
        names, _ = _names(group, spare)
        if len(names) + 1 <= spare and names:
            section = _section(group, names)
            spare -= len(names) + 1
        out.append(section)
    return "\n".join(out)


def _folded_sections(groups: list[dict[str, Any]], bare: list[str], budget: int) -> str:
    """More change sets than fit: the first in full, then one line each, then a count of the rest."""
    lines = [f"- {_title(g)}" for g in groups]
    after = [0] * (len(lines) + 1)  # after[i]: characters of the one-liners from i on
    for i in range(len(lines) - 1, -1, -1):
        after[i] = after[i + 1] + len(lines[i]) + 1
    out, used, index = [], 0, 0
    while index < len(groups):  # a full section while the rest still fit as one-liners
        rest = min(after[index + 1] + 400, budget // 2)
        if used + len(bare[index]) + 1 + rest > budget:
            break
        out.append(bare[index])
        used += len(bare[index]) + 1
        index += 1
    listed = []
    for line in lines[index:]:
        if used + len(line) + 1 + 400 > budget:
            break
        listed.append(line)
        used += len(line) + 1
    left = groups[index + len(listed):]
    out += ["", "Change sets without their tables (those are in the artifact):", "", *listed]
    if left:
        merchants = sum(len(g["merchants"]) for g in left)
        out.append(f"- … {_n(len(left))} more change set(s) of {_n(merchants)} merchant(s): "
                   f"see {ARTIFACT}")
    return "\n".join([*out, ""])
