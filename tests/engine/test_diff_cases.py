"""Table-driven diff cases: each file in tests/cases/engine/ holds desired settings,
a live snapshot and facts, and the changes and manual actions a plan must show."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.engine.plan import plan_merchant_from_live
from tests.engine.conftest import STANDARD, make_desired

CASES = sorted((Path(__file__).parent.parent / "cases" / "engine").glob("*.yaml"))
HEALTHY_FACTS = {
    "tiktok_shop.authorized": True,
    "tiktok_shop.return_proxy.installed": True,
    "shopify.tiktok_channel": False,
    "pipe17.integration.tiktok_shop.status": "connected",
    "pipe17.integration.shopify.status": "connected",
    "pipe17.integration.loop.status": "connected",
    "shopify.access_scopes": ["read_orders", "read_publications"],
}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    desired_settings = dict(STANDARD)
    desired_settings.update(case.get("desired") or {})
    for address in case.get("unmanaged") or []:
        desired_settings.pop(address)
    live = dict(STANDARD)
    if case.get("live_fresh"):
        live = {k: v for k, v in STANDARD.items() if k.count(".") == 2 and k.startswith("pipe17")}
    live.update(case.get("live") or {})
    for address in case.get("live_absent") or []:
        live.pop(address, None)
    facts = {**HEALTHY_FACTS, **(case.get("facts") or {})}
    desired = make_desired(settings=desired_settings, h5_approved=case.get("h5_approved", True))

    plan = plan_merchant_from_live(desired, live, facts)

    got = [
        {"address": c.address, "action": c.action.value, "before": c.before, "after": c.after,
         "destructive": c.destructive, "blocked_by": c.blocked_by}
        for c in plan.changes
    ]
    expected = case["expect"]["changes"]
    for change in expected:
        change.setdefault("destructive", False)
        change.setdefault("blocked_by", None)
    if case["expect"].get("addresses_only"):
        assert [c["address"] for c in got] == [c["address"] for c in expected]
        assert [c["blocked_by"] for c in got] == [c["blocked_by"] for c in expected]
    else:
        assert got == expected
    assert [a.id for a in plan.manual_actions] == case["expect"].get("manual", [])
