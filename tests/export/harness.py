"""The real CLI, in process, against the embedded sandbox in a temporary state directory."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "merchants"
SLUGS = ("acme-apparel", "bright-basics", "cosmo-kids")


@dataclass
class Workspace:
    root: Path
    scenarios: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.merchants = self.root / "merchants"
        if not self.merchants.exists():
            shutil.copytree(SHIPPED, self.merchants)
            # A repository's layout: the editors' schema beside the merchants (the modeline's target).
            shutil.copytree(ROOT / "schemas", self.root / "schemas")

    def cli(self, *args: str, merchants: Path | None = None) -> Result:
        env: dict[str, str | None] = {
            "RECONCILER_STATE_DIR": str(self.root / ".reconciler"),
            "RECONCILER_TARGET": None,
            "RECONCILER_SANDBOX_SCENARIOS": self.scenarios,
            "NO_COLOR": "1",
            **self.env,
        }
        command = ["--merchants", str(merchants or self.merchants), *args]
        result = CliRunner().invoke(cli, command, env=env, catch_exceptions=False)
        assert "Traceback" not in result.output, result.output
        return result

    def directory_with(self, name: str, files: dict[str, str]) -> Path:
        """A merchants directory holding the shipped profiles and `files` (slug -> YAML)."""
        directory = self.root / name
        shutil.copytree(SHIPPED / "profiles", directory / "profiles", dirs_exist_ok=True)
        # The shipped files' encrypted secrets, which exported references point at.
        shutil.copytree(SHIPPED / "secrets", directory / "secrets", dirs_exist_ok=True)
        for slug, text in files.items():
            (directory / f"{slug}.yaml").write_text(text, encoding="utf-8")
        return directory


def exported(result: Result) -> dict:
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0].startswith("Target: ")
    assert result.stdout.startswith("# yaml-language-server: $schema=../schemas/merchant.schema.json\n")
    return yaml.safe_load(result.stdout)
