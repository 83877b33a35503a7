"""`reconciler secrets set`: the value goes only to sops' standard input.

Not in any process's argv, not in a log line, not in any file in plain
text (the merchants directory, the working directory, the temporary
directory), not in the command's output.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import sops
from reconciler.cli import cli
from tests.e2e.conftest import write_fleet
from tests.e2e.test_onboarding import NEW, creation_rules
from tests.sopsfiles import age_key, decrypt

CANARY = "CANARY-secrets-set-5e0c1"


def files_holding(directory: Path, text: str) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and text in p.read_text(errors="replace")]


def test_the_value_reaches_sops_on_stdin_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    key = age_key()
    creation_rules(tmp_path, key)
    merchants = tmp_path / "merchants"
    write_fleet(merchants, 1, prefix="old")
    (merchants / "new-shop.yaml").write_text(NEW)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    for name in sops.KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.chdir(tmp_path)
    launched: list[tuple[list[str], bytes]] = []
    real_run = subprocess.run

    def recording(args, *rest, **options):
        launched.append((list(args), options.get("input") or b""))
        return real_run(args, *rest, **options)

    monkeypatch.setattr(subprocess, "run", recording)
    env = {**key.env, "RECONCILER_LOG": "debug"}
    for field in ("loop.api_key", "pipe17.api_key"):  # a new file, then a change to it
        result = CliRunner().invoke(cli, ["--merchants", str(merchants), "secrets", "set",
                                          "new-shop", field], input=f"{CANARY}-{field}\n", env=env)
        assert result.exit_code == 0, result.output
        assert CANARY not in result.output
        assert "Stored" in result.output and "new-shop.sops.yaml" in result.output
    assert [args[2] for args, _ in launched] == ["encrypt", "set"]
    assert all("--disable-version-check" in args for args, _ in launched)
    assert not [args for args, _ in launched if any(CANARY in a for a in args)]
    assert all(CANARY.encode() in given for _, given in launched)  # on standard input
    assert not files_holding(tmp_path, CANARY)
    assert not list(temporary.iterdir())
    captured = capfd.readouterr()
    assert CANARY not in captured.out + captured.err
    values = decrypt(merchants / "secrets" / "new-shop.sops.yaml", key)
    assert values["loop"]["api_key"] == f"{CANARY}-loop.api_key"
    assert values["pipe17"]["api_key"] == f"{CANARY}-pipe17.api_key"


def test_an_argument_is_never_taken_as_the_value(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--merchants", str(tmp_path), "secrets", "set", "x",
                                      "loop.api_key", CANARY])
    assert result.exit_code != 0  # a usage error: there is no VALUE argument
    assert "unexpected extra argument" in result.output.lower()
