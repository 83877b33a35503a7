"""Typed errors for every call to a service.

    ServiceError(service, message, merchant=None)
     ├── AuthError            401/403, TikTok 36009004/101000/105xxx/106001: bad key, token,
     │    │                   signature or timestamp (never retried)
     │    ├── TokenExpiredError  TikTok 105002: expired access token (a refresh may cure it)
     │    └── MissingScopeError  TikTok 105005: the app or token lacks the endpoint's scope
     ├── NotFoundError        404, TikTok 36009009 (invalid path)
     ├── RateLimitedError     429, TikTok 36009002 (even in an HTTP 200), Shopify THROTTLED (retried)
     ├── ConflictError        409: a stale version                          (not retried here)
     ├── ServerError          5xx, TikTok 36009003 / 36009007               (retried)
     ├── NetworkError         connection reset/refused, timeouts           (retried)
     ├── ValidationError      any other 4xx or vendor error: the request is wrong
     ├── OwnershipError       the service says the credential belongs to another account
     └── ReadOnlyViolation    a write attempted through a read-only client; nothing was sent

When the retry budget runs out, the last error is raised with `attempts` set
and the message says how many attempts were made in how long.

Messages name the service (and merchant when known) and are scrubbed: every
registered secret value, query-string credentials (`sign`, `app_key`,
`access_token`, `app_secret`) and anything shaped like a signature are
replaced before the text is stored.
"""

from __future__ import annotations

import re

from reconciler.secrets import REDACTED, redactor

_QUERY_SECRET = re.compile(
    r"(?i)\b(sign|app_key|app_secret|access_token|x-tts-access-token)(=|\"?\s*:\s*\"?)([^&\s\"',}]+)"
)
_SIGNATURE = re.compile(r"\b[0-9a-fA-F]{64}\b")


def scrub(text: str) -> str:
    """Remove secrets from text bound for an error message or a log line."""
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SIGNATURE.sub(REDACTED, text)
    return redactor.redact(text)


class ServiceError(Exception):
    """A call to `service` failed. `retryable` says whether trying again may help."""

    retryable = False

    def __init__(
        self,
        service: str,
        message: str,
        merchant: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.service = service
        self.merchant = merchant
        self.detail = scrub(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.attempts = 1
        self.elapsed = 0.0
        super().__init__(self._render())

    def _render(self) -> str:
        who = f"{self.service} (merchant {self.merchant})" if self.merchant else self.service
        text = f"{who}: {self.detail}"
        if self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts in {self.elapsed:.1f}s)"
        return text

    def exhausted(self, attempts: int, elapsed: float) -> ServiceError:
        """Mark this error as the last of `attempts` tries; returns self for `raise`."""
        self.attempts = attempts
        self.elapsed = elapsed
        self.args = (self._render(),)
        return self

    def __str__(self) -> str:
        return str(self.args[0])


class AuthError(ServiceError):
    pass


class TokenExpiredError(AuthError):
    """TikTok's `105002`: the access token expired; a refresh may cure it (an invalid token is
    `36009004`, an AuthError: TikTok's common-errors table)."""


class MissingScopeError(AuthError):
    """The credential is valid but lacks the access scope the endpoint needs."""


class NotFoundError(ServiceError):
    pass


class RateLimitedError(ServiceError):
    retryable = True


class ConflictError(ServiceError):
    pass


class ServerError(ServiceError):
    retryable = True


class NetworkError(ServiceError):
    retryable = True


class ValidationError(ServiceError):
    pass


class OwnershipError(ServiceError):
    """The credential works but the service reports it for another shop or account.

    Raised while reading, so the merchant errors before anything is written;
    the message names the service, the merchant and what the service reported,
    never the credential.
    """


class ReadOnlyViolation(ServiceError):
    pass


# TikTok's "invalid path" (an unknown endpoint, answered with HTTP 404).
TIKTOK_INVALID_PATH = "36009009"


def endpoint_missing(exc: ServiceError) -> bool:
    """The service says there is no such endpoint: HTTP 404 or 405, or TikTok's 36009009.

    The one classification the engine uses to tell "this assumed contract is
    not what the service speaks" from a failure (auth, 5xx, timeouts stay errors).
    """
    return (isinstance(exc, NotFoundError) or exc.status in (404, 405)
            or exc.code == TIKTOK_INVALID_PATH)
