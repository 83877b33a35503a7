"""The fast schema check agrees with jsonschema on every document it sees.

`validate` trusts fastjsonschema's "valid" without asking jsonschema, so a
document the fast check accepts and jsonschema refuses would slip through
unreported. These tests hold the two to the same answer over every merchant
and profile file in the repository and over generated values for every
patterned field, trailing newlines included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.config import schema
from reconciler.config.loader import load_merchants

ROOT = Path(__file__).resolve().parents[2]


def _mapping(path: Path) -> dict | None:
    """The file's top-level mapping, or None when the loader refuses it before the schema."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


FILES = sorted(
    path for path in [*ROOT.glob("merchants/**/*.yaml"),
                      *ROOT.glob("tests/cases/config/*/merchants/**/*.yaml")]
    if _mapping(path) is not None
)


def _agree(data: Any, *, complete: bool) -> None:
    slow = schema.complete_validator() if complete else schema.shape_validator()
    slow_ok = not list(slow.iter_errors(data))
    try:
        schema._fast_validator(complete)(data)
        fast_ok = True
    except fastjsonschema.JsonSchemaException:
        fast_ok = False
    assert fast_ok == slow_ok, f"fast={fast_ok} jsonschema={slow_ok} for {data!r}"


def _document(path: Path) -> Any:
    data = _mapping(path)
    assert data is not None
    data.pop("extends", None)
    return data


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fast_check_agrees_on_every_file(path: Path) -> None:
    data = _document(path)
    _agree(data, complete=False)
    _agree(data, complete=True)


def test_shipped_merchants_take_the_fast_path_and_still_load() -> None:
    loaded = load_merchants(ROOT / "merchants")
    assert loaded.problems == [] and loaded.merchants


def _with_shop(value: Any) -> dict[str, Any]:
    return {"shopify": {"shop": value}, "slug": "acme", "tiktok_shop": {"shop_id": "12345"}}


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(alphabet="abz09-.\n/ ", max_size=30).map(lambda s: s + ".myshopify.com"),
    st.text(alphabet="abz09-.\n/ ", max_size=30),
    st.sampled_from(["acme.myshopify.com\n", "acme.myshopify.com", "ACME.myshopify.com"]),
    st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False),
))
def test_fast_check_agrees_on_patterned_values(value: Any) -> None:
    _agree(_with_shop(value), complete=False)
    _agree({"slug": value}, complete=False)
    _agree({"tiktok_shop": {"shop_id": value}}, complete=False)


def test_a_final_newline_is_refused_even_where_the_pattern_could_consume_it() -> None:
    lenient = fastjsonschema.compile({"type": "string", "pattern": "^[^/]+$"})
    lenient("value\n")  # fastjsonschema alone: `\\Z` lets `[^/]` take the newline
    strict = fastjsonschema.compile(schema._fast_schema({"type": "string", "pattern": "^[^/]+$"}))
    with pytest.raises(fastjsonschema.JsonSchemaException):
        strict("value\n")
    strict("value")


def test_the_shipped_validators_were_generated_from_this_schema() -> None:
    """Editing schemas/merchant.schema.json without `make schema` fails here (the run
    would still be correct, compiling the validators at start-up, only slower)."""
    from reconciler.config.generated import complete, shape

    assert shape.SCHEMA_SHA256 == complete.SCHEMA_SHA256 == schema.schema_digest()
    assert schema._fast_validator(False) is shape.validate
    assert schema._fast_validator(True) is complete.validate


def test_a_stale_generated_validator_is_not_used(monkeypatch) -> None:
    monkeypatch.setattr(schema, "schema_digest", lambda: "0" * 64)
    schema._fast_validator.cache_clear()
    try:
        from reconciler.config.generated import shape

        compiled = schema._fast_validator(False)
        assert compiled is not shape.validate
        _agree({"slug": "acme\n"}, complete=False)
    finally:
        schema._fast_validator.cache_clear()
