"""Helpers for HTTP-layer unit tests: a recording MockTransport and a client factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from reconciler.http.channel import Channel
from reconciler.http.client import ServiceClient
from reconciler.http.retry import RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response]
FAST = RetryPolicy(attempts=4, total_seconds=2.0, base_delay=0.01, max_delay=0.05, timeout=0.5)


@dataclass
class Recorder:
    """A MockTransport that answers from a script and remembers every request it saw."""

    replies: list[httpx.Response | Exception] = field(default_factory=list)
    default: Handler | None = None
    seen: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.replies:
            reply = self.replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply
        if self.default is not None:
            return self.default(request)
        return httpx.Response(200, json={})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def make_client(recorder: Recorder):
    """Build ServiceClients over a Channel on the recorder (read-only ones guard before sending)."""
    opened: list[Channel] = []

    def build(
        service: str,
        base: str = "https://svc.test/api",
        *,
        auth: httpx.Auth | None = None,
        read_only: bool = False,
        retry: RetryPolicy = FAST,
        merchant: str | None = "acme",
    ) -> ServiceClient:
        http = Channel(service, recorder.transport, read_only=read_only)
        opened.append(http)
        return ServiceClient(
            service, http, base, auth or httpx.Auth(), retry=retry, read_only=read_only, merchant=merchant
        )

    yield build
    for http in opened:
        await http.aclose()
