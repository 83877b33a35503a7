"""`reconciler status` and `verify --skip-waiting`, through the CLI on the embedded sandbox."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.e2e.conftest import SHIPPED


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--merchants", str(SHIPPED), *args])
    return result.exit_code, result.stdout, result.stderr


def status() -> dict:
    code, out, err = run("status", "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_status_follows_each_merchant_through_the_procedure(state: Path) -> None:
    before = status()
    assert before["stages"] == {"error": 0, "waiting": 1, "drift": 2, "failing": 0,
                                "unverified": 0, "verified": 0}
    cosmo = {m["merchant"]: m for m in before["merchants"]}["cosmo-kids"]
    assert cosmo["stage"] == "waiting" and cosmo["held"] == 2
    [action] = cosmo["manual_actions"]
    assert action["id"] == "tiktok_shop.h5_redirect" and action["since"]

    assert run("apply", "--auto-approve")[0] == 0
    assert {m["merchant"]: m["stage"] for m in status()["merchants"]} == {
        "acme-apparel": "unverified", "bright-basics": "unverified", "cosmo-kids": "waiting"}
    code, out, _ = run("verify", "--skip-waiting")
    assert code == 0  # the waiting merchant is reported, not failed
    assert "WAIT cosmo-kids: not verified, waiting on manual action(s) tiktok_shop.h5_redirect" in out
    assert "cosmo-kids" not in out.replace("WAIT cosmo-kids", "")

    after = status()
    assert after["stages"]["verified"] == 2 and after["stages"]["waiting"] == 1
    # The first-seen time is kept across runs: "since when", not "since the last run".
    kept = {m["merchant"]: m for m in after["merchants"]}["cosmo-kids"]["manual_actions"][0]
    assert kept["since"] == action["since"]
    for name in ("manual-actions.json", "verify.json"):
        assert stat.S_IMODE((state / "status" / name).stat().st_mode) == 0o600


def test_a_failed_verify_shows_as_failing_and_the_markdown_has_a_table(state: Path) -> None:
    assert run("apply", "--auto-approve")[0] == 0
    assert run("verify")[0] == 1  # cosmo-kids waits on H5 Redirect: its return URL check fails
    code, out, _ = run("status", "--format", "markdown")
    assert code == 0
    assert "| merchant | stage | details |" in out
    assert "| `acme-apparel` | verified |" in out
    text = run("status")[1]
    assert text.startswith("Target: sandbox\n")
    assert "Stages: 1 waiting, 2 verified." in text
    code, out, _ = run("verify", "--skip-waiting", "--format", "json")
    assert json.loads(out)["waiting"] == [{"merchant": "cosmo-kids",
                                           "manual_actions": ["tiktok_shop.h5_redirect"]}]


def test_a_ready_merchant_whose_verify_fails_is_failing(state: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_SANDBOX_SCENARIOS", "acme-apparel=order-missing-in-shopify")
    assert run("apply", "--auto-approve")[0] == 0
    code, out, _ = run("verify", "--skip-waiting")
    assert code == 1 and "FAIL acme-apparel shopify.orders_present" in out
    acme = {m["merchant"]: m for m in status()["merchants"]}["acme-apparel"]
    assert acme["stage"] == "failing"
    assert acme["last_verify"]["failed_checks"] == ["shopify.orders_present"]
    assert "acme-apparel: failing: last verify failed (shopify.orders_present)" in run("status")[1]
