"""Synthetic merchant fleets that validate: one file per merchant, all extending a profile.

Every merchant gets its own slug, Shopify shop, 19-digit TikTok shop id,
Loop portal domain and per-merchant secret references (`env:` variables that
are left unset, so the sandbox resolves them to its own credentials). Every
twentieth merchant is still waiting for its H5 Redirect approval, as a real
fleet would have some.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PROFILE = "tiktok-loop"
SHOP_ID_BASE = 7_495_000_000_000_000_000  # 19 digits, like real TikTok shop ids
AWAITING_APPROVAL_EVERY = 20


def slug(index: int) -> str:
    return f"fleet-{index:05d}"


def merchant_yaml(index: int) -> str:
    """The merchant file for fleet member `index` (0-based)."""
    name = slug(index)
    var = f"FLEET_{index:05d}"
    approved = index % AWAITING_APPROVAL_EVERY != AWAITING_APPROVAL_EVERY - 1
    h5 = (
        f"    approved: true\n    evidence: \"AM approval, ticket TTS-{10000 + index}, 2026-09-14\"\n"
        if approved else "    approved: false\n"
    )
    return (
        f"extends: {PROFILE}\n"
        f"name: Fleet Merchant {index:05d}\n"
        f"shopify:\n"
        f"  shop: {name}.myshopify.com\n"
        f"  access_token: env:{var}_SHOPIFY_TOKEN\n"
        f"tiktok_shop:\n"
        f"  shop_id: \"{SHOP_ID_BASE + index}\"\n"
        f"  region: US\n"
        f"  access_token: env:{var}_TTS_ACCESS_TOKEN\n"
        f"  h5_redirect:\n{h5}"
        f"pipe17:\n"
        f"  api_key: env:{var}_PIPE17_KEY\n"
        f"loop:\n"
        f"  api_key: env:{var}_LOOP_KEY\n"
        f"  portal_domain: returns.{name}.example.com\n"
    )


# The shipped profile takes the app's credentials from the shipped (encrypted) secrets
# file; a generated fleet names them as variables, like the rest of its secrets.
APP_REFS = {"sops:secrets/tiktok-app.sops.yaml#tiktok_shop.app_key": "env:TTS_APP_KEY",
            "sops:secrets/tiktok-app.sops.yaml#tiktok_shop.app_secret": "env:TTS_APP_SECRET"}


def copy_profiles(profiles: Path, target: Path) -> None:
    """Copy `profiles` to `target`, the app's credentials as `env:` references."""
    shutil.copytree(profiles, target, dirs_exist_ok=True)
    for path in target.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        for sealed, variable in APP_REFS.items():
            text = text.replace(sealed, variable)
        path.write_text(text, encoding="utf-8")


def write_fleet(directory: Path, count: int, profiles: Path) -> Path:
    """Write `count` merchant files and a copy of `profiles` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "profiles"
    if target.exists():
        shutil.rmtree(target)
    copy_profiles(profiles, target)
    for index in range(count):
        (directory / f"{slug(index)}.yaml").write_text(merchant_yaml(index))
    return directory


def sample_of(fleet: Path, directory: Path, count: int) -> Path:
    """A directory holding the profiles and the first `count` merchants of `fleet`.

    The sandbox serving `fleet` knows every one of them, so a plan of the
    sample reads the same live state without loading the whole fleet.
    """
    directory.mkdir(parents=True, exist_ok=True)
    copy_profiles(fleet / "profiles", directory / "profiles")
    for index in range(count):
        name = f"{slug(index)}.yaml"
        shutil.copyfile(fleet / name, directory / name)
    return directory
