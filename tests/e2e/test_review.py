"""A profile edit across a generated fleet, reviewed through the CLI: change sets, a comment that
renders as GitHub renders it, and `reconciler show` of the saved plan."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import cmarkgfm
import jsonschema
import pytest
from click.testing import CliRunner, Result
from cmarkgfm.cmark import Options

from bench.generate import write_fleet
from reconciler.cli import cli
from reconciler.engine.document import checksum
from tests.e2e.conftest import ROOT

FLEET = 40  # every twentieth merchant waits for its H5 Redirect approval: 2 of 40
OLD = "zip=[TTS_ZIP_CODE]\""
NEW = "zip=[TTS_ZIP_CODE]&src=tts\""
TEMPLATE = "https://{{ loop.portal_domain }}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]&src=tts"


class Fleet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.merchants = write_fleet(root / "fleet", FLEET, ROOT / "merchants" / "profiles")
        self.env = {"RECONCILER_STATE_DIR": str(root / ".reconciler"), "NO_COLOR": "1",
                    "GITHUB_SHA": None}

    def cli(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        sigterm = signal.getsignal(signal.SIGTERM)  # apply sets its own; the test run keeps pytest's
        try:
            result = CliRunner().invoke(cli, ["--merchants", str(self.merchants), *args],
                                        env={**self.env, **(env or {})})
        finally:
            signal.signal(signal.SIGTERM, sigterm)
        assert "Traceback" not in result.output + result.stderr, result.output + result.stderr
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
        return result

    def edit_profile(self) -> None:
        profile = self.merchants / "profiles" / "tiktok-loop.yaml"
        profile.write_text(profile.read_text().replace(OLD, NEW))


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    """A fleet applied to the embedded sandbox, then its profile's return URL edited."""
    fleet = Fleet(tmp_path)
    applied = fleet.cli("apply", "--auto-approve", "--allow-mass-change")
    assert applied.exit_code == 0, applied.output + applied.stderr
    fleet.edit_profile()
    return fleet


def plan_json(fleet: Fleet, *args: str) -> dict:
    result = fleet.cli("plan", "--format", "json", "--detailed-exitcode", *args)
    assert result.exit_code == 2, result.output + result.stderr
    return json.loads(result.stdout)


def html(markdown: str) -> str:
    """The comment as GitHub renders it (cmark-gfm; raw HTML such as <details> kept)."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def test_a_profile_edit_is_one_change_set_in_json_text_and_markdown(fleet: Fleet) -> None:
    document = plan_json(fleet, "--commit", "0123456789abcdef")
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    ready, waiting = document["groups"]
    assert (ready["count"], waiting["count"]) == (38, 2)
    assert waiting["merchants"] == ["fleet-00019", "fleet-00039"]
    change, = ready["changes"]
    assert change["address"] == "tiktok_shop.return_proxy.return_url"
    assert change["templated"] and change["after"] == TEMPLATE
    assert change["before"] == TEMPLATE.removesuffix("&src=tts")
    # each merchant's own entry still holds its own rendered values
    first = document["merchants"][0]["changes"][0]
    assert first["after"] == ("https://returns.fleet-00000.example.com/"
                              "?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]&src=tts")

    text = fleet.cli("plan").stdout
    assert "38 merchants: 1 to change, 0 manual action(s)" in text
    assert "2 merchants: 2 to change, 1 manual action(s)" in text
    assert text.count("tiktok_shop.return_proxy.return_url: ") == 2  # once per change set
    assert "&src=tts" in text and "fleet-00038" in text

    markdown = fleet.cli("plan", "--format", "markdown").stdout
    assert "<summary>38 merchants: 1 change(s), 0 manual action(s)</summary>" in markdown
    assert "<summary>2 merchants: 2 change(s), 1 manual action(s)</summary>" in markdown
    assert all(f"fleet-{i:05d}" in markdown for i in range(FLEET))


def test_change_sets_leave_the_checksum_to_the_merchants(fleet: Fleet) -> None:
    document = plan_json(fleet)
    assert document["checksum"] == checksum(document["target"], document["merchants"])
    path = fleet.root / "plan.json"
    assert fleet.cli("plan", "--out", str(path), "--detailed-exitcode").exit_code == 2
    saved = json.loads(path.read_text())
    assert saved["checksum"] == document["checksum"] and saved["groups"] == document["groups"]


def test_shard_plans_merge_into_the_unsharded_change_sets(fleet: Fleet) -> None:
    whole = plan_json(fleet)
    paths = []
    for shard in ("1/2", "2/2"):
        paths.append(fleet.root / f"plan-{shard[0]}.json")
        fleet.cli("plan", "--shard", shard, "--out", str(paths[-1]))
    merged = fleet.cli("plan-merge", *map(str, paths))
    assert merged.exit_code == 0, merged.stderr
    document = json.loads(merged.stdout)
    assert document["checksum"] == whole["checksum"]
    assert document["groups"] == whole["groups"]


def test_the_comment_renders_as_github_renders_it(fleet: Fleet) -> None:
    markdown = fleet.cli("plan", "--format", "markdown", "--commit", "0123456789abcdef").stdout
    page = html(markdown)
    assert page.count("<details>") == page.count("</details>") == 2
    assert page.count("<table>") == 2  # a real table per change set, not pipes in a paragraph
    assert "<hr />" in page and "---" not in page  # the footer's rule, not literal dashes
    assert re.search(r"<p>Checksum <code>sha256:[0-9a-f]{64}</code> at commit "
                     r"<code>0123456789ab</code></p>", page)
    assert "<pre><code>reconciler apply --plan plan.json" in page
    assert "at commit `0123456789ab`" in markdown.splitlines()[0]


def test_the_comment_names_github_sha_or_the_merchants_head(fleet: Fleet) -> None:
    named = fleet.cli("plan", "--format", "markdown", env={"GITHUB_SHA": "feedface" * 5}).stdout
    assert "at commit `feedfacefeed`" in named.splitlines()[0]
    git = ["git", "-C", str(fleet.merchants), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "fleet"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    document = plan_json(fleet)
    assert document["commit"] == head
    assert f"at commit `{head[:12]}`" in fleet.cli("plan", "--format", "markdown").stdout


def test_no_changes_says_so_and_offers_no_apply(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    assert fleet.cli("apply", "--auto-approve", "--merchant", "fleet-00000").exit_code == 0
    result = fleet.cli("plan", "--format", "markdown", "--merchant", "fleet-00000",
                       "--detailed-exitcode")
    assert result.exit_code == 0
    assert result.stdout.startswith("### ✅ reconciler plan on `sandbox`")
    assert "no changes in 1 merchant(s)" in result.stdout
    assert "Nothing to apply." in result.stdout
    assert "reconciler apply" not in result.stdout and "Apply this" not in result.stdout
    assert "<hr />" in html(result.stdout)


def test_show_renders_a_saved_plan_without_reading_live_state(fleet: Fleet) -> None:
    path = fleet.root / "plan.json"
    fleet.cli("plan", "--out", str(path), "--commit", "abc123")
    state = fleet.root / ".reconciler"
    for item in sorted(state.rglob("*"), reverse=True):  # no sandbox left to read
        item.unlink() if item.is_file() else item.rmdir()

    text = fleet.cli("show", str(path))
    assert text.exit_code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "Target: sandbox"  # then the mass-change verdict, then the commit
    assert lines[1].startswith("Mass change: ") and lines[2] == "Commit: abc123"
    assert "38 merchants: 1 to change" in text.stdout
    as_json = fleet.cli("show", str(path), "--format", "json")
    assert as_json.stderr.splitlines()[0] == "Target: sandbox"
    assert json.loads(as_json.stdout) == json.loads(path.read_text())
    markdown = fleet.cli("show", str(path), "--format", "markdown")
    assert markdown.stdout.startswith("### 📝 reconciler plan on `sandbox` at commit `abc123`")
    assert f"reconciler apply --plan {path}" in markdown.stdout
    assert not state.exists() or not any(state.rglob("*.json"))  # nothing read, nothing seeded


def test_show_refuses_a_tampered_plan(fleet: Fleet) -> None:
    path = fleet.root / "plan.json"
    fleet.cli("plan", "--out", str(path))
    original = path.read_text()

    path.write_text(original.replace("&src=tts", "&src=evil", 1))
    edited = fleet.cli("show", str(path))
    assert edited.exit_code == 1 and edited.stdout == ""
    assert "does not match its checksum" in edited.stderr and str(path) in edited.stderr

    resealed = json.loads(original)  # an edit with the whole plan's checksum made again
    resealed["merchants"][3]["changes"][0]["after"] = "https://evil.example.com/"
    resealed["checksum"] = checksum(resealed["target"], resealed["merchants"])
    path.write_text(json.dumps(resealed))
    part = fleet.cli("show", str(path))
    assert part.exit_code == 1 and part.stdout == ""
    assert "the part of merchant 'fleet-00003' does not match its checksum" in part.stderr

    document = json.loads(original)
    document["groups"][0]["merchants"].remove("fleet-00005")
    document["groups"][0]["count"] -= 1
    path.write_text(json.dumps(document))
    regrouped = fleet.cli("show", str(path), "--format", "markdown")
    assert regrouped.exit_code == 1 and regrouped.stdout == ""
    assert "change sets do not match its merchants" in regrouped.stderr

    path.write_text("{\n")
    broken = fleet.cli("show", str(path))
    assert broken.exit_code == 1 and f"{path}:2:1: not a JSON plan" in broken.stderr
