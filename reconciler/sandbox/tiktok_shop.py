"""TikTok Shop Open API emulation (docs/providers/tiktok_shop.md), under `/tiktok`.

Every call is checked as TikTok does: a known `app_key`, a fresh
`timestamp`, a valid `sign` over the path relative to `/tiktok` (see
`tiktok_sign`), the `x-tts-access-token` of a shop that authorized the
app, and `shop_cipher` on shop-scoped calls. Answers use TikTok's envelope.

Error codes (HTTP status, code): bad key or signature (401, 106001); stale
timestamp (401, 106002); bad token (401, 105002); shop not authorized
(403, 105005); missing or unknown `shop_cipher` (400, 106011); invalid
parameter (400, 36009001); rate limited (429, 36009004); Return Proxy not
installed (400, 17003001); invalid Return Proxy setting (400, 17003002);
server errors (5xx, 36009003). Codes other than 106001, 105002, 36009004
and 17003001 are the sandbox's own choice.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.declarations.settings import RETURN_URL_MAX
from reconciler.sandbox.state import Emulator, tiktok_returns
from reconciler.sandbox.tiktok_sign import sign


def _holds(record: dict[str, Any], token: str) -> bool:
    """Whether `token` is the record's fixed access token or one the auth host issued it."""
    book = (record.get("tiktok_auth") or {}).get("access_tokens", {})
    return record["credentials"].get("tiktok_access_token") == token or token in book


def access_expired(record: dict[str, Any], token: str) -> bool:
    """An access token the auth host issued (see tiktok_auth) whose expiry has passed."""
    expires = (record.get("tiktok_auth") or {}).get("access_tokens", {}).get(token)
    return expires is not None and expires <= time.time()

PREFIX = "/tiktok"
TIMESTAMP_SKEW = 300
RETURN_PROXY_FIELDS = ("partner", "return_url_template")
_PARTNER = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")


class TikTokError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def is_write(method: str, path: str) -> bool:
    return method in ("PUT", "PATCH", "DELETE") or (method == "POST" and not path.endswith("/search"))


def envelope(emu: Emulator, data: Any, *, status: int = 200, code: int = 0,
             message: str = "Success", headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"code": code, "message": message, "data": data, "request_id": emu.request_id()}
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(emu: Emulator, status: int) -> Response:
    return envelope(emu, None, status=status, code=36009003, message="internal system error, please retry")


def unknown_path_response(emu: Emulator) -> Response:
    """TikTok's answer to an unknown path: HTTP 404, code 36009009 "Invalid path" (published-only mode)."""
    return envelope(emu, None, status=404, code=36009009, message="Invalid path")


def throttle_response(emu: Emulator) -> Response:
    return envelope(emu, None, status=429, code=36009004, message="too many requests",
                    headers={"Retry-After": "1"})


async def _authenticate(emu: Emulator, request: Request, *, shop_scoped: bool) -> list[dict[str, Any]]:
    """The merchant records the caller may act on; raises TikTokError otherwise."""
    query = request.query_params
    app_key = query.get("app_key")
    secret = emu.tiktok_app_secret(app_key)
    given = query.get("sign", "")
    body = await request.body()
    path = request.url.path.removeprefix(PREFIX) or "/"
    content_type = request.headers.get("content-type", "application/json")
    if secret is None or not given or not hmac.compare_digest(
        given, sign(secret, path, query.multi_items(), body, content_type=content_type)
    ):
        raise TikTokError(401, 106001, "signature is invalid")
    stamp = query.get("timestamp", "")
    if not stamp.isdigit() or abs(int(stamp) - time.time()) > TIMESTAMP_SKEW:
        raise TikTokError(401, 106002, "timestamp is invalid or expired")
    access_token = request.headers.get("x-tts-access-token")
    records = [r for r in emu.find("tiktok_access_token", access_token)
               if r["credentials"]["tiktok_app_key"] == app_key and _holds(r, access_token or "")]
    if not records:
        raise TikTokError(401, 105002, "access token is invalid")
    if access_expired(records[0], access_token or ""):
        raise TikTokError(401, 105002, "access token has expired")
    # Limits apply per app and seller: by shop on shop-scoped calls, by the
    # seller's access token on the others (a fleet shares one app key).
    scope = query.get("shop_cipher") or "seller:" + str(records[0]["tiktok_shop"]["shop"]["id"])
    window = f"tiktok:{app_key}:{scope}"
    allowed, _ = emu.windows.allow(window, emu.limits.tiktok_per_second, 1.0)
    if not allowed:
        raise TikTokError(429, 36009004, "too many requests")
    if not shop_scoped:
        return records
    cipher = query.get("shop_cipher")
    shop = [r for r in records if r["tiktok_shop"]["shop"]["cipher"] == cipher]
    if not cipher or not shop:
        raise TikTokError(400, 106011, "shop_cipher is missing or invalid")
    if not shop[0]["tiktok_shop"]["authorized"]:
        raise TikTokError(403, 105005, "the shop has not authorized this app")
    return shop


def _handler(emu: Emulator, *, shop_scoped: bool, action: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            records = await _authenticate(emu, request, shop_scoped=shop_scoped)
            data = await action(request, records)
        except TikTokError as error:
            headers = {"Retry-After": "1"} if error.status == 429 else None
            return envelope(emu, None, status=error.status, code=error.code,
                            message=error.message, headers=headers)
        return envelope(emu, data)

    return endpoint


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise TikTokError(400, 36009001, "request body is not valid JSON") from error
    if not isinstance(value, dict):
        raise TikTokError(400, 36009001, "request body must be a JSON object")
    return value


def _page(request: Request, items: list[Any]) -> tuple[list[Any], str]:
    size_text = request.query_params.get("page_size", "")
    if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
        raise TikTokError(400, 36009001, "page_size is required and must be between 1 and 100")
    token = request.query_params.get("page_token") or "0"
    if not token.isdigit():
        raise TikTokError(400, 36009001, "page_token is invalid")
    start, size = int(token), int(size_text)
    rest = start + size
    return items[start:rest], (str(rest) if rest < len(items) else "")


async def _shops(request: Request, records: list[dict[str, Any]]) -> Any:
    return {"shops": [dict(r["tiktok_shop"]["shop"]) for r in records if r["tiktok_shop"]["authorized"]]}


async def _search_orders(request: Request, records: list[dict[str, Any]]) -> Any:
    body = await _json(request)
    orders = sorted(records[0]["tiktok_shop"]["orders"], key=lambda o: -o["create_time"])
    for field, test in (
        ("create_time_ge", lambda o, v: o["create_time"] >= v),
        ("create_time_lt", lambda o, v: o["create_time"] < v),
        ("update_time_ge", lambda o, v: o["update_time"] >= v),
        ("order_status", lambda o, v: o["status"] == v),
    ):
        if field in body:
            orders = [o for o in orders if test(o, body[field])]
    page, next_token = _page(request, orders)
    return {"orders": page, "next_page_token": next_token, "total_count": len(orders)}


async def _get_orders(request: Request, records: list[dict[str, Any]]) -> Any:
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if not ids or len(ids) > 50:
        raise TikTokError(400, 36009001, "ids must list 1 to 50 order ids")
    return {"orders": [o for o in records[0]["tiktok_shop"]["orders"] if o["id"] in ids]}


async def _search_returns(request: Request, records: list[dict[str, Any]]) -> Any:
    body = await _json(request)
    returns = tiktok_returns(records[0])
    if body.get("order_ids"):
        returns = [r for r in returns if r["order_id"] in body["order_ids"]]
    if body.get("return_ids"):
        returns = [r for r in returns if r["return_id"] in body["return_ids"]]
    page, next_token = _page(request, returns)
    return {"return_orders": page, "next_page_token": next_token, "total_count": len(returns)}


async def _get_return_proxy(request: Request, records: list[dict[str, Any]]) -> Any:
    return dict(records[0]["tiktok_shop"]["return_proxy"])


def _put_return_proxy(emu: Emulator) -> Any:
    async def action(request: Request, records: list[dict[str, Any]]) -> Any:
        body = await _json(request)
        proxy = records[0]["tiktok_shop"]["return_proxy"]
        unknown = sorted(set(body) - set(RETURN_PROXY_FIELDS))
        if unknown:
            raise TikTokError(400, 17003002, f"unknown or read-only field(s): {', '.join(unknown)}")
        partner = body.get("partner")
        if "partner" in body and partner is not None and not (
            isinstance(partner, str) and _PARTNER.match(partner)
        ):
            raise TikTokError(400, 17003002, "partner must be an upper-case partner code or null")
        template = body.get("return_url_template")
        if "return_url_template" in body and template is not None and not (
            isinstance(template, str) and template.startswith("https://") and len(template) <= RETURN_URL_MAX
        ):
            raise TikTokError(400, 17003002, "return_url_template must be an https URL or null")
        if not proxy["installed"]:
            raise TikTokError(400, 17003001, "return proxy service is not authorized for this shop")
        proxy.update(body)
        emu.mark_dirty(records[0])
        return dict(proxy)

    return action


def routes(emu: Emulator) -> list[Route]:
    base = PREFIX
    proxy = f"{base}/return_refund/202309/return_proxy"
    return [
        Route(f"{base}/authorization/202309/shops", _handler(emu, shop_scoped=False, action=_shops)),
        Route(f"{base}/order/202309/orders/search",
              _handler(emu, shop_scoped=True, action=_search_orders), methods=["POST"]),
        Route(f"{base}/order/202309/orders", _handler(emu, shop_scoped=True, action=_get_orders)),
        Route(f"{base}/return_refund/202309/returns/search",
              _handler(emu, shop_scoped=True, action=_search_returns), methods=["POST"]),
        Route(proxy, _handler(emu, shop_scoped=True, action=_get_return_proxy), methods=["GET"]),
        Route(proxy, _handler(emu, shop_scoped=True, action=_put_return_proxy(emu)), methods=["PUT"]),
        Route(f"{base}/{{rest:path}}", _not_found(emu), methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]


def _not_found(emu: Emulator) -> Any:
    async def endpoint(request: Request) -> Response:
        return envelope(emu, None, status=404, code=36009001, message="api path is not found")

    return endpoint
