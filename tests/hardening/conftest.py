"""Shared helpers for the hardening suite: fleets, plan documents, and output checks.

The served-sandbox harness itself lives in tests/e2e/conftest.py and is
imported, never copied.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Sandbox

# A problem line: `path/to/file.yaml:LINE:COLUMN: RULE message`.
PROBLEM_LINE = re.compile(r"^\S.*:\d+:\d+: [A-Z]\d{3} ")


def run_checked(sandbox: Sandbox, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run the CLI with a hard timeout; a Python traceback anywhere is a failure.

    (With RECONCILER_LOG=debug, failures are logged with their stack on purpose.)
    """
    result = sandbox.cli(*args, timeout=timeout)
    if sandbox.env.get("RECONCILER_LOG") != "debug":
        assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    return result


def plan_document(sandbox: Sandbox, *args: str, timeout: float = 90) -> tuple[int, dict[str, Any]]:
    result = run_checked(sandbox, "plan", "--format", "json", "--detailed-exitcode", *args,
                         timeout=timeout)
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def change_set(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Every change of a plan as (merchant, address, after), comparable across plans."""
    return {
        (entry["merchant"], change["address"], json.dumps(change["after"], sort_keys=True))
        for entry in document["merchants"]
        for change in entry["changes"]
    }


def merchant_entries(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["merchant"]: entry for entry in document["merchants"]}


def files_text(root: Path) -> str:
    """The text of every regular file under `root` (binary files decoded leniently)."""
    if not root.exists():
        return ""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(root.rglob("*"))
                     if p.is_file())
