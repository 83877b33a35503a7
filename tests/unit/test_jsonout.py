"""Pretty JSON is the same text whichever encoder writes it."""

from __future__ import annotations

import json

import pytest

from reconciler.output.jsonout import pretty

DOCUMENTS = [
    {"merchants": [{"merchant": "acme", "changes": [], "manual_actions": [],
                    "before": None, "after": {"a": [1, 2.5, True, "é ✓ \u2028", "\t\n\"\\"]}}],
     "summary": {"merchants": 1, "errored": 0}, "empty": {}, "list": []},
    [],
    {"nested": {"deep": [[{"x": -0.1}], 10**18]}},
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_same_text_as_the_standard_library(document) -> None:
    assert pretty(document) == json.dumps(document, indent=2, ensure_ascii=False)


def test_what_the_fast_encoder_refuses_still_prints() -> None:
    document = {1: "int key", "big": 10**30}
    assert pretty(document) == json.dumps(document, indent=2, ensure_ascii=False)
