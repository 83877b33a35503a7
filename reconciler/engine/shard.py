"""Split a fleet of merchants across CI jobs with `--shard I/N`.

A merchant's shard depends only on its slug and N (a sha256 of the slug, not
Python's per-process `hash`), so every job of a CI matrix agrees on the split
without talking to the others, and the shards 1..N partition any fleet: each
slug falls in exactly one of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(spec: str) -> tuple[int, int]:
    """Parse "I/N" (1-based, 1 <= I <= N) into (I, N); raise ValueError otherwise."""
    match = _SHARD.fullmatch(spec or "")
    if not match:
        raise ValueError(f"invalid shard {spec!r}: expected I/N, for example 2/4")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ValueError(f"invalid shard {spec!r}: the number of shards N must be at least 1")
    if not 1 <= index <= count:
        raise ValueError(f"invalid shard {spec!r}: I must be between 1 and {count}")
    return index, count


def shard_of(slug: str, n: int) -> int:
    """The 1-based shard of `slug` among `n` shards; the same on every machine and run."""
    if n < 1:
        raise ValueError(f"the number of shards must be at least 1, got {n}")
    digest = hashlib.sha256(slug.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def select(slugs: Iterable[str], shard: tuple[int, int] | str) -> list[str]:
    """The slugs that belong to `shard` ((I, N) or "I/N"), in their given order."""
    index, count = parse_shard(shard) if isinstance(shard, str) else _checked(shard)
    return [slug for slug in slugs if shard_of(slug, count) == index]


def _checked(shard: tuple[int, int]) -> tuple[int, int]:
    index, count = shard
    return parse_shard(f"{index}/{count}")
