"""Shopify's calculated query cost, as published.

Source: shopify.dev, "GraphQL Admin API rate limits", section "Cost
calculation" (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
a field costs what it returns: a scalar or an enum 0, an object 1, an
interface or a union the maximum of its possible selections, a connection 2
plus the objects it returns (sized by its `first` or `last` argument before
the query runs, by what it really returned afterwards); a mutation 10.
Costs nest: each object a connection returns costs its own selection again.

`requested_cost` is what the bucket must hold before a query runs;
`actual_cost` what it keeps after, computed from the data really returned (a
null object costs nothing, a short page only what it holds).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

OBJECT_COST = 1
CONNECTION_COST = 2
MUTATION_COST = 10
_Fragments = Mapping[str, FragmentDefinitionNode]


class CostModel:
    """The cost of operations of one document, in the terms of one schema."""

    def __init__(self, schema: GraphQLSchema, document: Any, variables: Mapping[str, Any]) -> None:
        self._schema = schema
        self._variables = variables
        self._fragments: _Fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def requested(self, operation: OperationDefinitionNode) -> int:
        if operation.operation is OperationType.MUTATION:
            return MUTATION_COST * sum(1 for _ in self._fields(operation.selection_set, None))
        return self._selection(self._schema.query_type, operation.selection_set, None)

    def actual(self, operation: OperationDefinitionNode, data: Mapping[str, Any] | None) -> int:
        if operation.operation is OperationType.MUTATION:
            return self.requested(operation)
        return self._selection(self._schema.query_type, operation.selection_set, data or {})

    # A walk over the selection; with `data` it prices what was returned, without it the worst case.

    def _selection(self, parent: Any, selections: SelectionSetNode | None,
                   data: Mapping[str, Any] | None) -> int:
        groups: dict[str, int] = {}
        for condition, node in self._fields(selections, parent):
            owner = self._schema.get_type(condition) if condition else parent
            groups[condition] = groups.get(condition, 0) + self._field(owner, node, data)
        shared = groups.pop("", 0)
        # An abstract type's fragments are alternatives: the dearest one counts.
        return shared + max(groups.values(), default=0)

    def _field(self, parent: Any, node: FieldNode, data: Mapping[str, Any] | None) -> int:
        definition = _fields_of(parent).get(node.name.value)
        if definition is None:
            return 0  # __typename and friends
        kind = get_named_type(definition.type)
        if is_leaf_type(kind):
            return 0
        value: Any = None
        if data is not None:
            value = data.get(node.alias.value if node.alias else node.name.value)
            if value is None:
                return 0
        if kind.name.endswith("Connection"):
            return self._connection(kind, node, value if data is not None else None, data is not None)
        if isinstance(value, list):
            return OBJECT_COST + max((self._selection(kind, node.selection_set, v) for v in value if v),
                                     default=0)
        return OBJECT_COST + self._selection(kind, node.selection_set, value)

    def _connection(self, kind: Any, node: FieldNode, value: Mapping[str, Any] | None,
                    returned: bool) -> int:
        node_type = get_named_type(_fields_of(kind)["nodes"].type) if "nodes" in _fields_of(kind) else None
        edge_type = get_named_type(_fields_of(kind)["edges"].type) if "edges" in _fields_of(kind) else None
        if not returned:
            each = 0
            for _, child in self._fields(node.selection_set, kind):
                if child.name.value == "nodes" and node_type is not None:
                    each = max(each, OBJECT_COST + self._selection(node_type, child.selection_set, None))
                elif child.name.value == "edges" and edge_type is not None:
                    each = max(each, self._edge(edge_type, child, None))
            return CONNECTION_COST + self._size(node) * each
        assert value is not None
        by_nodes = by_edges = 0
        for _, child in self._fields(node.selection_set, kind):
            items = value.get(child.alias.value if child.alias else child.name.value) or []
            if child.name.value == "nodes" and node_type is not None:
                by_nodes = sum(OBJECT_COST + self._selection(node_type, child.selection_set, item)
                               for item in items if item)
            elif child.name.value == "edges" and edge_type is not None:
                by_edges = sum(self._edge(edge_type, child, item) for item in items if item)
        return CONNECTION_COST + max(by_nodes, by_edges)

    def _edge(self, edge_type: Any, edges: FieldNode, item: Mapping[str, Any] | None) -> int:
        total = 0
        for _, child in self._fields(edges.selection_set, edge_type):
            if child.name.value == "node":
                kind = get_named_type(_fields_of(edge_type)["node"].type)
                value = None if item is None else item.get(child.alias.value if child.alias else "node")
                if item is None or value is not None:
                    total += OBJECT_COST + self._selection(kind, child.selection_set, value)
        return total

    def _size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = argument.value
                if isinstance(value, IntValueNode):
                    return int(value.value)
                if isinstance(value, VariableNode):
                    given = self._variables.get(value.name.value)
                    if isinstance(given, int) and not isinstance(given, bool):
                        return given
        return 0

    def _fields(self, selections: SelectionSetNode | None, parent: Any,
                condition: str = "", seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, FieldNode]]:
        """(type condition or "", field) for every field selected, through fragments."""
        for node in selections.selections if selections else ():
            if isinstance(node, FieldNode):
                yield condition, node
                continue
            if isinstance(node, InlineFragmentNode):
                fragment_set, on = node.selection_set, node.type_condition
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = self._fragments.get(node.name.value)
                if fragment is None:
                    continue
                seen = seen | {node.name.value}
                fragment_set, on = fragment.selection_set, fragment.type_condition
            else:
                continue
            name = on.name.value if on else ""
            same = not name or parent is None or name == getattr(parent, "name", None)
            yield from self._fields(fragment_set, parent, condition if same else name, seen)


def _fields_of(kind: Any) -> Mapping[str, Any]:
    """A union has no fields of its own: only its fragments select any."""
    return kind.fields if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType) else {}
