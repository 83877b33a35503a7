"""The services' names are spelled in one table (model.SERVICE_TABLE); the rest derive from it."""

from __future__ import annotations

import ast

import pytest

from reconciler import declarations, model
from tests.unit.test_layers import MODULES, PACKAGE

TABLE_FILE = PACKAGE / "model.py"
NAMES = {name for entry in model.SERVICE_TABLE.values()
         for name in (entry.display, entry.connector) if name}


def _name_tables(path) -> list[int]:
    """Lines of dict literals that map a service key to one of the services' names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Dict)
        and any(isinstance(k, ast.Constant) and k.value in model.SERVICES for k in node.keys)
        and any(_spells_a_name(v) for v in node.values)
    ]


def _spells_a_name(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Call):  # ServiceName("TikTok Shop", ...)
        return any(_spells_a_name(arg) for arg in node.args)
    return isinstance(node, ast.Constant) and node.value in NAMES


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_other_module_spells_a_table_of_service_names(module: str) -> None:
    path = MODULES[module]
    if path == TABLE_FILE:
        return
    assert not _name_tables(path), f"{path}: use reconciler.model.SERVICE_TABLE (or a table derived from it)"


def test_the_finder_sees_the_table_itself() -> None:
    assert _name_tables(TABLE_FILE)


def test_the_derived_tables_agree() -> None:
    assert model.SERVICES == ("tiktok_shop", "pipe17", "shopify", "loop")
    assert dict(declarations.INTEGRATIONS) == {"tiktok_shop": "TikTok Shop", "shopify": "Shopify",
                                               "loop": "Loop Returns"}
    assert tuple(declarations.INTEGRATIONS) == model.PIPE17_INTEGRATIONS
    assert model.SERVICE_NAMES["loop"] == "Loop"  # how notes name the service, not its connector
