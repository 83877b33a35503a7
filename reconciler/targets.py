"""Where commands send requests: the embedded sandbox, a served sandbox, or live services.

Base URLs come only from here (trusted settings), never from merchant files.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

# The one Shopify Admin API version this product speaks (provider, sandbox, docs,
# tests). Shopify supports a version for 12 months and then serves the oldest
# supported one instead, saying so in `X-Shopify-API-Deprecated-Reason`:
# 2026-10 is the newest stable version whose schema is vendored
# (tests/fixtures/shopify/README.md); move it forward before 2027-10.
SHOPIFY_API_VERSION = "2026-10"

LIVE_ENDPOINTS = {
    "tiktok_shop": "https://open-api.tiktokglobalshop.com",
    "tiktok_auth": "https://auth.tiktok-shops.com",
    # Shopify is per shop: "{shop}" is replaced by the merchant's myshopify domain.
    "shopify": f"https://{{shop}}/admin/api/{SHOPIFY_API_VERSION}/graphql.json",
    "pipe17": "https://api-v3.pipe17.com/api/v3",
    "loop": "https://api.loopreturns.com/api/v1",
}


def sandbox_endpoints(root: str) -> dict[str, str]:
    root = root.rstrip("/")
    return {
        "tiktok_shop": f"{root}/tiktok",
        "tiktok_auth": f"{root}/tiktok-auth",
        "shopify": f"{root}/shopify/{{shop}}/admin/api/{SHOPIFY_API_VERSION}/graphql.json",
        "pipe17": f"{root}/pipe17/api/v3",
        "loop": f"{root}/loop/api/v1",
    }


class TargetError(Exception):
    pass


def _check_sandbox_mode() -> None:
    """An unknown RECONCILER_SANDBOX_MODE, or an unreadable RECONCILER_SANDBOX_CLOCK, is a
    clean error before anything runs."""
    from reconciler.sandbox.clock import clock_from_env
    from reconciler.sandbox.state import mode_from_env

    try:
        mode_from_env()
        clock_from_env()
    except ValueError as exc:
        raise TargetError(str(exc)) from None


def is_loopback(host: str) -> bool:
    """Only a literal loopback address (or `localhost`): never a DNS name that merely looks like one."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Target:
    """A resolved target. `name` is what every output's first line shows."""

    name: str  # "sandbox" | "live" | "http://127.0.0.1:8787"
    endpoints: dict[str, str]
    is_sandbox: bool
    embedded: bool  # in-process sandbox (needs a transport built from the emulator)
    state_dir: Path

    @property
    def verify_tls(self) -> bool:
        return not self.is_sandbox


def resolve_target(spec: str | None, *, state_dir: Path | None = None) -> Target:
    spec = spec or os.environ.get("RECONCILER_TARGET") or "sandbox"
    state = state_dir or Path(os.environ.get("RECONCILER_STATE_DIR", ".reconciler"))
    if spec == "sandbox":
        _check_sandbox_mode()
        return Target("sandbox", sandbox_endpoints("http://sandbox.local"), True, True, state)
    if spec == "live":
        return Target("live", dict(LIVE_ENDPOINTS), False, False, state)
    unknown = f"unknown target {spec!r}: use 'sandbox', 'live' or http://HOST:PORT of a served sandbox"
    try:
        url = httpx.URL(spec)
        port = url.port  # parsing the port is what can fail
    except (httpx.InvalidURL, ValueError) as exc:
        raise TargetError(f"{unknown} ({exc})") from None
    if port is not None and not 1 <= port <= 65535:
        raise TargetError(f"{unknown} (port {port} is not between 1 and 65535)")
    if url.scheme not in ("http", "https") or not url.host:
        raise TargetError(unknown)
    if url.path not in ("", "/") or url.query or url.fragment or url.userinfo:
        raise TargetError(f"{unknown} (no path, query or credentials)")
    if not is_loopback(url.host):
        raise TargetError(
            f"target {spec!r} is not a loopback address: a served sandbox listens on 127.0.0.1"
        )
    root = f"{url.scheme}://{url.netloc.decode()}"
    return Target(root, sandbox_endpoints(root), True, False, state)
