"""Mass-change safety: one run may not change more than a share of the fleet.

A merchant counts as changing when its plan holds a change apply would
write (not one held for a manual action). The fleet is every valid merchant
file, whatever the run selected, so a shard or `--changed-since` plan is
judged against the whole fleet. The verdict is part of the plan document
(`mass_change`, outside the checksum: it follows from what the checksum
covers and the repository's threshold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.config.repo import MassChange


def changing_merchants(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    return [e["merchant"] for e in entries
            if e.get("status") != "error"
            and any(c.get("blocked_by") in (None, "destructive") for c in e.get("changes") or [])]


def verdict(entries: Iterable[Mapping[str, Any]], fleet: int, limit: MassChange) -> dict[str, Any]:
    changing = len(changing_merchants(entries))
    return {
        "changing": changing,
        "fleet": fleet,
        "max_fraction": limit.max_fraction,
        "min_merchants": limit.min_merchants,
        "refused": limit.refuses(changing, fleet),
    }


def verdict_line(mass_change: Mapping[str, Any]) -> str:
    """The plan's first statement after the target, in every format."""
    changing, fleet = mass_change["changing"], mass_change["fleet"]
    share = f"{changing / fleet:.0%}" if fleet else "0%"
    limit = (f"more than {mass_change['max_fraction']:.0%} of the fleet and at least "
             f"{mass_change['min_merchants']} merchants")
    if mass_change["refused"]:
        return (f"Mass change: {changing} of {fleet} merchants ({share}) would change, over the "
                f"limit ({limit}): apply refuses this without --allow-mass-change.")
    return f"Mass change: {changing} of {fleet} merchants ({share}) would change; within the limit ({limit})."
