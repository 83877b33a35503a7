from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from reconciler.model import Credentials, DesiredState, H5Redirect, SecretRef
from tests.recipe import RECIPE

STANDARD = {
    **RECIPE,
    "loop.portal.instructions": "Use your TikTok Shop order number and shipping ZIP code.",
    "tiktok_shop.return_proxy.return_url":
        "https://returns.acme.test/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
}


def make_desired(slug: str = "acme", settings: dict[str, Any] | None = None,
                 h5_approved: bool = True, document: dict[str, Any] | None = None) -> DesiredState:
    ref = SecretRef
    return DesiredState(
        slug=slug, source=f"merchants/{slug}.yaml", shopify_shop=f"{slug}.myshopify.com",
        tiktok_shop_id="7495000000000000001", tiktok_region="US",
        loop_portal_domain="returns.acme.test",
        credentials=Credentials(ref("TTS_APP_KEY"), ref("TTS_APP_SECRET"), ref("ACME_TTS_TOKEN"),
                                ref("ACME_SHOPIFY_TOKEN"), ref("ACME_PIPE17_KEY"), ref("ACME_LOOP_KEY")),
        h5_redirect=H5Redirect(h5_approved, "ticket TTS-1" if h5_approved else None),
        settings=MappingProxyType(dict(STANDARD if settings is None else settings)),
        document=MappingProxyType(document or {"tiktok_shop": {"shopify_connector": "disabled"}}),
    )


@pytest.fixture
def desired_factory():
    return make_desired
