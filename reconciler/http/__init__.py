"""HTTP layer: clients, auth, typed errors, retries, rate limits, read-only guard.

Modules: `errors` (the error tree), `auth` (httpx.Auth flows), `client`
(ServiceClient, the one seam per service), `envelopes` (vendor envelopes to
typed errors), `readonly` (write refusal), `retry`, `ratelimit`, `cache`,
and `pool` (ClientPool, which builds providers; import it from
`reconciler.http.pool`, it depends on `reconciler.providers`).
"""

from reconciler.http.errors import (
    AuthError,
    ConflictError,
    MissingScopeError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ReadOnlyViolation,
    ServerError,
    ServiceError,
    ValidationError,
)
from reconciler.http.retry import RetryPolicy

__all__ = [
    "AuthError",
    "ConflictError",
    "MissingScopeError",
    "NetworkError",
    "NotFoundError",
    "RateLimitedError",
    "ReadOnlyViolation",
    "RetryPolicy",
    "ServerError",
    "ServiceError",
    "ValidationError",
]
