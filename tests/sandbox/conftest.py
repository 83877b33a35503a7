"""Fixtures for the sandbox tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from reconciler.model import DesiredState
from reconciler.sandbox import Emulator, build_app
from tests.sandbox.sandbox_helpers import BASE, Sandbox, make_merchant


@pytest.fixture
def merchant() -> DesiredState:
    return make_merchant()


@pytest.fixture
def other() -> DesiredState:
    return make_merchant("bolt-outdoor")


@pytest.fixture
async def make_sandbox() -> AsyncIterator[Callable[..., Sandbox]]:
    clients: list[httpx.AsyncClient] = []

    def factory(merchants: list[DesiredState], scenarios: dict[str, set[str]] | None = None) -> Sandbox:
        emulator = Emulator()
        emulator.seed(merchants, scenarios or {})
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(emulator)), base_url=BASE)
        clients.append(client)
        return Sandbox(client, emulator)

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
async def sbx(merchant: DesiredState, other: DesiredState) -> AsyncIterator[Sandbox]:
    emulator = Emulator()
    emulator.seed([merchant, other], {})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(emulator)), base_url=BASE) as client:
        yield Sandbox(client, emulator)
