"""What a verify run reports: one result per check, per merchant, and a summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One check of one merchant. `hint` says how to fix a failure (empty otherwise)."""

    id: str
    status: Status
    reason: str
    hint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status.value, "reason": self.reason,
                "hint": self.hint or None}


def passed(check_id: str, reason: str) -> CheckResult:
    return CheckResult(check_id, Status.PASS, reason)


def failed(check_id: str, reason: str, hint: str) -> CheckResult:
    return CheckResult(check_id, Status.FAIL, reason, hint)


def skipped(check_id: str, reason: str) -> CheckResult:
    return CheckResult(check_id, Status.SKIP, reason)


@dataclass(frozen=True)
class MerchantReport:
    merchant: str
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        return any(c.status is Status.FAIL for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"merchant": self.merchant, "checks": [c.to_json() for c in self.checks]}


def summary(reports: Sequence[MerchantReport]) -> dict[str, int]:
    checks = [c for r in reports for c in r.checks]
    return {
        "merchants": len(reports),
        "merchants_failed": sum(1 for r in reports if r.failed),
        "checks": len(checks),
        "passed": sum(1 for c in checks if c.status is Status.PASS),
        "failed": sum(1 for c in checks if c.status is Status.FAIL),
        "skipped": sum(1 for c in checks if c.status is Status.SKIP),
    }
