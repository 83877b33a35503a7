"""The vendored public record (tests/fixtures/) and one shape comparison for it.

`shape_errors(actual, documented)` lists where a JSON value departs from a
documented example: a key the example does not have, or a value of another
JSON type, recursively. Every item of a list is compared with the example's
first item, so a list may hold more (or fewer) items than the example. Keys
the example has and the value lacks are not errors here (our emulator emits
the fields the product reads, not all of TikTok's); `missing` checks the
fields that must be there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RB_API = FIXTURES / "tiktok_shop" / "tiktok_shop_rb_api"
SKIT = FIXTURES / "tiktok_shop" / "skit_bytedance"
LOOP = FIXTURES / "loop"


@cache
def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def body(path: Path) -> Any:
    """The response (or request) body of a fixture: rb_api and Loop files wrap it in `body`."""
    value = load(path)
    return value["body"] if isinstance(value, dict) and "_source" in value else value


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_errors(actual: Any, documented: Any, path: str = "$") -> list[str]:
    if kind(actual) != kind(documented):
        return [f"{path}: {kind(actual)} where the record has {kind(documented)}"]
    if isinstance(actual, dict):
        errors = []
        for key, value in actual.items():
            if key not in documented:
                errors.append(f"{path}.{key}: not in the record")
            else:
                errors.extend(shape_errors(value, documented[key], f"{path}.{key}"))
        return errors
    if isinstance(actual, list) and documented:
        return [e for i, item in enumerate(actual) for e in shape_errors(item, documented[0], f"{path}[{i}]")]
    return []


def missing(actual: Any, paths: Iterable[str]) -> list[str]:
    """The dotted paths (`data.orders[].id`) absent from `actual`; `[]` means every item."""
    return [p for p in paths if not _has(actual, p.split("."))]


def _has(value: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    each = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(value, dict) or key not in value:
        return False
    inner = value[key]
    if each:
        return isinstance(inner, list) and bool(inner) and all(_has(item, rest) for item in inner)
    return _has(inner, rest)
