"""Proof that a merchant's credential is that merchant's, from what the service answers.

Every service is asked once per run and merchant who the credential is for,
before anything is written: TikTok lists the shops a token is authorized for,
Shopify names its shop (`myshopifyDomain`), and Loop and Pipe17 report the
Shopify shop their account serves (assumed contracts, docs/providers/loop.md
and docs/providers/pipe17.md). An answer for another shop is an
`OwnershipError` that names the service, the merchant and what was reported,
never the credential.
"""

from __future__ import annotations

from reconciler.http.errors import OwnershipError
from reconciler.model import DesiredState


def shop_domain(value: object) -> str:
    """Shop domains compare without case or surrounding space."""
    return str(value or "").strip().lower()


def require_shop(service: str, merchant: DesiredState, reported: object, *, label: str) -> None:
    """`reported` (the shop the service says `label` serves) must be the merchant's Shopify shop."""
    found = shop_domain(reported)
    if not found:
        raise OwnershipError(
            service, f"cannot prove the {label} belongs to this merchant: the service did not say "
            "which shop it serves; nothing is written with it", merchant.slug)
    if found != shop_domain(merchant.shopify_shop):
        raise OwnershipError(
            service, f"the {label} belongs to shop {found}, not {merchant.shopify_shop}; set this "
            "merchant's own credential", merchant.slug)
