"""`plan --changed-since REF` on a simulated pull request: a git repository in a temporary directory."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.e2e.conftest import write_fleet

INSTRUCTIONS = ("Bought on TikTok Shop? Enter your TikTok Shop order number and the ZIP code of "
                "your shipping address.")
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main: four fleet merchants on `tiktok-loop`, two on `eu` (which extends `tiktok-loop`)."""
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    merchants = tmp_path / "repo" / "merchants"
    write_fleet(merchants, 4)
    write_fleet(merchants, 2, prefix="eu")
    (merchants / "profiles" / "eu.yaml").write_text("extends: tiktok-loop\nloop:\n  order_lookup: zip\n")
    for slug in ("eu-000", "eu-001"):
        path = merchants / f"{slug}.yaml"
        text = path.read_text().replace("extends: tiktok-loop", "extends: eu")
        path.write_text(text.replace('shop_id: "74', 'shop_id: "75'))
    (tmp_path / "repo" / "README.md").write_text("fleet\n")
    git(tmp_path / "repo", "init", "-q", "-b", "main")
    git(tmp_path / "repo", "add", "-A")
    git(tmp_path / "repo", "commit", "-qm", "fleet")
    git(tmp_path / "repo", "checkout", "-qb", "pull-request")
    return merchants


def plan(merchants: Path, *args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(cli, ["--merchants", str(merchants), "plan", "--format", "json",
                                      "--detailed-exitcode", "--changed-since", "main", *args])
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, result.stderr


def commit(merchants: Path, message: str) -> None:
    git(merchants.parent, "add", "-A")
    git(merchants.parent, "commit", "-qm", message)


def test_a_profile_edit_selects_every_merchant_that_extends_it_transitively(repo: Path) -> None:
    profile = repo / "profiles" / "eu.yaml"
    profile.write_text(profile.read_text() + f"  instructions: {INSTRUCTIONS} EU buyers have 30 days.\n")
    (repo.parent / "README.md").write_text("unrelated\n")
    commit(repo, "eu instructions")
    code, document, stderr = plan(repo)
    assert code == 2
    assert [m["merchant"] for m in document["merchants"]] == ["eu-000", "eu-001"]
    assert document["selection"] == {
        "changed_since": "main",
        "changed_files": ["README.md", "merchants/profiles/eu.yaml"],
        "merchants": {"eu-000": ["merchants/profiles/eu.yaml"],
                      "eu-001": ["merchants/profiles/eu.yaml"]},
        "deleted": [],
    }
    assert "merchants/profiles/eu.yaml selects 2 merchant(s): eu-000, eu-001" in stderr

    base = repo / "profiles" / "tiktok-loop.yaml"
    base.write_text(base.read_text().replace("will not work", "does not work"))
    commit(repo, "base profile")
    _, document, stderr = plan(repo)
    assert len(document["merchants"]) == 6  # the base profile reaches eu-* through eu
    assert document["selection"]["merchants"]["eu-000"] == ["merchants/profiles/eu.yaml",
                                                            "merchants/profiles/tiktok-loop.yaml"]
    assert "merchants/profiles/tiktok-loop.yaml selects 6 merchant(s)" in stderr


def test_a_merchant_edit_selects_that_merchant_and_a_deleted_file_is_reported(repo: Path) -> None:
    path = repo / "fleet-002.yaml"
    path.write_text(path.read_text().replace("name: Fleet 2", "name: Fleet Two"))
    (repo / "fleet-003.yaml").unlink()
    commit(repo, "rename one, drop one")
    code, document, stderr = plan(repo)
    assert [m["merchant"] for m in document["merchants"]] == ["fleet-002"]
    assert document["selection"]["deleted"] == ["merchants/fleet-003.yaml"]
    assert "merchants/fleet-003.yaml: merchant file deleted" in stderr
    assert document["mass_change"]["fleet"] == 5  # judged against the whole fleet


def test_nothing_changed_plans_nothing_and_a_bad_ref_is_a_clear_error(repo: Path) -> None:
    code, document, _ = plan(repo)
    assert code == 0 and document["merchants"] == []
    result = CliRunner().invoke(cli, ["--merchants", str(repo), "plan", "--changed-since", "nope"])
    assert result.exit_code == 1
    assert "--changed-since: git merge-base" in result.stderr and "nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_ci_layout_counts_uncommitted_and_untracked_merchant_files(repo: Path) -> None:
    """plan.yml checks out the base commit and lays the pull request's merchants/ over it."""
    profile = repo / "profiles" / "eu.yaml"
    profile.write_text(profile.read_text() + f"  instructions: {INSTRUCTIONS} EU buyers have 30 days.\n")
    new = (repo / "fleet-000.yaml").read_text().replace("fleet-000", "fleet-new").replace("FLEET_000", "NEW")
    (repo / "fleet-new.yaml").write_text(new.replace('"7400000000000000000"', '"7600000000000000000"'))
    _, document, stderr = plan(repo, "--exclude", "eu-001")
    assert [m["merchant"] for m in document["merchants"]] == ["eu-000", "fleet-new"]
    assert document["selection"]["merchants"]["fleet-new"] == ["merchants/fleet-new.yaml"]
    assert "merchants/fleet-new.yaml selects 1 merchant(s): fleet-new" in stderr
