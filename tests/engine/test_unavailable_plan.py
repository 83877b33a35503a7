"""The engine's side of graceful degradation: manual actions, held changes, writes refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reconciler.engine.apply import SKIPPED, apply_merchant
from reconciler.engine.exitcodes import CHANGES, plan_code
from reconciler.engine.journal import Journal
from reconciler.engine.plan import plan_merchant_from_live
from reconciler.model import Unavailable
from tests.providers.conftest import merchant

PORTAL = Unavailable("loop.portal_settings", "GET /portal/settings", "HTTP 404, Not found.")


def test_an_unavailable_contract_becomes_one_manual_action_holding_its_changes() -> None:
    desired = merchant()
    live = {"pipe17.integration.tiktok_shop": "present"}
    plan = plan_merchant_from_live(desired, live, {"tiktok_shop.authorized": True,
                                                   "tiktok_shop.return_proxy.installed": True},
                                   (PORTAL,), frozenset({"tiktok_shop.return_proxy",
                                                         "pipe17.integrations"}))
    action = next(a for a in plan.manual_actions if a.id == "loop.portal_settings.manual")
    assert "GET /portal/settings: HTTP 404" in action.instructions
    assert "Loop admin > Settings > Return portal > Order lookup): zip" in action.instructions
    assert desired.settings["loop.portal.instructions"].strip() in action.instructions.replace("\\n", "\n")
    assert "verify proves it" in action.instructions
    held = {c.address: c.blocked_by for c in plan.changes}
    assert held["loop.portal.order_lookup"] == held["loop.portal.instructions"] == action.id
    assert held["tiktok_shop.return_proxy.partner"] is None  # the rest still plans
    entry = plan.to_json()
    assert entry["unavailable"] == [PORTAL.to_json()]
    assert plan_code(entry) == CHANGES  # held, like other manual gates: not exit 3


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def apply(self, change, desired) -> None:
        self.sent.append(change.address)


def test_apply_writes_only_through_contracts_proven_in_this_run(tmp_path: Path) -> None:
    desired = merchant()
    plan = plan_merchant_from_live(desired, {}, {"tiktok_shop.authorized": True,
                                                 "tiktok_shop.return_proxy.installed": True,
                                                 **{f"pipe17.integration.{n}.status": "connected"
                                                    for n in ("tiktok_shop", "shopify", "loop")}},
                                   (), frozenset({"pipe17.integrations"}))
    assert all(c.blocked_by is None for c in plan.changes)  # nothing holds them in the plan itself
    recorder = Recorder()
    providers = dict.fromkeys(("tiktok_shop", "pipe17", "shopify", "loop"), recorder)
    journal = Journal(tmp_path, "sandbox")
    try:
        report = asyncio.run(apply_merchant(plan, desired, providers, journal, allow_destructive=False))
    finally:
        journal.close()
    assert recorder.sent and all(a.startswith("pipe17.") for a in recorder.sent)
    skipped = [o for o in report.outcomes if o.result == SKIPPED]
    assert {o.change.service for o in skipped} == {"loop", "tiktok_shop"}
    assert all("not read with its expected shape" in (o.reason or "") for o in skipped)
