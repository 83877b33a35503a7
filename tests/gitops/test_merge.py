from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.document import build_document
from reconciler.engine.shard import select
from reconciler.output.groups import with_groups
from reconciler.output.merge import PlanMergeError, merge_files, merge_plans

from .fleet import fleet

START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
FLEET = fleet(200)


def shard_documents(count: int, target: str = "live") -> list[dict[str, Any]]:
    by_slug = {entry["merchant"]: entry for entry in FLEET}
    documents = []
    for index in range(1, count + 1):
        entries = [by_slug[slug] for slug in select(by_slug, (index, count))]
        documents.append(build_document(target, entries, START + timedelta(minutes=index)))
    return documents


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_merged_shard_plans_equal_the_unsharded_plan(count: int) -> None:
    documents = shard_documents(count)
    whole = with_groups(build_document("live", FLEET, START + timedelta(minutes=count)))
    merged = merge_plans(list(reversed(documents)))
    assert merged == whole
    # shards that carry their change sets merge them into the unsharded plan's
    assert merge_plans([with_groups(d) for d in documents])["groups"] == whole["groups"]
    assert merged["checksum"] == whole["checksum"]
    assert merged["summary"] == whole["summary"]
    assert merged["created_at"] == (START + timedelta(minutes=count)).isoformat()


def test_the_fleet_exercises_every_summary_counter() -> None:
    summary = build_document("live", FLEET)["summary"]
    assert summary["merchants"] == 200
    assert all(summary[key] > 0 for key in summary), summary


def test_a_sharded_plan_alone_is_not_the_whole_plan() -> None:
    first = shard_documents(2)[0]
    assert merge_plans([first])["checksum"] != build_document("live", FLEET)["checksum"]


def test_plans_for_different_targets_do_not_merge() -> None:
    live, sandbox = shard_documents(2)[0], shard_documents(2, target="sandbox")[1]
    with pytest.raises(PlanMergeError, match="different targets.*'live'.*'sandbox'"):
        merge_plans([live, sandbox])


def test_a_merchant_in_two_plans_is_refused() -> None:
    first, second = shard_documents(2)
    second = build_document("live", [*second["merchants"], first["merchants"][0]], START)
    slug = first["merchants"][0]["merchant"]
    with pytest.raises(PlanMergeError, match=f"'{slug}' appears in both document 1 and document 2"):
        merge_plans([first, second])


def test_every_merged_entry_keeps_its_own_checksum() -> None:
    merged = merge_plans(shard_documents(3))
    by_slug = {entry["merchant"]: entry for entry in build_document("live", FLEET)["merchants"]}
    assert all(entry["checksum"] == by_slug[entry["merchant"]]["checksum"]
               for entry in merged["merchants"])


def test_an_edited_shard_entry_is_refused_not_resealed() -> None:
    first, second = shard_documents(2)
    edited = json.loads(json.dumps(second))
    target = next(e for e in edited["merchants"] if e["changes"])
    target["changes"][0]["after"] = "https://evil.example/"
    with pytest.raises(PlanMergeError, match=f"document 2: the part of merchant '{target['merchant']}'"):
        merge_plans([first, edited])


def test_nothing_to_merge_is_an_error() -> None:
    with pytest.raises(ValueError, match="no plan documents"):
        merge_plans([])


@pytest.mark.parametrize(("document", "message"), [
    ([], "a plan document is a JSON object, got an array"),
    ({"format_version": "2"}, "format_version is '2', expected '1'"),
    ({"format_version": "1", "created_at": "x", "merchants": []}, "'target' is missing"),
    ({"format_version": "1", "target": "live", "created_at": "x", "merchants": [{}]},
     r"merchants\[1\] has no 'merchant' slug"),
    ({"format_version": "1", "target": "live", "created_at": "yesterday", "merchants": []},
     "created_at 'yesterday' is not an ISO 8601 time"),
])
def test_malformed_documents_are_named(document: Any, message: str) -> None:
    with pytest.raises(PlanMergeError, match=f"document 2: {message}"):
        merge_plans([shard_documents(2)[0], document])


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_merge_files_reads_shard_plans(tmp_path: Path) -> None:
    paths = [write(tmp_path / f"plan-{i}.json", doc) for i, doc in enumerate(shard_documents(3))]
    assert merge_files(paths)["checksum"] == build_document("live", FLEET)["checksum"]


def test_merge_files_names_a_file_that_is_not_json(tmp_path: Path) -> None:
    good = write(tmp_path / "plan-1.json", shard_documents(2)[0])
    bad = tmp_path / "plan-2.json"
    bad.write_text("Error: target unreachable\n", encoding="utf-8")
    with pytest.raises(PlanMergeError, match=rf"{bad}:1:1: not a JSON plan"):
        merge_files([good, bad])


def test_merge_files_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(PlanMergeError, match=rf"{missing}: cannot read plan file"):
        merge_files([missing])


def test_merge_files_names_the_file_of_a_duplicate(tmp_path: Path) -> None:
    document = shard_documents(2)[0]
    first = write(tmp_path / "a.json", document)
    second = write(tmp_path / "b.json", document)
    with pytest.raises(PlanMergeError, match=rf"in both {first} and {second}"):
        merge_files([first, second])


def test_a_merchant_twice_in_one_plan_is_refused() -> None:
    document = shard_documents(2)[0]
    twice = {**document, "merchants": document["merchants"] + document["merchants"][:1]}
    with pytest.raises(PlanMergeError, match="more than once in document 1"):
        merge_plans([twice])
