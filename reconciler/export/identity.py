"""Who a merchant is: ids, domains, secret references and the H5 attestation.

From its file when there is one. In the sandbox, merchants seeded earlier
whose file is gone are found in the emulator's accounts (the sandbox's
state, embedded or served); their secret references follow the naming
convention `<SLUG>_SHOPIFY_TOKEN`, `<SLUG>_TTS_REFRESH_TOKEN`,
`<SLUG>_PIPE17_KEY`, `<SLUG>_LOOP_KEY`. Live services offer no list of the
merchants an app could manage, so there `export` needs the merchant's file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reconciler.model import DesiredState
from reconciler.targets import Target

PROFILE = "tiktok-loop"


@dataclass(frozen=True)
class Account:
    """A merchant account seen on the target, without a file."""

    slug: str
    shopify_shop: str
    tiktok_shop_id: str
    tiktok_region: str
    loop_portal_domain: str


class DiscoveryError(Exception):
    pass


def env_prefix(slug: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", slug.upper()).strip("_")


def identity_of_file(desired: DesiredState, profile: dict[str, Any]) -> dict[str, Any]:
    """The identity part of a merchant document, from its loaded file."""
    document, refs = desired.document, desired.credentials
    tiktok: dict[str, Any] = {"shop_id": desired.tiktok_shop_id, "region": desired.tiktok_region}
    profile_tiktok = profile.get("tiktok_shop") or {}
    for key, ref in (("app_key", refs.tiktok_app_key), ("app_secret", refs.tiktok_app_secret)):
        if profile_tiktok.get(key) != str(ref):
            tiktok[key] = str(ref)
    for key, token in (("access_token", refs.tiktok_access_token),
                       ("refresh_token", refs.tiktok_refresh_token)):
        if token is not None:
            tiktok[key] = str(token)
    tiktok["h5_redirect"] = _h5(desired.h5_redirect.approved, desired.h5_redirect.evidence)
    return _identity(str(document.get("name") or desired.slug), desired.shopify_shop, tiktok,
                     str(refs.shopify_access_token), str(refs.pipe17_api_key),
                     str(refs.loop_api_key), desired.loop_portal_domain)


def identity_of_account(account: Account, profile: dict[str, Any]) -> dict[str, Any]:
    """An identity for a merchant with no file: conventional secret references, H5 unattested."""
    prefix = env_prefix(account.slug)
    tiktok: dict[str, Any] = {"shop_id": account.tiktok_shop_id, "region": account.tiktok_region}
    profile_tiktok = profile.get("tiktok_shop") or {}
    for key, var in (("app_key", "TTS_APP_KEY"), ("app_secret", "TTS_APP_SECRET")):
        if not profile_tiktok.get(key):
            tiktok[key] = f"env:{var}"
    tiktok["refresh_token"] = f"env:{prefix}_TTS_REFRESH_TOKEN"
    tiktok["h5_redirect"] = _h5(False, None)
    name = account.slug.replace("-", " ").title()
    return _identity(name, account.shopify_shop, tiktok, f"env:{prefix}_SHOPIFY_TOKEN",
                     f"env:{prefix}_PIPE17_KEY", f"env:{prefix}_LOOP_KEY", account.loop_portal_domain)


def _h5(approved: bool, evidence: str | None) -> dict[str, Any]:
    return {"approved": approved, **({"evidence": evidence} if evidence else {})}


def _identity(name: str, shop: str, tiktok: dict[str, Any], shopify_token: str, pipe17_key: str,
              loop_key: str, portal_domain: str) -> dict[str, Any]:
    return {
        "extends": PROFILE,
        "name": name,
        "shopify": {"shop": shop, "access_token": shopify_token},
        "tiktok_shop": tiktok,
        "pipe17": {"api_key": pipe17_key},
        "loop": {"api_key": loop_key, "portal_domain": portal_domain},
    }


def sandbox_accounts(target: Target) -> list[Account]:
    """Every merchant account the sandbox target holds (embedded state file or served control API)."""
    if not target.is_sandbox:
        raise DiscoveryError(
            "the live services offer no list of the merchants this app could manage, so "
            "'export --all' works against the sandbox only; on live, write the merchant's ids and "
            "secret references into merchants/<slug>.yaml and run 'reconciler export <slug>'"
        )
    data = _embedded_state(target.state_dir) if target.embedded else _served_state(target.name)
    accounts = []
    for slug, record in sorted((data.get("merchants") or {}).items()):
        spec = record.get("spec") or {}
        accounts.append(Account(slug, str(spec.get("shopify_shop", "")), str(spec.get("tiktok_shop_id", "")),
                                str(spec.get("tiktok_region", "")), str(spec.get("loop_portal_domain", ""))))
    return accounts


def _embedded_state(state_dir: Path) -> dict[str, Any]:
    from reconciler.sandbox import STATE_FILE_NAME, StateStore

    store = StateStore(Path(state_dir) / STATE_FILE_NAME)
    with store.lock:
        return store.read() or {}


def _served_state(root: str) -> dict[str, Any]:
    try:
        response = httpx.get(f"{root.rstrip('/')}/_sandbox/state", timeout=10)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DiscoveryError(f"could not list the sandbox's merchants at {root}: {exc}") from None
