"""TikTok Shop access tokens for one run: exchanged from the refresh token, renewed on `105002`.

A merchant with `tiktok_shop.refresh_token` gets a `TokenSession`: its first
TikTok call exchanges the refresh token at the auth host
(`GET {auth}/api/v2/token/refresh`) and the access token is kept in memory
for the run (registered with the redactor). When TikTok answers `105002`
the session refreshes once and the call is retried with the new token;
concurrent calls that failed with the same token share that one refresh.

When the auth host hands out a different refresh token, it is stored back
where the reference points (`sops:`: written into the encrypted file through
sops), or, for `env:`, a warning names the variable to update (never the
value). A refresh token that expires within 30 days gets a warning naming
the merchant. Warnings go to the `reconciler.tokens` logger, which the CLI
prints on stderr.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.http.errors import AuthError, ServiceError, TokenExpiredError
from reconciler.model import SecretRef
from reconciler.secrets import file_of, redactor

WARN_WITHIN = 30 * 86_400  # seconds: "expires soon" for a refresh token
log = logging.getLogger("reconciler.tokens")


@dataclass(frozen=True)
class TokenNote:
    """Something an operator must act on about one merchant's TikTok tokens (no values)."""

    merchant: str
    kind: str  # "expires-soon" | "rotated-env" | "rotated-stored"
    message: str


def expiry_note(merchant: str, expires_at: int, now: float | None = None) -> TokenNote | None:
    """A warning when the refresh token expires within 30 days (for plan and doctor)."""
    now = time.time() if now is None else now
    left = expires_at - now
    if left > WARN_WITHIN:
        return None
    day = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d")
    when = f"in {max(0, int(left // 86_400))} day(s), on {day}" if left > 0 else f"on {day} (expired)"
    return TokenNote(merchant, "expires-soon",
                     f"{merchant}: the TikTok refresh token expires {when}; reconnect the shop "
                     f"with `reconciler connect tiktok {merchant}` before then")


Store = Callable[[SecretRef, str], None]


def store_in_file(ref: SecretRef, value: str) -> None:
    """Write a new token where a `sops:` reference points, through sops (never plain text)."""
    from reconciler import sops

    path, shown = file_of(ref)
    sops.store(path, ref.key, value, os.environ, cwd=Path(ref.root or "."), shown=shown)


class TokenSession:
    """One merchant's TikTok access token for this run."""

    def __init__(self, merchant: str, auth_client: Any, app_key: str, app_secret: str,
                 refresh_ref: SecretRef, refresh_token: str, access_token: str | None = None,
                 store: Store = store_in_file, notes: list[TokenNote] | None = None) -> None:
        self.merchant = merchant
        self._client = auth_client  # a ServiceClient for the auth host
        self._app_key, self._app_secret = app_key, app_secret
        self._ref, self._refresh = refresh_ref, refresh_token
        self._access = access_token
        self._store = store
        self.notes = notes if notes is not None else []
        self.generation = 0
        self._lock = asyncio.Lock()
        self.refresh_expires_at: int | None = None  # seconds left, as the last answer said

    @property
    def current(self) -> str:
        if self._access is None:
            raise RuntimeError("no access token yet: await ready() first")
        return self._access

    async def ready(self) -> int:
        """The generation of a usable access token (refreshing first when there is none)."""
        if self._access is None:
            await self.renew(self.generation)
        return self.generation

    def may_cure(self, error: ServiceError, generation: int) -> bool:
        """Whether a refresh may cure `error`, met with the token of `generation`.

        TikTok's common-errors table (partner.tiktokshop.com docv2 page `common-errors`,
        vendored in tests/fixtures/tiktok_shop/tiktok_shop_rb_api/error_list.json): `105002`
        is an expired access token; `36009004` "The `x-tts-access-token` header is invalid"
        is a token TikTok does not know, which a refresh cures only when that token came
        from the merchant's files (an old one), not from this run's own refresh.
        """
        if isinstance(error, TokenExpiredError):
            return True
        return (generation == 0 and str(error.code) == "36009004"
                and "access-token" in error.detail.replace("_", "-"))

    async def renew(self, stale: int) -> None:
        """Refresh unless another call already did since generation `stale` was current."""
        async with self._lock:
            if self.generation != stale and self._access is not None:
                return
            data = await self._exchange()
            self._access = str(data["access_token"])
            redactor.add(self._access)
            self.generation += 1
            await self._take_refresh_token(data)

    async def _exchange(self) -> dict[str, Any]:
        params = {"app_key": self._app_key, "app_secret": self._app_secret,
                  "refresh_token": self._refresh, "grant_type": "refresh_token"}
        try:
            reply = await self._client.request("GET", "/api/v2/token/refresh", params=params)
        except ServiceError as exc:
            raise AuthError(
                "tiktok_shop",
                f"the auth host refused the refresh token {self._ref} ({exc.detail}); it was "
                f"revoked or has expired: reconnect with `reconciler connect tiktok {self.merchant}`",
                self.merchant, code=exc.code) from None
        data = (reply or {}).get("data") or {}
        if not data.get("access_token"):
            raise AuthError("tiktok_shop", "the auth host answered a refresh without an access "
                            "token", self.merchant)
        return data

    async def _take_refresh_token(self, data: dict[str, Any]) -> None:
        expires = data.get("refresh_token_expire_in")
        if isinstance(expires, int):
            self.refresh_expires_at = expires
            note = expiry_note(self.merchant, expires)
            if note is not None:
                self._note(note)
        fresh = data.get("refresh_token")
        if not fresh or fresh == self._refresh:
            return
        fresh = str(fresh)
        redactor.add(fresh)
        self._refresh = fresh
        if self._ref.is_file:
            await asyncio.to_thread(self._store, self._ref, fresh)
            self._note(TokenNote(self.merchant, "rotated-stored",
                                 f"{self.merchant}: TikTok issued a new refresh token; stored it "
                                 f"in {self._ref} (commit that file)"))
        else:
            self._note(TokenNote(self.merchant, "rotated-env",
                                 f"{self.merchant}: TikTok issued a new refresh token; update the "
                                 f"variable {self._ref.var} where it is kept (the old token stops "
                                 f"working when it expires)"))

    def _note(self, note: TokenNote) -> None:
        self.notes.append(note)
        log.warning("%s", note.message)
