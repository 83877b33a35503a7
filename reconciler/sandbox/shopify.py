"""Shopify Admin GraphQL emulation (docs/providers/shopify.md), under
`/shopify/{shop}/admin/api/{version}/graphql.json`.

Queries execute with graphql-core against `shopify_schema.SCHEMA`, Shopify's
own schema for the pinned version. Cost follows Shopify's published rules
(`shopify_cost`); a leaky bucket per shop (1000 points, 100 restored per
second) answers THROTTLED (HTTP 200) when a query costs more than is
available. No mutation is implemented: one is counted as a write attempt
and answered with a GraphQL error.

Versions (`shopify_versions`): every answer names the version that served it
in `X-Shopify-API-Version`; a request for a version past its support window
(or any request of a merchant seeded with `shopify-version-unsupported`) is
served anyway, with `X-Shopify-API-Deprecated-Reason`, as is a query that
selects a field the schema marks deprecated (the header then lists them,
`Type.field`).
"""

from __future__ import annotations

import base64
import functools
import json
import re
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLFormattedError,
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox import shopify_versions
from reconciler.sandbox.shopify_cost import CostModel
from reconciler.sandbox.shopify_schema import MAX_PAGE, SCHEMA, search, sort_orders
from reconciler.sandbox.state import Emulator

PREFIX = "/shopify"
UNAUTHORIZED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_SCOPE_TEXT = {"read_orders": "Read orders", "read_products": "Read products"}


def is_write(method: str, path: str) -> bool:
    """Writes on Shopify are GraphQL mutations, counted by the handler itself."""
    return False


def error_response(emu: Emulator, status: int) -> Response:
    text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return JSONResponse({"errors": text.get(status, "Error")}, status_code=status)


def throttle_response(emu: Emulator) -> Response:  # throttling is the bucket's job, see _graphql
    return error_response(emu, 503)


def _cursor(index: int) -> str:
    return base64.b64encode(json.dumps({"last": index}).encode()).decode()


def _uncursor(cursor: str) -> int:
    try:
        return int(json.loads(base64.b64decode(cursor, validate=True))["last"])
    except (ValueError, KeyError, TypeError) as error:
        raise GraphQLError("Invalid cursor for current pagination") from error


def _node(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, "processedAt": order["createdAt"], "updatedAt": order["createdAt"]}


class _Context:
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.search_warnings: list[dict[str, Any]] = []


def _page_size(first: int | None, last: int | None, before: str | None) -> int:
    if last is not None or before is not None:
        raise GraphQLError("The sandbox supports forward pagination only (first/after).")
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if not 0 <= first <= MAX_PAGE:
        raise GraphQLError(f"The value of first must be between 0 and {MAX_PAGE}.")
    return first


def _connection(items: list[dict[str, Any]], first: int, after: str | None) -> dict[str, Any]:
    start = _uncursor(after) + 1 if after else 0
    page = items[start: start + first]
    edges = [{"cursor": _cursor(start + i), "node": node} for i, node in enumerate(page)]
    return {
        "nodes": page,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + len(page) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _orders(info: Any, first: int | None = None, after: str | None = None, last: int | None = None,
            before: str | None = None, query: str | None = None, sortKey: str = "PROCESSED_AT",
            reverse: bool = False, **_: Any) -> dict[str, Any]:
    size = _page_size(first, last, before)
    context: _Context = info.context
    found, warnings = search(context.record["shopify"]["orders"], query)
    for field in warnings:
        context.search_warnings.append({"path": ["orders"], "query": query,
                                        "warnings": [{"field": field,
                                                      "message": "Invalid search field for this query."}]})
    return _connection([_node(o) for o in sort_orders(found, sortKey, reverse)], size, after)


def _publications(info: Any, first: int | None = None, after: str | None = None,
                  last: int | None = None, before: str | None = None, catalogType: str | None = None,
                  **_: Any) -> dict[str, Any]:
    """Sales channels' publications; Shopify denies them without `read_publications`."""
    context: _Context = info.context
    if "read_publications" not in context.record["shopify"]["scopes"]:
        raise GraphQLError(
            "Access denied for publications field. Required access: `read_publications` access scope.",
            extensions={"code": "ACCESS_DENIED",
                        "documentation": "https://shopify.dev/api/usage/access-scopes",
                        "requiredAccess": "`read_publications` access scope."})
    size = _page_size(first, last, before)
    found = [p for p in context.record["shopify"].get("publications") or []
             if catalogType in (None, p["catalog"]["kind"])]
    return _connection([_publication(p) for p in found], size, after)


def _publication(publication: dict[str, Any]) -> dict[str, Any]:
    catalog = publication["catalog"]
    return {"id": publication["id"], "name": catalog["title"], "autoPublish": False,
            "supportsFuturePublishing": False,
            "catalog": {"__typename": "AppCatalog", "id": catalog["id"], "title": catalog["title"],
                        "status": "ACTIVE"}}


def _root(record: dict[str, Any]) -> dict[str, Any]:
    shopify = record["shopify"]
    return {
        "shop": shopify["shop"],
        "currentAppInstallation": {
            "id": shopify["app_installation"]["id"],
            "accessScopes": [{"handle": s, "description": _SCOPE_TEXT.get(s, s)} for s in shopify["scopes"]],
            "app": {"id": "gid://shopify/App/1", "title": "Reconciler", "handle": "reconciler"},
        },
        "orders": _orders,
        "publications": _publications,
    }


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in operations if o.name and o.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


_DEPRECATED = re.compile(r"The field (\w+\.\w+) is deprecated")


class _Prepared(NamedTuple):
    document: DocumentNode | None
    errors: tuple[GraphQLFormattedError, ...]
    deprecated: tuple[str, ...] = ()  # `Type.field` of every deprecated field selected


_CACHED_QUERY_CHARS = 16_384  # longer query texts are prepared afresh each time


def _prepare(query: str) -> _Prepared:
    """`query` parsed and validated against `SCHEMA`, with the deprecated fields it selects;
    no document and the syntax error when it does not parse."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return _Prepared(None, (error.formatted,))
    errors = tuple(e.formatted for e in validate(SCHEMA, document))
    notes = validate(SCHEMA, document, [NoDeprecatedCustomRule]) if not errors else []
    deprecated = sorted({m.group(1) for e in notes if (m := _DEPRECATED.search(e.message))})
    return _Prepared(document, errors, tuple(deprecated))


# Parsing and validating depend on the query text alone, and clients send the
# same few queries again and again, so the outcome is kept per text. Callers
# must not mutate the cached document or error dicts.
_prepare_cached = functools.lru_cache(maxsize=256)(_prepare)


def _prepared(query: str) -> _Prepared:
    return _prepare_cached(query) if len(query) <= _CACHED_QUERY_CHARS else _prepare(query)


def _cost(requested: int, actual: int | None, status: dict[str, Any]) -> dict[str, Any]:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}


def _payload(body: bytes) -> tuple[str, dict[str, Any], str | None] | None:
    try:
        payload = json.loads(body)
        query, variables = payload["query"], payload.get("variables") or {}
        name = payload.get("operationName")
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(query, str) or not isinstance(variables, dict):
        return None
    return query, variables, name


def _throttled(requested: int, bucket: Any) -> dict[str, Any]:
    return {"errors": [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/limits#rate-limits"}}],
        "extensions": _cost(requested, None, bucket.status())}


def _too_costly(requested: int, bucket: Any) -> dict[str, Any]:
    return {"errors": [{"message": f"Query cost is {requested}, which exceeds the single query max "
                                   f"cost limit ({bucket.size}).",
                        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                       "maxCost": bucket.size}}],
            "extensions": _cost(requested, None, bucket.status())}


def _answer(emu: Emulator, record: dict[str, Any], shop: str, parsed: tuple[str, dict[str, Any], str | None],
            prepared: _Prepared) -> dict[str, Any]:
    query, variables, name = parsed
    bucket = emu.bucket(shop)
    document = prepared.document
    if document is None:
        return {"errors": list(prepared.errors), "extensions": _cost(0, 0, bucket.status())}
    operation = _operation(document, name)
    if operation is not None and operation.operation != OperationType.QUERY:
        emu.stats.write("shopify")
    if prepared.errors or operation is None:
        messages = list(prepared.errors) or [{"message": "An operation name is required"}]
        return {"errors": messages, "extensions": _cost(0, 0, bucket.status())}
    model = CostModel(SCHEMA, document, variables)
    requested = model.requested(operation)
    if operation.operation != OperationType.QUERY:
        return {"errors": [{"message": "The sandbox implements no mutation: this product writes "
                                       "nothing to Shopify."}],
                "extensions": _cost(requested, 0, bucket.status())}
    if requested > bucket.size:
        return _too_costly(requested, bucket)
    if emu.faults.throttled("shopify"):
        bucket.drain_to(max(0.0, requested - bucket.restore_rate * 0.25))
    if not bucket.take(requested):
        return _throttled(requested, bucket)
    context = _Context(record)
    # Every resolver here is synchronous: execute_sync skips graphql-core's costly
    # awaitability test of each resolved value.
    result = execute_sync(SCHEMA, document, root_value=_root(record), context_value=context,
                          variable_values=variables, operation_name=name)
    actual = model.actual(operation, result.data)
    bucket.give_back(requested - actual)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    extensions = _cost(requested, actual, bucket.status())
    if context.search_warnings:
        extensions["search"] = context.search_warnings
    body["extensions"] = extensions
    return body


def _graphql(emu: Emulator) -> Any:
    async def endpoint(request: Request) -> Response:
        version, shop = request.path_params["version"], request.path_params["shop"]
        found = emu.find("shopify_shop", shop)
        if not found or not shopify_versions.is_version(version):
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        record = found[0]
        if not emu.accepts(record, "shopify_access_token", request.headers.get("x-shopify-access-token")):
            return JSONResponse({"errors": UNAUTHORIZED}, status_code=401)
        parsed = _payload(await request.body())
        if parsed is None:
            return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}}, status_code=400)
        prepared = _prepared(parsed[0])
        expired = shopify_versions.UNSUPPORTED_SCENARIO in record["spec"]["scenarios"]
        served = shopify_versions.serving_version(version, expired=expired, now=emu.clock())
        headers = shopify_versions.deprecation_headers(version, served, prepared.deprecated)
        return JSONResponse(_answer(emu, record, shop, parsed, prepared), headers=headers)

    return endpoint


def routes(emu: Emulator) -> list[Route]:
    return [
        Route(f"{PREFIX}/{{shop}}/admin/api/{{version}}/graphql.json", _graphql(emu), methods=["POST"]),
    ]
