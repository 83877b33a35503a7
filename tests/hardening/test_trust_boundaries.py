"""Trust boundaries (issue 8, item 5): where requests may go, and which files are believed.

Base URLs come only from trusted settings (`reconciler.targets`), never from
a merchant file; a served-sandbox target must be loopback; live targets
verify TLS; a plan file from elsewhere is checked before it is used.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.engine.document import checksum, merchant_checksum
from reconciler.engine.pool import ClientPool
from reconciler.http.aiotransport import AiohttpTransport
from reconciler.model import SERVICES
from reconciler.targets import LIVE_ENDPOINTS, TargetError, resolve_target
from tests.e2e.conftest import Sandbox, serving, start_logged_sandbox
from tests.hardening.conftest import PROBLEM_LINE, run_checked
from tests.hardening.test_hostile_input import MERCHANT, validate, with_setting
from tests.hardening.test_secrets import NetworkAttempts

# -- merchant files cannot choose hosts ------------------------------------------------------------

HOST_KEYS = {
    "top-level base_url": "base_url: https://evil.example/\n" + MERCHANT,
    "loop base_url": with_setting("loop", "  base_url: https://evil.example/api/v1"),
    "pipe17 endpoint": with_setting("pipe17", "  endpoint: https://evil.example/api/v3"),
    "shopify api_host": with_setting("shopify", "  api_host: evil.example"),
    "tiktok api_base": with_setting("tiktok_shop", "  api_base: https://evil.example"),
    "integration url": MERCHANT.replace("\npipe17:\n", "\npipe17:\n  integrations:\n    loop:\n"
                                        "      url: https://evil.example\n", 1),
}


@pytest.mark.parametrize("name", HOST_KEYS)
def test_a_merchant_file_cannot_set_a_host(name: str) -> None:
    code, out, _ = validate(HOST_KEYS[name])
    assert code == 1 and "S001 unknown key" in out, out


@pytest.mark.parametrize("shop", [
    "evil.example", "bright.myshopify.com.evil.example", "evil.example/.myshopify.com",
    "bright.myshopify.com@evil.example", "evil.example#.myshopify.com", "BRIGHT.myshopify.com:443",
    "bright.myshopify.com/../../evil",
])
def test_the_shopify_shop_a_file_names_is_only_ever_a_myshopify_host(shop: str) -> None:
    """Shopify's API host is per shop, so the shop is the one host-like value a file gives."""
    code, out, _ = validate(MERCHANT.replace("shop: bright-basics.myshopify.com",
                                             f"shop: {json.dumps(shop)}"))
    assert code == 1 and "shopify.shop" in out, out


@pytest.mark.parametrize("text", [
    MERCHANT.replace("shop: bright-basics.myshopify.com", 'shop: "bright-basics.myshopify.com\\n"'),
    MERCHANT.replace('shop_id: "7495098765432109876"', 'shop_id: "7495098765432109876\\n"'),
], ids=["shop", "shop_id"])
def test_a_trailing_newline_does_not_slip_past_the_schema(text: str) -> None:
    code, out, _ = validate(text)
    assert code == 1, out


def test_base_urls_come_only_from_trusted_settings() -> None:
    live = resolve_target("live")
    assert live.endpoints == LIVE_ENDPOINTS
    assert all(url.startswith("https://") for url in live.endpoints.values())
    served = resolve_target("http://127.0.0.1:8787")
    assert all(url.startswith("http://127.0.0.1:8787/") for url in served.endpoints.values())


# -- targets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [
    "http://203.0.113.5:8787", "http://example.com:8787", "https://api.loopreturns.com",
    "http://10.0.0.1:8787", "http://[2001:db8::1]:8787", "http://0.0.0.0:8787",
    "http://localhost.evil.example:8787", "ftp://127.0.0.1:8787", "file:///etc/passwd",
    "127.0.0.1:8787", "http://", "sandbox.local",
])
def test_non_loopback_targets_are_refused(spec: str) -> None:
    with pytest.raises(TargetError):
        resolve_target(spec)


@pytest.mark.parametrize("spec", ["http://127.0.0.1.nip.io:8787", "http://127.attacker.example:8787"])
def test_dns_names_that_look_like_loopback_are_refused(spec: str) -> None:
    with pytest.raises(TargetError):
        resolve_target(spec)


@pytest.mark.parametrize("spec", ["http://127.0.0.1:8787", "http://localhost:8787",
                                  "http://[::1]:8787", "http://127.0.0.2:9000"])
def test_loopback_targets_are_accepted(spec: str) -> None:
    target = resolve_target(spec)
    assert target.is_sandbox and not target.embedded


def test_a_refused_target_fails_cleanly_before_any_request(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path))
    attempts = NetworkAttempts().install(monkeypatch)
    for command in (["plan"], ["apply", "--auto-approve"], ["verify"], ["export", "bright-basics"]):
        result = CliRunner().invoke(cli, ["--target", "http://203.0.113.5:8787", *command])
        assert result.exit_code != 0, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "not a loopback address" in result.output
    assert attempts == []


def test_a_refused_target_is_an_error_in_the_exit_code_contract(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "--detailed-exitcode", "--target",
                                      "http://203.0.113.5:8787"])
    assert result.exit_code == 1, result.output


# -- TLS -------------------------------------------------------------------------------------------

def test_live_targets_verify_tls() -> None:
    """Every service's transport on a live target checks certificates and host names.

    (That no transport follows a redirect is shown on a real socket in
    tests/http/test_http_transport.py.)
    """
    target = resolve_target("live")
    assert target.verify_tls

    async def inspect() -> None:
        for read_only in (True, False):
            async with ClientPool(target, read_only=read_only) as pool:
                for service in SERVICES:
                    transport = pool._http[service]._transport
                    assert isinstance(transport, AiohttpTransport), service
                    context = transport.tls_context()
                    assert isinstance(context, ssl.SSLContext), service
                    assert context.verify_mode == ssl.CERT_REQUIRED, service
                    assert context.check_hostname, service

    asyncio.run(inspect())


# -- plan files from elsewhere --------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with serving(start_logged_sandbox(tmp_path_factory.mktemp("trust"))) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def reviewed(served: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = tmp_path_factory.mktemp("plans") / "plan.json"
    assert run_checked(served, "plan", "--out", str(path)).returncode == 0
    return json.loads(path.read_text())


def resealed(document: dict) -> dict:
    """A forged plan: changed content with every checksum recomputed to match it."""
    merchants = [{**m, "checksum": merchant_checksum(document["target"], m)}
                 for m in document["merchants"]]
    return {**document, "merchants": merchants, "checksum": checksum(document["target"], merchants)}


def resealed_whole_only(document: dict) -> dict:
    """A forged plan whose whole-plan checksum matches but whose merchant checksums do not."""
    return {**document, "checksum": checksum(document["target"], document["merchants"])}


def tampered(document: dict) -> dict:
    changed = json.loads(json.dumps(document))
    change = changed["merchants"][0]["changes"][0]
    change["after"] = "https://evil.example/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]"
    return changed


def forged_variants(document: dict) -> dict[str, tuple[str | bytes, int, str]]:
    """name -> (file content, expected exit code, expected message)."""
    other_target = resealed({**document, "target": "sandbox"})
    unknown = json.loads(json.dumps(document))
    unknown["merchants"][0]["merchant"] = "../../etc/passwd"
    return {
        "tampered": (json.dumps(tampered(document)), 1, "does not match its checksum"),
        "resealed": (json.dumps(resealed(tampered(document))), 5, "stale"),
        "resealed-whole-only": (json.dumps(resealed_whole_only(tampered(document))), 1,
                                "does not match its checksum"),
        "wrong-target": (json.dumps(other_target), 1, "was made for target 'sandbox'"),
        "unknown-merchant": (json.dumps(resealed(unknown)), 1, "no file"),
        "future-format": (json.dumps({**document, "format_version": "2"}), 1, "not supported"),
        "numeric-format": (json.dumps({**document, "format_version": 1}), 1, "not supported"),
        "garbage": (b"\x89PNG\r\n\x1a\n\x00\x00", 1, "not a readable reconciler plan"),
        "utf16": (json.dumps(document).encode("utf-16"), 1, "not a readable reconciler plan"),
        "empty": ("", 1, "not a readable reconciler plan"),
        "list": ("[]", 1, "not a readable reconciler plan"),
        "merchants-not-a-list": (json.dumps({**document, "merchants": "acme"}), 1,
                                 "not a readable reconciler plan"),
        "merchant-entries-not-objects": (json.dumps({**document, "merchants": [1, None]}), 1,
                                         "not a readable reconciler plan"),
    }


@pytest.mark.parametrize("name", ["tampered", "resealed", "resealed-whole-only", "wrong-target", "unknown-merchant",
                                  "future-format", "numeric-format", "garbage", "utf16", "empty",
                                  "list", "merchants-not-a-list", "merchant-entries-not-objects"])
def test_a_plan_file_from_elsewhere_is_checked_before_use(served: Sandbox, reviewed: dict,
                                                          tmp_path: Path, name: str) -> None:
    content, code, message = forged_variants(reviewed)[name]
    path = tmp_path / "plan.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    writes = served.stats()["writes"]
    result = run_checked(served, "apply", "--plan", str(path), "--auto-approve")
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert served.stats()["writes"] == writes


def test_a_deeply_nested_plan_file_is_refused_cleanly(served: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    result = served.cli("apply", "--plan", str(path), "--auto-approve", timeout=60)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1 and "not a readable reconciler plan" in result.stderr


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15),
                                                                      children, max_size=4),
    max_leaves=30,
)
plan_like = st.fixed_dictionaries(
    {"format_version": st.sampled_from(["1", 1, None]), "checksum": st.text(max_size=20),
     "target": st.text(max_size=30), "merchants": json_values},
    optional={"summary": json_values},
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values, plan_like))
def test_no_plan_file_crashes_apply(served: Sandbox, reviewed: dict, document: object) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(document))
        result = CliRunner().invoke(cli, ["--merchants", str(served.merchants), "--target",
                                          served.url, "apply", "--plan", str(path),
                                          "--auto-approve"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and str(path) in result.stderr
    assert not any(PROBLEM_LINE.match(line) for line in result.stdout.splitlines())
