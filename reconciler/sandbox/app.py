"""The sandbox ASGI app: four services, the control API, and the gateway in front of them.

The gateway is the single place where requests and writes are counted,
faults are injected and, in published-only mode, every assumed endpoint (as
reconciler.declarations says) answers as the service answers an unknown path; it runs on one event loop, so plain counters suffice.
After any request that changed state, it calls `persist(emulator)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.declarations import assumed_endpoint
from reconciler.sandbox import control, loop, pipe17, shopify, tiktok_auth, tiktok_shop
from reconciler.sandbox.faults import ConnectionDropped
from reconciler.sandbox.state import PUBLISHED_ONLY, Emulator

Persist = Callable[[Emulator], None]

# Path prefix -> (service, module). `/tiktok-auth` is TikTok's auth host, counted as TikTok.
_SERVICES: tuple[tuple[str, str, ModuleType], ...] = (
    ("/tiktok/", "tiktok_shop", tiktok_shop),
    ("/tiktok-auth/", "tiktok_shop", tiktok_auth),
    ("/shopify/", "shopify", shopify),
    (pipe17.PREFIX + "/", "pipe17", pipe17),
    (loop.PREFIX + "/", "loop", loop),
)


def service_of(path: str) -> tuple[str, ModuleType] | None:
    for prefix, name, module in _SERVICES:
        if path.startswith(prefix):
            return name, module
    return None


class ServiceGateway:
    """Counts, injects faults, and persists after writes."""

    def __init__(self, app: ASGIApp, emulator: Emulator, persist: Persist | None = None) -> None:
        self.app = app
        self.emulator = emulator
        self.persist = persist

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def durable_send(message: Message) -> None:
            # Persist before the last body chunk leaves: an acknowledged write is on disk.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self._persist()
            await send(message)

        try:
            found = service_of(scope["path"])
            if found is None:
                await self.app(scope, receive, durable_send)
            else:
                await self._service(found[0], found[1], scope, receive, durable_send)
        except ClientDisconnect:
            pass  # the client gave up (its timeout): nobody is left to answer
        finally:
            self._persist()

    def _persist(self) -> None:
        if self.emulator.dirty:
            if self.persist is not None:
                self.persist(self.emulator)
            else:
                self.emulator.take_changes()

    async def _service(self, name: str, module: Any, scope: Scope, receive: Receive, send: Send) -> None:
        emu = self.emulator
        emu.stats.request(name)
        if emu.mode == PUBLISHED_ONLY:
            relative = scope["path"].removeprefix(getattr(module, "PREFIX", ""))
            endpoint = assumed_endpoint(name, scope["method"], relative)
            if endpoint is not None:  # as the real service answers a path it does not have
                emu.stats.refused(endpoint.id)
                await module.unknown_path_response(emu)(scope, receive, send)
                return
        write = module.is_write(scope["method"], scope["path"])
        if write:
            emu.stats.write(name)
        merchant = _merchant_of(emu, name, scope) if emu.faults.targets_merchants() else None
        decision = emu.faults.decide(name, write=write, merchant=merchant)
        if decision.latency:
            await asyncio.sleep(decision.latency)
        if decision.drop:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            raise ConnectionDropped()
        if decision.stall:
            await asyncio.sleep(decision.stall)
        if decision.error_status is not None:
            await module.error_response(emu, decision.error_status)(scope, receive, send)
        elif decision.throttle and name == "tiktok_shop":
            await module.throttle_response(emu, decision.throttle_status)(scope, receive, send)
        elif decision.throttle:
            await module.throttle_response(emu)(scope, receive, send)
        else:
            await self.app(scope, receive, send)


_CREDENTIAL_HEADERS = {
    "tiktok_shop": (b"x-tts-access-token", "tiktok_access_token"),
    "pipe17": (b"x-pipe17-key", "pipe17_api_key"),
    "loop": (b"x-authorization", "loop_api_key"),
}


def _merchant_of(emu: Emulator, service: str, scope: Scope) -> str | None:
    """Whose request this is, for faults aimed at one merchant: by credential, or by shop."""
    if service == "shopify":
        parts = scope["path"].split("/")
        slugs = emu.slugs_of("shopify_shop", parts[2] if len(parts) > 2 else None)
    else:
        header, kind = _CREDENTIAL_HEADERS[service]
        value = dict(scope.get("headers") or []).get(header, b"").decode("latin-1")
        slugs = emu.slugs_of(kind, value)
    return slugs[0] if slugs else None


def build_app(emulator: Emulator, *, persist: Persist | None = None) -> Starlette:
    """One ASGI app serving TikTok Shop, Pipe17, Shopify, Loop and `/_sandbox`."""
    routes = [
        *tiktok_shop.routes(emulator),
        *tiktok_auth.routes(emulator),
        *pipe17.routes(emulator),
        *shopify.routes(emulator),
        *loop.routes(emulator),
        *control.routes(emulator),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(ServiceGateway, emulator=emulator, persist=persist)])
    app.state.emulator = emulator
    return app
