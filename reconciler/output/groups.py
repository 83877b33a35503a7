"""Change sets: merchants whose plans are the same, shown once with their count.

A profile edit changes thousands of merchants the same way. Two merchants
share a group when their status, error, manual actions and changes (address,
action, before -> after, destructive, blocked_by) are equal, where a templated
value is compared as the template states it (`restate`), so a return URL that
differs only by each merchant's portal domain still groups.

Groups are derived presentation: the plan checksum leaves them out, and
`check_groups` proves that a saved plan's groups agree with its merchants.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from reconciler.engine.document import canonical_json

# (merchant slug, address, value) -> the value as the profile or template states it
Restate = Callable[[str, str, Any], Any]
_SHAPE = ("address", "action", "destructive", "blocked_by")


def build_groups(entries: Iterable[Mapping[str, Any]],
                 restate: Restate | None = None) -> list[dict[str, Any]]:
    """Every merchant in exactly one group; groups in `group_order`, members by slug."""
    groups: dict[str, dict[str, Any]] = {}
    for entry in entries:
        group = _group_of(entry, restate)
        key = canonical_json(group)
        groups.setdefault(key, {**group, "merchants": []})["merchants"].append(entry["merchant"])
    return _finish(groups.values())


def merge_groups(documents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The groups of shard plans joined (same change set, members united); None if one has none."""
    groups: dict[str, dict[str, Any]] = {}
    for document in documents:
        if not isinstance(document.get("groups"), list):
            return None
        for group in document["groups"]:
            body = {k: v for k, v in group.items() if k not in ("merchants", "count")}
            merged = groups.setdefault(canonical_json(body), {**body, "merchants": []})
            merged["merchants"].extend(group["merchants"])
    return _finish(groups.values())


def group_order(group: Mapping[str, Any]) -> tuple[int, int, str]:
    """Errors first, then change sets by size, then the merchants with nothing to do."""
    rank = 0 if group["status"] == "error" else 1 if group["changes"] or group["manual_actions"] else 2
    return rank, -len(group["merchants"]), group["merchants"][0]


def check_groups(document: Mapping[str, Any]) -> list[str]:
    """Why the document's groups disagree with its merchants (empty: they agree, or there are none)."""
    groups = document.get("groups")
    if groups is None:
        return []
    entries = {entry["merchant"]: entry for entry in document["merchants"]}
    problems, seen = [], set()
    for number, group in enumerate(groups, 1):
        if group.get("count") != len(group.get("merchants", ())):
            problems.append(f"group {number} counts {group.get('count')} merchants "
                            f"but lists {len(group.get('merchants', ()))}")
        for slug in group.get("merchants", ()):
            if slug in seen or slug not in entries:
                problems.append(f"group {number} lists {slug!r}, "
                                f"{'twice' if slug in seen else 'which the plan does not have'}")
            elif _loose(_group_of(entries[slug], None), group) != _loose(group, group):
                problems.append(f"group {number} does not state the changes of {slug!r}")
            seen.add(slug)
    missing = sorted(set(entries) - seen)
    if missing:
        problems.append(f"{len(missing)} merchant(s) are in no group, e.g. {missing[0]!r}")
    return problems


def _group_of(entry: Mapping[str, Any], restate: Restate | None) -> dict[str, Any]:
    slug = entry["merchant"]
    changes = []
    for change in entry["changes"]:
        stated = {k: change.get(k) for k in _SHAPE}
        before, after = change.get("before"), change.get("after")
        if restate is not None:
            before = restate(slug, change["address"], before)
            after = restate(slug, change["address"], after)
        templated = (before, after) != (change.get("before"), change.get("after"))
        changes.append({**stated, "before": before, "after": after, "templated": templated})
    return {
        "status": entry["status"],
        "error": entry.get("error"),
        "changes": changes,
        "manual_actions": [{"id": a["id"], "title": a.get("title")}
                           for a in entry.get("manual_actions") or ()],
    }


def _loose(group: Mapping[str, Any], mask: Mapping[str, Any]) -> str:
    """What a group and a member must share: values only where `mask`'s are not templated."""
    templated = [bool(c.get("templated")) for c in mask.get("changes", ())]
    templated += [False] * len(group.get("changes", ()))
    changes = [{k: c.get(k) for k in _SHAPE}
               | ({} if t else {"before": c.get("before"), "after": c.get("after")})
               for c, t in zip(group.get("changes", ()), templated, strict=False)]
    return canonical_json([group.get("status"), group.get("error"), changes,
                           [a.get("id") for a in group.get("manual_actions", ())]])


def _finish(groups: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    done = []
    for group in groups:
        members = sorted(group.pop("merchants"))
        done.append({"count": len(members), "merchants": members, **group})
    return sorted(done, key=group_order)


def groups_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document's groups, or (a plan saved without them) groups of exactly equal changes."""
    groups = document.get("groups")
    return groups if isinstance(groups, list) else build_groups(document["merchants"])


def with_groups(document: dict[str, Any], restate: Restate | None = None) -> dict[str, Any]:
    """`document` with its `groups` section (beside `merchants`)."""
    document["groups"] = build_groups(document["merchants"], restate)
    return document
