"""Table-driven configuration cases: tests/cases/config/<case>/.

Each case folder holds `merchants/` (merchant files, and `profiles/` when the
case needs them) and `expect.yaml`:

    description: what the case shows
    exit: 0 | 1                 # expected exit code of `reconciler validate`
    paths: [acme.yaml]          # optional PATH arguments, relative to merchants/
    merchants: [acme]           # optional: slugs expected to load
    problems:                   # exactly these (rule, file, line), files relative to merchants/
      - {rule: R001, file: acme.yaml, line: 22}

A new behaviour is a new folder, not new test code. Every case runs through
both `load_merchants` and the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.config import load_merchants

CASES = Path(__file__).resolve().parents[1] / "cases" / "config"


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "expect.yaml").is_file())


def _expect(case: Path) -> dict[str, Any]:
    return yaml.safe_load((case / "expect.yaml").read_text())


def _paths(case: Path, expect: dict[str, Any]) -> list[Path] | None:
    names = expect.get("paths")
    return [case / "merchants" / name for name in names] if names else None


def _expected(case: Path, expect: dict[str, Any]) -> set[tuple[str, str, int]]:
    root = case / "merchants"
    return {(p["rule"], str(root / p["file"]), p["line"]) for p in expect["problems"]}


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_load_merchants(case: Path) -> None:
    expect = _expect(case)
    result = load_merchants(case / "merchants", _paths(case, expect))
    found = {(p.rule, p.file, p.line) for p in result.problems}
    assert found == _expected(case, expect), "\n".join(p.format() for p in result.problems)
    if "merchants" in expect:
        assert [m.slug for m in result.merchants] == expect["merchants"]
    if result.problems:
        bad_files = {p.file for p in result.problems}
        assert not [m for m in result.merchants if m.source in bad_files]


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_validate_command(case: Path) -> None:
    expect = _expect(case)
    merchants = case / "merchants"
    args = ["validate", "--merchants", str(merchants)]
    args += [str(p) for p in _paths(case, expect) or []]
    outcome = CliRunner().invoke(cli, args)
    output = outcome.output
    assert "Traceback" not in output
    assert outcome.exit_code == expect["exit"], output
    for rule, file, line in _expected(case, expect):
        assert any(text.startswith(f"{file}:{line}:") and f" {rule} " in text
                   for text in output.splitlines()), (rule, file, line, output)


def test_every_rule_id_has_a_case() -> None:
    from reconciler.config.catalog import RULES

    covered = {p["rule"] for case in _cases() for p in _expect(case)["problems"]}
    # F002, Y007: unit tests; F003-F005 (devices, FIFOs, links, control characters in
    # names cannot live in git): tests/hardening/test_clean_errors.py, through the CLI
    uncovered = set(RULES) - covered - {"F002", "Y007", "F003", "F004", "F005"}
    assert not uncovered, sorted(uncovered)
