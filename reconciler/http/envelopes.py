"""Turn one HTTP response into a payload or a typed error, per service.

Each service has its own envelope (docs/providers/<service>.md): TikTok's
`{"code", "message", "data"}` with `code != 0` meaning failure even on HTTP
200, the code typed by TikTok's published table (`tiktok_codes`) before the
status; Pipe17's `{"success": false}`; Shopify GraphQL's `errors` in a 200,
including `THROTTLED`; Loop's plain JSON with `{"error": {...}}`, 400
`{"errors": [..]}` or 422 `{"message", "errors": {field: [..]}}` on failure.
This is the one place that knows them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from reconciler.http import tiktok_codes
from reconciler.http.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ServiceError,
    ValidationError,
)
from reconciler.http.retry import parse_retry_after

ErrorClass = type[ServiceError]
_STATUS_ERRORS: dict[int, ErrorClass] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _status_error(status: int) -> ErrorClass | None:
    if 200 <= status < 300:
        return None
    if status >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status, ValidationError)


def _tiktok(status: int, body: Any) -> tuple[ErrorClass | None, str, str | None]:
    if not isinstance(body, dict) or "code" not in body:
        return _status_error(status), "", None
    code = body.get("code")
    if code == 0 and 200 <= status < 300:
        return None, "", None
    # The code decides before the status: TikTok sends 36009002 in an HTTP 200 too.
    kind = tiktok_codes.classify(code) if isinstance(code, int) else None
    kind = kind or _status_error(status) or ValidationError
    text = f"code {code} {body.get('message', '')}".strip()
    if issubclass(kind, AuthError):
        text += "; TikTok Shop refused the request's credentials (app key, signature, timestamp or access token)"
    return kind, text, str(code)


def _pipe17(status: int, body: Any) -> tuple[ErrorClass | None, str, str | None]:
    kind = _status_error(status)
    failed = isinstance(body, dict) and body.get("success") is False
    if kind is None and not failed:
        return None, "", None
    message = body.get("message", "") if isinstance(body, dict) else ""
    code = body.get("code") if isinstance(body, dict) else None
    if kind is None and isinstance(code, int):
        kind = _status_error(code)
    return kind or ValidationError, str(message), None if code is None else str(code)


def _shopify(status: int, body: Any) -> tuple[ErrorClass | None, str, str | None]:
    kind = _status_error(status)
    errors = body.get("errors") if isinstance(body, dict) else None
    if kind is None and not errors:
        return None, "", None
    if isinstance(errors, str):
        return kind or ValidationError, errors, None
    codes = [
        (e.get("extensions") or {}).get("code") for e in errors or [] if isinstance(e, dict)
    ]
    messages = "; ".join(str(e.get("message", "")) for e in errors or [] if isinstance(e, dict))
    if "THROTTLED" in codes:
        return RateLimitedError, messages or "throttled", "THROTTLED"
    if "ACCESS_DENIED" in codes:
        return AuthError, messages, "ACCESS_DENIED"
    return kind or ValidationError, messages, next((c for c in codes if c), None)


def _loop(status: int, body: Any) -> tuple[ErrorClass | None, str, str | None]:
    kind = _status_error(status)
    if kind is None:
        return None, "", None
    message, code = "", None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message, code = str(error.get("message", "")), error.get("http_code")
        else:
            message = _loop_errors(str(body.get("message", "")), body.get("errors"))
    return kind, message, code


def _loop_errors(message: str, errors: Any) -> str:
    """Loop's 400 `{"errors": [..]}` and 422 `{"message", "errors": {field: [..]}}`, field details kept."""
    if isinstance(errors, list):
        details = [str(e) for e in errors]
    elif isinstance(errors, dict):
        details = [f"{field}: {'; '.join(map(str, v)) if isinstance(v, list) else v}"
                   for field, v in errors.items()]
    else:
        details = []
    return " ".join(p for p in (message, "; ".join(details)) if p)


_DIALECTS: dict[str, Callable[[int, Any], tuple[ErrorClass | None, str, str | None]]] = {
    "tiktok_shop": _tiktok,
    "tiktok_auth": _tiktok,  # TikTok's auth host answers in the same envelope
    "pipe17": _pipe17,
    "shopify": _shopify,
    "loop": _loop,
}


def shopify_throttle_wait(body: Any) -> float | None:
    """(requestedQueryCost - currentlyAvailable) / restoreRate, from `extensions.cost`."""
    try:
        cost = body["extensions"]["cost"]
        status = cost["throttleStatus"]
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        return max(0.0, missing / float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def decode(
    service: str, response: httpx.Response, *, what: str, merchant: str | None = None
) -> Any:
    """The decoded JSON body of a successful response; raise a typed error otherwise.

    `what` describes the call without its query string (e.g. "GET /orders").
    """
    body = _body(response)
    kind, message, code = _DIALECTS[service](response.status_code, body)
    if kind is None:
        if response.content and body is None:
            raise ServerError(service, f"{what}: unreadable response body", merchant,
                              status=response.status_code)
        return body
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if code == "THROTTLED":
        retry_after = shopify_throttle_wait(body)
    text = f"{what} failed: HTTP {response.status_code}" + (f", {message}" if message else "")
    raise kind(service, text, merchant, status=response.status_code, code=code,
               retry_after=retry_after)
