"""The credentials the sandbox accepts, kept as keyed digests, never as values.

A state file holds `hmac-sha256:<hex>` of every credential it accepts, keyed
by a random `state_key` kept in the same file. A presented credential is
checked by computing its digest; a digest cannot be turned back into the
credential, so a copy of the state file gives nobody a merchant's keys.

One credential is different: the TikTok app secret is a signing key, and a
signature can only be checked by someone holding it. The sandbox keeps app
secrets in memory only, learned from the merchant files' references when it
seeds or syncs; the file holds their digest like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

PREFIX = "hmac-sha256:"
SIGNING_KEY = "tiktok_app_secret"


def new_state_key() -> str:
    return secrets.token_hex(32)


def is_digest(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class AcceptedCredentials:
    """Digests under one state key, plus the signing secrets this process has seen."""

    def __init__(self, state_key: str, signing: tuple[str, ...] = ()) -> None:
        self.state_key = state_key
        self._key = bytes.fromhex(state_key)
        self._signing: dict[str, str] = {}  # digest -> app secret, never persisted
        self._cache: dict[str, str] = {}
        for secret in signing:
            self._signing[self.digest(secret)] = secret

    def rekeyed(self, state_key: str) -> AcceptedCredentials:
        """The same knowledge under another state's key (another process wrote the file first)."""
        if state_key == self.state_key:
            return self
        return AcceptedCredentials(state_key, tuple(self._signing.values()))

    def digest(self, value: str) -> str:
        found = self._cache.get(value)
        if found is None:
            found = PREFIX + hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
            if len(self._cache) < 65536:  # a fleet presents a few credentials each, many times
                self._cache[value] = found
        return found

    def accept(self, credentials: Mapping[str, str]) -> dict[str, str]:
        """Digests of `credentials` (values, or digests already); remembers the signing secret."""
        digests = {}
        for name, value in credentials.items():
            if is_digest(value):
                digests[name] = value
                continue
            digests[name] = self.digest(value)
            if name == SIGNING_KEY:
                self._signing[digests[name]] = value
        return digests

    def matches(self, stored: str | None, presented: str | None) -> bool:
        if not stored or not presented:
            return False
        return hmac.compare_digest(stored, self.digest(presented))

    def signing_secret(self, stored: str | None) -> str | None:
        return self._signing.get(stored) if stored else None
