"""An assumed read's shape check answers as jsonschema does, fast path or not.

A plan checks every assumed read's answer against its contract's shape;
fastjsonschema says yes or no and jsonschema explains a no. An answer the
fast check accepted and jsonschema refused would plan against a payload
outside the contract instead of reporting the setting unavailable, so the
two are held to the same answer over generated payloads shaped like each
contract's (and over any JSON at all).
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import declarations
from reconciler.providers.base import shape_problem

SHAPED = [c.id for c in declarations.CONTRACTS if c.shape]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


def near(shape: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Payloads that mostly follow `shape`, with any key dropped or any value wrong."""
    if shape.get("type") == "object" and "properties" in shape:
        fields = {name: near(sub) for name, sub in shape["properties"].items()}
        return st.fixed_dictionaries({}, optional=fields) | json_values
    if shape.get("type") == "array" and "items" in shape:
        return st.lists(near(shape["items"]), max_size=2) | json_values
    return json_values


def reference(contract_id: str, payload: Any) -> bool:
    shape = declarations.BY_CONTRACT_ID[contract_id].shape or {}
    return jsonschema.Draft202012Validator(dict(shape)).is_valid(payload)


@pytest.mark.parametrize("contract_id", SHAPED)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_shape_check_agrees_with_jsonschema(contract_id: str, data: st.DataObject) -> None:
    shape = declarations.BY_CONTRACT_ID[contract_id].shape or {}
    payload = data.draw(near(dict(shape)))
    problem = shape_problem(contract_id, payload)
    assert (problem is None) == reference(contract_id, payload), (payload, problem)


def test_a_refused_answer_says_where_and_why() -> None:
    payload = {"integrations": [{"integrationId": "i1", "connectorName": "shopify",
                                 "status": "active", "settings": {}, "version": "2"}]}
    assert shape_problem("pipe17.integrations", payload) == (
        "integrations/0/version: '2' is not of type 'integer'")
    assert shape_problem("pipe17.refunds", {"refunds": []}) is None
