"""Shopify Admin GraphQL emulation (docs/providers/shopify.md), under
`/shopify/{shop}/admin/api/2025-07/graphql.json`.

Queries execute with graphql-core against `shopify_schema.SCHEMA`. Cost:
`requestedQueryCost` = 1 + `first` of every connection; `actualQueryCost` =
1 + nodes returned; a leaky bucket per shop (1000 points, 100 restored per
second) answers THROTTLED (HTTP 200) when a query costs more than is
available. No mutation is implemented: one is counted as a write attempt
and answered with a GraphQL error.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    execute,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox.shopify_schema import (
    CONNECTION_FIELDS,
    MAX_PAGE,
    SCHEMA,
    search,
    sort_orders,
)
from reconciler.sandbox.state import Emulator

API_VERSION = "2025-07"
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
        self.returned = 0
        self.search_warnings: list[dict[str, Any]] = []


def _orders(info: Any, first: int | None = None, after: str | None = None, last: int | None = None,
            before: str | None = None, query: str | None = None, sortKey: str = "PROCESSED_AT",
            reverse: bool = False) -> dict[str, Any]:
    if last is not None or before is not None:
        raise GraphQLError("The sandbox supports forward pagination only (first/after).")
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if not 0 <= first <= MAX_PAGE:
        raise GraphQLError(f"The value of first must be between 0 and {MAX_PAGE}.")
    context: _Context = info.context
    found, warnings = search(context.record["shopify"]["orders"], query)
    for field in warnings:
        context.search_warnings.append({"path": ["orders"], "query": query,
                                        "warnings": [{"field": field,
                                                      "message": "Invalid search field for this query."}]})
    ordered = sort_orders(found, sortKey, reverse)
    start = _uncursor(after) + 1 if after else 0
    page = ordered[start: start + first]
    context.returned += len(page)
    edges = [{"cursor": _cursor(start + i), "node": _node(o)} for i, o in enumerate(page)]
    return {
        "nodes": [e["node"] for e in edges],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + len(page) < len(ordered),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _never_awaitable(value: Any) -> bool:
    """Every resolver here is synchronous and returns plain JSON data, so graphql-core
    need not test each resolved value for awaitability (its default check is costly)."""
    return False


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
    }


def requested_cost(document: Any, operation: OperationDefinitionNode, variables: dict[str, Any]) -> int:
    """1 for the query, plus `first` for each connection selected."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def walk(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        total = 0
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                if node.name.value in CONNECTION_FIELDS:
                    total += _first(node, variables)
                total += walk(node.selection_set, seen)
            elif isinstance(node, InlineFragmentNode):
                total += walk(node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = fragments.get(node.name.value)
                if fragment:
                    total += walk(fragment.selection_set, seen | {node.name.value})
        return total

    return 1 + walk(operation.selection_set, frozenset())


def _first(node: FieldNode, variables: dict[str, Any]) -> int:
    for argument in node.arguments:
        if argument.name.value == "first":
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode) and isinstance(variables.get(value.name.value), int):
                return int(variables[value.name.value])
    return 0


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in operations if o.name and o.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


_Prepared = tuple[DocumentNode | None, tuple[dict[str, Any], ...]]
_CACHED_QUERY_CHARS = 16_384  # longer query texts are prepared afresh each time


def _prepare(query: str) -> _Prepared:
    """`query` parsed and validated against `SCHEMA`: (document, formatted validation errors),
    or (None, (formatted syntax error,)) when it does not parse."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (error.formatted,)
    return document, tuple(e.formatted for e in validate(SCHEMA, document))


# Parsing and validating depend on the query text alone, and clients send the
# same few queries again and again, so the outcome is kept per text. Callers
# must not mutate the cached document or error dicts.
_prepare_cached = functools.lru_cache(maxsize=256)(_prepare)


def _prepared(query: str) -> _Prepared:
    return _prepare_cached(query) if len(query) <= _CACHED_QUERY_CHARS else _prepare(query)


def _cost(requested: int, actual: int | None, status: dict[str, Any]) -> dict[str, Any]:
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}}


def _graphql(emu: Emulator) -> Any:
    async def endpoint(request: Request) -> Response:
        shop = request.path_params["shop"]
        found = emu.find("shopify_shop", shop)
        if not found:
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        record = found[0]
        if request.headers.get("x-shopify-access-token") != record["credentials"]["shopify_access_token"]:
            return JSONResponse({"errors": UNAUTHORIZED}, status_code=401)
        try:
            payload = json.loads(await request.body())
            query = payload["query"]
            variables = payload.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": {"query": "Required parameter missing or invalid"}}, status_code=400)
        bucket = emu.bucket(shop)
        document, errors = _prepared(query)
        if document is None:
            return JSONResponse({"errors": list(errors), "extensions": _cost(0, 0, bucket.status())})
        operation = _operation(document, payload.get("operationName"))
        if operation is not None and operation.operation != OperationType.QUERY:
            emu.stats.write("shopify")
        if errors or operation is None:
            messages = list(errors) or [{"message": "An operation name is required"}]
            return JSONResponse({"errors": messages, "extensions": _cost(0, 0, bucket.status())})
        requested = requested_cost(document, operation, variables)
        if requested > bucket.size:
            return JSONResponse({"errors": [{"message": f"Query cost is {requested}, which exceeds the "
                                             f"single query max cost limit ({bucket.size}).",
                                             "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                                                            "maxCost": bucket.size}}],
                                 "extensions": _cost(requested, None, bucket.status())})
        if emu.faults.throttled("shopify"):
            bucket.drain_to(max(0.0, requested - bucket.restore_rate * 0.25))
        if not bucket.take(requested):
            return JSONResponse({"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/limits#rate-limits"}}],
                "extensions": _cost(requested, None, bucket.status())})
        context = _Context(record)
        result = execute(SCHEMA, document, root_value=_root(record), context_value=context,
                         variable_values=variables, operation_name=payload.get("operationName"),
                         is_awaitable=_never_awaitable)
        actual = 1 + context.returned
        bucket.give_back(requested - actual)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        extensions = _cost(requested, actual, bucket.status())
        if context.search_warnings:
            extensions["search"] = context.search_warnings
        body["extensions"] = extensions
        return JSONResponse(body)

    return endpoint


def routes(emu: Emulator) -> list[Route]:
    return [
        Route(f"{PREFIX}/{{shop}}/admin/api/{API_VERSION}/graphql.json", _graphql(emu), methods=["POST"]),
    ]
