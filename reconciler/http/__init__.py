"""HTTP layer: clients, auth, typed errors, retries, rate limits, read-only guard.

Modules: `errors` (the error tree), `auth` (httpx.Auth flows), `client`
(ServiceClient, the one seam per service), `envelopes` (vendor envelopes to
typed errors), `readonly` (write refusal), `retry`, `ratelimit`, `cache`.
This layer knows nothing of providers: `reconciler.engine.pool.ClientPool`
builds them on top of it (docs/design.md, "Layers").
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
