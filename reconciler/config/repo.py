"""The repository-level settings: `reconciler.toml` beside the merchants directory.

Today it holds the mass-change threshold (docs/operations.md explains the
defaults). A missing file means the defaults; a file that does not parse or
holds an unknown key or a bad value is a clear error naming file and line,
before anything is read or written.

    [apply.mass_change]
    max_fraction = 0.3   # refuse a run that changes more than 30% of the fleet ...
    min_merchants = 10   # ... and at least this many merchants
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.failures import UserError

FILE_NAME = "reconciler.toml"


class RepoConfigError(UserError):
    """The repository config file is malformed: one line naming file, line and key."""


@dataclass(frozen=True)
class MassChange:
    max_fraction: float = 0.3
    min_merchants: int = 10

    def refuses(self, changing: int, fleet: int) -> bool:
        return changing >= self.min_merchants and changing > self.max_fraction * fleet


@dataclass(frozen=True)
class RepoConfig:
    mass_change: MassChange = MassChange()
    path: Path | None = None  # the file read, if any


def config_path(merchants_dir: Path) -> Path:
    return merchants_dir.resolve().parent / FILE_NAME


def load_repo_config(merchants_dir: Path) -> RepoConfig:
    path = config_path(merchants_dir)
    if not path.is_file():
        return RepoConfig()
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RepoConfigError(f"{path}: {exc}") from None
    _only(data, {"apply"}, path, text, "")
    apply = data.get("apply", {})
    _table(apply, path, text, "apply")
    _only(apply, {"mass_change"}, path, text, "apply.")
    section = apply.get("mass_change", {})
    _table(section, path, text, "apply.mass_change")
    _only(section, {"max_fraction", "min_merchants"}, path, text, "apply.mass_change.")
    fraction = section.get("max_fraction", MassChange.max_fraction)
    minimum = section.get("min_merchants", MassChange.min_merchants)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
        raise _error(path, text, "max_fraction", "apply.mass_change.max_fraction must be a number from 0 to 1 (0.3 is 30%)")
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
        raise _error(path, text, "min_merchants", "apply.mass_change.min_merchants must be a whole number of at least 1")
    return RepoConfig(MassChange(float(fraction), minimum), path)


def _table(value: Any, path: Path, text: str, name: str) -> None:
    if not isinstance(value, dict):
        raise _error(path, text, name.rpartition(".")[2], f"{name} must be a table")


def _only(table: dict[str, Any], known: set[str], path: Path, text: str, prefix: str) -> None:
    for key in table:
        if key not in known:
            raise _error(path, text, key, f"unknown key {prefix}{key} "
                                          f"(known: {', '.join(sorted(known))})")


def _error(path: Path, text: str, key: str, message: str) -> RepoConfigError:
    """`path:LINE: message`, at the first line that sets or opens `key`."""
    pattern = re.compile(rf"^\s*(\[+\s*)?([\w.]*\.)?{re.escape(key)}\b")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return RepoConfigError(f"{path}:{number}: {message}")
    return RepoConfigError(f"{path}: {message}")
