"""Issue 14 point 1: the product works when installed from its sdist or wheel, not only
from the checkout; the pre-commit hooks it offers work in another repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from reconciler.config.schema import shipped_schema_path
from tests.clock import PINNED
from tests.edges.harness import ROOT, SHIPPED, copy_merchants, invoke


def test_the_package_ships_the_editors_schemas_byte_for_byte() -> None:
    for name in ("merchant.schema.json", "plan.schema.json"):
        editors = (ROOT / "schemas" / name).read_bytes()
        shipped = (ROOT / "reconciler" / "schemas" / name).read_bytes()
        assert shipped == editors, f"run `make schema`: reconciler/schemas/{name} differs"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist, and the wheel built from that sdist (as `python -m build` does), offline."""
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("src") / "reconciler"
    # A clean tree (no .venv, caches or build leftovers), as a fresh clone would be.
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".reconciler", "*.egg-info", "build", "__pycache__", ".*_cache",
        ".hypothesis", "out"))
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                             str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("reconciler-*.tar.gz")
    (wheel,) = out.glob("reconciler-*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def installed(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked into its own directory (its dependencies are this venv's)."""
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                             "--no-index", "--target", str(target), str(built["wheel"])],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return target


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    # The installed copy comes first on the path; this venv's editable install of the
    # checkout would otherwise be imported.
    env.update(PYTHONPATH=str(site), NO_COLOR="1", RECONCILER_STATE_DIR=str(cwd / ".state"),
               **PINNED)
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_sdist_carries_what_a_build_needs(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in",
                   "schemas/merchant.schema.json", "schemas/plan.schema.json",
                   "reconciler/schemas/merchant.schema.json", "reconciler/schemas/plan.schema.json",
                   "reconciler/config/generated/shape.py"):
        assert needed in names, needed
    with zipfile.ZipFile(built["wheel"]) as archive:
        wheel_names = set(archive.namelist())
    assert {"reconciler/schemas/merchant.schema.json",
            "reconciler/schemas/plan.schema.json"} <= wheel_names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel_names), wheel_names


def test_the_wheel_built_from_the_sdist_validates_plans_and_exports(installed: Path,
                                                                    tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "merchants")
    where = run_installed(installed, tmp_path, "-c", "x")  # usage error, but imports the package
    assert where.returncode == 1
    located = subprocess.run([sys.executable, "-c", "import reconciler; print(reconciler.__file__)"],
                             cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)},
                             capture_output=True, text=True, timeout=60)
    assert located.stdout.startswith(str(installed)), located.stdout

    validated = run_installed(installed, tmp_path, "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "3 merchant file(s) valid" in validated.stderr
    assert "F002" not in validated.stdout

    planned = run_installed(installed, tmp_path, "plan", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert planned.stdout.splitlines()[0] == "Target: sandbox"

    # No schemas/ beside this merchants directory: the modeline names the installed copy.
    exported = run_installed(installed, tmp_path, "export", "acme-apparel")
    assert exported.returncode == 0, exported.stderr
    first = exported.stdout.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema = Path(first.split("$schema=", 1)[1])
    assert schema.is_absolute() and schema.is_file()
    assert str(schema).startswith(str(installed))


def test_export_points_its_modeline_at_a_schema_that_exists(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path / "bare")
    bare = invoke(tmp_path, "--merchants", str(merchants), "export", "acme-apparel")
    assert bare.exit_code == 0, bare.output
    line = bare.stdout.splitlines()[0]
    assert line == f"# yaml-language-server: $schema={shipped_schema_path().as_posix()}"
    assert shipped_schema_path().is_file()

    repo = tmp_path / "repo"
    merchants = copy_merchants(repo)
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    beside = invoke(tmp_path, "--merchants", str(merchants), "export", "acme-apparel")
    line = beside.stdout.splitlines()[0]
    assert line == "# yaml-language-server: $schema=../schemas/merchant.schema.json"
    assert (merchants / "../schemas/merchant.schema.json").resolve().is_file()


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A commit of this repository's tree, which `pre-commit try-repo` installs as a hook."""
    repo = tmp_path_factory.mktemp("hooks") / "reconciler"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".reconciler", "*.egg-info", "build", "__pycache__", ".*_cache",
        ".hypothesis", "out"))
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "snapshot")
    return repo


def try_repo(hook_repo: Path, merchant_repo: Path, hook: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECONCILER_", "VIRTUAL_ENV"))}
    env["PRE_COMMIT_HOME"] = str(hook_repo.parent / "pre-commit-home")  # shared by this module
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), hook,
                           "--all-files"], cwd=merchant_repo, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_the_offered_pre_commit_hooks_work_in_a_merchant_repository(hook_repo: Path,
                                                                    tmp_path: Path) -> None:
    merchant_repo = tmp_path / "merchant-repo"
    shutil.copytree(SHIPPED, merchant_repo / "merchants")
    _git(merchant_repo, "init", "-q")
    _git(merchant_repo, "add", "-A")

    good = try_repo(hook_repo, merchant_repo, "reconciler-validate")
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    assert "Passed" in good.stdout

    # A new file that takes another merchant's shop: the cross-file rules catch it.
    copy = (merchant_repo / "merchants" / "acme-apparel.yaml").read_text(encoding="utf-8")
    (merchant_repo / "merchants" / "acme-copy.yaml").write_text(copy, encoding="utf-8")
    _git(merchant_repo, "add", "-A")
    bad = try_repo(hook_repo, merchant_repo, "reconciler-validate")
    assert bad.returncode == 1, bad.stdout[-3000:]
    assert "R030" in bad.stdout and "F002" not in bad.stdout

    everything = try_repo(hook_repo, merchant_repo, "reconciler-validate-all")
    assert "F002" not in everything.stdout
