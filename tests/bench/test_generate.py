"""The fleet generator writes merchant files that validate as a fleet (not timed)."""

from __future__ import annotations

from pathlib import Path

from bench.generate import sample_of, write_fleet
from reconciler.config.loader import load_merchants

PROFILES = Path(__file__).resolve().parents[2] / "merchants" / "profiles"


def test_generated_fleet_validates_with_unique_identities(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path / "fleet", 25, PROFILES)

    result = load_merchants(fleet)

    assert result.problems == []
    assert len(result.merchants) == 25
    assert len({m.slug for m in result.merchants}) == 25
    assert len({m.tiktok_shop_id for m in result.merchants}) == 25
    assert all(len(m.tiktok_shop_id) == 19 for m in result.merchants)
    assert len({m.shopify_shop for m in result.merchants}) == 25


def test_some_merchants_still_wait_for_h5_approval(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path / "fleet", 40, PROFILES)

    waiting = [m for m in load_merchants(fleet).merchants if not m.h5_redirect.approved]

    assert [m.slug for m in waiting] == ["fleet-00019", "fleet-00039"]


def test_sample_holds_the_first_merchants_and_the_profiles(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path / "fleet", 10, PROFILES)

    sample = sample_of(fleet, tmp_path / "sample", 3)

    assert [m.slug for m in load_merchants(sample).merchants] == [
        "fleet-00000", "fleet-00001", "fleet-00002"]
