"""export where assumed contracts are unavailable: the file still validates, the notes say why."""

from __future__ import annotations

from pathlib import Path

from tests.export.harness import Workspace, exported


def test_export_names_the_settings_it_cannot_read(tmp_path: Path) -> None:
    space = Workspace(tmp_path, env={"RECONCILER_SANDBOX_MODE": "published-only"})
    result = space.cli("export", "acme-apparel")
    document = exported(result)
    assert document["extends"] == "tiktok-loop"
    assert "loop.portal.order_lookup: cannot be read (contract loop.portal_settings is not" in result.stdout
    assert "not set on Loop yet" not in result.stdout  # unknown is not "not set"
