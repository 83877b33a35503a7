"""Verify output: one line per check for people, or one JSON document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.verify.results import MerchantReport, Status, summary

_LABEL = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP"}


def render_text(target: str, reports: Sequence[MerchantReport], header: bool = True) -> str:
    lines = [f"Target: {target}"] if header else []
    for report in reports:
        for check in report.checks:
            lines.append(f"{_LABEL[check.status]} {report.merchant} {check.id}: {check.reason}")
            if check.status is Status.FAIL and check.hint:
                lines.append(f"     fix: {check.hint}")
    totals = summary(reports)
    lines.append(
        f"Verified {totals['merchants']} merchant(s): {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['skipped']} skipped"
        + (f"; {totals['merchants_failed']} merchant(s) failing" if totals["merchants_failed"] else "")
    )
    return "\n".join(lines)


def document(target: str, reports: Sequence[MerchantReport]) -> dict[str, Any]:
    return {
        "target": target,
        "merchants": [r.to_json() for r in reports],
        "summary": summary(reports),
    }
