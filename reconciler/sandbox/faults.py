"""Injected faults, configured through `POST /_sandbox/faults`.

Keys (each optional; an omitted key resets to its default):

- `latency_ms` (int): added to every request before it is handled.
- `error_rate` (0..1): answer 500, 502 or 503 in the service's error shape.
- `write_error_rate` (0..1): the same, on state-changing requests only.
- `throttle` (bool) with `throttle_rate` (0..1, default 0.3): Shopify answers
  THROTTLED (its cost bucket really drained); TikTok, Pipe17 and Loop answer 429.
- `throttle_requests` (int): the next N requests are throttled, then no more
  (deterministic, with or without `throttle`); reset by every configure.
- `throttle_status` (200 or 429, default 429): the HTTP status of TikTok's
  rate-limit envelope (code 36009002), which TikTok also sends in an HTTP 200.
  Other services ignore it.
- `drop_rate` (0..1): the connection closes without a complete response.
- `timeout_rate` (0..1): the request stalls `timeout_seconds` (default 30)
  before it is handled, longer than any client timeout.
- `seed` (int): seeds the one `random.Random` all draws come from.
- `services` ({service: {same keys}}): overrides for one service
  (`tiktok_shop`, `pipe17`, `shopify`, `loop`).
- `merchants` ({slug: {same keys}}): overrides for every request of one
  merchant, over the service's; the gateway tells whose a request is by its
  credential (TikTok access token, Pipe17 and Loop API keys) or Shopify shop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.model import SERVICES

SERVICE_NAMES = SERVICES  # the services faults can be injected into
DEFAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "write_error_rate": 0.0,
    "throttle": False,
    "throttle_rate": 0.3,
    "throttle_requests": 0,
    "throttle_status": 429,
    "drop_rate": 0.0,
    "timeout_rate": 0.0,
    "timeout_seconds": 30.0,
}
_RATES = {"error_rate", "write_error_rate", "throttle_rate", "drop_rate", "timeout_rate"}


class FaultConfigError(ValueError):
    pass


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised inside the app to drop a connection.

    Served by uvicorn, the connection closes after the response headers and
    before the promised body; in process, httpx's ASGI transport re-raises it,
    which a client sees as the transport error it is.
    """

    def __init__(self) -> None:
        super().__init__("sandbox dropped the connection (injected fault)")


@dataclass(frozen=True)
class Decision:
    latency: float = 0.0
    stall: float = 0.0
    drop: bool = False
    error_status: int | None = None
    throttle: bool = False
    throttle_status: int = 429


_NO_FAULT = Decision()


class Faults:
    """The active fault configuration. `base` and `services` change only through
    `configure` and `clear`, which also note the services that have no fault."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.base: dict[str, Any] = dict(DEFAULTS)
        self.services: dict[str, dict[str, Any]] = {}
        self.merchants: dict[str, dict[str, Any]] = {}
        self.seed = 0
        self.random = random.Random(0)
        self._throttles_left: dict[str, int] = {}
        self._note_quiet_services()

    def _note_quiet_services(self) -> None:
        # A service whose settings inject nothing (no latency, every rate 0,
        # no throttling) draws no random number in `decide`, so its decision
        # is always `_NO_FAULT`; knowing that up front spares every request
        # merging and reading the settings.
        self._quiet = frozenset(s for s in SERVICE_NAMES if _injects_nothing(self.for_service(s)))

    def configure(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise FaultConfigError("faults must be a JSON object")
        payload = dict(payload)
        seed = payload.pop("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise FaultConfigError("seed must be an integer")
        scoped = payload.pop("services", {}) or {}
        if not isinstance(scoped, dict):
            raise FaultConfigError("services must map a service name to fault keys")
        merchants = _scoped(payload.pop("merchants", {}) or {}, "merchants")
        base = _validated(payload, "faults")
        services = {}
        for name, keys in scoped.items():
            if name not in SERVICE_NAMES:
                raise FaultConfigError(f"unknown service {name!r} (known: {', '.join(SERVICE_NAMES)})")
            if not isinstance(keys, dict):
                raise FaultConfigError(f"services.{name} must be an object")
            services[name] = _validated(keys, f"services.{name}")
        self.base = {**DEFAULTS, **base}
        self.services = services
        self.merchants = merchants
        self.seed = seed
        self.random = random.Random(seed)
        self._throttles_left = {s: self.for_service(s)["throttle_requests"] for s in SERVICE_NAMES}
        self._note_quiet_services()
        return self.active()

    def active(self) -> dict[str, Any]:
        return {**self.base, "seed": self.seed,
                "services": {k: dict(v) for k, v in self.services.items()},
                "merchants": {k: dict(v) for k, v in self.merchants.items()}}

    def for_service(self, service: str, merchant: str | None = None) -> dict[str, Any]:
        return {**self.base, **self.services.get(service, {}),
                **(self.merchants.get(merchant, {}) if merchant else {})}

    def targets_merchants(self) -> bool:
        """Whether the gateway must tell whose each request is (only then it looks)."""
        return bool(self.merchants)

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self.random.random() < rate

    def decide(self, service: str, *, write: bool, merchant: str | None = None) -> Decision:
        """One request's fate. Draw order is fixed, so a seed reproduces a run."""
        targeted = merchant is not None and merchant in self.merchants
        if service in self._quiet and not targeted:
            return _NO_FAULT
        f = self.for_service(service, merchant)
        if self._draw(f["drop_rate"]):
            return Decision(latency=f["latency_ms"] / 1000, drop=True)
        stall = f["timeout_seconds"] if self._draw(f["timeout_rate"]) else 0.0
        status = None
        if self._draw(f["error_rate"]) or (write and self._draw(f["write_error_rate"])):
            status = self.random.choice((500, 502, 503))
        throttle = service != "shopify" and status is None and self.throttled(service, merchant)
        return Decision(f["latency_ms"] / 1000, stall, False, status, throttle, f["throttle_status"])

    def throttled(self, service: str, merchant: str | None = None) -> bool:
        if service in self._quiet and not (merchant and merchant in self.merchants):
            return False
        if self._throttles_left.get(service, 0) > 0:
            self._throttles_left[service] -= 1
            return True
        f = self.for_service(service, merchant)
        return bool(f["throttle"]) and self._draw(f["throttle_rate"])


def _injects_nothing(settings: dict[str, Any]) -> bool:
    return settings["latency_ms"] == 0 and not settings["throttle"] and not settings["throttle_requests"] and all(
        settings[rate] == 0 for rate in _RATES if rate != "throttle_rate"
    )


def _scoped(scoped: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(scoped, dict):
        raise FaultConfigError(f"{where} must map a merchant slug to fault keys")
    out = {}
    for name, keys in scoped.items():
        if not isinstance(keys, dict):
            raise FaultConfigError(f"{where}.{name} must be an object")
        out[str(name)] = _validated(keys, f"{where}.{name}")
    return out


def _validated(keys: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in keys.items():
        if key not in DEFAULTS:
            raise FaultConfigError(f"{where}: unknown fault {key!r} (known: {', '.join(DEFAULTS)})")
        if key == "throttle":
            if not isinstance(value, bool):
                raise FaultConfigError(f"{where}.throttle must be true or false")
        elif key == "throttle_status":
            if value not in (200, 429) or isinstance(value, bool):
                raise FaultConfigError(f"{where}.throttle_status must be 200 or 429")
        elif key == "throttle_requests":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FaultConfigError(f"{where}.throttle_requests must be a whole number >= 0")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise FaultConfigError(f"{where}.{key} must be a number >= 0")
        elif key in _RATES and value > 1:
            raise FaultConfigError(f"{where}.{key} must be between 0 and 1")
        out[key] = int(value) if key in ("latency_ms", "throttle_status") else value
    return out
