"""docs/providers/<service>.md list every endpoint exactly as the declarations do.

The section "Contract status of every endpoint" of each page is parsed as a
markdown table; its rows must equal the registry's, in order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import declarations
from reconciler.model import SERVICES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "providers"
HEADING = "## Contract status of every endpoint"
COLUMNS = ["endpoint", "call", "contract", "status", "source", "used by", "scopes"]


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]


def doc_table(service: str) -> list[dict[str, str]]:
    text = (DOCS / f"{service}.md").read_text(encoding="utf-8")
    assert HEADING in text, f"docs/providers/{service}.md has no '{HEADING}' section"
    lines = [line for line in text.split(HEADING, 1)[1].splitlines() if line.startswith("|")]
    header, rule, *rows = lines
    assert _cells(header) == COLUMNS and set(rule) <= set("|-: ")
    return [dict(zip(COLUMNS, _cells(row), strict=True)) for row in rows]


def registry_table(service: str) -> list[dict[str, str]]:
    rows = []
    for endpoint in declarations.ENDPOINTS:
        if endpoint.service != service:
            continue
        contract = declarations.BY_CONTRACT_ID[endpoint.contract]
        rows.append({"endpoint": endpoint.id, "call": endpoint.call, "contract": contract.id,
                     "status": contract.status.value, "source": contract.source or "",
                     "used by": ", ".join(endpoint.used_by),
                     "scopes": ", ".join(endpoint.scopes) or "—"})
    return rows


@pytest.mark.parametrize("service", SERVICES)
def test_provider_doc_table_equals_the_declarations(service: str) -> None:
    assert doc_table(service) == registry_table(service)


def test_a_changed_declaration_is_caught(monkeypatch) -> None:
    endpoint = declarations.ENDPOINTS[0]
    contract = declarations.BY_CONTRACT_ID[endpoint.contract]
    changed = type(contract)(**{**contract.__dict__, "status": declarations.ContractStatus.ASSUMED})
    monkeypatch.setitem(declarations.BY_CONTRACT_ID, contract.id, changed)
    assert doc_table(endpoint.service) != registry_table(endpoint.service)
