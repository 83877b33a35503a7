"""Pipe17: the TikTok Shop, Shopify and Loop integrations, their flows and options.

Wire contract: docs/providers/pipe17.md. Published: base path, key header,
envelope, `skip`/`count` paging, `version` on update. Assumed (contract
`pipe17.integrations`): connector names, status and the integration
`settings` shape (entity directions and options), from the declarations
and `_DIRECTIONS` below. When Pipe17 answers that it has no such endpoint,
or integrations without that shape, the read reports the contract
unavailable.

A plan costs two requests, sent together: the first page of integrations
(100) holds every integration a merchant has (one per connector), and
`GET /organization` proves the key is this merchant's (its org's Shopify shop). Versions seen in any
response are remembered, so an update quotes the current one; a 409 means
someone else wrote in between: re-read once and try again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.declarations import BY_ADDRESS, INTEGRATIONS, settings_of
from reconciler.http.client import ServiceClient
from reconciler.http.errors import (
    ConflictError,
    NetworkError,
    ServerError,
    ServiceError,
    ValidationError,
    endpoint_missing,
)
from reconciler.model import Change, DesiredState, ServiceSnapshot, Unavailable
from reconciler.providers.base import Provider
from reconciler.providers.ownership import require_shop

PAGE_SIZE = 100
# Who the key is for (assumed contract): {"success": true, "organization": {"orgKey",
# "name", "shopifyDomain"}}, the Shopify shop of the org the key belongs to.
IDENTITY_PATH = "/organization"
_NO_IDENTITY = object()  # the identity endpoint does not exist
PRESENT = "present"
INTEGRATIONS_CONTRACT = "pipe17.integrations"  # assumed
# integration name (address vocabulary) <-> connectorName on the wire
_CONNECTORS = dict(INTEGRATIONS)
_NAMES = {v.lower(): k for k, v in _CONNECTORS.items()}
# flow direction (address vocabulary) <-> entity direction on the wire, from Pipe17's side
_DIRECTIONS = {"pull": "in", "push": "out", "off": "none"}
_FLOWS = {v: k for k, v in _DIRECTIONS.items()}
# option key (address vocabulary) <-> settings.options key on the wire
_OPTIONS = {s.address.rsplit(".", 1)[1]: str(s.wire) for s in settings_of(INTEGRATIONS_CONTRACT)
            if ".options." in s.address}
_OPTION_KEYS = {v: k for k, v in _OPTIONS.items()}


@dataclass(frozen=True)
class Pipe17Refund:
    refund_id: str
    ext_order_id: str
    source: str
    status: str


@dataclass
class _Known:
    integration_id: str
    version: int


class Pipe17Provider(Provider):
    service = "pipe17"

    def __init__(self, client: ServiceClient, merchant: DesiredState) -> None:
        self._client = client
        self._merchant = merchant
        self._known: dict[str, _Known] | None = None

    async def read(self) -> ServiceSnapshot:
        settings: dict[str, Any] = {}
        facts: dict[str, Any] = {}
        self._known = {}
        (listed, unavailable), owner = await asyncio.gather(
            self.read_assumed(INTEGRATIONS_CONTRACT, self._integrations), self._owner())
        if unavailable is None and owner is _NO_IDENTITY:
            # Writes need the key's owner proven; with no identity endpoint the
            # integrations are set by hand, like any unavailable contract.
            unavailable = Unavailable(INTEGRATIONS_CONTRACT, f"GET {IDENTITY_PATH}", (
                "no such endpoint, so the key's owner cannot be proven and nothing is written "
                "with it"))
        if unavailable is not None:
            return ServiceSnapshot(self.service, settings, facts, unavailable=(unavailable,))
        require_shop(self.service, self._merchant, owner, label="API key")
        for item in listed["integrations"]:
            name = _NAMES.get(str(item.get("connectorName", "")).lower())
            if name is None or name in self._known:
                continue  # unmanaged connector, or a second instance (first one wins)
            self._remember(name, item)
            settings.update(self._settings_of(name, item))
            facts[f"pipe17.integration.{name}.status"] = str(item.get("status", "unknown"))
        return ServiceSnapshot(self.service, settings, facts, proven=(INTEGRATIONS_CONTRACT,))

    async def _owner(self) -> object:
        """The Shopify shop the key's org serves, or `_NO_IDENTITY` if Pipe17 has no such endpoint."""
        try:
            reply = await self._client.request("GET", IDENTITY_PATH) or {}
        except ServiceError as exc:
            if endpoint_missing(exc):
                return _NO_IDENTITY
            raise
        org = reply.get("organization") if isinstance(reply, dict) else None
        return org.get("shopifyDomain") if isinstance(org, dict) else None

    async def _integrations(self) -> dict[str, Any]:
        return {"integrations": await self._all_pages("/integrations", "integrations")}

    async def _all_pages(self, path: str, key: str) -> list[Mapping[str, Any]]:
        """Every item of a skip/count list; one request when it fits on a page."""
        items: list[Mapping[str, Any]] = []
        while True:
            params = {"skip": len(items), "count": PAGE_SIZE}
            reply = await self._client.request("GET", path, params=params)
            page = reply.get(key) or []
            items.extend(page)
            total = (reply.get("pagination") or {}).get("total")
            if len(page) < PAGE_SIZE or (isinstance(total, int) and len(items) >= total):
                return items

    def _settings_of(self, name: str, item: Mapping[str, Any]) -> dict[str, Any]:
        """The declared settings an integration record shows (anything else on the wire is not ours)."""
        prefix = f"pipe17.integration.{name}"
        found: dict[str, Any] = {prefix: PRESENT}
        wire = item.get("settings") or {}
        for entity, flow in (wire.get("entities") or {}).items():
            direction = _FLOWS.get(str((flow or {}).get("direction", "")).lower())
            if direction is not None:
                found[f"{prefix}.flows.{entity}"] = direction
        for key, value in (wire.get("options") or {}).items():
            if key in _OPTION_KEYS and value is not None:
                option = f"{prefix}.options.{_OPTION_KEYS[key]}"
                found[option] = self.normalize(option, value)
        return {address: value for address, value in found.items() if address in BY_ADDRESS}

    def _remember(self, name: str, item: Mapping[str, Any]) -> None:
        if self._known is not None and item.get("integrationId"):
            self._known[name] = _Known(str(item["integrationId"]), int(item.get("version") or 0))

    async def _lookup(self, name: str) -> _Known | None:
        if self._known is None:
            await self.read()
        assert self._known is not None
        return self._known.get(name)

    async def apply(self, change: Change, desired: DesiredState) -> None:
        parts = change.address.split(".")
        if len(parts) < 3 or parts[:2] != ["pipe17", "integration"] or parts[2] not in _CONNECTORS:
            raise ValidationError(self.service, f"no writable setting at {change.address}", desired.slug)
        name = parts[2]
        if len(parts) == 3:  # the integration itself: the diff only ever creates one
            await self._create(name)
            return
        value = desired.settings.get(change.address)
        await self._update(name, self._settings_patch(change.address, parts[3:], value))

    def _settings_patch(self, address: str, rest: list[str], value: Any) -> dict[str, Any]:
        if len(rest) == 2 and rest[0] == "flows":
            direction = _DIRECTIONS.get(self.normalize(address, value) or "off")
            if direction is None:
                raise ValidationError(self.service, f"{address}: unknown direction {value!r}")
            return {"entities": {rest[1]: {"direction": direction}}}
        if len(rest) == 2 and rest[0] == "options" and rest[1] in _OPTIONS:
            return {"options": {_OPTIONS[rest[1]]: self.normalize(address, value)}}
        raise ValidationError(self.service, f"no writable setting at {address}")

    async def _create(self, name: str) -> None:
        if await self._lookup(name) is not None:
            return
        body = {"connectorName": _CONNECTORS[name]}
        try:
            reply = await self._client.request("POST", "/integrations", json=body)
        except (ServerError, NetworkError):
            # The create may have landed before the failure: look before creating again.
            await self.read()
            if await self._lookup(name) is not None:
                return
            reply = await self._client.request("POST", "/integrations", json=body)
        self._remember(name, reply.get("integration") or {})

    async def _update(self, name: str, patch: dict[str, Any]) -> None:
        for attempt in (1, 2):
            known = await self._lookup(name)
            if known is None:
                raise ValidationError(self.service, f"the {_CONNECTORS[name]} integration does not exist",
                                      self._merchant.slug)
            body = {"version": known.version, "settings": patch}
            try:
                reply = await self._client.request("PUT", f"/integrations/{known.integration_id}", json=body)
            except ConflictError:
                if attempt == 2:
                    raise
                await self.read()  # someone else wrote: take their version, then ours again
                continue
            self._remember(name, reply.get("integration") or {})
            return

    async def refunds(self) -> list[Pipe17Refund]:
        """Every refund Pipe17 holds for the merchant, all pages."""
        rows = await self._all_pages("/refunds", "refunds")
        return [
            Pipe17Refund(
                refund_id=str(r.get("refundId", "")),
                ext_order_id=str(r.get("extOrderId", "")),
                source=str(r.get("source", "")),
                status=str(r.get("status", "")),
            )
            for r in rows
        ]
