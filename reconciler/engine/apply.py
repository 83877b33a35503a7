"""Applying a plan: in dependency order, stop at the first failed write of a
merchant, carry on with the other merchants, journal every write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler import declarations
from reconciler.backend import BackendLost, LockLost, RunJournal
from reconciler.engine.fleet import bounded_map
from reconciler.engine.plan import MerchantPlan, ProviderSource, error_text
from reconciler.model import Change, DesiredState
from reconciler.providers.base import Provider

log = logging.getLogger("reconciler.engine")

APPLIED, FAILED, SKIPPED = "applied", "failed", "skipped"


@dataclass(frozen=True)
class Outcome:
    change: Change
    result: str  # applied | failed | skipped
    reason: str | None = None


@dataclass
class MerchantReport:
    slug: str
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None  # set when the merchant could not be applied at all
    backend_lost: str | None = None  # the journal could not record a write: stopped there

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def failed(self) -> bool:
        return self.error is not None or self.count(FAILED) > 0

    def to_json(self) -> dict:
        return {
            "merchant": self.slug,
            "error": self.error,
            "changes": [
                {"address": o.change.address, "action": o.change.action.value,
                 "result": o.result, "reason": o.reason}
                for o in self.outcomes
            ],
        }


def _unproven(change: Change, plan: MerchantPlan) -> str | None:
    """Writes go only through contracts whose read succeeded, with the expected shape, in this run."""
    contract = declarations.contract_of(change.address)
    if contract is None or contract.id in plan.proven:
        return None
    return f"not sent: contract {contract.id} was not read with its expected shape in this run"


def _skip_reason(change: Change, allow_destructive: bool) -> str | None:
    if change.blocked_by is None:
        return None
    if change.blocked_by == "destructive":
        return None if allow_destructive else "destructive: needs --allow-destructive"
    return f"held back until manual action {change.blocked_by} is done"


async def apply_merchant(plan: MerchantPlan, desired: DesiredState,
                         providers: Mapping[str, Provider], journal: RunJournal, *,
                         allow_destructive: bool) -> MerchantReport:
    report = MerchantReport(plan.slug)
    stopped: str | None = None
    for change in plan.changes:
        reason = _skip_reason(change, allow_destructive) or _unproven(change, plan)
        if reason or stopped:
            report.outcomes.append(Outcome(change, SKIPPED, reason or stopped))
            continue
        try:
            await journal.record(plan.slug, change, "intent")
        except BackendLost as exc:  # never send a write the journal (or the lock) does not cover
            report.backend_lost = str(exc)
            report.outcomes.append(Outcome(change, FAILED, f"not sent: {exc}"))
            stopped = ("not attempted: the merchant's lock was lost" if isinstance(exc, LockLost)
                       else "not attempted: the journal could not record writes")
            continue
        try:
            await providers[change.service].apply(change, desired)
        except Exception as exc:  # one failed write stops this merchant only
            message = error_text(exc)
            report.outcomes.append(Outcome(change, FAILED, message))
            stopped = f"not attempted: an earlier write failed ({change.address})"
            await _record_outcome(journal, report, plan.slug, change, "failed", message)
            continue
        report.outcomes.append(Outcome(change, APPLIED))
        if not await _record_outcome(journal, report, plan.slug, change, "applied"):
            stopped = "not attempted: the journal could not record writes"
    return report


async def _record_outcome(journal: RunJournal, report: MerchantReport, slug: str, change: Change,
                          phase: str, error: str | None = None) -> bool:
    """Record a write's outcome; False (and the report says why) when the backend is gone."""
    try:
        await journal.record(slug, change, phase, error)
    except BackendLost as exc:
        report.backend_lost = str(exc)
        return False
    return True


async def apply_fleet(plans: list[MerchantPlan], merchants: Mapping[str, DesiredState],
                      source: ProviderSource, journal: RunJournal, *, allow_destructive: bool,
                      parallelism: int = 10,
                      on_done: Callable[[MerchantReport], None] | None = None,
                      ) -> list[MerchantReport]:
    async def one(plan: MerchantPlan) -> MerchantReport:
        desired = merchants[plan.slug]
        try:
            providers = source.providers(desired)
        except Exception as exc:  # e.g. an unset secret on a live target
            return MerchantReport(plan.slug, error=error_text(exc))
        return await apply_merchant(plan, desired, providers, journal,
                                    allow_destructive=allow_destructive)

    return await bounded_map(plans, one, parallelism=parallelism, on_done=on_done)
