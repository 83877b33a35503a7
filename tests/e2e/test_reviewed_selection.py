"""`apply --plan FILE` applies exactly the selected part of a reviewed plan, through the CLI.

Each merchant's part carries its own checksum, so a selection is checked for
staleness alone; a saved plan needs no confirmation prompt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.engine.shard import shard_of
from tests.e2e.conftest import SHIPPED

SLUGS = ("acme-apparel", "bright-basics", "cosmo-kids")


@pytest.fixture
def merchants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RECONCILER_TARGET", raising=False)
    target = tmp_path / "merchants"
    shutil.copytree(SHIPPED, target)
    return target


def run(merchants: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--merchants", str(merchants), *args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def saved_plan(merchants: Path, *args: str) -> Path:
    path = merchants.parent / "plan.json"
    code, output = run(merchants, "plan", "--out", str(path), *args)
    assert code == 0, output
    return path


def pending(merchants: Path) -> set[str]:
    """Merchants whose plan still has changes (exit 2 or 3 with --detailed-exitcode)."""
    left = set()
    for slug in SLUGS:
        code, output = run(merchants, "plan", "--merchant", slug, "--detailed-exitcode")
        assert code in (0, 2, 3), output
        if code:
            left.add(slug)
    return left


def test_every_merchant_of_a_fresh_sandbox_has_changes(merchants: Path) -> None:
    assert pending(merchants) == set(SLUGS)


def test_apply_plan_with_merchant_writes_only_that_merchant(merchants: Path) -> None:
    plan = saved_plan(merchants)
    code, output = run(merchants, "apply", "--plan", str(plan), "--merchant", "acme-apparel",
                       "--auto-approve")
    assert code == 0, output
    assert pending(merchants) == {"bright-basics", "cosmo-kids"}


def test_apply_plan_with_exclude_skips_the_excluded(merchants: Path) -> None:
    plan = saved_plan(merchants)
    code, output = run(merchants, "apply", "--plan", str(plan), "--exclude", "bright-basics",
                       "--exclude", "cosmo-kids", "--auto-approve")
    assert code == 0, output
    assert pending(merchants) == {"bright-basics", "cosmo-kids"}


def test_apply_plan_with_shard_writes_only_that_shard(merchants: Path) -> None:
    index, count = next((i, n) for n in range(2, 9) for i in range(1, n + 1)
                        if 0 < sum(shard_of(s, n) == i for s in SLUGS[:2]) < 2
                        and shard_of("cosmo-kids", n) != i)
    inside = {s for s in SLUGS if shard_of(s, count) == index}
    plan = saved_plan(merchants)
    code, output = run(merchants, "apply", "--plan", str(plan), "--shard", f"{index}/{count}",
                       "--auto-approve")
    assert code == 0, output
    assert pending(merchants) == set(SLUGS) - inside


def test_selected_part_that_changed_is_stale_and_writes_nothing(merchants: Path) -> None:
    plan = saved_plan(merchants)
    bright = merchants / "bright-basics.yaml"
    bright.write_text(bright.read_text().replace("returns.brightbasics.com", "help.brightbasics.com"))
    code, output = run(merchants, "apply", "--plan", str(plan), "--merchant", "bright-basics")
    assert code == 5, output
    assert "stale for bright-basics" in output
    code, output = run(merchants, "apply", "--plan", str(plan))
    assert code == 5, output
    assert pending(merchants) == set(SLUGS)


def test_an_unrelated_merchant_drifting_does_not_make_the_selection_stale(merchants: Path) -> None:
    plan = saved_plan(merchants)
    bright = merchants / "bright-basics.yaml"
    bright.write_text(bright.read_text().replace("returns.brightbasics.com", "help.brightbasics.com"))
    code, output = run(merchants, "apply", "--plan", str(plan), "--merchant", "acme-apparel")
    assert code == 0, output
    assert pending(merchants) == {"bright-basics", "cosmo-kids"}


def test_a_selection_matching_nothing_in_the_plan_is_an_error(merchants: Path) -> None:
    plan = saved_plan(merchants, "--merchant", "acme-apparel")
    code, output = run(merchants, "apply", "--plan", str(plan), "--merchant", "bright-basics")
    assert code == 1, output
    assert "no part for bright-basics" in output
    code, output = run(merchants, "apply", "--plan", str(plan), "--exclude", "acme-apparel")
    assert code == 1, output
    assert "--exclude acme-apparel" in output
    assert pending(merchants) == set(SLUGS)


def test_a_saved_plan_applies_without_a_prompt(merchants: Path) -> None:
    plan = saved_plan(merchants, "--merchant", "acme-apparel")
    code, output = run(merchants, "apply", "--plan", str(plan))  # no terminal, no --auto-approve
    assert code == 0, output
    assert "Apply these changes?" not in output
    assert pending(merchants) == {"bright-basics", "cosmo-kids"}


def test_without_a_saved_plan_apply_still_asks(merchants: Path) -> None:
    code, output = run(merchants, "apply", "--merchant", "acme-apparel")
    assert code == 1, output
    assert "--auto-approve" in output
    assert pending(merchants) == set(SLUGS)


def test_every_merchant_entry_carries_its_own_checksum(merchants: Path) -> None:
    document = json.loads(saved_plan(merchants).read_text())
    sums = [entry["checksum"] for entry in document["merchants"]]
    assert len(set(sums)) == len(SLUGS) and all(s.startswith("sha256:") for s in sums)
