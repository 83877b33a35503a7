"""Loop Returns API emulation (docs/providers/loop.md), under `/loop/api/v1`.

Key header `X-Authorization` (one key per merchant; the portal settings name
its Shopify shop, `shop_domain`); 300 requests per minute per key, then 429
without `Retry-After` (as documented); 401, 400 and 422 in Loop's shapes.
The deep link (`POST /order/link`) finds the Shopify order named `name` and
matches `zip` against what the portal's lookup setting says: the shipping
zip for `zip`, the order email for `email` (TikTok orders carry none), the
phone for `phone` (none either). Found, it answers an opaque
`{"url": "https://<shop>.loopreturns.com/#/link/<id>"}`; not found, HTTP 400
`{"errors": [..]}`. The returns list takes `from`/`to` as date-times
(`2022-01-01 00:00:00`) and answers 422 to a bare date.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.declarations import BY_ADDRESS, LOOP_INSTRUCTIONS_MAX
from reconciler.sandbox.state import Emulator

PREFIX = "/loop/api/v1"
# The assumed contract's values and limit, one declaration each (reconciler/declarations).
LOOKUPS = tuple(BY_ADDRESS["loop.portal.order_lookup"].allowed or ())
MAX_INSTRUCTIONS = LOOP_INSTRUCTIONS_MAX  # one limit, declared once
RETURN_STATES = ("open", "closed", "cancelled", "expired", "review")
ORDER_NOT_FOUND = "Order not found."
# A date and a time of day (`2022-01-01 00:00:00`, or ISO 8601 with `T`): a bare date is refused.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ERRORS = {
    401: ("GEN-UNAUTHORIZED", "Unauthorized."),
    404: ("GEN-NOT-FOUND", "Not found."),
    429: ("GEN-RATE-LIMITED", "Too many requests."),
    500: ("GEN-SERVER-ERROR", "Server error."),
    502: ("GEN-BAD-GATEWAY", "Bad gateway."),
    503: ("GEN-UNAVAILABLE", "Service unavailable."),
}


def is_write(method: str, path: str) -> bool:
    return method in ("PUT", "PATCH", "DELETE") or (method == "POST" and not path.endswith("/order/link"))


def error_response(emu: Emulator, status: int) -> Response:
    code, message = _ERRORS.get(status, ("GEN-ERROR", "Error."))
    return JSONResponse({"error": {"code": str(status), "http_code": code, "message": message}}, status)


def throttle_response(emu: Emulator) -> Response:
    return error_response(emu, 429)


def unknown_path_response(emu: Emulator) -> Response:
    """What Loop answers for a path it does not have (published-only mode)."""
    return error_response(emu, 404)


def _unprocessable(message: str, errors: dict[str, list[str]]) -> Response:
    return JSONResponse({"message": message, "errors": errors}, status_code=422)


def _handler(emu: Emulator, action: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        key = request.headers.get("x-authorization")
        found = emu.find("loop_api_key", key)
        if not found:
            return error_response(emu, 401)
        allowed, _ = emu.windows.allow(f"loop:{key}", emu.limits.loop_per_minute, 60.0)
        if not allowed:
            return error_response(emu, 429)
        return await action(request, found[0])

    return endpoint


async def _json(request: Request) -> dict[str, Any] | None:
    try:
        value = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _portal(record: dict[str, Any]) -> dict[str, Any]:
    """The portal settings, with the shop the account serves (assumed contract, docs/providers/loop.md)."""
    return {**record["loop"]["portal"], "shop_domain": record["spec"]["shopify_shop"]}


async def _get_settings(request: Request, record: dict[str, Any]) -> Response:
    return JSONResponse(_portal(record))


def _patch_settings(emu: Emulator) -> Any:
    async def action(request: Request, record: dict[str, Any]) -> Response:
        body = await _json(request)
        if body is None:
            return _unprocessable("The given data was invalid.", {"body": ["The body must be a JSON object."]})
        errors: dict[str, list[str]] = {}
        for field in sorted(set(body) - {"order_lookup", "instructions"}):
            errors[field] = [f"The {field} field cannot be changed."]
        if "order_lookup" in body and body["order_lookup"] not in LOOKUPS:
            errors["order_lookup"] = [f"The selected order_lookup is invalid (one of: {', '.join(LOOKUPS)})."]
        text = body.get("instructions")
        if "instructions" in body and not (isinstance(text, str) and len(text.strip()) > 0 and len(text) <= MAX_INSTRUCTIONS):
            errors["instructions"] = [f"The instructions must be text of 1 to {MAX_INSTRUCTIONS} characters."]
        if errors:
            return _unprocessable("The given data was invalid.", errors)
        record["loop"]["portal"].update(body)
        emu.mark_dirty(record)
        return JSONResponse(_portal(record))

    return action


def _lookup_value(order: dict[str, Any], lookup: str) -> str:
    if lookup == "zip":
        return ((order.get("shippingAddress") or {}).get("zip") or "").strip().upper()
    return (order.get(lookup) or "").strip().lower()


async def _order_link(request: Request, record: dict[str, Any]) -> Response:
    body = await _json(request) or {}
    errors = {f: [f"The {f} field is required."] for f in ("name", "zip")
              if not isinstance(body.get(f), str) or not body[f].strip()}
    if errors:
        return _unprocessable("The given data was invalid.", errors)
    name, given = body["name"].strip(), body["zip"].strip()
    lookup = record["loop"]["portal"]["order_lookup"]
    if "loop-email-lookup-locked" in record["spec"]["scenarios"]:
        lookup = "email"
    wanted = given.upper() if lookup == "zip" else given.lower()
    for order in record["shopify"]["orders"]:
        if order["name"].lstrip("#") == name.lstrip("#") and wanted and _lookup_value(order, lookup) == wanted:
            return JSONResponse({"url": deep_link(record, order)})
    return JSONResponse({"errors": [ORDER_NOT_FOUND]}, status_code=400)


def deep_link(record: dict[str, Any], order: dict[str, Any]) -> str:
    """Loop's opaque link form: the shop's loopreturns.com host and an id that names nothing."""
    shop = record["spec"]["slug"]
    token = hashlib.sha256(f"{shop}:{order['name']}".encode()).hexdigest()
    link_id = f"{token[:8]}-{token[8:12]}-{token[12:16]}"
    return f"https://{shop}.loopreturns.com/#/link/{link_id}"


def _when(text: str) -> datetime | None:
    if not _DATETIME.match(text.strip()):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


async def _returns(request: Request, record: dict[str, Any]) -> Response:
    query = request.query_params
    # Loop's ids are strings on the wire (DetailedReturnList); the state keeps numbers.
    items = [{**r, "id": str(r["id"])} for r in record["loop"]["returns"]]
    errors: dict[str, list[str]] = {}
    for field, keep in (("from", lambda r, t: _when(r["created_at"]) >= t),
                        ("to", lambda r, t: _when(r["created_at"]) <= t)):
        if field in query:
            when = _when(query[field])
            if when is None:
                errors[field] = [f"The {field} must be a date and time (Y-m-d H:i:s)."]
            else:
                items = [r for r in items if keep(r, when)]
    if "state" in query:
        if query["state"] not in RETURN_STATES:
            errors["state"] = [f"The selected state is invalid (one of: {', '.join(RETURN_STATES)})."]
        items = [r for r in items if r["state"] == query["state"]]
    if errors:
        return _unprocessable("The given data was invalid.", errors)
    if query.get("paginate") != "true":
        return JSONResponse(items)
    size = int(query["pageSize"]) if query.get("pageSize", "").isdigit() else 750
    size = max(1, min(size, 750))
    start = int(query["cursor"]) if query.get("cursor", "").isdigit() else 0
    rest = start + size
    next_url = str(request.url.include_query_params(cursor=str(rest))) if rest < len(items) else None
    return JSONResponse({"returns": items[start:rest], "nextPageUrl": next_url})


async def _not_found(request: Request, record: dict[str, Any]) -> Response:
    return JSONResponse({"message": "Not found."}, status_code=404)


def routes(emu: Emulator) -> list[Route]:
    base = PREFIX
    return [
        Route(f"{base}/portal/settings", _handler(emu, _get_settings), methods=["GET"]),
        Route(f"{base}/portal/settings", _handler(emu, _patch_settings(emu)), methods=["PATCH"]),
        Route(f"{base}/order/link", _handler(emu, _order_link), methods=["POST"]),
        Route(f"{base}/warehouse/return/list", _handler(emu, _returns), methods=["GET"]),
        Route(f"{base}/{{rest:path}}", _handler(emu, _not_found),
              methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
