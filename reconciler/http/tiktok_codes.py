"""TikTok Shop's published error codes and what each means to a client.

From TikTok's common-errors table (partner.tiktokshop.com docv2 page
`common-errors`; vendored with its source under tests/fixtures/tiktok_shop/).
A code decides the error type before the HTTP status does: TikTok answers
some errors (rate limiting among them) inside an HTTP 200 envelope. A code
the table does not list falls back to its prefix (105xxx access token,
106xxx signature), then to the HTTP status, then to a request error, which
is never retried.
"""

from __future__ import annotations

from reconciler.http.errors import (
    AuthError,
    MissingScopeError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ServiceError,
    TokenExpiredError,
    ValidationError,
)

ErrorClass = type[ServiceError]

# code -> (error type, what TikTok's table says it means)
COMMON_ERRORS: dict[int, tuple[ErrorClass, str]] = {
    36009002: (RateLimitedError, "too many requests"),
    36009003: (ServerError, "internal error"),
    # Invalid app_key, a timestamp more than 5 minutes old or 30 s ahead, a
    # missing sign, a bad token header, an invalid version or an unexpected
    # shop_cipher: the request or its credentials are wrong, and trying again
    # cannot help (retrying it as "rate limited" turned a wrong key into a
    # 30-second stall).
    36009004: (AuthError, "invalid credentials or request"),
    36009007: (ServerError, "request timeout"),
    36009009: (NotFoundError, "invalid path"),
    36009010: (ValidationError, "invalid method"),
    36009014: (ValidationError, "invalid API version"),
    36009022: (ValidationError, "invalid request format"),
    36009023: (ValidationError, "invalid request format"),
    36009033: (AuthError, "IP address not in the app's allow list"),
    36004004: (AuthError, "invalid auth code"),
    101000: (AuthError, "invalid token header"),
    105002: (TokenExpiredError, "expired access token"),
    105005: (MissingScopeError, "missing access scope"),
    106001: (AuthError, "invalid sign"),
    106013: (ValidationError, "missing shop_cipher"),
}
_PREFIXES: dict[str, ErrorClass] = {"105": AuthError, "106": AuthError}


def classify(code: int) -> ErrorClass | None:
    """The error type TikTok's table gives `code`, or None when the table says nothing."""
    known = COMMON_ERRORS.get(code)
    if known is not None:
        return known[0]
    return _PREFIXES.get(str(code)[:3])

