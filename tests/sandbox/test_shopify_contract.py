"""Shopify's own Admin GraphQL schema (tests/fixtures/shopify/) against what the product sends
and what the sandbox serves and answers."""

from __future__ import annotations

import ast
import copy
import importlib.util
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLSchema,
    OperationDefinitionNode,
    build_client_schema,
    execute,
    parse,
    validate,
)

import reconciler
from reconciler.http.readonly import known_read_queries
from reconciler.providers import shopify as shopify_provider
from reconciler.sandbox.shopify_schema import SCHEMA_FILE, schema_text
from reconciler.targets import SHOPIFY_API_VERSION
from tests.sandbox.sandbox_helpers import make_merchant

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "shopify" / f"admin_{SHOPIFY_API_VERSION}.pruned.json.gz"


@cache
def prune_script() -> Any:
    spec = importlib.util.spec_from_file_location("prune_shopify_schema",
                                                  ROOT / "scripts" / "prune_shopify_schema.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def vendored() -> dict[str, Any]:
    return prune_script().load(FIXTURE)


def schema_of(introspection: dict[str, Any]) -> GraphQLSchema:
    return build_client_schema(introspection["data"], assume_valid=True)


def graphql_constants() -> dict[str, str]:
    """Every module-level string constant in the package that is a GraphQL operation."""
    found: dict[str, str] = {}
    for path in Path(reconciler.__file__).parent.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)):
                text = node.value.value.strip()
                if text.startswith(("query ", "query{", "mutation ", "subscription ")):
                    names = ",".join(t.id for t in node.targets if isinstance(t, ast.Name))
                    found[f"{path.relative_to(ROOT)}:{names}"] = node.value.value
    return found


def test_the_fixture_is_what_the_script_makes_and_the_sandbox_ships_it() -> None:
    script = prune_script()
    assert script.prune(vendored()) == vendored(), "pruning the vendored fixture changes it"
    assert script.dump_fixture(vendored()) == FIXTURE.read_bytes()
    assert schema_text() == script.to_sdl(vendored())
    assert SCHEMA_FILE.endswith(f"{SHOPIFY_API_VERSION}.graphql")


def test_the_packaged_schema_is_package_data(tmp_path: Path) -> None:
    # What a wheel would carry: setuptools' build_py with the project's own configuration.
    script = "import sys; from setuptools import setup; sys.argv[1:] = ['-q', 'build_py', '--build-lib', sys.argv[1]]; setup()"
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    built = tmp_path / "reconciler" / "sandbox" / "data" / SCHEMA_FILE
    assert built.read_text(encoding="utf-8") == schema_text()


def test_every_graphql_document_in_the_package_is_registered_and_valid() -> None:
    constants = graphql_constants()
    assert len(constants) >= 3, constants  # ReconcilerShop, ReconcilerShopBasic, ReconcilerOrders
    registered = known_read_queries()
    schema = schema_of(vendored())
    for where, document in constants.items():
        assert document in registered, f"{where} is sent but not registered as a read"
    for document in registered:
        errors = validate(schema, parse(document))
        assert not errors, (document, [e.message for e in errors])


def test_the_plan_reads_sales_channels_in_the_same_request() -> None:
    operation = parse(shopify_provider.SHOP_QUERY).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    roots = {s.name.value for s in operation.selection_set.selections}  # type: ignore[attr-defined]
    assert roots == {"shop", "currentAppInstallation", "publications"}


def test_a_field_shopify_does_not_have_fails_validation() -> None:
    schema = schema_of(vendored())
    broken = shopify_provider.SHOP_QUERY.replace("myshopifyDomain", "myshopifyDomain installedApps")
    assert [e.message for e in validate(schema, parse(broken))] == [
        "Cannot query field 'installedApps' on type 'Shop'."]
    sorted_by_name = shopify_provider.ORDERS_QUERY.replace("sortKey: CREATED_AT", "sortKey: NAME")
    assert validate(schema, parse(sorted_by_name))


def test_a_broken_fixture_fails_the_products_documents() -> None:
    broken = copy.deepcopy(vendored())
    for kind in broken["data"]["__schema"]["types"]:
        if kind["name"] == "QueryRoot":
            kind["fields"] = [f for f in kind["fields"] if f["name"] != "publications"]
    errors = validate(schema_of(broken), parse(shopify_provider.SHOP_QUERY))
    assert any("publications" in e.message for e in errors)


def conformance_errors(query: str, variables: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """Problems of `data` as an answer to `query` under Shopify's schema: types, enums, nullability."""
    schema = schema_of(vendored())

    def only_type(value: Any, info: Any, abstract: Any) -> str:
        possible = info.schema.get_possible_types(abstract)
        return value.get("__typename") or possible[0].name

    result = execute(schema, parse(query), root_value=data, variable_values=variables,
                     type_resolver=only_type)
    problems = [e.message for e in result.errors or []]
    if result.data != data:
        problems.append(f"answer does not round-trip: {result.data!r} != {data!r}")
    return problems


@pytest.mark.parametrize("scenarios", [set(), {"tiktok-connector-on"}, {"duplicate-order"}])
async def test_sandbox_answers_conform_to_shopifys_schema(make_sandbox, scenarios) -> None:
    merchant = make_merchant()
    sbx = make_sandbox([merchant], {merchant.slug: scenarios})
    for query, variables in ((shopify_provider.SHOP_QUERY, {}),
                             (shopify_provider.SHOP_BASIC_QUERY, {}),
                             (shopify_provider.ORDERS_QUERY, {"first": 10, "query": "tag:TikTok"})):
        body = (await sbx.shopify(merchant, query, variables)).json()
        assert "errors" not in body, body
        assert conformance_errors(query, variables, body["data"]) == []


async def test_a_broken_sandbox_answer_is_caught(make_sandbox) -> None:
    merchant = make_merchant()
    sbx = make_sandbox([merchant])
    query = "{ shop { id currencyCode } }"
    data = (await sbx.shopify(merchant, query)).json()["data"]
    assert conformance_errors(query, {}, data) == []
    data["shop"]["currencyCode"] = "dollars"  # not a CurrencyCode
    assert conformance_errors(query, {}, data)
    data["shop"] = None  # Shop! is non-null
    assert conformance_errors(query, {}, data)


def test_the_products_documents_select_nothing_deprecated() -> None:
    # A deprecated field would make Shopify send X-Shopify-API-Deprecated-Reason on every run.
    from graphql import NoDeprecatedCustomRule

    schema = schema_of(vendored())
    for document in known_read_queries():
        assert [e.message for e in validate(schema, parse(document), [NoDeprecatedCustomRule])] == []
