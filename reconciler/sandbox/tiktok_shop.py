"""TikTok Shop Open API emulation (docs/providers/tiktok_shop.md), under `/tiktok`.

Every call is checked as TikTok does: a known `app_key`, a fresh
`timestamp`, a valid `sign` over the path relative to `/tiktok` (see
`tiktok_sign`), the `x-tts-access-token` of a shop that authorized the
app, and `shop_cipher` on shop-scoped calls. Answers use TikTok's envelope.

Error codes (HTTP status, code), from TikTok's common-errors table: unknown
app key, missing sign, a timestamp more than 5 minutes old or more than 30 s
ahead, an unknown access token, or a `shop_cipher` on a call that takes none
(401, 36009004); bad signature (401, 106001); missing `shop_cipher` (400,
106013); a body that is not JSON, or sent without a JSON content type (400,
36009022); unknown path (404, 36009009); known path, wrong method (405,
36009010); rate limited (429, 36009002); server errors (5xx, 36009003).
The sandbox's own choices: a foreign `shop_cipher` (400, 106011), a shop
that has not authorized the app (403, 105005), invalid parameters (400,
36009001), Return Proxy not installed (400, 17003001) and an invalid Return
Proxy setting (400, 17003002). A GET without a content type is accepted
(TikTok's behaviour there is unpublished; the client sends one anyway).
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


def _holds(emu: Emulator, record: dict[str, Any], token: str) -> bool:
    """Whether `token` is the record's fixed access token or one the auth host issued it
    (both kept as keyed digests, see `accepted`)."""
    book = (record.get("tiktok_auth") or {}).get("access_tokens", {})
    return bool(token) and (emu.accepts(record, "tiktok_access_token", token)
                            or emu.token_key(token) in book)


def access_expired(emu: Emulator, record: dict[str, Any], token: str) -> bool:
    """An access token the auth host issued (see tiktok_auth) whose expiry has passed."""
    book = (record.get("tiktok_auth") or {}).get("access_tokens", {})
    expires = book.get(emu.token_key(token)) if token else None
    return expires is not None and expires <= time.time()

PREFIX = "/tiktok"
TIMESTAMP_MAX_AGE = 300  # "must not be earlier than 5 minutes before the current time"
TIMESTAMP_MAX_AHEAD = 30  # "must not exceed the current time by more than 30 seconds"
RATE_LIMITED = (36009002, "Too many requests. You've made too many requests in a short period of time.")
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
    return envelope(emu, None, status=404, code=36009009, message="Invalid path. The specified path does not match any available endpoint.")


def throttle_response(emu: Emulator, status: int = 429) -> Response:
    """TikTok's rate-limit envelope; TikTok sends it in an HTTP 429 and, at times, in a 200."""
    return envelope(emu, None, status=status, code=RATE_LIMITED[0], message=RATE_LIMITED[1])


def _fresh(stamp: str) -> bool:
    if not stamp.isdigit():
        return False
    age = time.time() - int(stamp)
    return -TIMESTAMP_MAX_AHEAD <= age <= TIMESTAMP_MAX_AGE


def _check_format(request: Request, body: bytes) -> None:
    content_type = request.headers.get("content-type", "")
    if body and not content_type.lower().startswith(("application/json", "multipart/form-data")):
        raise TikTokError(400, 36009022, "Invalid request format. The request body format must be "
                                         "`application/json` for structured data or "
                                         "`multipart/form-data` for binary files.")


async def _authenticate(emu: Emulator, request: Request, *, shop_scoped: bool) -> list[dict[str, Any]]:
    """The merchant records the caller may act on; raises TikTokError otherwise."""
    query = request.query_params
    app_key = query.get("app_key")
    secret = emu.tiktok_app_secret(app_key)
    if secret is None:
        raise TikTokError(401, 36009004, "Invalid credentials. Invalid `app_key` query parameter.")
    given = query.get("sign", "")
    if not given:
        raise TikTokError(401, 36009004, "Missing credentials. The request does not include a "
                                         "required signature in the query.")
    body = await request.body()
    _check_format(request, body)
    path = request.url.path.removeprefix(PREFIX) or "/"
    content_type = request.headers.get("content-type", "application/json")
    if not hmac.compare_digest(given, sign(secret, path, query.multi_items(), body,
                                           content_type=content_type)):
        raise TikTokError(401, 106001, "Invalid credentials. The `sign` query parameter is invalid.")
    if not _fresh(query.get("timestamp", "")):
        raise TikTokError(401, 36009004, "Invalid timestamp. The value of the `timestamp` query "
                                         "parameter must not be earlier than 5 minutes before, nor "
                                         "exceed by more than 30 seconds, the current time.")
    access_token = request.headers.get("x-tts-access-token")
    records = [r for r in emu.find("tiktok_access_token", access_token)
               if emu.accepts(r, "tiktok_app_key", app_key) and _holds(emu, r, access_token or "")]
    # TikTok's common-errors table (partner.tiktokshop.com docv2 page `common-errors`, vendored
    # in tests/fixtures/tiktok_shop/tiktok_shop_rb_api/error_list.json): an expired token is
    # 105002, one that is not a token at all is 36009004; a client refreshes on the first only.
    if not records:
        raise TikTokError(401, 36009004, "Invalid credentials. The `x-tts-access-token` header "
                                         "is invalid.")
    if access_expired(emu, records[0], access_token or ""):
        raise TikTokError(401, 105002, "Expired credentials. The `access_token` or "
                                       "`x-tts-access-token` header has expired.")
    # Limits apply per app and seller: by shop on shop-scoped calls, by the
    # seller's access token on the others (a fleet shares one app key).
    scope = query.get("shop_cipher") or "seller:" + str(records[0]["tiktok_shop"]["shop"]["id"])
    window = f"tiktok:{app_key}:{scope}"
    allowed, _ = emu.windows.allow(window, emu.limits.tiktok_per_second, 1.0)
    if not allowed:
        raise TikTokError(429, *RATE_LIMITED)
    cipher = query.get("shop_cipher")
    if not shop_scoped:
        if cipher is not None:
            raise TikTokError(401, 36009004, "Unexpected identifier. The `shop_cipher` query "
                                             "parameter is not required for this request.")
        return records
    if not cipher:
        raise TikTokError(400, 106013, "Missing identifier. The `shop_cipher` query parameter is "
                                       "required to identify the target shop.")
    shop = [r for r in records if r["tiktok_shop"]["shop"]["cipher"] == cipher]
    if not shop:
        raise TikTokError(400, 106011, "shop_cipher is invalid")
    if not shop[0]["tiktok_shop"]["authorized"]:
        raise TikTokError(403, 105005, "Access denied. The shop has not authorized this app.")
    return shop


def _handler(emu: Emulator, *, shop_scoped: bool, action: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            records = await _authenticate(emu, request, shop_scoped=shop_scoped)
            data = await action(request, records)
        except TikTokError as error:
            return envelope(emu, None, status=error.status, code=error.code, message=error.message)
        return envelope(emu, data)

    return endpoint


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise TikTokError(400, 36009022, "Invalid request format. The request body is not valid JSON.") from error
    if not isinstance(value, dict):
        raise TikTokError(400, 36009022, "Invalid request format. The request body must be a JSON object.")
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
    served = [
        Route(f"{base}/authorization/202309/shops", _handler(emu, shop_scoped=False, action=_shops)),
        Route(f"{base}/order/202309/orders/search",
              _handler(emu, shop_scoped=True, action=_search_orders), methods=["POST"]),
        Route(f"{base}/order/202309/orders", _handler(emu, shop_scoped=True, action=_get_orders)),
        Route(f"{base}/return_refund/202309/returns/search",
              _handler(emu, shop_scoped=True, action=_search_returns), methods=["POST"]),
        Route(proxy, _handler(emu, shop_scoped=True, action=_get_return_proxy), methods=["GET"]),
        Route(proxy, _handler(emu, shop_scoped=True, action=_put_return_proxy(emu)), methods=["PUT"]),
    ]
    known = frozenset(route.path for route in served)
    return [*served, Route(f"{base}/{{rest:path}}", _not_found(emu, known),
                           methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]


def _not_found(emu: Emulator, known: frozenset[str]) -> Any:
    async def endpoint(request: Request) -> Response:
        if request.url.path in known:
            return envelope(emu, None, status=405, code=36009010, message="Invalid method. The HTTP "
                            "method used is not supported by this endpoint.")
        return envelope(emu, None, status=404, code=36009009, message="Invalid path. The specified "
                        "path does not match any available endpoint.")

    return endpoint
