"""TikTok's published error semantics, through the CLI against the served sandbox.

A wrong app key is a credential error at once (TikTok's 36009004), not a
rate limit retried for the whole budget; TikTok's rate-limit envelope
(36009002) is retried until it succeeds, whether it comes in an HTTP 429
or an HTTP 200.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, start_sandbox, stop


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(Path(tmp_path_factory.mktemp("tiktok-wire")))
    try:
        yield sandbox
    finally:
        stop(sandbox)


def tiktok_requests(sandbox: Sandbox) -> int:
    return sandbox.stats()["services"]["tiktok_shop"]["requests"]


def plan(sandbox: Sandbox, **env: str) -> tuple[int, dict, float, str]:
    started = time.monotonic()
    result = sandbox.cli("plan", "--merchant", "acme-apparel", "--format", "json", "--detailed-exitcode",
                         env=env)
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout), elapsed, result.stderr


def test_a_wrong_tiktok_app_key_is_a_credential_error_within_seconds_without_a_retry_storm(
        served: Sandbox) -> None:
    served.faults()  # none
    acme = served.merchants / "acme-apparel.yaml"
    shipped = acme.read_text()
    # The shipped file reads the app key from SOPS; point it at a variable holding a wrong key.
    acme.write_text(re.sub(r"(?m)^  app_key: .*$", "  app_key: env:WIRE_TEST_APP_KEY", shipped))
    before = tiktok_requests(served)
    try:
        code, document, elapsed, _ = plan(served, WIRE_TEST_APP_KEY="not-the-app-key")
    finally:
        acme.write_text(shipped)
    assert code == 1
    [merchant] = document["merchants"]
    assert merchant["status"] == "error"
    error = merchant["error"]
    # With a refresh token, TikTok's auth host refuses first; with an access token, the Open
    # API answers 36009004 (tests/contract/test_tiktok_error_table.py). Either way: named, at once.
    assert error.startswith("tiktok_shop (merchant acme-apparel): ") and "app_key" in error
    assert "attempts" not in error and "not-the-app-key" not in error
    assert elapsed < 5, f"{elapsed:.1f}s"
    # At most the token exchange on TikTok's auth host and the one refused call: never retried.
    assert tiktok_requests(served) - before <= 2


@pytest.mark.parametrize("status", [429, 200])
def test_tiktok_rate_limit_envelope_is_retried_and_the_plan_succeeds(served: Sandbox, status: int) -> None:
    baseline, expected, _, _ = plan(served)
    assert baseline in (0, 2)
    served.faults(services={"tiktok_shop": {"throttle_requests": 2, "throttle_status": status}})
    try:
        before = tiktok_requests(served)
        code, document, _, _ = plan(served)
        throttled_calls = tiktok_requests(served) - before
    finally:
        served.faults()
    assert code == baseline
    assert [m["status"] for m in document["merchants"]] == ["ok"]
    assert document["merchants"][0]["changes"] == expected["merchants"][0]["changes"]
    assert throttled_calls >= 2 + 1  # the two throttled answers were retried
