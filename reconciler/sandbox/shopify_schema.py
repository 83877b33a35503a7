"""The subset of Shopify's Admin GraphQL schema (2025-07) the sandbox serves, and order search.

Type and field names follow shopify.dev's reference, so a query that is
valid here is valid on Shopify; fields outside the subset are validation
errors, as unknown fields are on Shopify.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLSchema, build_schema

SDL = """
scalar DateTime
scalar URL

enum OrderSortKeys { CREATED_AT PROCESSED_AT UPDATED_AT ID NAME }

type Query {
  shop: Shop!
  currentAppInstallation: AppInstallation!
  orders(first: Int, after: String, last: Int, before: String, query: String,
         sortKey: OrderSortKeys = PROCESSED_AT, reverse: Boolean = false): OrderConnection!
}

type Shop { id: ID! name: String! myshopifyDomain: String! email: String! currencyCode: String! }

type AppInstallation { id: ID! accessScopes: [AccessScope!]! app: App! }
type AccessScope { handle: String! description: String! }
type App { id: ID! title: String! handle: String }

type OrderApp { id: ID! name: String! }
type MailingAddress { zip: String countryCodeV2: String city: String province: String }

type Order {
  id: ID!
  name: String!
  createdAt: DateTime!
  processedAt: DateTime!
  updatedAt: DateTime!
  sourceName: String
  tags: [String!]!
  email: String
  app: OrderApp
  shippingAddress: MailingAddress
}

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { nodes: [Order!]! edges: [OrderEdge!]! pageInfo: PageInfo! }
"""

SCHEMA: GraphQLSchema = build_schema(SDL)
CONNECTION_FIELDS = frozenset({"orders"})
MAX_PAGE = 250

SEARCH_FIELDS = {"name", "source_name", "tag", "created_at", "updated_at", "processed_at", "email", "id"}
_TERM = re.compile(r'(-?)(?:(\w+):)?(>=|<=|>|<|=)?("[^"]*"|\S+)')
_SORT_FIELD = {"CREATED_AT": "createdAt", "PROCESSED_AT": "createdAt", "UPDATED_AT": "createdAt",
               "ID": "id", "NAME": "name"}


def _when(text: str) -> datetime:
    text = text.strip("'\"")
    if len(text) == 10:
        text += "T00:00:00+00:00"
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _matches(order: dict[str, Any], field: str, op: str, value: str) -> bool:
    if field in ("created_at", "updated_at", "processed_at"):
        left, right = _when(order["createdAt"]), _when(value)
        return {">": left > right, ">=": left >= right, "<": left < right,
                "<=": left <= right, "=": left == right}[op]
    if field == "name":
        return order["name"].lstrip("#").lower() == value.lstrip("#").lower()
    if field == "tag":
        return value.lower() in (t.lower() for t in order["tags"])
    if field == "source_name":
        return (order.get("sourceName") or "").lower() == value.lower()
    if field == "email":
        return (order.get("email") or "").lower() == value.lower()
    return order["id"].rsplit("/", 1)[-1] == value.rsplit("/", 1)[-1]


def search(orders: list[dict[str, Any]], query: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Orders matching Shopify search syntax (implicit AND, `-` negation); unknown fields are warned about."""
    warnings: list[str] = []
    if not query:
        return list(orders), warnings
    result = list(orders)
    for negate, field, op, raw in _TERM.findall(query):
        value = raw.strip('"')
        if not field and value.upper() in ("AND", "OR"):
            continue
        field = field or "name"
        if field not in SEARCH_FIELDS:
            warnings.append(field)
            continue
        try:
            result = [o for o in result if _matches(o, field, op or "=", value) != bool(negate)]
        except ValueError:
            warnings.append(field)
    return result, warnings


def sort_orders(orders: list[dict[str, Any]], sort_key: str, reverse: bool) -> list[dict[str, Any]]:
    field = _SORT_FIELD.get(sort_key, "createdAt")
    return sorted(orders, key=lambda o: (o[field], o["id"]), reverse=reverse)
