"""`reconciler doctor` through the CLI: the endpoint matrix in both sandbox modes, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler import declarations
from reconciler.declarations import ContractStatus
from tests.e2e.conftest import env_copy, serving, start_sandbox
from tests.export.harness import SLUGS, Workspace


def _matrix(result) -> dict[str, dict[str, dict]]:
    document = json.loads(result.stdout)
    return {m["merchant"]: {e["id"]: e for e in m["endpoints"]} for m in document["merchants"]}


def _status(endpoint_id: str) -> ContractStatus:
    endpoint = declarations.BY_ENDPOINT_ID[endpoint_id]
    return declarations.BY_CONTRACT_ID[endpoint.contract].status


def test_full_sandbox_every_endpoint_available(tmp_path: Path) -> None:
    text = Workspace(tmp_path).cli("doctor", "--merchant", "acme-apparel")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "Target: sandbox"
    assert any("GET /portal/settings" in line and "assumed" in line and line.endswith("available")
               for line in lines)
    assert "loop Orders, Returns" in text.stdout
    assert "shopify read_publications, read_orders" in text.stdout
    result = Workspace(tmp_path).cli("doctor", "--format", "json")
    assert result.exit_code == 0 and result.stderr.splitlines()[0] == "Target: sandbox"
    matrix = _matrix(result)
    assert set(matrix) == set(SLUGS)
    for rows in matrix.values():
        assert set(rows) == set(declarations.BY_ENDPOINT_ID)  # every endpoint the product uses
        assert {r["result"] for r in rows.values()} == {"available"}
        assert all(r["status"] == _status(i).value for i, r in rows.items())


def test_published_only_sandbox_assumed_unavailable_is_not_exit_1(tmp_path: Path) -> None:
    space = Workspace(tmp_path, env={"RECONCILER_SANDBOX_MODE": "published-only"})
    result = space.cli("doctor", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["scopes"]["loop"] == ["Orders", "Returns"]
    for rows in _matrix(result).values():
        for endpoint_id, row in rows.items():
            expected = "unavailable" if _status(endpoint_id) is ContractStatus.ASSUMED else "available"
            assert row["result"] == expected, (endpoint_id, row)
        assert "36009009" in rows["tiktok_shop.return_proxy.read"]["reason"]
        assert "never sent" in rows["loop.portal_settings.write"]["reason"]


def test_refused_credential_is_named_and_exits_1_and_nothing_is_written(tmp_path: Path) -> None:
    merchants = env_copy(tmp_path / "env-merchants")  # so one key can be made wrong
    with serving(start_sandbox(tmp_path, merchants)) as sandbox:
        result = sandbox.cli("doctor", "--merchant", "bright-basics",
                             env={"BRIGHT_LOOP_API_KEY": "not-the-sandbox-key"})
        assert result.returncode == 1, result.stdout + result.stderr
        loop_lines = [line for line in result.stdout.splitlines() if line.strip().startswith("loop")]
        assert loop_lines and all("credential refused" in line for line in loop_lines)
        assert "not-the-sandbox-key" not in result.stdout + result.stderr
        others = [line for line in result.stdout.splitlines()
                  if line.strip().startswith(("tiktok_shop", "shopify", "pipe17"))]
        assert others and all(line.endswith("available") for line in others)
        assert sandbox.stats()["writes"] == 0


def test_missing_shopify_scope_is_named_and_exits_1(tmp_path: Path) -> None:
    space = Workspace(tmp_path, scenarios="acme-apparel=shopify-publications-scope-missing")
    result = space.cli("doctor", "--merchant", "acme-apparel", "--format", "json")
    assert result.exit_code == 1, result.output
    rows = _matrix(result)["acme-apparel"]
    assert rows["shopify.shop"]["result"] == "missing scope"
    assert rows["shopify.shop"]["scopes"] == ["read_publications"]
    assert rows["shopify.shop_basic"]["result"] == "available"
