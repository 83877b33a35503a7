"""Export never destroys: `--write` and `--out-dir` write validated files atomically, and no
slug, from the command line or from live state, can name a path outside the directory."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from reconciler.export.document import Built
from tests.export.harness import ROOT, Workspace, exported
from tests.export.test_export import HAND_CONFIGURED, plan_changes


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_write_replaces_the_merchant_file_with_what_export_prints_keeping_its_mode(ws: Workspace) -> None:
    by_hand = ws.directory_with("by-hand", {"acme-apparel": HAND_CONFIGURED})
    assert ws.cli("apply", "--auto-approve", merchants=by_hand).exit_code == 0
    file = ws.merchants / "acme-apparel.yaml"
    file.chmod(0o640)
    printed = exported(ws.cli("export", "acme-apparel"))

    result = ws.cli("export", "acme-apparel", "--write")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"Wrote {file}" in result.stderr
    assert exported_text(file) == printed  # the live settings, adopted
    assert stat.S_IMODE(file.stat().st_mode) == 0o640
    assert not [p for p in ws.merchants.iterdir() if p.name.endswith(".tmp")]
    assert ws.cli("validate").exit_code == 0
    assert plan_changes(ws, ws.merchants, "acme-apparel")[0] == 0


def exported_text(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def test_write_keeps_the_file_when_the_new_yaml_does_not_validate(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    file = ws.merchants / "acme-apparel.yaml"
    before = file.read_bytes()
    monkeypatch.setattr("reconciler.commands.export.build",
                        lambda *args, **kwargs: Built("name: [unclosed\n"))
    result = ws.cli("export", "acme-apparel", "--write")
    assert result.exit_code == 1
    assert "does not validate" in result.stderr and "nothing was written" in result.stderr
    assert file.read_bytes() == before
    assert sorted(p.name for p in ws.merchants.iterdir()) == sorted(
        p.name for p in (ROOT / "merchants").iterdir())


def test_slug_with_out_dir_writes_that_file(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = ws.cli("export", "bright-basics", "--out-dir", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert [p.name for p in out.iterdir()] == ["bright-basics.yaml"]
    assert exported_text(out / "bright-basics.yaml")["shopify"]["shop"] == "bright-basics.myshopify.com"


@pytest.mark.parametrize("slug", ["../merchants/acme-apparel", "..", "acme/apparel", ".hidden",
                                  "Acme", "acme-apparel\n"])
def test_a_slug_argument_that_is_not_a_file_name_is_refused(ws: Workspace, tmp_path: Path,
                                                            slug: str) -> None:
    result = ws.cli("export", slug, "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "not a valid merchant slug" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_slug_from_live_state_cannot_reach_outside_the_out_dir(ws: Workspace, tmp_path: Path) -> None:
    assert ws.cli("plan").exit_code == 0  # seeds the embedded sandbox
    state = ws.root / ".reconciler" / "sandbox-state.json"
    data = json.loads(state.read_text())
    out = tmp_path / "found"
    hostile = "../" * 6 + str(ws.merchants).lstrip("/") + "/acme-apparel"
    record = json.loads(json.dumps(data["merchants"]["bright-basics"]))
    record["spec"]["slug"] = hostile
    data["merchants"][hostile] = record
    state.write_text(json.dumps(data))
    shipped = (ws.merchants / "acme-apparel.yaml").read_bytes()

    result = ws.cli("export", "--all", "--out-dir", str(out))
    assert result.exit_code == 1
    assert "is not a valid merchant slug" in result.stderr
    assert (ws.merchants / "acme-apparel.yaml").read_bytes() == shipped
    assert not out.exists() or not list(out.iterdir())


def test_the_runbook_adopts_with_write_not_a_redirect() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    assert not re.search(r"^reconciler export .*>", text, re.MULTILINE)  # no command redirects
    assert "reconciler export acme-apparel --target live --write" in text
