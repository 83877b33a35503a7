"""Plans and apply reports for people: `+ ~ -` lines, a summary line, color on terminals.

Every value is shown in full with its control characters escaped; a long or
multi-line value gets lines of its own and a word or line diff.
"""

from __future__ import annotations

import os
import textwrap
from typing import Any

import click

from reconciler.output.groups import groups_of
from reconciler.output.printable import change_diff, is_long, show, terminal_safe

SYMBOL = {"create": ("+", "green"), "update": ("~", "yellow"), "delete": ("-", "red")}


_color_allowed = True  # `--no-color` turns it off for the run (set_color_allowed)


def set_color_allowed(allowed: bool) -> None:
    global _color_allowed
    _color_allowed = allowed


def use_color(stream_is_tty: bool) -> bool:
    """Color on a terminal, unless --no-color, NO_COLOR (non-empty, as no-color.org says) or TERM=dumb."""
    return (_color_allowed and stream_is_tty and not os.environ.get("NO_COLOR")
            and os.environ.get("TERM") != "dumb")


def _style(text: str, color: bool, **kwargs: Any) -> str:
    return click.style(text, **kwargs) if color else text


def render_change(change: dict[str, Any], color: bool) -> str:
    symbol, fg = SYMBOL[change["action"]]
    line = f"  {symbol} {terminal_safe(change['address'])}: "
    before, after = change["before"], change["after"]
    if change["action"] == "create":
        line += "(new value below)" if is_long(after) else show(after)
    elif change["action"] == "delete":
        line += "(remove the value below)" if is_long(before) else f"{show(before)} (remove)"
    elif is_long(before) or is_long(after):
        line += "(changed, see below)"
    else:
        line += f"{show(before)} -> {show(after)}"
    line = _style(line, color, fg=fg)
    if change.get("blocked_by") == "destructive":
        line += _style("  [destructive: blocked, needs --allow-destructive]", color, fg="red", bold=True)
    elif change.get("blocked_by"):
        line += _style(f"  [held back by {terminal_safe(change['blocked_by'])}]", color, fg="cyan")
    elif change.get("destructive"):
        line += _style("  [destructive]", color, fg="red")
    return line


def change_detail(change: dict[str, Any]) -> list[str]:
    """The lines under a change whose value is long or multi-line: values in full, then a diff."""
    return [f"      {line}" for line in change_diff(change)]


def render_merchant(entry: dict[str, Any], color: bool) -> list[str]:
    slug = _style(entry["merchant"], color, bold=True)
    if entry["status"] == "error":
        return [f"{slug}: " + _style(f"error: {terminal_safe(entry['error'])}", color, fg="red")]
    changes, manual = entry["changes"], entry["manual_actions"]
    unavailable = [_style(f"  ? unavailable {u['contract']}: {u['endpoint']}: {u['reason']}", color,
                          fg="yellow") for u in entry.get("unavailable") or []]
    if not changes and not manual:
        return [f"{slug}: no changes", *unavailable]
    lines = [f"{slug}: {len(changes)} to change, {len(manual)} manual action(s)", *unavailable]
    for change in changes:
        lines.append(render_change(change, color))
        lines += change_detail(change)
    for action in manual:
        title = terminal_safe(f"{action['id']}: {action.get('title') or ''}", keep_newlines=False)
        lines.append(_style(f"  ! manual {title}", color, fg="cyan"))
        lines.append(f"      {terminal_safe(action['instructions'])}")
        if action.get("link"):
            lines.append(f"      {terminal_safe(action['link'], keep_newlines=False)}")
    return lines


def summary_line(summary: dict[str, int]) -> str:
    held = summary.get("held", 0)
    return (
        f"Plan: {summary['create']} to create, {summary['update']} to update, "
        f"{summary['delete']} to delete; {summary['manual']} manual action(s); "
        f"{summary['blocked']} blocked, {held} held back; {summary['merchants']} merchant(s), "
        f"{summary['with_changes']} with changes, {summary['errored']} errored."
    )


def render_group(group: dict[str, Any], color: bool) -> list[str]:
    """A change set of several merchants: its changes once, as stated, then who shares them."""
    who = _style(f"{len(group['merchants']):,} merchants", color, bold=True)
    changes, manual = group["changes"], group["manual_actions"]
    if group["status"] == "error":
        lines = [f"{who}: " + _style(f"error: {terminal_safe(group['error'])}", color, fg="red")]
    elif not changes and not manual:
        lines = [f"{who}: no changes"]
    else:
        lines = [f"{who}: {len(changes)} to change, {len(manual)} manual action(s)"]
    for change in changes:
        note = "  (as the template states it)" if change.get("templated") else ""
        # wider than a merchant's line: a template's edit is often at its end
        lines.append(render_change(change, color) + note)
        lines += change_detail(change)
    for action in manual:
        title = terminal_safe(f"{action['id']}: {action.get('title') or ''}", keep_newlines=False)
        lines.append(_style(f"  ! manual {title}", color, fg="cyan"))
    names = textwrap.wrap(terminal_safe(", ".join(group["merchants"]), keep_newlines=False), width=100,
                          break_on_hyphens=False, break_long_words=False)
    return [*lines, "  merchants: " + (names[0] if names else ""), *(f"    {n}" for n in names[1:])]


def render_plan(document: dict[str, Any], color: bool = False, header: bool = True) -> str:
    """`header`: start with the `Target:` line (off when the command printed it already)."""
    lines = [f"Target: {document['target']}"] if header else []
    if document.get("commit"):
        lines.append(f"Commit: {document['commit']}")
    entries = {entry["merchant"]: entry for entry in document["merchants"]}
    for group in groups_of(document):
        if len(group["merchants"]) == 1:  # one merchant: its own values, as planned
            lines += render_merchant(entries[group["merchants"][0]], color)
        else:
            lines += render_group(group, color)
    lines.append(summary_line(document["summary"]))
    lines.append(f"Checksum: {document['checksum']}")
    return "\n".join(lines)


def render_report(reports: list[dict[str, Any]], color: bool = False) -> str:
    lines: list[str] = []
    totals = {"applied": 0, "failed": 0, "skipped": 0}
    for report in reports:
        slug = _style(report["merchant"], color, bold=True)
        if report.get("error"):
            lines.append(f"{slug}: " + _style(f"not applied: {terminal_safe(report['error'])}", color,
                                              fg="red"))
            continue
        if not report["changes"]:
            continue
        lines.append(f"{slug}:")
        for change in report["changes"]:
            totals[change["result"]] += 1
            fg = {"applied": "green", "failed": "red", "skipped": "yellow"}[change["result"]]
            text = f"  {change['result']:<8} {terminal_safe(change['address'])}"
            if change.get("reason"):
                text += f"  ({terminal_safe(change['reason'])})"
            lines.append(_style(text, color, fg=fg))
    lines.append(
        f"Apply: {totals['applied']} applied, {totals['failed']} failed, {totals['skipped']} skipped."
    )
    return "\n".join(lines)
