"""Shared by the edge tests: the real CLI in process (CliRunner) on a copy of the shipped
merchants, with the embedded sandbox in a temporary state directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "merchants"


def copy_merchants(root: Path) -> Path:
    merchants = root / "merchants"
    if not merchants.exists():
        shutil.copytree(SHIPPED, merchants)
    return merchants


def invoke(root: Path, *args: str, env: dict[str, str | None] | None = None,
           input: str | None = None, color: bool = False) -> Result:
    """Run `reconciler ARGS` in process; no traceback may reach the user.

    `color`: keep escape codes as a terminal would get them (click strips them otherwise)."""
    environment: dict[str, str | None] = {
        "RECONCILER_STATE_DIR": str(root / ".reconciler"),
        "RECONCILER_TARGET": None,
        "RECONCILER_SANDBOX_SCENARIOS": None,
        "NO_COLOR": "1",
        **(env or {}),
    }
    result = CliRunner().invoke(cli, list(args), env=environment, input=input, color=color,
                                catch_exceptions=False)
    assert "Traceback" not in result.output, result.output
    return result
