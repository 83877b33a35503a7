"""Contract-test fixtures: the in-process sandbox behind a transport that keeps every exchange."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.retry import RetryPolicy
from reconciler.model import DesiredState
from reconciler.sandbox import Emulator, build_app
from tests.providers.conftest import fake, make_merchant, make_target, merchant, sandbox_target  # noqa: F401

FAST = RetryPolicy(attempts=2, total_seconds=2, base_delay=0.001, max_delay=0.01, timeout=5)


@dataclass
class Exchange:
    request: httpx.Request
    status: int
    body: Any


@dataclass
class Keeping(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox and keeps each request with its decoded answer."""

    inner: httpx.AsyncBaseTransport
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.exchanges.append(Exchange(request, response.status_code, json.loads(content) if content else None))
        return httpx.Response(response.status_code, headers=response.headers, content=content,
                              request=request)

    def answers(self, method: str, suffix: str) -> list[Exchange]:
        return [e for e in self.exchanges
                if e.request.method == method and e.request.url.path.endswith(suffix)]


@dataclass
class Wired:
    emulator: Emulator
    transport: Keeping
    merchant: DesiredState

    def pool(self, *, read_only: bool = True) -> ClientPool:
        return ClientPool(sandbox_target(), read_only=read_only, transport=self.transport, retry=FAST)

    def record(self) -> dict[str, Any]:
        return self.emulator.merchants[self.merchant.slug]


@pytest.fixture
async def wired() -> AsyncIterator[Wired]:
    one = merchant("acme-apparel")
    emulator = Emulator()
    emulator.seed([one, merchant("bolt-outdoor")], {})
    transport = Keeping(httpx.ASGITransport(app=build_app(emulator)))
    yield Wired(emulator, transport, one)
    await transport.aclose()
