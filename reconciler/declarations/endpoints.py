"""Every endpoint the product calls, grouped in contracts, with the evidence for each.

This table decides what is `assumed`: the published-only sandbox answers
those endpoints as an unknown path, `doctor` probes them, the plan degrades
gracefully when they are unavailable, and docs/providers/*.md list them
(a test compares the tables).
"""

from __future__ import annotations

from reconciler.declarations.types import Contract, ContractStatus, Endpoint

PUBLISHED, ASSUMED, NONE = ContractStatus.PUBLISHED, ContractStatus.ASSUMED, ContractStatus.NONE

TIKTOK_DOCS = "https://partner.tiktokshop.com/docv2 (API reference, version 202309)"
TIKTOK_SDK = "https://github.com/EcomPHP/tiktokshop-php (src/Resources)"
SHOPIFY_DOCS = "https://shopify.dev/docs/api/admin-graphql"
LOOP_DEEP_LINK = ("https://docs.loopreturns.com/api-reference/latest/return-actions/"
                  "create-return-deep-link")
LOOP_RETURNS = "https://docs.loopreturns.com/integration-guides/return-data (Detailed Returns List)"

_NULLABLE_TEXT = {"type": ["string", "null"]}

CONTRACTS: tuple[Contract, ...] = (
    Contract("tiktok_shop.authorization", "tiktok_shop", PUBLISHED, f"{TIKTOK_DOCS}; {TIKTOK_SDK}",
             read="tiktok_shop.shops"),
    Contract("tiktok_shop.orders", "tiktok_shop", PUBLISHED, f"{TIKTOK_DOCS}; {TIKTOK_SDK}"),
    Contract("tiktok_shop.returns", "tiktok_shop", PUBLISHED, f"{TIKTOK_DOCS}; {TIKTOK_SDK}"),
    Contract(
        "tiktok_shop.return_proxy", "tiktok_shop", ASSUMED,
        "no published endpoint for Return Proxy settings (TikTok Shop Partner Center API reference)",
        read="tiktok_shop.return_proxy.read",
        shape={"type": "object", "required": ["installed", "partner", "return_url_template"],
               "properties": {"installed": {"type": "boolean"},
                              "partner": _NULLABLE_TEXT,
                              "return_url_template": _NULLABLE_TEXT,
                              "shopify_connector_enabled": {"type": "boolean"}}},
        manual_title="Set the Return Proxy settings in TikTok Shop Seller Center",
        manual_where="TikTok Shop Seller Center > Apps & services > Return Proxy App > Settings",
    ),
    Contract("tiktok_shop.h5_redirect", "tiktok_shop", NONE,
             "no API at all: approved by TikTok through the merchant's Account Manager"),
    Contract("shopify.admin_graphql", "shopify", PUBLISHED, SHOPIFY_DOCS, read="shopify.shop"),
    Contract(
        "pipe17.integrations", "pipe17", ASSUMED,
        "the /integrations resource is listed publicly, but no public evidence for its "
        "connector names, status or `settings` shape (entity directions, options), nor for "
        "an endpoint naming the key's org",
        read="pipe17.integrations.read",
        shape={"type": "object", "required": ["integrations"],
               "properties": {"integrations": {"type": "array", "items": {
                   "type": "object", "required": ["integrationId", "connectorName", "status", "settings"],
                   "properties": {"integrationId": {"type": "string"},
                                  "connectorName": {"type": "string"},
                                  "status": {"type": "string"},
                                  "version": {"type": "integer"},
                                  "settings": {"type": "object", "properties": {
                                      "entities": {"type": "object"},
                                      "options": {"type": "object"}}}}}}}},
        manual_title="Set the integrations' flows and options in the Pipe17 app",
        manual_where="Pipe17 app > Integrations",
    ),
    Contract("pipe17.refunds", "pipe17", ASSUMED,
             "no public evidence for a refunds list resource", read="pipe17.refunds",
             shape={"type": "object", "required": ["refunds"],
                    "properties": {"refunds": {"type": "array"}}}),
    Contract(
        "loop.portal_settings", "loop", ASSUMED,
        "no published Loop API group reads or writes portal settings (lookup method, instructions)",
        read="loop.portal_settings.read",
        shape={"type": "object", "required": ["order_lookup", "instructions"],
               "properties": {"order_lookup": _NULLABLE_TEXT, "instructions": _NULLABLE_TEXT,
                              "portal_domain": _NULLABLE_TEXT}},
        manual_title="Set the return portal's lookup and instructions in the Loop admin",
        manual_where="Loop admin > Settings > Return portal",
        proof="loop.lookup_by_zip",
    ),
    Contract("loop.order_link", "loop", PUBLISHED, LOOP_DEEP_LINK),
    Contract("loop.returns", "loop", PUBLISHED, LOOP_RETURNS),
)

_PLAN, _APPLY, _VERIFY, _DOCTOR = "plan", "apply", "verify", "doctor"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("tiktok_shop.shops", "tiktok_shop", "GET", "/authorization/202309/shops",
             "tiktok_shop.authorization", "authorized shops and their cipher",
             (_PLAN, _APPLY, _VERIFY, _DOCTOR), ("seller.authorization.info",), probe=True),
    Endpoint("tiktok_shop.return_proxy.read", "tiktok_shop", "GET", "/return_refund/202309/return_proxy",
             "tiktok_shop.return_proxy", "read the Return Proxy partner and return URL",
             (_PLAN, _APPLY, _VERIFY, _DOCTOR), probe=True),
    Endpoint("tiktok_shop.return_proxy.write", "tiktok_shop", "PUT", "/return_refund/202309/return_proxy",
             "tiktok_shop.return_proxy", "write one Return Proxy field", (_APPLY,)),
    Endpoint("tiktok_shop.orders_search", "tiktok_shop", "POST", "/order/202309/orders/search",
             "tiktok_shop.orders", "recent orders", (_VERIFY, _DOCTOR), ("seller.order.info",),
             probe=True),
    Endpoint("tiktok_shop.returns_search", "tiktok_shop", "POST", "/return_refund/202309/returns/search",
             "tiktok_shop.returns", "returns and refunds of orders", (_VERIFY, _DOCTOR),
             ("seller.return_refund.basic",), probe=True),
    Endpoint("shopify.shop", "shopify", "POST", "/graphql.json (query ReconcilerShop)",
             "shopify.admin_graphql", "the shop, the app's access scopes and the sales channels",
             (_PLAN, _APPLY, _VERIFY, _DOCTOR), ("read_publications",), probe=True),
    Endpoint("shopify.shop_basic", "shopify", "POST", "/graphql.json (query ReconcilerShopBasic)",
             "shopify.admin_graphql", "the shop and scopes, when Shopify denies publications",
             (_PLAN, _APPLY, _VERIFY, _DOCTOR), probe=True),
    Endpoint("shopify.orders", "shopify", "POST", "/graphql.json (query ReconcilerOrders)",
             "shopify.admin_graphql", "TikTok orders written into Shopify", (_VERIFY, _DOCTOR),
             ("read_orders",), probe=True),
    Endpoint("pipe17.integrations.read", "pipe17", "GET", "/integrations", "pipe17.integrations",
             "integrations with their status, flows and options", (_PLAN, _APPLY, _VERIFY, _DOCTOR),
             probe=True),
    Endpoint("pipe17.organization", "pipe17", "GET", "/organization", "pipe17.integrations",
             "the Shopify shop of the key's org: proves the key is this merchant's before writes",
             (_PLAN, _APPLY, _VERIFY, _DOCTOR), probe=True),
    Endpoint("pipe17.integrations.create", "pipe17", "POST", "/integrations", "pipe17.integrations",
             "create an integration by connector name", (_APPLY,)),
    Endpoint("pipe17.integrations.write", "pipe17", "PUT", "/integrations/{id}", "pipe17.integrations",
             "update one flow or option (quoting `version`)", (_APPLY,)),
    Endpoint("pipe17.refunds", "pipe17", "GET", "/refunds", "pipe17.refunds",
             "refunds Pipe17 holds (where TikTok's returns cannot be read)", (_VERIFY, _DOCTOR),
             probe=True),
    Endpoint("loop.portal_settings.read", "loop", "GET", "/portal/settings", "loop.portal_settings",
             "the portal's order lookup and instructions, and the shop the key serves", (_PLAN, _APPLY, _VERIFY, _DOCTOR), probe=True),
    Endpoint("loop.portal_settings.write", "loop", "PATCH", "/portal/settings", "loop.portal_settings",
             "write one portal setting", (_APPLY,)),
    Endpoint("loop.order_link", "loop", "POST", "/order/link", "loop.order_link",
             "deep link for an order found by number and zip", (_VERIFY, _DOCTOR), ("Orders",),
             probe=True),
    Endpoint("loop.returns", "loop", "GET", "/warehouse/return/list", "loop.returns",
             "recent returns and their refunds", (_VERIFY, _DOCTOR), ("Returns",), probe=True),
)
