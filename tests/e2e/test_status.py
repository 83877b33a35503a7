"""`reconciler status` and `verify --skip-waiting`, through the CLI on the embedded sandbox."""

from __future__ import annotations

import json
import shutil
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


def run(*args: str, merchants: Path = SHIPPED) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--merchants", str(merchants), *args])
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


def test_a_verify_older_than_the_last_apply_is_shown_as_stale(state: Path, tmp_path: Path) -> None:
    merchants = tmp_path / "merchants"
    shutil.copytree(SHIPPED, merchants)

    def status_of(*args: str) -> str:
        code, out, err = run("status", *args, merchants=merchants)
        assert code == 0, err
        return out

    assert run("apply", "--auto-approve", merchants=merchants)[0] == 0
    assert run("verify", "--skip-waiting", merchants=merchants)[0] == 0
    acme = {m["merchant"]: m for m in json.loads(status_of("--format", "json"))["merchants"]}
    assert acme["acme-apparel"]["stage"] == "verified"
    assert acme["acme-apparel"]["last_verify"]["stale"] is False
    # A later apply changes the merchant: the verify before it no longer says it works.
    path = merchants / "acme-apparel.yaml"
    path.write_text(path.read_text().replace("Email will not work for TikTok orders.",
                                             "Email will not work."))
    assert run("apply", "--auto-approve", merchants=merchants)[0] == 0
    merchants_now = {m["merchant"]: m for m in json.loads(status_of("--format", "json"))["merchants"]}
    stale = merchants_now["acme-apparel"]
    assert stale["stage"] == "unverified" and stale["last_verify"]["stale"] is True
    assert stale["last_apply"] > stale["last_verify"]["at"]
    assert merchants_now["bright-basics"]["stage"] == "verified"  # not applied since: current
    text = status_of()
    assert "acme-apparel: unverified: last verify passed at " in text
    assert f"stale: verify before last apply (at {stale['last_apply']}); verify again" in text
    assert run("verify", "--skip-waiting", merchants=merchants)[0] == 0
    again = {m["merchant"]: m for m in json.loads(status_of("--format", "json"))["merchants"]}
    assert again["acme-apparel"]["stage"] == "verified"
