"""The control API under `/_sandbox` (docs/design.md section 6, contract). Not counted in stats.

- `GET  /_sandbox/stats`  -> `{"requests", "writes", "services": {name: {"requests", "writes"}},
  "unavailable": {endpoint id: calls answered as an unknown path (published-only mode)}}`
- `GET  /_sandbox/faults` -> the active faults; `POST` replaces them (see `faults`)
- `POST /_sandbox/reset`  -> seed every merchant again (scenarios kept), zero stats, clear faults
- `GET  /_sandbox/limits` -> rate limits; `POST` changes some of them (see `limits.Limits`)
- `GET  /_sandbox/state`  -> the state document with credentials redacted
- `GET  /_sandbox/health` -> `{"ok": true, "merchants": N}`
- `GET  /_sandbox/tiktok-auth` -> the token policy; `POST` changes it
  (`access_token_lifetime`, `refresh_token_lifetime` seconds, `rotate_refresh_tokens`)
- `POST /_sandbox/tiktok-auth/expire` -> every issued access token expires now; with
  `{"refresh_tokens_in": S}` every refresh token expires S seconds from now
- `POST /_sandbox/tiktok-auth/revoke` `{"merchant": slug}` -> the seller revoked the app:
  its refresh and access tokens stop working
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sandbox.faults import FaultConfigError
from reconciler.sandbox.state import Emulator

PREFIX = "/_sandbox"


def redacted_state(emu: Emulator) -> dict[str, Any]:
    data = emu.to_json()
    data.pop("state_key", None)
    for record in data["merchants"].values():
        record["credentials"] = {name: "***" for name in record["credentials"]}
        book = record.get("tiktok_auth")
        if book:
            # How many tokens and when they expire, never the tokens themselves.
            record["tiktok_auth"] = {kind: sorted(tokens.values()) if isinstance(tokens, dict)
                                     else len(tokens) for kind, tokens in book.items()}
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

    async def get_token_policy(request: Request) -> Response:
        return JSONResponse(emu.token_policy.to_json())

    async def set_token_policy(request: Request) -> Response:
        try:
            payload = await _payload(request)
            if not isinstance(payload, dict):
                raise ValueError("the token policy must be a JSON object")
            emu.token_policy.update(payload)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=422)
        return JSONResponse(emu.token_policy.to_json())

    async def expire_tokens(request: Request) -> Response:
        payload = await _payload(request)
        now = int(time.time())
        later = payload.get("refresh_tokens_in") if isinstance(payload, dict) else None
        for record in emu.merchants.values():
            book = record.get("tiktok_auth") or {}
            book["access_tokens"] = {token: now for token in book.get("access_tokens", {})}
            if isinstance(later, int) and not isinstance(later, bool):
                book["refresh_tokens"] = {t: now + later for t in book.get("refresh_tokens", {})}
        emu.mark_dirty()
        return JSONResponse({"expired": True})

    async def revoke(request: Request) -> Response:
        payload = await _payload(request)
        slug = payload.get("merchant") if isinstance(payload, dict) else None
        record = emu.merchants.get(slug) if isinstance(slug, str) else None
        if record is None:
            return JSONResponse({"error": f"unknown merchant {slug!r}"}, status_code=422)
        book = record.get("tiktok_auth") or {}
        revoked = [*book.get("revoked", []), *book.get("refresh_tokens", {})]
        record["tiktok_auth"] = {"refresh_tokens": {}, "access_tokens": {}, "revoked": revoked}
        record["credentials"].pop("tiktok_access_token", None)
        emu.reindex()
        return JSONResponse({"revoked": slug})

    return [
        Route(f"{PREFIX}/tiktok-auth", get_token_policy, methods=["GET"]),
        Route(f"{PREFIX}/tiktok-auth", set_token_policy, methods=["POST"]),
        Route(f"{PREFIX}/tiktok-auth/expire", expire_tokens, methods=["POST"]),
        Route(f"{PREFIX}/tiktok-auth/revoke", revoke, methods=["POST"]),
        Route(f"{PREFIX}/stats", stats, methods=["GET"]),
        Route(f"{PREFIX}/faults", get_faults, methods=["GET"]),
        Route(f"{PREFIX}/faults", set_faults, methods=["POST"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/limits", get_limits, methods=["GET"]),
        Route(f"{PREFIX}/limits", set_limits, methods=["POST"]),
        Route(f"{PREFIX}/state", state, methods=["GET"]),
        Route(f"{PREFIX}/health", health, methods=["GET"]),
    ]
