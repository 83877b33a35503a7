"""TikTok Shop request signing, as the sandbox verifies it (docs/providers/tiktok_shop.md).

The client side signs in `reconciler.http.auth`; the algorithm is repeated
here on purpose so the emulator checks signatures independently of the code
under test. Test vector: secret `app_secret`, path `/test-api`,
`{"foo": "bar"}`, no body ->
`d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def sign(
    app_secret: str,
    path: str,
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes = b"",
    *,
    content_type: str = "application/json",
) -> str:
    """Lowercase hex HMAC-SHA256 over secret + path + sorted params + body + secret.

    `path` is relative to the service base; `body` is the exact bytes sent
    (ignored for multipart/form-data).
    """
    items = params.items() if isinstance(params, Mapping) else params
    pairs = sorted(((k, v) for k, v in items if k not in UNSIGNED_PARAMS), key=lambda kv: kv[0])
    plain = (path + "".join(k + v for k, v in pairs)).encode()
    if not content_type.lower().startswith("multipart/form-data"):
        plain += body
    secret = app_secret.encode()
    return hmac.new(secret, secret + plain + secret, hashlib.sha256).hexdigest()


def signed_query(
    app_key: str,
    app_secret: str,
    path: str,
    params: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Query parameters for a signed call: `params` plus app_key, timestamp and sign."""
    query = dict(params or {})
    query["app_key"] = app_key
    query["timestamp"] = str(int(time.time()) if timestamp is None else timestamp)
    query["sign"] = sign(app_secret, path, query, body)
    return query
