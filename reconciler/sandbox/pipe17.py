"""Pipe17 API v3 emulation (docs/providers/pipe17.md), under `/pipe17/api/v3`.

Key header `X-Pipe17-Key` (one key per org; an org is one merchant here),
envelope `{"success": true, "<resource>": ..., "pagination": {...}}`,
errors `{"success": false, "code": <status>, "message": "..."}`, `skip` /
`count` paging (default count 10, at most 1000), integrations with
optimistic concurrency on `version` (409 when stale) and deep-merged
settings. Refunds are derived: a Loop refund appears once the Loop
integration pulls refunds, `pushed` once it reaches TikTok.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox.seed import DEFAULT_OPTIONS, token
from reconciler.sandbox.state import Emulator, pipe17_refunds

PREFIX = "/pipe17/api/v3"
DIRECTIONS = ("in", "out", "none")
ENTITIES = ("orders", "fulfillments", "refunds")
OPTION_VALUES: dict[str, dict[str, tuple[Any, ...]]] = {
    "TikTok Shop": {"pushRefundsToTikTok": (True, False)},
    "Shopify": {"orderSyncMode": ("order", "fulfillment")},
    "Loop Returns": {},
}
_STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict",
                429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                503: "Service Unavailable"}


class Pipe17Error(Exception):
    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message or _STATUS_TEXT.get(status, "Error")


def is_write(method: str, path: str) -> bool:
    return method in ("POST", "PUT", "PATCH", "DELETE")


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    return {"success": False, "code": status, "message": message or _STATUS_TEXT.get(status, "Error")}


def error_response(emu: Emulator, status: int) -> Response:
    return JSONResponse(error_body(status), status_code=status)


def unknown_path_response(emu: Emulator) -> Response:
    """What Pipe17 answers for a path it does not have (published-only mode)."""
    return JSONResponse(error_body(404), status_code=404)


def throttle_response(emu: Emulator) -> Response:
    return JSONResponse(error_body(429), status_code=429, headers={"Retry-After": "1"})


def _handler(emu: Emulator, action: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        key = request.headers.get("x-pipe17-key")
        orgs = emu.find("pipe17_api_key", key)
        try:
            if not orgs:
                raise Pipe17Error(401)
            allowed, _ = emu.windows.allow(f"pipe17:{key}", emu.limits.pipe17_per_second, 1.0)
            if not allowed:
                raise Pipe17Error(429)
            status, body = await action(request, orgs)
        except Pipe17Error as error:
            headers = {"Retry-After": "1"} if error.status == 429 else None
            return JSONResponse(error_body(error.status, error.message), error.status, headers=headers)
        return JSONResponse({"success": True, **body}, status_code=status)

    return endpoint


def _paged(request: Request, name: str, items: list[Any]) -> tuple[int, dict[str, Any]]:
    try:
        skip = int(request.query_params.get("skip", "0"))
        count = int(request.query_params.get("count", "10"))
    except ValueError as error:
        raise Pipe17Error(400, "skip and count must be integers") from error
    if skip < 0 or not 1 <= count <= 1000:
        raise Pipe17Error(400, "skip must be >= 0 and count between 1 and 1000")
    return 200, {name: items[skip: skip + count],
                 "pagination": {"skip": skip, "count": count, "total": len(items)}}


async def _json(request: Request) -> dict[str, Any]:
    try:
        value = json.loads(await request.body() or b"{}")
    except ValueError as error:
        raise Pipe17Error(400, "body is not valid JSON") from error
    if not isinstance(value, dict):
        raise Pipe17Error(400, "body must be a JSON object")
    return value


def _integrations(orgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for org in orgs for i in org["pipe17"]["integrations"]]


def _find(orgs: list[dict[str, Any]], integration_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for org in orgs:
        for item in org["pipe17"]["integrations"]:
            if item["integrationId"] == integration_id:
                return org, item
    raise Pipe17Error(404, f"integration {integration_id} not found")


async def _organization(request: Request, orgs: list[dict[str, Any]]) -> Any:
    """Who the key is for (assumed contract, docs/providers/pipe17.md): the org and its shop.

    A key belongs to one org; a value shared by several merchants' files
    authenticates as the first of them, as a real key answers for its own org.
    """
    spec = orgs[0]["spec"]
    return 200, {"organization": {"orgKey": token(f"org:{spec['slug']}", 16),
                                  "name": spec["slug"].replace("-", " ").title(),
                                  "shopifyDomain": spec["shopify_shop"]}}


async def _list_integrations(request: Request, orgs: list[dict[str, Any]]) -> Any:
    return _paged(request, "integrations", _integrations(orgs))


async def _get_integration(request: Request, orgs: list[dict[str, Any]]) -> Any:
    return 200, {"integration": _find(orgs, request.path_params["integration_id"])[1]}


def _create_integration(emu: Emulator) -> Any:
    async def action(request: Request, orgs: list[dict[str, Any]]) -> Any:
        body = await _json(request)
        connector = body.get("connectorName")
        if connector not in OPTION_VALUES:
            raise Pipe17Error(400, f"connectorName must be one of: {', '.join(OPTION_VALUES)}")
        org = orgs[0]
        org["pipe17"]["next_id"] = org["pipe17"].get("next_id", 1) + 1
        created = {
            "integrationId": "int_" + token(f"{org['spec']['slug']}:{connector}:{org['pipe17']['next_id']}"),
            "integrationName": str(body.get("integrationName") or connector),
            "connectorName": connector,
            "status": "disconnected",
            "version": 1,
            "settings": {"entities": {e: {"direction": "none"} for e in ENTITIES},
                         "options": dict(DEFAULT_OPTIONS[connector])},
        }
        org["pipe17"]["integrations"].append(created)
        emu.mark_dirty(org)
        return 201, {"integration": created}

    return action


def _validate_settings(connector: str, settings: Any) -> None:
    if not isinstance(settings, dict) or set(settings) - {"entities", "options"}:
        raise Pipe17Error(400, "settings may hold only `entities` and `options`")
    entities = settings.get("entities", {})
    if not isinstance(entities, dict):
        raise Pipe17Error(400, "settings.entities must be an object")
    for entity, value in entities.items():
        if entity not in ENTITIES:
            raise Pipe17Error(400, f"unknown entity {entity!r}")
        if not isinstance(value, dict) or set(value) != {"direction"} or value["direction"] not in DIRECTIONS:
            raise Pipe17Error(400, f"settings.entities.{entity} must be {{\"direction\": in|out|none}}")
    options = settings.get("options", {})
    if not isinstance(options, dict):
        raise Pipe17Error(400, "settings.options must be an object")
    allowed = OPTION_VALUES[connector]
    for name, value in options.items():
        if name not in allowed or value not in allowed[name] or isinstance(value, bool) != isinstance(allowed[name][0], bool):
            raise Pipe17Error(400, f"option {name!r} is not valid for {connector}")


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = json.loads(json.dumps(value))


def _update_integration(emu: Emulator) -> Any:
    async def action(request: Request, orgs: list[dict[str, Any]]) -> Any:
        org, item = _find(orgs, request.path_params["integration_id"])
        body = await _json(request)
        if set(body) - {"version", "settings", "integrationName"}:
            raise Pipe17Error(400, "only version, settings and integrationName can be updated")
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise Pipe17Error(400, "version is required")
        if version != item["version"]:
            raise Pipe17Error(409, f"version conflict: integration is at version {item['version']}, "
                                   f"request quoted {version}")
        if "settings" in body:
            _validate_settings(item["connectorName"], body["settings"])
            _merge(item["settings"], body["settings"])
        if "integrationName" in body:
            item["integrationName"] = str(body["integrationName"])
        item["version"] += 1
        emu.mark_dirty(org)
        return 200, {"integration": item}

    return action


def _delete_integration(emu: Emulator) -> Any:
    async def action(request: Request, orgs: list[dict[str, Any]]) -> Any:
        org, item = _find(orgs, request.path_params["integration_id"])
        org["pipe17"]["integrations"].remove(item)
        emu.mark_dirty(org)
        return 200, {"integration": item}

    return action


def _filtered(request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for spec in request.query_params.getlist("filters"):
        parts = spec.split("~", 3)
        if len(parts) != 4 or parts[2] not in ("equals", "contains", "in"):
            raise Pipe17Error(400, f"bad filter {spec!r}: use type~field~equals|contains|in~value")
        _, field, op, value = parts
        if op == "equals":
            items = [i for i in items if str(i.get(field)) == value]
        elif op == "in":
            items = [i for i in items if str(i.get(field)) in value.split(",")]
        else:
            items = [i for i in items if value in str(i.get(field, ""))]
    return items


async def _orders(request: Request, orgs: list[dict[str, Any]]) -> Any:
    items = [o for org in orgs for o in org["pipe17"]["orders"]]
    return _paged(request, "orders", _filtered(request, items))


async def _refunds(request: Request, orgs: list[dict[str, Any]]) -> Any:
    items = [r for org in orgs for r in pipe17_refunds(org)]
    return _paged(request, "refunds", _filtered(request, items))


async def _not_found(request: Request, orgs: list[dict[str, Any]]) -> Any:
    raise Pipe17Error(404)


def routes(emu: Emulator) -> list[Route]:
    base, one = PREFIX, f"{PREFIX}/integrations/{{integration_id}}"
    every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        Route(f"{base}/organization", _handler(emu, _organization), methods=["GET"]),
        Route(f"{base}/integrations", _handler(emu, _list_integrations), methods=["GET"]),
        Route(f"{base}/integrations", _handler(emu, _create_integration(emu)), methods=["POST"]),
        Route(one, _handler(emu, _get_integration), methods=["GET"]),
        Route(one, _handler(emu, _update_integration(emu)), methods=["PUT"]),
        Route(one, _handler(emu, _delete_integration(emu)), methods=["DELETE"]),
        Route(f"{base}/orders", _handler(emu, _orders), methods=["GET"]),
        Route(f"{base}/refunds", _handler(emu, _refunds), methods=["GET"]),
        Route(f"{base}/{{rest:path}}", _handler(emu, _not_found), methods=every),
    ]
