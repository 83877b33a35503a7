"""Merge the JSON plans of a sharded fleet (`plan --shard I/N`) into one plan.

The merged document is rebuilt with `build_document`, so its checksum and
summary are those of the unsharded plan of the same merchants: a reviewer
approves one plan, and `apply --plan` checks that one checksum. A merchant
entry whose own checksum does not match its content (an edited shard) is
refused rather than resealed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.engine.document import FORMAT_VERSION, build_document, merchant_checksum
from reconciler.output.groups import build_groups, merge_groups


class PlanMergeError(ValueError):
    """Plans that cannot be merged; the message names the document and the reason."""


def merge_plans(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge plan documents of one target and disjoint merchants into one document."""
    return _merge([(f"document {i}", doc) for i, doc in enumerate(documents, 1)])


def merge_files(paths: Sequence[Path]) -> dict[str, Any]:
    """Read JSON plan files (as written by `plan --format json --out`) and merge them."""
    return _merge([(str(path), read_plan(path)) for path in paths])


def read_plan(path: Path) -> dict[str, Any]:
    """Load one JSON plan file; a missing, unreadable or malformed file is a PlanMergeError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanMergeError(f"{path}: cannot read plan file: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanMergeError(
            f"{path}:{exc.lineno}:{exc.colno}: not a JSON plan ({exc.msg}); "
            "write plans with `reconciler plan --format json --out FILE`"
        ) from None
    _check_shape(str(path), document)
    return document


def _merge(labelled: list[tuple[str, Any]]) -> dict[str, Any]:
    if not labelled:
        raise PlanMergeError("no plan documents to merge")
    for label, document in labelled:
        _check_shape(label, document)
    target = _common_target(labelled)
    entries = _disjoint_entries(labelled)
    created_at = max(_created_at(label, doc) for label, doc in labelled)
    document = build_document(target, entries, created_at=created_at)
    commits = {doc.get("commit") for _, doc in labelled}
    if len(commits) == 1 and None not in commits:  # shards of one commit name it
        document["commit"] = commits.pop()
    groups = merge_groups([doc for _, doc in labelled])
    document["groups"] = groups if groups is not None else build_groups(document["merchants"])
    return _carried(document, [doc for _, doc in labelled])


def _carried(merged: dict[str, Any], documents: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The shards' mass-change verdict (their counts summed) and `--changed-since` selection."""
    from reconciler.config.repo import MassChange

    verdicts = [v for d in documents if isinstance(v := d.get("mass_change"), Mapping)]
    if len(verdicts) == len(documents):
        first = verdicts[0]
        limit = MassChange(first["max_fraction"], first["min_merchants"])
        changing = sum(v["changing"] for v in verdicts)
        merged["mass_change"] = {**first, "changing": changing,
                                 "refused": limit.refuses(changing, first["fleet"])}
    selections = [d.get("selection") for d in documents]
    if selections[0] is not None and all(s == selections[0] for s in selections):
        merged["selection"] = selections[0]  # every shard saw the same changed files
    return merged


def _check_shape(label: str, document: Any) -> None:
    if not isinstance(document, Mapping):
        raise PlanMergeError(f"{label}: a plan document is a JSON object, got {_kind(document)}")
    version = document.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanMergeError(
            f"{label}: format_version is {version!r}, expected {FORMAT_VERSION!r}; "
            "plan again with this version of reconciler"
        )
    for key, kind in (("target", str), ("created_at", str), ("merchants", list)):
        if not isinstance(document.get(key), kind):
            raise PlanMergeError(f"{label}: {key!r} is missing or not a {kind.__name__}")
    for position, entry in enumerate(document["merchants"], 1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("merchant"), str):
            raise PlanMergeError(f"{label}: merchants[{position}] has no 'merchant' slug")


def _common_target(labelled: list[tuple[str, Mapping[str, Any]]]) -> str:
    first_label, first = labelled[0]
    for label, document in labelled[1:]:
        if document["target"] != first["target"]:
            raise PlanMergeError(
                f"plans are for different targets: {first_label} is for "
                f"{first['target']!r}, {label} is for {document['target']!r}"
            )
    return first["target"]


def _disjoint_entries(labelled: list[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    seen: dict[str, str] = {}
    entries: list[dict[str, Any]] = []
    for label, document in labelled:
        for entry in document["merchants"]:
            slug = entry["merchant"]
            if slug in seen:
                where = (f"more than once in {label}" if seen[slug] == label
                         else f"in both {seen[slug]} and {label}")
                raise PlanMergeError(
                    f"merchant {slug!r} appears {where}; "
                    "merge the plans of distinct shards of one fleet"
                )
            own = entry.get("checksum")
            if own is not None and own != merchant_checksum(document["target"], entry):
                raise PlanMergeError(f"{label}: the part of merchant {slug!r} does not match its "
                                     "checksum; plan that shard again")
            seen[slug] = label
            entries.append(dict(entry))
    return entries


def _created_at(label: str, document: Mapping[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(document["created_at"])
    except ValueError:
        raise PlanMergeError(
            f"{label}: created_at {document['created_at']!r} is not an ISO 8601 time"
        ) from None
    # A time without an offset is taken as UTC, so aware and naive times compare.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)
