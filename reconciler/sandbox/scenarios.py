"""Named sandbox scenarios: merchants seeded with a missing manual step or a broken setup.

A scenario is selected per merchant (slug -> set of names) from, merged in
this order:

1. `<merchants_dir>/_sandbox.yaml`: `scenarios: {slug: [name, ...]}`;
2. the environment variable `RECONCILER_SANDBOX_SCENARIOS`: `slug=name,slug=name`;
3. explicit `slug=name` strings (`reconciler sandbox serve --scenario slug=name`).

Scenarios take effect when a merchant is seeded: on first use, on
`POST /_sandbox/reset`, or when the merchant's selected scenarios change
(the merchant is then seeded again from scratch).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import yaml

ENV_VAR = "RECONCILER_SANDBOX_SCENARIOS"
SCENARIO_FILE = "_sandbox.yaml"

SCENARIOS: dict[str, str] = {
    "return-proxy-not-installed": (
        "TikTok: the Return Proxy App is not installed for the shop (a manual step is "
        "missing); reading works, writing the return settings answers 400 / 17003001."
    ),
    "tiktok-unauthorized": (
        "TikTok: the shop has not authorized the app: it is missing from "
        "GET /authorization/202309/shops and shop-scoped calls answer 105005."
    ),
    "pipe17-shopify-disconnected": (
        "Pipe17: the Shopify integration exists but its status is `disconnected`."
    ),
    "pipe17-loop-missing": "Pipe17: the org has no Loop Returns integration at all.",
    "half-configured": (
        "Some settings already right, some wrong: TikTok partner set but the return URL "
        "asks for an email; Pipe17 TikTok orders/fulfillments right but refunds off and "
        "push-refunds off; Shopify orders/fulfillments right but refunds off and sync mode "
        "`order`; Loop refunds pulled; Loop lookup already `zip` but default instructions."
    ),
    "order-missing-in-shopify": (
        "Shopify: the newest TikTok order was never written to Shopify (Pipe17 holds it "
        "`onHold`)."
    ),
    "duplicate-order": (
        "Shopify: one TikTok order exists twice, the second created by TikTok's own "
        "channel app (`app.name` \"TikTok\", sourceName \"tiktok\")."
    ),
    "loop-email-lookup-locked": (
        "Loop: the portal keeps matching orders by email whatever the lookup setting says, "
        "so the deep link never finds a TikTok order (TikTok orders carry no email)."
    ),
    "refunds-not-pushed": (
        "Pipe17: Loop refunds are pulled but never reach TikTok, even when every flow "
        "and option is configured (status stays `new`)."
    ),
    "set-up-by-hand": (
        "A person did the manual actions of the standard recipe in the admin screens (what the "
        "published-only plan asks for): Loop looks orders up by zip with instructions that say "
        "so, Pipe17 flows and options per the tiktok-loop profile, TikTok's Return Proxy partner "
        "and return URL set. Use it with published-only mode, where no API can write them."
    ),
    "tiktok-connector-on": (
        "Shopify: TikTok's own sales channel is installed in the shop (a `publications` "
        "node whose app catalog is titled \"TikTok\"), so it writes TikTok orders beside Pipe17."
    ),
    "shopify-publications-scope-missing": (
        "Shopify: the app was installed without `read_publications`, so `publications` "
        "answers ACCESS_DENIED and sales channels cannot be seen."
    ),
    "shopify-version-unsupported": (
        "Shopify: the pinned Admin API version is played as past its support window: "
        "answers are served by the next version with `X-Shopify-API-Deprecated-Reason`."
    ),
}


class ScenarioError(ValueError):
    """An unknown scenario name or a malformed selection."""


def parse_selection(items: Iterable[str], *, origin: str) -> dict[str, set[str]]:
    """Parse `slug=name` strings."""
    selected: dict[str, set[str]] = {}
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        slug, sep, name = item.partition("=")
        if not sep or not slug.strip() or not name.strip():
            raise ScenarioError(f"{origin}: {item!r} is not slug=scenario")
        _add(selected, slug.strip(), name.strip(), origin)
    return selected


def load_scenarios(merchants_dir: Path, extra: Iterable[str] = ()) -> dict[str, set[str]]:
    """Scenarios selected for each merchant slug (see the module docstring)."""
    selected: dict[str, set[str]] = {}
    path = Path(merchants_dir) / SCENARIO_FILE
    if path.is_file():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        table = document.get("scenarios", {}) if isinstance(document, dict) else None
        if not isinstance(table, dict):
            raise ScenarioError(f"{path}: expected `scenarios: {{slug: [name, ...]}}`")
        for slug, names in table.items():
            if isinstance(names, str):
                names = [names]
            if not isinstance(names, list):
                raise ScenarioError(f"{path}: scenarios for {slug!r} must be a list of names")
            for name in names:
                _add(selected, str(slug), str(name), str(path))
    env = os.environ.get(ENV_VAR, "")
    for source in (parse_selection(env.split(","), origin=ENV_VAR),
                   parse_selection(extra, origin="--scenario")):
        for slug, names in source.items():
            selected.setdefault(slug, set()).update(names)
    return selected


def _add(selected: dict[str, set[str]], slug: str, name: str, origin: str) -> None:
    if name not in SCENARIOS:
        known = ", ".join(sorted(SCENARIOS))
        raise ScenarioError(f"{origin}: unknown sandbox scenario {name!r} (known: {known})")
    selected.setdefault(slug, set()).add(name)
