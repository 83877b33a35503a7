"""Rules across merchant files: one shop, portal, slug or per-merchant secret per merchant.

Every file involved in a clash gets the problem (neither can be planned
until a person decides which one is right). When the clashing value was
inherited from a profile, all merchants point at the same profile line
with the same message, so the report shows it once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from reconciler.config.catalog import hint
from reconciler.config.problems import Pos, Problem
from reconciler.config.rules import get
from reconciler.config.yamldoc import DocPath, Located

# Credentials that belong to one merchant; the TikTok app key and secret are
# the partner app's and are shared by design.
PER_MERCHANT_CREDENTIALS: tuple[DocPath, ...] = (
    ("shopify", "access_token"),
    ("tiktok_shop", "access_token"),
    ("pipe17", "api_key"),
    ("loop", "api_key"),
)
_CLAIMS: tuple[tuple[str, str, tuple[DocPath, ...]], ...] = (
    ("R030", "Shopify shop", (("shopify", "shop"),)),
    ("R031", "TikTok shop", (("tiktok_shop", "shop_id"),)),
    ("R032", "Loop portal domain", (("loop", "portal_domain"),)),
    ("R033", "credential reference", PER_MERCHANT_CREDENTIALS),
)


@dataclass(frozen=True)
class Member:
    """A merchant file whose document passed the schema, for cross-file checks."""

    file: str
    slug: str
    doc: Located


def check_fleet(members: list[Member]) -> dict[str, list[Problem]]:
    """Problems per merchant file."""
    found: dict[str, list[Problem]] = defaultdict(list)
    for rule, what, paths in _CLAIMS:
        for member, problem in _clashes(members, rule, what, paths):
            found[member.file].append(problem)
    for member, problem in _slug_clashes(members):
        found[member.file].append(problem)
    return found


def _clashes(
    members: list[Member], rule: str, what: str, paths: tuple[DocPath, ...]
) -> Iterator[tuple[Member, Problem]]:
    claims: dict[str, list[tuple[Member, DocPath]]] = defaultdict(list)
    for member in members:
        for path in paths:
            value = get(member.doc.data, path)
            if isinstance(value, str):
                claims[_normal(value)].append((member, path))
    for claimants in claims.values():
        files = sorted({m.file for m, _ in claimants})
        if len(files) < 2:
            continue
        for member, path in claimants:
            pos = member.doc.value_pos(path)
            value = get(member.doc.data, path)
            yield member, Problem.at(pos, rule, _message(what, value, member, pos, files), hint(rule))


def _message(what: str, value: str, member: Member, pos: Pos, files: list[str]) -> str:
    if pos.file != member.file:  # inherited from a profile: same text for every merchant
        return f"{what} {value} is set in a profile and so shared by {len(files)} merchant files"
    others = [f for f in files if f != member.file]
    shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    return f"{what} {value} is also used by {shown}"


def _slug_clashes(members: list[Member]) -> Iterator[tuple[Member, Problem]]:
    by_slug: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        by_slug[member.slug].append(member)
    for slug, group in by_slug.items():
        if len(group) < 2:
            continue
        for member in group:
            others = ", ".join(m.file for m in group if m is not member)
            message = f"merchant {slug} is also declared by {others}"
            yield member, Problem(member.file, 1, 1, "R034", message, hint("R034"))


def _normal(value: str) -> str:
    return value.strip().lower()
