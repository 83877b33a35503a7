"""Authentication as `httpx.Auth` flows: TikTok Shop request signing and key headers.

Credentials handed to these classes are registered with the process-wide
redactor, so a value can never reach an error message or a log line even
when it did not come through `reconciler.secrets.resolve`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Generator, Iterable
from urllib.parse import parse_qsl, quote, urlencode

import httpx

from reconciler.http import urls
from reconciler.http.tokens import TokenSession
from reconciler.secrets import redactor

# Never part of the signed string (docs/providers/tiktok_shop.md).
_UNSIGNED_PARAMS = frozenset({"sign", "access_token"})
# Added to every request's query by the auth flow (replaced if already there).
_ADDED_PARAMS = frozenset({"app_key", "timestamp", "sign"})


def tiktok_sign(
    app_secret: str, path: str, params: Iterable[tuple[str, str]], body: bytes = b""
) -> str:
    """TikTok Shop's request signature, lowercase hex HMAC-SHA256.

    `path` is relative to the service base (`/authorization/202309/shops`);
    `body` is the exact bytes sent (empty for GET and multipart).
    """
    pairs = sorted((k, v) for k, v in params if k not in _UNSIGNED_PARAMS)
    plain = path + "".join(k + v for k, v in pairs)
    message = app_secret.encode() + plain.encode() + body + app_secret.encode()
    return hmac.new(app_secret.encode(), message, hashlib.sha256).hexdigest()


class TikTokAuth(httpx.Auth):
    """Adds `app_key`, `timestamp` and `sign` to the query, the access-token header and a JSON content type.

    `base_path` is the path prefix of the service base URL (`/tiktok` on a
    sandbox, empty live); the signed path is the request path without it.
    Runs on every attempt, so each retry is signed with a fresh timestamp.
    """

    requires_request_body = True

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        access_token: str | TokenSession,
        *,
        base_path: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`access_token`: a fixed token, or a `TokenSession` that obtains and renews one."""
        for value in (app_key, app_secret, access_token):
            if isinstance(value, str):
                redactor.add(value)
        self._app_key = app_key
        self._quoted_app_key = quote(app_key, safe="")
        self._app_secret = app_secret
        # With a session, the session's current token is sent instead of this one.
        self._access_token = access_token if isinstance(access_token, str) else ""
        self.session = None if isinstance(access_token, str) else access_token
        self._base_path = base_path.rstrip("/")
        self._clock = clock

    def signed_path(self, url: httpx.URL) -> str:
        path = url.path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path) :] or "/"
        return path

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        query = url.query.decode("ascii")
        params = parse_qsl(query, keep_blank_values=True) if query else []
        if any(k in _ADDED_PARAMS for k, _ in params):  # signed before: sign afresh
            params = [(k, v) for k, v in params if k not in _ADDED_PARAMS]
            query = urlencode(params, quote_via=quote)
        timestamp = str(int(self._clock()))
        multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
        body = b"" if multipart else request.content
        sign = tiktok_sign(self._app_secret, self.signed_path(url),
                           [*params, ("app_key", self._app_key), ("timestamp", timestamp)], body)
        # The query as written stays as it is (already encoded); the three parameters follow it.
        added = f"app_key={self._quoted_app_key}&timestamp={timestamp}&sign={sign}"
        request.url = urls.with_query(url, f"{query}&{added}" if query else added)
        token = self._access_token if self.session is None else self.session.current
        request.headers["x-tts-access-token"] = token
        if "content-type" not in request.headers:
            # TikTok's official SDKs send it on every request, GET included.
            request.headers["content-type"] = "application/json"
        yield request


class HeaderKeyAuth(httpx.Auth):
    """A static key in one header: Shopify, Pipe17 and Loop."""

    def __init__(self, header: str, value: str) -> None:
        redactor.add(value)
        self._header = header
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request


def shopify_auth(token: str) -> HeaderKeyAuth:
    return HeaderKeyAuth("X-Shopify-Access-Token", token)


def pipe17_auth(key: str) -> HeaderKeyAuth:
    return HeaderKeyAuth("X-Pipe17-Key", key)


def loop_auth(key: str) -> HeaderKeyAuth:
    return HeaderKeyAuth("X-Authorization", key)
