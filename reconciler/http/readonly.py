"""Read-only clients: a write is refused before any byte leaves the process.

A plan gets clients built with `read_only=True` (peribolos style), so no
provider can write during a plan whatever its code does. Reads are GET,
HEAD and OPTIONS, plus an explicit allow-list of POSTs that only read:

    tiktok_shop   POST /order/<version>/orders/search
                  POST /return_refund/<version>/returns/search
    loop          POST /order/link            (deep-link lookup)
    shopify       POST .../graphql.json       only if every operation in the
                                              document is a `query`

A GraphQL document is parsed with graphql-core; a mutation or subscription
anywhere, or a document that does not parse, is a write. The package's own
read documents (registered by the providers that send them, and each proven
query-only by tests/http/test_http_readonly.py) are recognized by exact text,
so a plan does not need to load the GraphQL parser at all.
"""

from __future__ import annotations

import functools
import json
import re

import httpx

from reconciler.http.errors import ReadOnlyViolation

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_POSTS: dict[str, tuple[re.Pattern[str], ...]] = {
    "tiktok_shop": (
        re.compile(r"/order/\d+/orders/search$"),
        re.compile(r"/return_refund/\d+/returns/search$"),
    ),
    "loop": (re.compile(r"/order/link$"),),
}
_GRAPHQL_PATH = re.compile(r"/graphql\.json$")


_KNOWN_READS: set[str] = set()


def register_read_queries(*documents: str) -> None:
    """Declare GraphQL documents this package sends that only read (exact texts)."""
    _KNOWN_READS.update(documents)


def known_read_queries() -> frozenset[str]:
    return frozenset(_KNOWN_READS)


@functools.lru_cache(maxsize=256)
def is_query_only(document: str) -> bool:
    """True when every operation in the GraphQL document is a query.

    Cached: a fleet sends the same few query texts for every merchant.
    """
    if document in _KNOWN_READS:
        return True
    from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

    try:
        parsed = parse(document)
    except GraphQLError:
        return False
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(op.operation is OperationType.QUERY for op in operations)


def _graphql_document(method: str, url: httpx.URL, body: bytes) -> str | None:
    if method == "GET":
        return url.params.get("query")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    query = payload.get("query") if isinstance(payload, dict) else None
    return query if isinstance(query, str) else None


def is_read(service: str, method: str, url: httpx.URL, body: bytes) -> bool:
    method = method.upper()
    if service == "shopify" and _GRAPHQL_PATH.search(url.path):
        document = _graphql_document(method, url, body)
        if document is None:
            return method in READ_METHODS
        return method in ("GET", "POST") and is_query_only(document)
    if method in READ_METHODS:
        return True
    return method == "POST" and any(p.search(url.path) for p in READ_POSTS.get(service, ()))


def refuse(service: str, method: str, url: httpx.URL, merchant: str | None = None) -> ReadOnlyViolation:
    return ReadOnlyViolation(
        service,
        f"refused {method.upper()} {url.path}: this client is read-only (a plan never writes); "
        "nothing was sent",
        merchant,
    )


def guard(service: str, request: httpx.Request) -> None:
    """Raise ReadOnlyViolation unless `request`, as it will go out, only reads."""
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = b"\x00"  # a streamed body cannot be inspected: treat as a write
    if not is_read(service, request.method, request.url, body):
        raise refuse(service, request.method, request.url)


