"""Two merchants must never run on one credential value.

The offline rule R033 catches two files naming the same *variable*; this
check catches different variables that hold the same *value* (a key pasted
twice), which would let one merchant's settings be written into another's
account. Values are compared as HMAC-SHA256 digests under a key drawn afresh
for each run, so no comparable fingerprint outlives the run, and messages
name merchants and credential kinds, never values. The TikTok app key and
secret belong to the app, which every merchant shares, so they are exempt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping

from reconciler.commands.common import CommandError, Selection
from reconciler.model import DesiredState
from reconciler.secrets import MissingSecretError, resolve
from reconciler.targets import Target

PER_APP = frozenset({"tiktok_app_key", "tiktok_app_secret"})
LABELS = {
    "tiktok_access_token": "TikTok access token",
    "shopify_access_token": "Shopify access token",
    "pipe17_api_key": "Pipe17 API key",
    "loop_api_key": "Loop API key",
}


def refuse_shared_credentials(target: Target, selection: Selection) -> None:
    """Stop the run (exit 1, nothing sent) if a selected merchant shares a credential value.

    Every merchant file is compared, not only the selection: applying one
    merchant whose key is also another's is exactly the wrong-account write.
    A credential that cannot be resolved for an unselected merchant is
    skipped (check_credentials reports the selected ones).
    """
    key, environ = secrets.token_bytes(32), dict(os.environ)
    chosen = {m.slug for m in selection.chosen}
    owners: dict[tuple[str, bytes], str] = {}
    clashes: list[str] = []
    for merchant in selection.all:
        for kind, digest in _digests(key, merchant, target, environ).items():
            first = owners.setdefault((kind, digest), merchant.slug)
            if first != merchant.slug and chosen & {first, merchant.slug}:
                clashes.append(f"{first} and {merchant.slug} have the same {LABELS.get(kind, kind)} "
                               f"({kind})")
    if clashes:
        raise CommandError("; ".join(clashes) + ". Each merchant needs its own credential: one "
                           "merchant's settings would be written into the other's account. "
                           "Nothing was sent.")


def _digests(key: bytes, merchant: DesiredState, target: Target,
             environ: Mapping[str, str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for kind, ref in merchant.credentials.all().items():
        if kind in PER_APP:
            continue
        try:
            value = resolve(ref, sandbox=target.is_sandbox, environ=environ)
        except MissingSecretError:
            continue
        found[kind] = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return found
