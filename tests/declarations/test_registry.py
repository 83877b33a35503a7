"""The registry is the one place a managed setting is declared: everything else agrees with it.

Adding a setting to the schema (or a provider) but not to the registry, or
removing one from the registry but not from the schema, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler import declarations
from reconciler.config import load_merchants
from reconciler.declarations import ContractStatus
from reconciler.providers.pipe17 import Pipe17Provider
from reconciler.sandbox import loop as sandbox_loop
from tests.e2e.conftest import write_fleet

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "merchant.schema.json").read_text())
# Where managed settings live in a merchant file; anything else there is identity or credentials.
MANAGED_SECTIONS = (("tiktok_shop", "return_proxy"), ("pipe17", "integrations"),
                    ("loop", "order_lookup"), ("loop", "instructions"))


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _node(path: tuple[str, ...]) -> dict[str, Any]:
    node = _resolve(SCHEMA["$defs"]["document"])
    for key in path:
        node = _resolve(node["properties"][key])
    return node


def _leaves(path: tuple[str, ...]) -> set[tuple[str, ...]]:
    """Managed paths under `path`: leaves, plus each Pipe17 integration (its presence is managed)."""
    node = _node(path)
    if "properties" not in node:
        return {path}
    found: set[tuple[str, ...]] = set()
    if path[:2] == ("pipe17", "integrations") and len(path) == 3:
        found.add(path)
    for key in node["properties"]:
        found |= _leaves((*path, key))
    return found


def test_schema_managed_paths_equal_the_declared_ones() -> None:
    in_schema = set().union(*(_leaves(section) for section in MANAGED_SECTIONS))
    declared = {s.path for s in declarations.SETTINGS}
    assert in_schema == declared


@pytest.mark.parametrize("setting", declarations.SETTINGS, ids=lambda s: s.address)
def test_schema_enum_and_limits_equal_the_declaration(setting) -> None:
    node = _node(setting.path)
    if setting.kind == "enum":
        assert tuple(node["enum"]) == setting.allowed
    if setting.kind == "bool":
        assert node["type"] == "boolean"
    if setting.kind == "text":
        assert node["type"] == "string"
        assert node.get("maxLength") == setting.max_length


def test_sandbox_enforces_the_declared_loop_instructions_limit() -> None:
    declared = declarations.BY_ADDRESS["loop.portal.instructions"].max_length
    assert sandbox_loop.MAX_INSTRUCTIONS == declared == declarations.LOOP_INSTRUCTIONS_MAX
    assert declarations.BY_ADDRESS["loop.portal.order_lookup"].allowed == sandbox_loop.LOOKUPS



def test_every_declared_setting_reaches_the_desired_state(tmp_path: Path) -> None:
    slug = write_fleet(tmp_path, 1)[0]
    path = tmp_path / f"{slug}.yaml"
    # The profile leaves Loop's orders and fulfillments flows unmanaged: declare them too.
    path.write_text(path.read_text().replace(
        "pipe17:\n", "pipe17:\n  integrations:\n    loop:\n      flows: {orders: off, fulfillments: off}\n"))
    result = load_merchants(tmp_path)
    assert not result.problems, [p.format() for p in result.problems]
    assert set(result.merchants[0].settings) == set(declarations.BY_ADDRESS)


def test_every_address_pipe17_can_return_is_declared() -> None:
    directions = {"orders": {"direction": "in"}, "fulfillments": {"direction": "out"},
                  "refunds": {"direction": "none"}}
    options = {"pushRefundsToTikTok": True, "orderSyncMode": "fulfillment"}
    returned: set[str] = set()
    provider = Pipe17Provider.__new__(Pipe17Provider)
    for name in declarations.INTEGRATIONS:
        item = {"settings": {"entities": directions, "options": options}}
        returned |= set(provider._settings_of(name, item))
    pipe17 = {s.address for s in declarations.SETTINGS if s.service == "pipe17"}
    assert returned == pipe17


def test_every_setting_and_endpoint_names_a_declared_contract() -> None:
    for setting in declarations.SETTINGS:
        contract = declarations.BY_CONTRACT_ID[setting.contract]
        assert contract.service == setting.service
        assert setting.where, setting.address
    for endpoint in declarations.ENDPOINTS:
        assert declarations.BY_CONTRACT_ID[endpoint.contract].service == endpoint.service
    for contract in declarations.CONTRACTS:
        if contract.status is ContractStatus.ASSUMED:
            assert contract.read in declarations.BY_ENDPOINT_ID and contract.shape
        if contract.status is ContractStatus.PUBLISHED:
            assert contract.source and "http" in contract.source
        if any(s.contract == contract.id for s in declarations.SETTINGS):
            assert contract.manual_where and contract.manual_title


def test_assumed_endpoint_matching_uses_the_table() -> None:
    found = declarations.assumed_endpoint("pipe17", "PUT", "/integrations/int_abc")
    assert found is not None and found.id == "pipe17.integrations.write"
    assert declarations.assumed_endpoint("loop", "POST", "/order/link") is None
    assert declarations.assumed_endpoint("tiktok_shop", "GET", "/authorization/202309/shops") is None


def test_h5_redirect_is_a_none_setting_attested_in_the_file() -> None:
    [h5] = declarations.ATTESTATIONS
    assert declarations.BY_CONTRACT_ID[h5.contract].status is ContractStatus.NONE
    node = _node(h5.path)
    assert node["properties"]["approved"]["type"] == "boolean"
    assert node["properties"]["evidence"]["type"] == "string"
    assert h5.path not in {s.path for s in declarations.SETTINGS}  # never read or written
    assert not [e for e in declarations.ENDPOINTS if e.contract == h5.contract]
