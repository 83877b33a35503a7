"""Sharded plans through the CLI, merged, equal the unsharded plan, checksum included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.generate import copy_profiles
from reconciler.cli import cli
from tests.e2e.conftest import SHIPPED, env_refs

FLEET = 12


def make_fleet(root: Path) -> Path:
    merchants = root / "merchants"
    copy_profiles(SHIPPED / "profiles", merchants / "profiles")
    template = env_refs((SHIPPED / "bright-basics.yaml").read_text(), "BRIGHT")
    for i in range(FLEET):
        text = (template.replace("bright-basics.myshopify", f"shop-{i:02d}.myshopify")
                .replace("7495098765432109876", str(7495098765432100000 + i))
                .replace("brightbasics", f"shop{i:02d}").replace("BRIGHT_", f"SHOP{i:02d}_"))
        (merchants / f"shop-{i:02d}.yaml").write_text(text)
    return merchants


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RECONCILER_TARGET", raising=False)
    return make_fleet(tmp_path)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_shards_merge_into_the_unsharded_plan(fleet: Path, tmp_path: Path) -> None:
    full_path = tmp_path / "full.json"
    code, output = run("--merchants", str(fleet), "plan", "--out", str(full_path))
    assert code == 0, output
    full = json.loads(full_path.read_text())
    assert full["summary"]["merchants"] == FLEET

    for count in range(2, 6):
        parts = []
        for index in range(1, count + 1):
            part = tmp_path / f"shard-{index}-of-{count}.json"
            code, output = run("--merchants", str(fleet), "plan", "--shard", f"{index}/{count}",
                               "--out", str(part))
            assert code == 0, output
            parts.append(part)
        slugs = [m["merchant"] for p in parts for m in json.loads(p.read_text())["merchants"]]
        assert sorted(slugs) == [m["merchant"] for m in full["merchants"]]  # an exact partition

        merged_path = tmp_path / f"merged-{count}.json"
        code, output = run("plan-merge", *map(str, parts), "--out", str(merged_path))
        assert code == 0, output
        merged = json.loads(merged_path.read_text())
        assert merged["checksum"] == full["checksum"]
        assert merged["merchants"] == full["merchants"]
        assert merged["summary"] == full["summary"]


def test_a_bad_shard_is_a_usage_error(fleet: Path) -> None:
    code, output = run("--merchants", str(fleet), "plan", "--shard", "3/2")
    assert code == 1  # usage errors exit 1: 2 means "changes present"
    assert "--shard" in output
