"""The shipped workflows give every reference of the shipped merchant files a value, with one key.

Each step that runs the reconciler against live services gets the
environment the workflow gives it (workflow, job and step `env:`), with
`${{ secrets.NAME }}` standing for the repository's secret: the shipped
example files are encrypted to the example age key, which stands in for
SOPS_AGE_KEY here. Every reference then resolves as on a live target (no
sandbox fallback), and no workflow names a secret per merchant.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reconciler import sops
from reconciler.config import load_merchants
from reconciler.secrets import resolve
from tests.gitops.test_workflows import ROOT, WORKFLOWS, load

EXAMPLE_KEY = ROOT / "tests" / "fixtures" / "sops" / "example.agekey"
_SECRET = re.compile(r"^\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}$")


def example_key() -> str:
    return next(line for line in EXAMPLE_KEY.read_text().splitlines()
                if line.startswith("AGE-SECRET-KEY-"))


def reconciler_steps(workflow: Path) -> list[tuple[str, dict[str, Any]]]:
    """(job, environment) of each step that runs the reconciler against live services."""
    document = load(workflow)
    found = []
    for job_name, job in document["jobs"].items():
        for step in job.get("steps", []):
            if "--target live" in str(step.get("run", "")):
                env = {**(document.get("env") or {}), **(job.get("env") or {}),
                       **(step.get("env") or {})}
                found.append((f"{job_name}/{step.get('name', '?')}", env))
    return found


def given(env: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
    values = {}
    for name, value in env.items():
        match = _SECRET.match(str(value))
        values[name] = secrets[match.group(1)] if match else str(value)
    return values


STEPS = [(w.name, job, env) for w in WORKFLOWS for job, env in reconciler_steps(w)]


def test_every_workflow_that_talks_to_live_services_is_covered() -> None:
    assert {name for name, _, _ in STEPS} == {"plan.yml", "apply.yml", "drift.yml"}


@pytest.mark.parametrize(("workflow", "step", "env"), STEPS, ids=[f"{w}:{s}" for w, s, _ in STEPS])
def test_every_shipped_reference_resolves_under_the_workflow_environment(
        workflow: str, step: str, env: dict[str, Any]) -> None:
    environ = given(env, {"SOPS_AGE_KEY": example_key()})
    environ.update({"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    sops.files.clear()
    loaded = load_merchants(ROOT / "merchants")
    assert loaded.merchants and not loaded.problems
    for merchant in loaded.merchants:
        for name, ref in merchant.credentials.all().items():
            value = resolve(ref, sandbox=False, environ=environ)
            assert value, (merchant.slug, name)


def test_one_decryption_key_and_no_line_per_merchant() -> None:
    slugs = [m.slug for m in load_merchants(ROOT / "merchants").merchants]
    for workflow in WORKFLOWS:
        text = workflow.read_text(encoding="utf-8")
        assert set(re.findall(r"secrets\.([A-Za-z0-9_]+)", text)) <= {"SOPS_AGE_KEY"}, workflow.name
        for slug in slugs:
            assert slug.split("-")[0].upper() not in text, (workflow.name, slug)


def test_the_pull_request_plan_runs_base_code_on_the_pull_requests_merchant_files() -> None:
    document = load(ROOT / ".github" / "workflows" / "plan.yml")
    for job in ("plan", "comment"):
        first = document["jobs"][job]["steps"][0]
        assert first["uses"].startswith("actions/checkout@")
        assert first["with"]["ref"] == "${{ github.event.pull_request.base.sha || github.sha }}"
    steps = document["jobs"]["plan"]["steps"]
    head = steps[1]["with"]
    assert head["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert head["sparse-checkout"] == "merchants" and head["path"] == "pull-request"
    assert "mv pull-request/merchants merchants" in steps[2]["run"]
    assert "rm -rf pull-request" in steps[2]["run"]
