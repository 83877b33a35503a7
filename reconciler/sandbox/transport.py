"""The in-process transport behind the embedded default target."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx

from reconciler.failures import StateFileError
from reconciler.model import DesiredState
from reconciler.sandbox.app import build_app
from reconciler.sandbox.state import Emulator, mode_from_env
from reconciler.sandbox.store import STATE_FILE_NAME, StateStore


class EmbeddedTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport over the sandbox app, with the state file kept in step.

    Each request runs under the state file's lock: the state is reloaded if
    another process changed the file, and saved (atomically) if the request
    changed it. Unlike a bare ASGI transport it honors the request's read
    timeout, so an injected stall surfaces as `httpx.ReadTimeout`.
    """

    def __init__(self, emulator: Emulator, store: StateStore) -> None:
        self.emulator = emulator
        self.store = store
        self.app = build_app(emulator, persist=store.save)
        self._inner = httpx.ASGITransport(app=self.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = (request.extensions.get("timeout") or {}).get("read")
        with self.store.lock:
            self.store.load_if_changed(self.emulator)
            try:
                return await asyncio.wait_for(self._inner.handle_async_request(request), timeout)
            except TimeoutError as error:
                raise httpx.ReadTimeout("sandbox did not answer in time", request=request) from error

    async def aclose(self) -> None:
        await self._inner.aclose()


def embedded_transport(
    state_dir: Path,
    merchants: Iterable[DesiredState],
    scenarios: Mapping[str, set[str]] | None = None,
    mode: str | None = None,
) -> EmbeddedTransport:
    """A transport to the sandbox whose state lives in `state_dir/sandbox-state.json`.

    The first use seeds every merchant; later uses seed merchants that are
    new (or whose ids or scenarios changed) and keep everyone else's state.
    `scenarios=None` keeps the scenarios each merchant was seeded with.
    `mode=None` takes the mode from `RECONCILER_SANDBOX_MODE` (default full).
    """
    store = StateStore(Path(state_dir) / STATE_FILE_NAME)
    emulator = Emulator(mode=mode or mode_from_env())
    with store.lock:
        data = store.read()
        if data is not None:
            try:
                emulator.load(data)
            except ValueError as exc:
                raise StateFileError(f"{store.path}: {exc}; move it away and the sandbox starts "
                                     "afresh") from None
        emulator.sync(list(merchants), scenarios)
        if emulator.dirty or data is None:
            store.save(emulator)
        emulator.take_changes()
    return EmbeddedTransport(emulator, store)
