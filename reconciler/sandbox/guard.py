"""The served sandbox's control API answers only its own machine's tools.

`/_sandbox/*` can reset the state and inject faults, so a web page open in a
browser on the same machine must not reach it: a cross-origin request
(an `Origin` that is not loopback), a form post (a body that is not
`application/json`: HTML forms cannot send that without a CORS preflight,
which this server never grants) and a foreign `Host` (DNS rebinding: a name
that resolves to 127.0.0.1 but is not a loopback name) are answered 403.
The service APIs are left alone: they check credentials like the real ones.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from reconciler.sandbox.control import PREFIX

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _host_name(value: str) -> str | None:
    """The host of a `Host` header value (`127.0.0.1:8787`, `[::1]:8787`, `localhost`)."""
    try:
        return urlsplit(f"//{value}").hostname
    except ValueError:
        return None


def refusal(method: str, headers: dict[str, str]) -> str | None:
    """Why a control request is refused, or None to let it through."""
    if _host_name(headers.get("host", "")) not in LOOPBACK_NAMES:
        return "the control API answers only Host 127.0.0.1, localhost or [::1]"
    origin = headers.get("origin")
    if origin is not None:
        try:
            parts = urlsplit(origin)
            allowed = parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_NAMES
        except ValueError:
            allowed = False
        if not allowed:
            return "the control API refuses cross-origin requests"
    if method not in ("GET", "HEAD", "OPTIONS"):
        kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if (kind or has_body) and kind != "application/json":
            return "the control API takes JSON bodies only (Content-Type: application/json)"
    return None


class ControlGuard:
    """ASGI middleware in front of the served sandbox app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            reason = refusal(scope["method"], headers)
            if reason is not None:
                body = json.dumps({"error": reason}).encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
