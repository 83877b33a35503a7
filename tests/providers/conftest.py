"""Provider test helpers: a DesiredState factory and a scripted four-service fake.

The factory builds merchants directly (the YAML loader is tested elsewhere).
Credentials reference variables that are unset, so on sandbox targets they
resolve to deterministic sandbox credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
import pytest

from reconciler.model import Credentials, DesiredState, H5Redirect, SecretRef
from reconciler.targets import Target, sandbox_endpoints
from tests.recipe import RECIPE

STANDARD_SETTINGS: dict[str, Any] = {
    **RECIPE,
    "loop.portal.instructions": "Enter your TikTok order number and shipping zip code.\n",
}


def merchant(slug: str = "acme-apparel", settings: dict[str, Any] | None = None, *,
             tiktok_shop_id: str | None = None, shared_tiktok_token: bool = False) -> DesiredState:
    """A merchant with per-merchant credential variables named after the slug."""
    prefix = "T_" + slug.upper().replace("-", "_")
    token_var = "T_SHARED_TIKTOK_TOKEN" if shared_tiktok_token else f"{prefix}_TIKTOK_TOKEN"
    portal = f"returns.{slug}.example"
    merged = dict(STANDARD_SETTINGS if settings is None else settings)
    if settings is None:
        merged["tiktok_shop.return_proxy.return_url"] = (
            f"https://{portal}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]"
        )
    return DesiredState(
        slug=slug,
        source=f"merchants/{slug}.yaml",
        shopify_shop=f"{slug}.myshopify.com",
        tiktok_shop_id=tiktok_shop_id or str(7_000_000_000 + sum(map(ord, slug))),
        tiktok_region="US",
        loop_portal_domain=portal,
        credentials=Credentials(
            tiktok_app_key=SecretRef("T_TIKTOK_APP_KEY"),
            tiktok_app_secret=SecretRef("T_TIKTOK_APP_SECRET"),
            tiktok_access_token=SecretRef(token_var),
            shopify_access_token=SecretRef(f"{prefix}_SHOPIFY_TOKEN"),
            pipe17_api_key=SecretRef(f"{prefix}_PIPE17_KEY"),
            loop_api_key=SecretRef(f"{prefix}_LOOP_KEY"),
        ),
        h5_redirect=H5Redirect(approved=True, evidence="ticket 1"),
        settings=MappingProxyType(merged),
    )


@pytest.fixture
def make_merchant() -> Callable[..., DesiredState]:
    return merchant


def sandbox_target(root: str = "http://sandbox.local", *, embedded: bool = True,
                   state_dir: Path = Path(".reconciler-test")) -> Target:
    return Target("sandbox" if embedded else root, sandbox_endpoints(root), True, embedded, state_dir)


@pytest.fixture
def make_target() -> Callable[..., Target]:
    return sandbox_target


Route = Callable[[httpx.Request, Any], httpx.Response]


class FakeServices:
    """Routes requests by (method, path suffix) to handlers; records every request."""

    def __init__(self, shop_domain: str = "acme-apparel.myshopify.com") -> None:
        self.routes: list[tuple[str, str, Route]] = []
        self.seen: list[httpx.Request] = []
        # Who Pipe17's and Loop's keys are for (assumed contracts; Loop's is in its portal settings).
        self.shop_domain = shop_domain
        self.on("GET", "/api/v3/organization", lambda request, body: httpx.Response(
            200, json={"success": True, "organization": {"shopifyDomain": self.shop_domain}}))

    def on(self, method: str, suffix: str, route: Route | dict | list) -> None:
        handler = route if callable(route) else (lambda request, body, _r=route: httpx.Response(200, json=_r))
        self.routes.insert(0, (method, suffix, handler))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        body = json.loads(request.content) if request.content else None
        for method, suffix, handler in self.routes:
            if request.method == method and request.url.path.endswith(suffix):
                return handler(request, body)
        return httpx.Response(404, json={"message": "not found"})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for r in self.seen if r.method == method and r.url.path.endswith(suffix))


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()
