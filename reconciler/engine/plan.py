"""Planning: read every service for each merchant, concurrently, and diff.

`plan_fleet` only ever receives providers built on read-only clients when
called for a plan; it has no way to write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.engine import diff, gates
from reconciler.engine.fleet import bounded_map
from reconciler.engine.unavailable import unavailable_actions
from reconciler.model import Change, DesiredState, ManualAction, ServiceSnapshot, Unavailable
from reconciler.providers.base import Provider
from reconciler.secrets import redactor

log = logging.getLogger("reconciler.engine")


class ProviderSource(Protocol):
    def providers(self, merchant: DesiredState) -> Mapping[str, Provider]: ...


@dataclass(frozen=True)
class MerchantPlan:
    slug: str
    changes: tuple[Change, ...] = ()
    manual_actions: tuple[ManualAction, ...] = ()
    error: str | None = None
    live: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    unavailable: tuple[Unavailable, ...] = ()
    # Contracts read in this run with the expected shape: apply writes through these only.
    proven: frozenset[str] = field(default_factory=frozenset, compare=False, repr=False)

    @property
    def status(self) -> str:
        return "error" if self.error else "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "merchant": self.slug,
            "status": self.status,
            "error": self.error,
            "changes": [_change_json(c) for c in self.changes],
            "manual_actions": [
                {"id": a.id, "title": a.title, "instructions": a.instructions, "link": a.link}
                for a in self.manual_actions
            ],
            "unavailable": [u.to_json() for u in self.unavailable],
        }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "address": change.address,
        "action": change.action.value,
        "before": change.before,
        "after": change.after,
        "destructive": change.destructive,
        "blocked_by": change.blocked_by,
    }


def error_text(exc: BaseException) -> str:
    """A one-line, redacted description of a failure, for plans and reports."""
    text = str(exc) or type(exc).__name__
    return redactor.redact(" ".join(text.split()))


async def read_live(providers: Mapping[str, Provider]) -> dict[str, ServiceSnapshot]:
    """Read independent services of one merchant concurrently."""
    services = list(providers)
    snapshots = await asyncio.gather(*(providers[s].read() for s in services))
    return dict(zip(services, snapshots, strict=True))


def merge_snapshots(snapshots: Mapping[str, ServiceSnapshot]) -> tuple[dict, dict]:
    settings: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    for snapshot in snapshots.values():
        settings.update(snapshot.settings)
        facts.update(snapshot.facts)
    return settings, facts


def plan_merchant_from_live(desired: DesiredState, settings: Mapping[str, Any],
                            facts: Mapping[str, Any], unavailable: tuple[Unavailable, ...] = (),
                            proven: frozenset[str] = frozenset()) -> MerchantPlan:
    gone = frozenset(u.contract for u in unavailable)
    manual = [*unavailable_actions(desired, unavailable),
              *gates.manual_actions(desired, facts, unavailable=gone)]
    changes = diff.diff(desired, settings, manual)
    return MerchantPlan(desired.slug, tuple(changes), tuple(manual), live=dict(settings),
                        unavailable=unavailable, proven=proven)


async def plan_merchant(desired: DesiredState, source: ProviderSource) -> MerchantPlan:
    try:
        snapshots = await read_live(source.providers(desired))
    except Exception as exc:  # any failure becomes this merchant's error, never a crash
        log.debug("reading %s failed", desired.slug, exc_info=True)
        return MerchantPlan(desired.slug, error=error_text(exc))
    settings, facts = merge_snapshots(snapshots)
    unavailable = tuple(u for s in snapshots.values() for u in s.unavailable)
    proven = frozenset(c for s in snapshots.values() for c in s.proven)
    return plan_merchant_from_live(desired, settings, facts, unavailable, proven)


async def plan_fleet(merchants: list[DesiredState], source: ProviderSource, *,
                     parallelism: int = 10,
                     on_done: Callable[[MerchantPlan], None] | None = None) -> list[MerchantPlan]:
    """Plan every merchant, at most `parallelism` at a time; results in input order."""
    return await bounded_map(merchants, lambda m: plan_merchant(m, source),
                             parallelism=parallelism, on_done=on_done)
