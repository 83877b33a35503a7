"""scripts/rotated-secrets-pr.sh: rotated refresh tokens reach main as a pull request, still encrypted.

Each test builds a repository with a bare `origin` in a temporary directory,
changes a merchant's SOPS file the way a token rotation does (re-encrypted by
the real sops), and runs the script with a stand-in `gh` on PATH that records
its arguments. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from reconciler import sops
from tests.gitops.test_workflows import ROOT, load
from tests.sopsfiles import AgeKey, age_key, decrypt, encrypt

SCRIPT = ROOT / "scripts" / "rotated-secrets-pr.sh"
FILE = "merchants/secrets/acme-apparel.sops.yaml"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          timeout=60).stdout


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """(work tree, bare origin) with one encrypted merchant secrets file committed on main."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(origin), str(work))
    key = age_key()
    encrypt(work / FILE, {"tiktok_shop": {"refresh_token": "ROTATE-ME-old-token-0001"}}, key.public)
    git(work, "add", ".")
    git(work, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "init")
    git(work, "push", "--quiet", "origin", "main")
    (tmp_path / "key").write_text(key.secret)
    encrypt(work / FILE, {"tiktok_shop": {"refresh_token": "ROTATE-ME-new-token-0002"}}, key.public)
    return work, origin


def run(work: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "gh-calls"
    (bin_dir / "gh").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {calls}\n')
    (bin_dir / "gh").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "RUN_ID": "4242",
           "BASE": "main", "SOPS": sops.command()[0], "GIT_AUTHOR_DATE": "2026-12-01T00:00:00Z"}
    done = subprocess.run(["bash", str(SCRIPT)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    return done, calls


def test_a_rotated_file_is_pushed_to_a_branch_and_a_pull_request_is_opened(
        repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, origin = repo
    done, calls = run(work, tmp_path)
    assert done.returncode == 0, done.stderr
    branch = "rotated-secrets/4242"
    assert git(origin, "diff", "--name-only", "main", branch).split() == [FILE]
    pushed = git(origin, "show", f"{branch}:{FILE}")
    assert "ROTATE-ME" not in pushed and "ENC[AES256_GCM" in pushed  # still encrypted
    args = calls.read_text().splitlines()
    assert args[:6] == ["pr", "create", "--base", "main", "--head", branch]
    assert f"- `{FILE}`" in calls.read_text()  # the body names the file
    assert "ROTATE-ME" not in done.stdout + done.stderr + calls.read_text()


def test_the_pushed_file_decrypts_to_the_rotated_token(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, origin = repo
    assert run(work, tmp_path)[0].returncode == 0
    check = tmp_path / "check.sops.yaml"
    check.write_text(git(origin, "show", f"rotated-secrets/4242:{FILE}"))
    key = AgeKey((tmp_path / "key").read_text(), "")
    assert decrypt(check, key)["tiktok_shop"]["refresh_token"] == "ROTATE-ME-new-token-0002"


def test_a_plaintext_file_is_refused_and_nothing_is_pushed(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, origin = repo
    (work / FILE).write_text("tiktok_shop:\n    refresh_token: ROTATE-ME-plain-0003\n")
    done, calls = run(work, tmp_path)
    assert done.returncode == 1
    assert f"{FILE} is not SOPS-encrypted; nothing was committed" in done.stderr
    assert "rotated-secrets/4242" not in git(origin, "branch", "--list")
    assert not calls.exists()


def test_a_new_file_is_not_a_rotation(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, origin = repo
    git(work, "checkout", "--quiet", "--", FILE)
    (work / "merchants/secrets/new.sops.yaml").write_text("a: b\n")
    done, calls = run(work, tmp_path)
    assert done.returncode == 1 and "not rotated tokens" in done.stderr
    assert not calls.exists() and "rotated-secrets" not in git(origin, "branch", "--list")


def test_nothing_rotated_opens_nothing(repo: tuple[Path, Path], tmp_path: Path) -> None:
    work, _ = repo
    git(work, "checkout", "--quiet", "--", FILE)
    done, calls = run(work, tmp_path)
    assert done.returncode == 0 and "No rotated refresh tokens" in done.stdout
    assert not calls.exists()


@pytest.mark.parametrize(("workflow", "job"), [("apply.yml", "apply"), ("drift.yml", "drift")])
def test_workflows_open_the_pull_request_from_a_job_without_the_key(workflow: str, job: str) -> None:
    document = load(ROOT / ".github" / "workflows" / workflow)
    main = document["jobs"][job]
    assert main["outputs"]["rotated"] == "${{ steps.rotated.outputs.changed }}"
    assert main["permissions"]["contents"] == "read"  # the job with the key cannot push
    rotated = document["jobs"]["rotated-secrets"]
    assert rotated["needs"] == job and "environment" not in rotated
    assert rotated["if"] == f"${{{{ always() && needs.{job}.outputs.rotated == 'true' }}}}"
    assert rotated["permissions"] == {"contents": "write", "pull-requests": "write"}
    text = str(rotated)
    assert "secrets." not in text  # no decryption key where the token can push
    assert rotated["steps"][0]["with"]["ref"] == "${{ github.sha }}"
    assert any("scripts/rotated-secrets-pr.sh" in str(s.get("run", "")) for s in rotated["steps"])
