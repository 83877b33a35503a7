"""Running the CLI as a subprocess in a scratch directory, on the embedded sandbox or a served one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.conftest import SHIPPED, clean_env


@dataclass(frozen=True)
class Runner:
    """One operator's machine: its own state directory, merchants and environment."""

    root: Path
    merchants: Path
    env: dict[str, str]
    target: str | None = None  # None: the embedded sandbox in the state directory

    @property
    def state_dir(self) -> Path:
        return Path(self.env["RECONCILER_STATE_DIR"])

    def command(self, *args: str) -> list[str]:
        command = [sys.executable, "-m", "reconciler", "--merchants", str(self.merchants)]
        if self.target:
            command += ["--target", self.target]
        return [*command, *args]

    def cli(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args), capture_output=True, text=True,
                                timeout=timeout, env={**self.env, **(env or {})}, cwd=self.root)
        assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
        return result

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.root)

    def plan(self, *args: str) -> dict[str, Any]:
        result = self.cli("plan", "--format", "json", *args)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout)

    def history(self, *args: str) -> list[dict[str, Any]]:
        result = self.cli("history", "--format", "json", *args)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout)


def make_runner(root: Path, merchants_src: Path = SHIPPED, target: str | None = None,
                **env: str) -> Runner:
    root.mkdir(parents=True, exist_ok=True)
    merchants = root / "merchants"
    if not merchants.exists():
        shutil.copytree(merchants_src, merchants)
    env = {"RECONCILER_STATE_DIR": str(root / ".reconciler"), **env}
    return Runner(root, merchants, clean_env(**env), target)


def changes_of(document: dict[str, Any]) -> int:
    return sum(len(m["changes"]) for m in document["merchants"])
