"""Verify a fleet: per merchant, read the evidence, then run the checks; merchants concurrently."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from reconciler.engine.fleet import bounded_map
from reconciler.engine.plan import error_text
from reconciler.model import DesiredState
from reconciler.providers.base import Provider
from reconciler.verify.checks import CHECKS, run_checks
from reconciler.verify.evidence import gather
from reconciler.verify.results import MerchantReport, failed

log = logging.getLogger("reconciler.verify")


class ProviderSource(Protocol):
    def providers(self, merchant: DesiredState) -> dict[str, Provider]: ...


async def verify_merchant(desired: DesiredState, source: ProviderSource) -> MerchantReport:
    try:
        providers = source.providers(desired)
        evidence = await gather(providers, now=time.time())
    except Exception as exc:  # e.g. an unset secret on a live target: every check fails with it
        log.debug("verifying %s failed", desired.slug, exc_info=True)
        reason = f"could not read the merchant's services: {error_text(exc)}"
        hint = "fix the cause above, then run verify again"
        return MerchantReport(desired.slug, tuple(failed(c, reason, hint) for c, _ in CHECKS))
    return MerchantReport(desired.slug, run_checks(desired, evidence))


async def verify_fleet(merchants: list[DesiredState], source: ProviderSource, *, parallelism: int = 10,
                       on_done: Callable[[MerchantReport], None] | None = None) -> list[MerchantReport]:
    """Reports in input order; at most `parallelism` merchants read at a time."""
    return await bounded_map(merchants, lambda m: verify_merchant(m, source),
                             parallelism=parallelism, on_done=on_done)
