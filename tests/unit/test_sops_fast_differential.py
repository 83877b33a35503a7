"""In-process SOPS decryption gives exactly what `sops decrypt` gives, for documents sops wrote.

Each example is encrypted by the real sops binary to an age key made here,
then opened both ways. The in-process path may decline a document (the
binary then decides), but whatever it returns must equal the binary's
answer, and it must not decline the documents it is built for.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import sops, sopsage
from tests.sopsfiles import AgeKey, age_key, decrypt, encrypt, sops_env

KEY = age_key()
SUFFIX = "_unencrypted"

keys = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12),
    st.sampled_from(["api_key", "token", f"note{SUFFIX}", f"port{SUFFIX}", "ümlaut", "日本"]),
).filter(lambda k: k != "sops" and k.strip() == k)
scalars = st.one_of(
    st.text(max_size=40),  # unicode and empty strings
    st.just(""),
    st.integers(min_value=-(2 ** 53), max_value=2 ** 53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
documents = st.dictionaries(keys, values, min_size=1, max_size=6)


def _unencrypted_numbers(node: Any, plain: bool = False) -> bool:
    """Whether a number sits under a `_unencrypted` key (left to the binary by design)."""
    if isinstance(node, dict):
        return any(_unencrypted_numbers(v, plain or k.endswith(SUFFIX)) for k, v in node.items())
    if isinstance(node, list):
        return any(_unencrypted_numbers(v, plain) for v in node)
    return plain and isinstance(node, int | float) and not isinstance(node, bool)


def both_ways(path: Path, key: AgeKey) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(in process, binary); None where that side declines or fails."""
    sops.forget_parsed()
    try:
        fast = sops.in_process(path, sops_env(**key.env))
    except sopsage.Declined:
        fast = None
    try:
        binary = decrypt(path, key)
    except subprocess.CalledProcessError:  # sops cannot read back a few of its own files
        binary = None
    return fast, binary


@pytest.mark.parametrize("suffix", [".sops.yaml", ".sops.json"])
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=documents)
def test_in_process_equals_the_binary(tmp_path: Path, suffix: str, document: dict[str, Any]) -> None:
    path = tmp_path / f"doc{suffix}"
    encrypt(path, document, KEY.public)
    fast, binary = both_ways(path, KEY)
    if binary is None:  # e.g. an unencrypted -0.0: sops' own MAC check fails on it
        assert fast is None, "opened a file the binary refuses"
        return
    if not _unencrypted_numbers(document):
        assert fast is not None, "declined a document it is built for"
    if fast is not None:
        assert json.dumps(fast, sort_keys=True) == json.dumps(binary, sort_keys=True)


@pytest.mark.parametrize("suffix", [".sops.yaml", ".sops.json"])
def test_every_type_and_shape_is_opened_in_process(tmp_path: Path, suffix: str) -> None:
    document = {
        "text": "ünïcødé ✓ 日本", "empty": "", "int": -42, "big": 2 ** 53, "float": 2.5,
        "whole_float": 3.0, "tiny": 1e-300, "yes": True, "no": False, "nothing": None,
        "nested": {"list": ["a", 1, [True, {"deep": "x"}]], "map": {"k": "v"}},
        f"plain{SUFFIX}": {"kept": "in clear", "flag": True},
    }
    path = tmp_path / f"doc{suffix}"
    encrypt(path, document, KEY.public)
    fast, binary = both_ways(path, KEY)
    assert fast == binary
    assert fast is not None and fast["text"] == document["text"] and fast["empty"] == ""
    assert math.isclose(fast["tiny"], 1e-300)
    assert "in clear" in path.read_text(encoding="utf-8")  # the suffix really left it plain


@pytest.mark.parametrize("rule", [{"encrypted_suffix": "_secret"}, {"mac_only_encrypted": True},
                                  {"unencrypted_suffix": "_public"}])
def test_the_supported_options_are_opened_in_process(tmp_path: Path, rule: dict[str, Any]) -> None:
    document = {"api_secret": "s3cr3t-value", "region_public": "US", "n": {"count_secret": 7},
                "plain": "text"}
    config = tmp_path / ".sops.yaml"
    config.write_text(json.dumps({"creation_rules": [{"age": KEY.public, **rule}]}), encoding="utf-8")
    path = tmp_path / "doc.sops.yaml"
    done = subprocess.run(
        sops.command("--config", str(config), "encrypt", "--filename-override", str(path),
                     "--input-type", "json", "--output-type", "yaml"),
        input=json.dumps(document).encode(), capture_output=True, check=False, timeout=60,
        env=sops_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    path.write_bytes(done.stdout)
    assert next(iter(rule)) in path.read_text(encoding="utf-8")  # the option is in the metadata
    fast, binary = both_ways(path, KEY)
    assert fast is not None and fast == binary == document
