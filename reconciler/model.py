"""Core value types shared by configuration, providers, engine and output.

Everything here is immutable: one merchant's desired state, a service's live
snapshot and the changes between them are plain frozen data, safe to share
between concurrently planned merchants.

Addresses (docs/design.md section 4) name one managed setting:

    tiktok_shop.return_proxy.partner             "loop_pipe17"
    tiktok_shop.return_proxy.return_url          rendered URL template
    pipe17.integration.<name>                    "present" (the integration exists)
    pipe17.integration.<name>.flows.<entity>     "pull" | "push" | "off"
    pipe17.integration.tiktok_shop.options.push_refunds_to_tiktok   bool
    pipe17.integration.shopify.options.order_sync_mode              "fulfillment" | "order"
    loop.portal.order_lookup                     "zip" | "email" | "phone"
    loop.portal.instructions                     rendered text

with <name> in tiktok_shop | shopify | loop and <entity> in
orders | fulfillments | refunds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ServiceName:
    """How one service is named: in messages, and as its integration in Pipe17."""

    display: str  # in notes, manual actions and reports
    connector: str | None  # the `connectorName` of its Pipe17 integration (Pipe17 itself: None)


# The one table of the four services' names; every other list of them derives from it.
SERVICE_TABLE: Mapping[str, ServiceName] = MappingProxyType({
    "tiktok_shop": ServiceName("TikTok Shop", "TikTok Shop"),
    "pipe17": ServiceName("Pipe17", None),
    "shopify": ServiceName("Shopify", "Shopify"),
    "loop": ServiceName("Loop", "Loop Returns"),
})
SERVICES: tuple[str, ...] = tuple(SERVICE_TABLE)
SERVICE_NAMES: Mapping[str, str] = MappingProxyType(
    {key: name.display for key, name in SERVICE_TABLE.items()})
# integration name (address vocabulary) -> Pipe17 connector name
CONNECTOR_NAMES: Mapping[str, str] = MappingProxyType(
    {key: name.connector for key, name in SERVICE_TABLE.items() if name.connector is not None})
PIPE17_INTEGRATIONS: tuple[str, ...] = tuple(CONNECTOR_NAMES)
FLOW_ENTITIES: tuple[str, ...] = ("orders", "fulfillments", "refunds")
RETURN_PROXY_SERVICE_ID = "7252639977727674154"
RETURN_PROXY_AUTHORIZE_URL = (
    "https://services.us.tiktokshop.com/open/authorize?service_id=" + RETURN_PROXY_SERVICE_ID
)


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def frozen(value: Any) -> Any:
    """Return a deeply read-only copy of a JSON-like value."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most leaves: no ABC checks
        return value
    if kind is dict or isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """Inverse of `frozen`: plain dicts and lists, for serialization."""
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class SecretRef:
    """A reference to a credential held outside the merchant file.

    `env:VAR` (`name` is the variable) or `sops:PATH#KEY` (`name` is PATH,
    relative to the merchants directory `root`; `key` a dotted path in the
    decrypted document). Its text form is the reference, never a value, so
    it is safe to print; `root` is where it was read, not part of its identity.
    """

    name: str
    scheme: str = "env"
    key: str = ""
    root: str = field(default="", compare=False)

    @property
    def var(self) -> str:
        """The environment variable of an `env:` reference (PATH for `sops:`)."""
        return self.name

    @property
    def is_file(self) -> bool:
        return self.scheme == "sops"

    def __str__(self) -> str:
        return f"sops:{self.name}#{self.key}" if self.scheme == "sops" else f"env:{self.name}"

    __repr__ = __str__


@dataclass(frozen=True)
class Credentials:
    """A merchant's secret references. TikTok needs an access token, a refresh token, or both."""

    tiktok_app_key: SecretRef
    tiktok_app_secret: SecretRef
    tiktok_access_token: SecretRef | None
    shopify_access_token: SecretRef
    pipe17_api_key: SecretRef
    loop_api_key: SecretRef
    tiktok_refresh_token: SecretRef | None = None

    def all(self) -> dict[str, SecretRef]:
        refs = {
            "tiktok_app_key": self.tiktok_app_key,
            "tiktok_app_secret": self.tiktok_app_secret,
            "tiktok_access_token": self.tiktok_access_token,
            "tiktok_refresh_token": self.tiktok_refresh_token,
            "shopify_access_token": self.shopify_access_token,
            "pipe17_api_key": self.pipe17_api_key,
            "loop_api_key": self.loop_api_key,
        }
        return {name: ref for name, ref in refs.items() if ref is not None}


@dataclass(frozen=True)
class H5Redirect:
    approved: bool
    evidence: str | None = None


@dataclass(frozen=True)
class DesiredState:
    """One merchant's desired state, loaded, merged, rendered and validated.

    `settings` holds only managed settings (declared in YAML after profile
    merge): address -> desired value. `positions` maps an address (or a dotted
    document path such as `loop.portal_domain`) to (line, column) in `source`,
    1-based, for errors that point at the file.
    """

    slug: str
    source: str
    shopify_shop: str  # e.g. "acme-apparel.myshopify.com"
    tiktok_shop_id: str
    tiktok_region: str
    loop_portal_domain: str
    credentials: Credentials
    h5_redirect: H5Redirect
    settings: Mapping[str, Any]
    positions: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType({}))
    document: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # address -> the template source its desired value was rendered from (return URL,
    # instructions), so a plan can show a profile's change once for every merchant.
    templates: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Unavailable:
    """An assumed contract the service did not speak in this run, and why.

    `endpoint` is the call that showed it ("GET /portal/settings"); `reason`
    is what the service answered (no such endpoint, or an answer outside the
    contract's shape), redacted.
    """

    contract: str
    endpoint: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"contract": self.contract, "endpoint": self.endpoint, "reason": self.reason}


@dataclass(frozen=True)
class ServiceSnapshot:
    """What one provider read from one service for one merchant.

    `settings`: address -> live value, in the same normalized vocabulary as
    DesiredState.settings; an address that is absent means the resource does
    not exist. `facts`: live prerequisites that are not settings, e.g.
    `tiktok_shop.authorized` (bool), `tiktok_shop.return_proxy.installed`
    (bool), `pipe17.integration.<name>.status` ("connected", "disconnected",
    ...), `shopify.access_scopes` (tuple of handles).
    `proven`: the contracts read in this run with the expected shape (the only
    ones apply may write through); `unavailable`: assumed contracts that were not.
    """

    service: str
    settings: Mapping[str, Any]
    facts: Mapping[str, Any]
    proven: tuple[str, ...] = ()
    unavailable: tuple[Unavailable, ...] = ()


@dataclass(frozen=True)
class ManualAction:
    id: str  # e.g. "tiktok_shop.h5_redirect"
    title: str
    instructions: str
    link: str | None = None


@dataclass(frozen=True, order=True)
class Change:
    """One write that makes one managed setting match. `before`/`after` are already redacted."""

    address: str
    action: Action
    before: Any
    after: Any
    destructive: bool = False
    blocked_by: str | None = None  # a ManualAction id, or "destructive"

    @property
    def service(self) -> str:
        return self.address.split(".", 1)[0]
