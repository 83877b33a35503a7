"""The control API under `/_sandbox` (DESIGN.md section 6, contract). Not counted in stats.

- `GET  /_sandbox/stats`  -> `{"requests", "writes", "services": {name: {"requests", "writes"}},
  "unavailable": {endpoint id: calls answered as an unknown path (published-only mode)}}`
- `GET  /_sandbox/faults` -> the active faults; `POST` replaces them (see `faults`)
- `POST /_sandbox/reset`  -> seed every merchant again (scenarios kept), zero stats, clear faults
- `GET  /_sandbox/limits` -> rate limits; `POST` changes some of them (see `limits.Limits`)
- `GET  /_sandbox/state`  -> the state document with credentials redacted
- `GET  /_sandbox/health` -> `{"ok": true, "merchants": N}`
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox.faults import FaultConfigError
from reconciler.sandbox.state import Emulator

PREFIX = "/_sandbox"


def redacted_state(emu: Emulator) -> dict[str, Any]:
    data = emu.to_json()
    for record in data["merchants"].values():
        record["credentials"] = {name: "***" for name in record["credentials"]}
    return data


async def _payload(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw.strip() else {}


def routes(emu: Emulator) -> list[Route]:
    async def stats(request: Request) -> Response:
        return JSONResponse(emu.stats.to_json())

    async def get_faults(request: Request) -> Response:
        return JSONResponse(emu.faults.active())

    async def set_faults(request: Request) -> Response:
        try:
            return JSONResponse(emu.faults.configure(await _payload(request)))
        except (ValueError, FaultConfigError) as error:
            return JSONResponse({"error": str(error)}, status_code=422)

    async def reset(request: Request) -> Response:
        emu.reset()
        return JSONResponse({"reset": True, "merchants": sorted(emu.merchants)})

    async def get_limits(request: Request) -> Response:
        return JSONResponse(emu.limits.to_json())

    async def set_limits(request: Request) -> Response:
        try:
            payload = await _payload(request)
            if not isinstance(payload, dict):
                raise ValueError("limits must be a JSON object")
            emu.limits.update(payload)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        return JSONResponse(emu.limits.to_json())

    async def state(request: Request) -> Response:
        return JSONResponse(redacted_state(emu))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "merchants": len(emu.merchants)})

    return [
        Route(f"{PREFIX}/stats", stats, methods=["GET"]),
        Route(f"{PREFIX}/faults", get_faults, methods=["GET"]),
        Route(f"{PREFIX}/faults", set_faults, methods=["POST"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/limits", get_limits, methods=["GET"]),
        Route(f"{PREFIX}/limits", set_limits, methods=["POST"]),
        Route(f"{PREFIX}/state", state, methods=["GET"]),
        Route(f"{PREFIX}/health", health, methods=["GET"]),
    ]
