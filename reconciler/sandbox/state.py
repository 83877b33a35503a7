"""The emulator's state: four services' data for every seeded merchant, as plain JSON.

Layout (`Emulator.data`, what `to_json()` returns and the state file holds):

    {"format": 1,
     "state_key": hex key of the credential digests (see `accepted`),
     "merchants": {slug: {"spec": {...ids, scenarios},
                          "credentials": {tiktok_app_key: "hmac-sha256:...", ...},
                          "tiktok_shop": {shop, authorized, return_proxy, orders},
                          "pipe17": {integrations, orders},
                          "shopify": {shop, app_installation, scopes, orders},
                          "loop": {portal, returns}}}}

Credentials are kept as keyed digests only; a state file written by an
older version, holding values, is rewritten with digests when loaded.
Runtime-only parts (request counters, faults, rate-limit windows, Shopify
cost buckets) are not persisted. Behaviour that follows from configuration
(whether a Loop refund reaches TikTok) is computed when read, never stored.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import DesiredState
from reconciler.sandbox.accepted import AcceptedCredentials, is_digest, new_state_key
from reconciler.sandbox.clock import Clock, clock_from_env
from reconciler.sandbox.faults import SERVICE_NAMES, Faults
from reconciler.sandbox.limits import LeakyBucket, Limits, SlidingWindow, TokenPolicy
from reconciler.sandbox.seed import (
    credentials_of,
    digits,
    prefetch_credentials,
    seed_merchant,
    spec_of,
)

FORMAT = 1
MODE_ENV = "RECONCILER_SANDBOX_MODE"
FULL, PUBLISHED_ONLY = "full", "published-only"
MODES = (FULL, PUBLISHED_ONLY)


def mode_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The sandbox mode `RECONCILER_SANDBOX_MODE` names (default full); ValueError if unknown."""
    mode = (os.environ if environ is None else environ).get(MODE_ENV, "").strip() or FULL
    if mode not in MODES:
        raise ValueError(f"{MODE_ENV}={mode!r} is not a sandbox mode (one of: {', '.join(MODES)})")
    return mode


_NOT_CREDENTIALS = frozenset({"cipher", "shopify_shop"})


class Stats:
    """Request and write counters per service (control API calls are not counted)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.counts = {s: {"requests": 0, "writes": 0} for s in SERVICE_NAMES}
        self.unavailable: dict[str, int] = {}  # assumed endpoint id -> calls answered "no such path"

    def refused(self, endpoint_id: str) -> None:
        self.unavailable[endpoint_id] = self.unavailable.get(endpoint_id, 0) + 1

    def request(self, service: str) -> None:
        self.counts[service]["requests"] += 1

    def write(self, service: str) -> None:
        self.counts[service]["writes"] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": sum(c["requests"] for c in self.counts.values()),
            "writes": sum(c["writes"] for c in self.counts.values()),
            "services": {s: dict(c) for s, c in self.counts.items()},
            "unavailable": dict(sorted(self.unavailable.items())),
        }


class Emulator:
    """All four services' state plus the runtime knobs (stats, faults, limits)."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, mode: str = FULL,
                 clock: Clock | None = None) -> None:
        """`mode`: `full`, or `published-only` (every assumed endpoint answers as an unknown path).
        `clock`: the sandbox's calendar (reconciler/sandbox/clock.py); default real time, or
        the day `RECONCILER_SANDBOX_CLOCK` names."""
        if mode not in MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}")
        self.mode = mode
        self.clock = clock or clock_from_env()
        self.data: dict[str, Any] = {"format": FORMAT, "state_key": new_state_key(), "merchants": {}}
        self.accepted = AcceptedCredentials(self.data["state_key"])
        self.stats = Stats()
        self.faults = Faults()
        self.limits = Limits()
        self.token_policy = TokenPolicy()
        self.windows = SlidingWindow()
        self.buckets: dict[str, LeakyBucket] = {}
        self._dirty_all = False
        self._dirty_slugs: set[str] = set()
        self._index: dict[tuple[str, str], list[str]] | None = None
        self._request_seq = 0
        if data is not None:
            self.load(data)

    # -- serialization -------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)

    def load(self, data: Mapping[str, Any], *, copy_data: bool = True) -> None:
        """Replace the persisted state in place (the app keeps its reference).

        `copy_data=False` takes ownership of `data` (a freshly parsed document).
        """
        if data.get("format") != FORMAT or not isinstance(data.get("merchants"), dict):
            raise ValueError(f"not a sandbox state document (format {FORMAT})")
        self.data = copy.deepcopy(dict(data)) if copy_data else dict(data)
        self._index = None
        self.take_changes()
        if self._migrate():
            self._dirty_all = True  # the caller's next save rewrites the file without the values

    def _migrate(self) -> bool:
        """Key the state and replace credential values (older state files) by digests."""
        migrated = not isinstance(self.data.get("state_key"), str)
        if migrated:
            self.data["state_key"] = new_state_key()
        self.accepted = self.accepted.rekeyed(self.data["state_key"])
        for record in self.merchants.values():
            credentials = record.get("credentials") or {}
            if not all(is_digest(v) for v in credentials.values()):
                record["credentials"] = self.accepted.accept(credentials)
                migrated = True
            migrated = self._migrate_tokens(record.get("tiktok_auth")) or migrated
        return migrated

    def _migrate_tokens(self, book: dict[str, Any] | None) -> bool:
        """Tokens the auth host issued are keyed by digest too (older files held the tokens)."""
        if not book:
            return False
        migrated = False
        for kind in ("refresh_tokens", "access_tokens"):
            tokens = book.get(kind) or {}
            if not all(is_digest(t) for t in tokens):
                book[kind] = {self.token_key(t): e for t, e in tokens.items()}
                migrated = True
        revoked = book.get("revoked") or []
        if not all(is_digest(t) for t in revoked):
            book["revoked"] = [self.token_key(t) for t in revoked]
            migrated = True
        return migrated

    def token_key(self, token: str) -> str:
        """How a credential or token is kept and looked up: its keyed digest, never its value."""
        return token if is_digest(token) else self.accepted.digest(token)

    # -- seeding -------------------------------------------------------------

    @property
    def merchants(self) -> dict[str, dict[str, Any]]:
        return self.data["merchants"]

    def seed(self, merchants: Iterable[DesiredState], scenarios: Mapping[str, set[str]] | None = None) -> None:
        """Seed each merchant afresh (freshly onboarded, then its scenarios)."""
        scenarios = scenarios or {}
        merchants = list(merchants)
        prefetch_credentials(merchants)
        for merchant in merchants:
            spec = spec_of(merchant, set(scenarios.get(merchant.slug, ())))
            self.merchants[merchant.slug] = self._seeded(spec, self.accepted.accept(credentials_of(merchant)))
        self._changed()

    def sync(self, merchants: Iterable[DesiredState], scenarios: Mapping[str, set[str]] | None = None) -> None:
        """Bring the state in line with the merchant files without losing work.

        New merchants are seeded; a merchant whose ids or selected scenarios
        changed is seeded again; others keep their state and only take the
        current credentials. `scenarios=None` keeps each merchant's stored
        scenarios. Merchants without a file stay, as live accounts would.
        """
        merchants = list(merchants)
        prefetch_credentials(merchants)
        for merchant in merchants:
            record = self.merchants.get(merchant.slug)
            if scenarios is None:
                chosen = set(record["spec"]["scenarios"]) if record else set()
            else:
                chosen = set(scenarios.get(merchant.slug, ()))
            spec = spec_of(merchant, chosen)
            credentials = self.accepted.accept(credentials_of(merchant))
            if record is None or record["spec"] != spec:
                self.merchants[merchant.slug] = self._seeded(spec, credentials)
                self._changed()
            elif record["credentials"] != credentials:
                record["credentials"] = credentials
                self._accept_refresh_token(record)
                self._changed()

    def reset(self) -> None:
        """Seed every known merchant again (scenarios kept); zero stats, clear faults."""
        for slug, record in list(self.merchants.items()):
            self.merchants[slug] = self._seeded(record["spec"], record["credentials"])
        self.stats.clear()
        self.faults.clear()
        self.windows.clear()
        self.buckets.clear()
        self._changed()

    def _seeded(self, spec: dict[str, Any], credentials: dict[str, str]) -> dict[str, Any]:
        record = seed_merchant(spec, credentials)
        self._accept_refresh_token(record)
        return record

    def _accept_refresh_token(self, record: dict[str, Any]) -> None:
        """A refresh token in the merchant's files is one the seller was issued (onboarding)."""
        book = record.setdefault("tiktok_auth", {"refresh_tokens": {}, "access_tokens": {}})
        token = record["credentials"].get("tiktok_refresh_token")
        if token and token not in book["refresh_tokens"] and token not in book.get("revoked", ()):
            book["refresh_tokens"][token] = int(time.time()) + self.token_policy.refresh_token_lifetime

    def reindex(self) -> None:
        """Credentials or tokens were taken away: look-ups are rebuilt."""
        self._changed()

    def index_add(self, kind: str, value: str, record: Mapping[str, Any]) -> None:
        """Make `record` findable by `value` (a token issued just now) without a rebuild."""
        if self._index is not None:
            slugs = self._index.setdefault((kind, self.token_key(value)), [])
            if record["spec"]["slug"] not in slugs:
                slugs.append(record["spec"]["slug"])

    def _changed(self) -> None:
        self._dirty_all = True
        self._index = None

    def mark_dirty(self, record: Mapping[str, Any] | None = None) -> None:
        """Note a change to one merchant's record (or, with none, to the whole state)."""
        if record is None:
            self._dirty_all = True
        else:
            self._dirty_slugs.add(record["spec"]["slug"])

    @property
    def dirty(self) -> bool:
        return self._dirty_all or bool(self._dirty_slugs)

    def take_changes(self) -> tuple[bool, set[str]]:
        """(whole state changed, slugs of changed merchants) since the last call; clears them."""
        changes = (self._dirty_all, self._dirty_slugs)
        self._dirty_all, self._dirty_slugs = False, set()
        return changes

    def replace_merchant(self, slug: str, record: dict[str, Any]) -> None:
        """Install one merchant's record as persisted elsewhere (no change noted)."""
        self.merchants[slug] = record
        self._index = None

    # -- lookups used by the service modules ---------------------------------

    def find(self, kind: str, value: str | None) -> list[dict[str, Any]]:
        """Merchant records whose `kind` (a credential name, `cipher`, `shopify_shop`) is `value`.

        A credential is looked up by its digest: `value` is what a caller presented."""
        merchants = self.merchants
        return [merchants[s] for s in self._slugs(kind, value)]

    def slugs_of(self, kind: str, value: str | None) -> list[str]:
        """The slugs of the merchants whose `kind` is `value` (see `find`)."""
        return list(self._slugs(kind, value))

    def _slugs(self, kind: str, value: str | None) -> list[str]:
        if not value:
            return []
        if kind not in _NOT_CREDENTIALS:
            value = self.accepted.digest(value)
        if self._index is None:
            self._index = self._build_index()
        return self._index.get((kind, value), [])

    def _build_index(self) -> dict[tuple[str, str], list[str]]:
        index: dict[tuple[str, str], list[str]] = {}
        for slug in sorted(self.merchants):
            record = self.merchants[slug]
            keys = [(k, v) for k, v in record["credentials"].items()]
            book = record.get("tiktok_auth") or {}
            keys += [("tiktok_refresh_token", t) for t in book.get("refresh_tokens", ())]
            keys += [("tiktok_access_token", t) for t in book.get("access_tokens", ())]
            keys.append(("cipher", record["tiktok_shop"]["shop"]["cipher"]))
            keys.append(("shopify_shop", record["spec"]["shopify_shop"]))
            for key in keys:
                index.setdefault(key, []).append(slug)
        return index

    def tiktok_app_secret(self, app_key: str | None) -> str | None:
        # A fleet shares one app key, so only the first record is looked at
        # (`find` would build a list of every merchant's record).
        slugs = self._slugs("tiktok_app_key", app_key)
        if not slugs:
            return None
        return self.accepted.signing_secret(self.merchants[slugs[0]]["credentials"].get("tiktok_app_secret"))

    def accepts(self, record: Mapping[str, Any], name: str, presented: str | None) -> bool:
        """Whether `presented` is the credential `name` this merchant's record accepts."""
        return self.accepted.matches(record["credentials"].get(name), presented)

    def request_id(self) -> str:
        self._request_seq += 1
        return time.strftime("%Y%m%d%H%M%S") + f"{self._request_seq:010d}"

    def bucket(self, shop: str) -> LeakyBucket:
        bucket = self.buckets.get(shop)
        if bucket is None or (bucket.size, bucket.restore_rate) != (
            self.limits.shopify_bucket_size, self.limits.shopify_restore_rate
        ):
            bucket = LeakyBucket(self.limits.shopify_bucket_size, self.limits.shopify_restore_rate)
            self.buckets[shop] = bucket
        return bucket


SandboxState = Emulator


# -- behaviour derived from configuration --------------------------------------


def integration(record: Mapping[str, Any], connector: str) -> dict[str, Any] | None:
    return next((i for i in record["pipe17"]["integrations"] if i["connectorName"] == connector), None)


def _direction(record: Mapping[str, Any], connector: str, entity: str) -> str | None:
    found = integration(record, connector)
    if found is None or found["status"] != "connected":
        return None
    return found["settings"]["entities"].get(entity, {}).get("direction")


def refunds_pulled_from_loop(record: Mapping[str, Any]) -> bool:
    return _direction(record, "Loop Returns", "refunds") == "in"


def refunds_pushed_to_tiktok(record: Mapping[str, Any]) -> bool:
    """A Loop refund reaches TikTok only through a fully configured Pipe17."""
    if "refunds-not-pushed" in record["spec"]["scenarios"] or not refunds_pulled_from_loop(record):
        return False
    tiktok = integration(record, "TikTok Shop")
    return (
        _direction(record, "TikTok Shop", "refunds") == "out"
        and tiktok is not None
        and tiktok["settings"]["options"].get("pushRefundsToTikTok") is True
    )


def pipe17_refunds(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    if not refunds_pulled_from_loop(record):
        return []
    status = "pushed" if refunds_pushed_to_tiktok(record) else "new"
    return [
        {
            "refundId": f"rfd_{r['id']}",
            "extOrderId": r["order_name"],
            "source": "Loop Returns",
            "status": status,
            "amount": r["refund"],
            "currency": r.get("currency", "USD"),
            "createdAt": r["updated_at"],
        }
        for r in record["loop"]["returns"]
        if r.get("refund")
    ]


def tiktok_returns(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    if not refunds_pushed_to_tiktok(record):
        return []
    return [
        {
            "return_id": digits(f"return:{r['id']}", 18),
            "order_id": r["order_name"],
            "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "refund_amount": {"refund_total": str(r["refund"]), "currency": r.get("currency", "USD")},
        }
        for r in record["loop"]["returns"]
        if r.get("refund")
    ]
