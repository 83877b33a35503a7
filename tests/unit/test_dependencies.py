"""Every runtime dependency is bounded above, and what is installed is inside its range."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement  # installed with `build` (test extras)

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
RUNTIME = [Requirement(text) for text in
           tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]]


@pytest.mark.parametrize("requirement", RUNTIME, ids=str)
def test_a_runtime_dependency_has_a_tested_range(requirement: Requirement) -> None:
    operators = {spec.operator for spec in requirement.specifier}
    assert ">=" in operators and operators & {"<", "~="}, f"{requirement}: give it an upper bound"
    installed = metadata.version(requirement.name)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{requirement.name} {installed} is installed, outside {requirement.specifier}")
