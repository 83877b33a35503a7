"""`reconciler plan-merge` over shard plan files, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.engine.document import build_document
from reconciler.engine.shard import select

from .fleet import fleet

FLEET = fleet(120, seed=11)


def write_shards(directory: Path, count: int) -> list[Path]:
    by_slug = {entry["merchant"]: entry for entry in FLEET}
    paths = []
    for index in range(1, count + 1):
        document = build_document("live", [by_slug[s] for s in select(by_slug, (index, count))])
        path = directory / f"plan-{index}.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def test_plan_merge_saves_the_unsharded_plan_and_prints_markdown(tmp_path: Path) -> None:
    shards = write_shards(tmp_path, 3)
    out = tmp_path / "plan.json"
    result = CliRunner().invoke(
        cli, ["plan-merge", *map(str, shards), "--out", str(out), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    merged = json.loads(out.read_text(encoding="utf-8"))
    assert merged["checksum"] == build_document("live", FLEET)["checksum"]
    assert merged["checksum"] in result.output


def test_plan_merge_names_the_bad_file_and_exits_1(tmp_path: Path) -> None:
    good, = write_shards(tmp_path, 1)
    bad = tmp_path / "shard-2.json"
    bad.write_text("{", encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan-merge", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:1:2: not a JSON plan" in result.output
    assert "Traceback" not in result.output


def test_the_comment_for_a_2000_merchant_plan_fits_in_one_github_comment(tmp_path: Path) -> None:
    big = fleet(2000, seed=2000)
    by_slug = {entry["merchant"]: entry for entry in big}
    shards = []
    for index in (1, 2, 3, 4):
        path = tmp_path / f"plan-{index}.json"
        document = build_document("live", [by_slug[s] for s in select(by_slug, (index, 4))])
        path.write_text(json.dumps(document), encoding="utf-8")
        shards.append(str(path))
    result = CliRunner().invoke(cli, ["plan-merge", *shards, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    comment = "<!-- reconciler-plan -->\n" + result.stdout  # as plan.yml posts it
    assert len(comment) <= 65_536
    assert build_document("live", big)["checksum"] in comment
