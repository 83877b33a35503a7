"""A one-shot HTTP server on loopback that catches an OAuth redirect (`connect --listen`).

It answers `GET /callback?code=...&state=...` once the `state` is the one
this run issued; anything else gets a 400 and the server keeps waiting,
until the timeout. Only loopback addresses are accepted.
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from reconciler.commands.common import CommandError
from reconciler.targets import is_loopback


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:8765")
    if not is_loopback(host):
        raise CommandError(f"--listen {text!r}: only a loopback address may listen for the code")
    return host, int(port)


def catch_redirect(address: tuple[str, int], state: str, timeout: float) -> str:
    """Wait for the redirect carrying `state`; return its code."""
    caught: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            code = (query.get("code") or [""])[0]
            if parts.path != "/callback" or (query.get("state") or [""])[0] != state or not code:
                self._answer(400, "This is not the authorization this reconciler run asked for.")
                return
            caught["code"] = code
            self._answer(200, "The shop is connected: you can close this window.")

        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the query holds the code: never logged

    try:
        server = HTTPServer(address, Handler)
    except OSError as exc:
        raise CommandError(f"cannot listen on {address[0]}:{address[1]}: {exc.strerror}") from None
    deadline = time.monotonic() + timeout
    with server:
        while "code" not in caught:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommandError(f"no redirect within {timeout:.0f} s; nothing was stored")
            server.timeout = min(left, 1.0)
            server.handle_request()
    return caught["code"]
