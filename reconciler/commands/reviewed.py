"""A reviewed plan (`apply --plan FILE`): read it, take the selected part, check it is still current.

The whole-plan checksum proves the file is untampered; each merchant's own
checksum lets a selection (`--merchant`, `--exclude`, `--shard`) be applied
exactly as reviewed and be checked for staleness on its own: a merchant
outside the selection drifting does not make the selected part stale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.commands.common import CommandError, Selection
from reconciler.engine.document import FORMAT_VERSION, checksum, merchant_checksum
from reconciler.targets import Target


@dataclass(frozen=True)
class ReviewedPart:
    """The merchants of a reviewed plan that this apply covers, with their reviewed checksums."""

    path: Path
    target: str
    checksums: Mapping[str, str]  # slug -> reviewed per-merchant checksum

    def stale(self, document: Mapping[str, Any]) -> list[str]:
        """Selected merchants whose freshly computed part differs from the reviewed one."""
        now = {e["merchant"]: merchant_checksum(self.target, e) for e in document["merchants"]}
        return sorted(slug for slug, reviewed in self.checksums.items() if now.get(slug) != reviewed)


def read_reviewed_plan(path: Path, target: Target) -> dict[str, Any]:
    """Load a saved plan and check it is a well-formed, untampered plan for this target."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        merchants = document["merchants"]
        slugs = [m["merchant"] for m in merchants]
        recorded = document["checksum"]
        version = document["format_version"]
        planned_for = document["target"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CommandError(f"{path}: not a readable reconciler plan ({type(exc).__name__})") from None
    if version != FORMAT_VERSION:
        raise CommandError(f"{path}: plan format {version!r} is not supported (expected {FORMAT_VERSION!r})")
    if not all(isinstance(s, str) for s in slugs) or not all(isinstance(m, dict) for m in merchants):
        raise CommandError(f"{path}: malformed merchant entries")
    if planned_for != target.name:
        raise CommandError(f"{path}: plan was made for target {planned_for!r}, not {target.name!r}")
    if checksum(planned_for, merchants) != recorded:
        raise CommandError(f"{path}: plan content does not match its checksum; plan again")
    for entry in merchants:
        own = entry.get("checksum")
        if own is not None and own != merchant_checksum(planned_for, entry):
            raise CommandError(f"{path}: the part of merchant {entry['merchant']!r} does not match "
                               "its checksum; plan again")
    return document


def select_part(path: Path, document: Mapping[str, Any],
                selection: Selection) -> tuple[Selection, ReviewedPart]:
    """The part of the reviewed plan the selection asks for, and the merchants to apply it to.

    Without a selection that is the whole plan, and every merchant in it must
    still have a file. A selection that matches nothing in the plan, or names
    a merchant the plan does not hold, is an error.
    """
    entries = document["merchants"]
    in_plan = {e["merchant"] for e in entries}
    by_slug = {m.slug: m for m in selection.all}
    if selection.narrowed:
        absent = [s for s in selection.include if s not in in_plan]
        if absent:
            raise CommandError(f"{path}: the reviewed plan holds no part for {', '.join(absent)}; "
                               "plan again with that merchant to review its changes")
        chosen = {m.slug for m in selection.chosen}
        entries = [e for e in entries if e["merchant"] in chosen]
        if not entries:
            raise CommandError(f"{path}: no merchant of the reviewed plan matches "
                               f"{' '.join(selection.asked)}; nothing was read or written")
    missing = [e["merchant"] for e in entries if e["merchant"] not in by_slug]
    if missing:
        raise CommandError(f"reviewed plan names merchants with no file: {', '.join(missing)}")
    part = ReviewedPart(path, document["target"], {
        e["merchant"]: e.get("checksum") or merchant_checksum(document["target"], e) for e in entries
    })
    chosen_merchants = [by_slug[e["merchant"]] for e in entries]
    return Selection(selection.all, chosen_merchants, selection.include, selection.asked), part
