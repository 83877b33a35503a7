"""TikTok Shop's auth host (`https://auth.tiktok-shops.com`), under `/tiktok-auth`.

- `GET /oauth/authorize?app_key&state[&redirect_uri][&shop_id]`: the seller's
  consent. A person clicks it live; the sandbox consents at once for the shop
  `shop_id` names (the sandbox's stand-in for the seller logging in; without
  it, the only shop of the app), issues a one-time authorization code (10
  minutes) and redirects to `redirect_uri?code=...&state=...`, or, without a
  redirect, answers `{"code", "state"}` for pasting.
- `GET /api/v2/token/get?app_key&app_secret&auth_code&grant_type=authorized_code`
- `GET /api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token`

Both token calls answer TikTok's envelope with `data {access_token,
access_token_expire_in, refresh_token, refresh_token_expire_in, open_id,
seller_name, seller_base_region, granted_scopes}`, the expiries Unix
timestamps. Lifetimes (and whether a refresh rotates the refresh token)
come from `TokenPolicy`, set through `/_sandbox/tiktok-auth`. Issued access
tokens are checked by the shop API, which answers `105002` once they
expire and `36009004` for a token it never issued (TikTok's common-errors
table). Error codes here (HTTP 200 as TikTok's auth host does): a bad, expired
or used authorization code is `36004004` "Invalid auth code." (the
common-errors table, partner.tiktokshop.com docv2 page `common-errors`,
vendored in tests/fixtures/tiktok_shop/tiktok_shop_rb_api/error_list.json);
the sandbox's own choices, unpublished: bad app key or secret 36004001, bad,
revoked or expired refresh token 36004004, bad grant_type 36004005.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reconciler.sandbox.limits import TokenPolicy
from reconciler.sandbox.state import Emulator
from reconciler.sandbox.tiktok_shop import envelope, error_response, throttle_response

PREFIX = "/tiktok-auth"
CODE_LIFETIME = 600
__all__ = ["error_response", "throttle_response", "is_write", "routes", "TokenPolicy"]


def is_write(method: str, path: str) -> bool:
    return False  # issuing tokens changes no merchant setting


def auth_state(record: dict[str, Any]) -> dict[str, Any]:
    """The record's token book: valid refresh tokens and issued access tokens, with expiries."""
    return record.setdefault("tiktok_auth", {"refresh_tokens": {}, "access_tokens": {}})


def issue(emu: Emulator, record: dict[str, Any], *, keep_refresh: str | None = None) -> dict[str, Any]:
    """New tokens for `record`'s shop: an access token, and a refresh token unless one is kept."""
    policy, now = emu.token_policy, int(time.time())
    book = auth_state(record)
    access = "TTP_" + secrets.token_urlsafe(24)
    access_expires = now + policy.access_token_lifetime
    # Expired tokens stay a day (still answered 105002, as TikTok does), then are forgotten.
    book["access_tokens"] = {t: e for t, e in book["access_tokens"].items() if e > now - 86_400}
    # Tokens are kept by keyed digest (see `accepted`): the state file never holds one.
    book["access_tokens"][emu.token_key(access)] = access_expires
    refresh = keep_refresh
    if refresh is None:
        refresh = "TTR_" + secrets.token_urlsafe(24)
        book["refresh_tokens"][emu.token_key(refresh)] = now + policy.refresh_token_lifetime
    emu.index_add("tiktok_access_token", access, record)
    emu.index_add("tiktok_refresh_token", refresh, record)
    emu.mark_dirty(record)
    shop = record["tiktok_shop"]["shop"]
    return {
        "access_token": access, "access_token_expire_in": access_expires,
        "refresh_token": refresh, "refresh_token_expire_in": book["refresh_tokens"][emu.token_key(refresh)],
        "open_id": "sbx-" + str(shop["id"])[-8:], "seller_name": shop["name"],
        "seller_base_region": shop["region"], "granted_scopes": ["seller.authorization.info"],
        "user_type": 0,  # as in TikTok's response samples (a seller, not a creator, account)
    }


def _app_ok(emu: Emulator, query: Any) -> bool:
    expected = emu.tiktok_app_secret(query.get("app_key"))
    given = query.get("app_secret") or ""
    return expected is not None and secrets.compare_digest(expected, given)


def routes(emu: Emulator) -> list[Route]:
    codes: dict[str, tuple[str, float]] = {}  # authorization code -> (slug, expiry)

    def fail(code: int, message: str) -> Response:
        return envelope(emu, None, code=code, message=message)

    async def authorize(request: Request) -> Response:
        query = request.query_params
        app_key, state = query.get("app_key"), query.get("state", "")
        records = [r for r in emu.find("tiktok_app_key", app_key)]
        shop_id = query.get("shop_id")
        chosen = [r for r in records if shop_id is None or str(r["tiktok_shop"]["shop"]["id"]) == shop_id]
        if not records or len(chosen) != 1:
            return fail(36004001, "unknown app_key, or no single shop named by shop_id")
        record = chosen[0]
        record["tiktok_shop"]["authorized"] = True
        emu.mark_dirty(record)
        code = "SBXCODE_" + secrets.token_urlsafe(18)
        codes[code] = (record["spec"]["slug"], time.time() + CODE_LIFETIME)
        redirect = query.get("redirect_uri")
        if redirect:
            joiner = "&" if "?" in redirect else "?"
            return RedirectResponse(f"{redirect}{joiner}{urlencode({'code': code, 'state': state})}",
                                    status_code=302)
        return envelope(emu, {"code": code, "state": state})

    async def token_get(request: Request) -> Response:
        query = request.query_params
        if query.get("grant_type") != "authorized_code":
            return fail(36004005, "grant_type must be authorized_code")
        if not _app_ok(emu, query):
            return fail(36004001, "app_key or app_secret is invalid")
        slug, expires = codes.pop(query.get("auth_code", ""), ("", 0.0))
        if not slug or expires < time.time() or slug not in emu.merchants:
            return fail(36004004, "Invalid auth code.")  # TikTok's common-errors table
        return envelope(emu, issue(emu, emu.merchants[slug]))

    async def token_refresh(request: Request) -> Response:
        query = request.query_params
        if query.get("grant_type") != "refresh_token":
            return fail(36004005, "grant_type must be refresh_token")
        if not _app_ok(emu, query):
            return fail(36004001, "app_key or app_secret is invalid")
        given = query.get("refresh_token", "")
        records = [r for r in emu.find("tiktok_refresh_token", given)
                   if auth_state(r)["refresh_tokens"].get(emu.token_key(given), 0) > time.time()]
        if not records:
            return fail(36004004, "refresh_token is invalid, revoked or expired")
        record = records[0]
        if emu.token_policy.rotate_refresh_tokens:
            return envelope(emu, issue(emu, record))
        return envelope(emu, issue(emu, record, keep_refresh=given))

    return [
        Route(f"{PREFIX}/oauth/authorize", authorize, methods=["GET"]),
        Route(f"{PREFIX}/api/v2/token/get", token_get, methods=["GET"]),
        Route(f"{PREFIX}/api/v2/token/refresh", token_refresh, methods=["GET"]),
    ]
