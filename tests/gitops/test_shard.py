from __future__ import annotations

import pytest

from reconciler.engine.shard import parse_shard, select, shard_of

from .fleet import slugs

FLEET = slugs(500)


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_shards_partition_the_fleet_exactly(count: int) -> None:
    shards = [select(FLEET, (index, count)) for index in range(1, count + 1)]
    assert sorted(slug for shard in shards for slug in shard) == sorted(FLEET)
    assert all(shards), "every shard of a 500-merchant fleet has work"


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_a_slug_keeps_its_shard_whatever_else_is_in_the_fleet(count: int) -> None:
    alone = {slug: select([slug], f"{shard_of(slug, count)}/{count}") for slug in FLEET}
    assert all(found == [slug] for slug, found in alone.items())
    assert select(reversed(FLEET), f"1/{count}") == list(reversed(select(FLEET, f"1/{count}")))


def test_shard_of_is_fixed_by_the_slug_not_the_process() -> None:
    # Pinned values: a change here would reshuffle every CI matrix.
    names = ("acme-apparel", "blue-bottle", "zeta")
    assert [shard_of(s, 4) for s in names] == [2, 2, 1]
    assert [shard_of(s, 5) for s in names] == [4, 5, 1]
    assert shard_of("anything", 1) == 1


@pytest.mark.parametrize(("spec", "expected"), [("1/1", (1, 1)), ("2/4", (2, 4)), (" 4/4 ", (4, 4))])
def test_parse_shard_accepts_i_of_n(spec: str, expected: tuple[int, int]) -> None:
    assert parse_shard(spec) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("0/4", "between 1 and 4"), ("5/4", "between 1 and 4"), ("1/0", "at least 1"),
    ("2", "expected I/N"), ("a/b", "expected I/N"), ("-1/4", "expected I/N"), ("", "expected I/N"),
])
def test_parse_shard_rejects_nonsense_clearly(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shard(spec)
