"""Issue 14 point 11: small things users reach for."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from reconciler.cli import cli
from reconciler.output.text import use_color
from tests.edges.harness import ROOT, copy_merchants, invoke


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = [path for path, _ in commands()]


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "reconciler" for p in COMMANDS])
def test_dash_h_is_help_everywhere(tmp_path: Path, path: tuple[str, ...]) -> None:
    short = invoke(tmp_path, *path, "-h")
    long = invoke(tmp_path, *path, "--help")
    assert short.exit_code == 0, short.output
    assert short.stdout == long.stdout
    assert "-h, --help" in short.stdout


def test_every_option_and_argument_has_help() -> None:
    missing = []
    for path, command in commands():
        doc = command.help or ""
        for param in command.params:
            if isinstance(param, click.Argument):
                # click arguments take no help=: the command's help names and explains them.
                if param.human_readable_name not in doc:
                    missing.append(f"{' '.join(path)} {param.human_readable_name}")
            elif not getattr(param, "help", None):
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert not missing, missing


def test_no_color_and_an_empty_no_color(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    assert use_color(True)
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: only a non-empty value disables color
    assert use_color(True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(True)
    monkeypatch.delenv("NO_COLOR")
    invoke(tmp_path, "--no-color", "validate", "--merchants", str(copy_merchants(tmp_path)),
           env={"NO_COLOR": None})
    assert not use_color(True)
    invoke(tmp_path, "validate", "--merchants", str(copy_merchants(tmp_path)), env={"NO_COLOR": None})
    assert use_color(True)  # the switch lasts one run


def test_no_color_keeps_escape_codes_off_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    monkeypatch.setattr("reconciler.commands.plan.stdout_is_tty", lambda: True)
    colored = invoke(tmp_path, "--merchants", str(merchants), "plan", env={"NO_COLOR": "", "TERM": None},
                     color=True)
    assert "\x1b[" in colored.stdout
    plain = invoke(tmp_path, "--merchants", str(merchants), "--no-color", "plan",
                   env={"NO_COLOR": "", "TERM": None}, color=True)
    assert "\x1b[" not in plain.stdout
    assert plain.stdout.splitlines()[0] == "Target: sandbox"


def test_plan_out_in_text_says_where_the_plan_went_and_how_to_apply_it(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    out = tmp_path / "reviewed" / "plan.json"
    result = invoke(tmp_path, "--merchants", str(merchants), "plan", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        f"Saved the plan to {out}. To apply exactly this plan: reconciler apply --plan {out}")
    assert json.loads(out.read_text())["format_version"] == "1"
    as_json = invoke(tmp_path, "--merchants", str(merchants), "plan", "--format", "json",
                     "--out", str(out))
    json.loads(as_json.stdout)  # machine-readable formats stay pure


@pytest.mark.parametrize("flag", ["--merchant", "--exclude"])
def test_an_unknown_slug_suggests_the_nearest(tmp_path: Path, flag: str) -> None:
    merchants = copy_merchants(tmp_path)
    result = invoke(tmp_path, "--merchants", str(merchants), "plan", flag, "acme-aparel")
    assert result.exit_code == 1
    assert "unknown merchant(s): acme-aparel (did you mean acme-apparel?)" in result.stderr
    far = invoke(tmp_path, "--merchants", str(merchants), "plan", flag, "zzz")
    assert "did you mean" not in far.stderr


def test_validate_file_runs_the_rules_across_files_against_the_directory(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    text = (merchants / "acme-apparel.yaml").read_text(encoding="utf-8")
    (merchants / "acme-copy.yaml").write_text(text.replace("name: ", "name: Copy of ", 1),
                                              encoding="utf-8")
    result = invoke(tmp_path, "--merchants", str(merchants), "validate",
                    str(merchants / "acme-copy.yaml"))
    assert result.exit_code == 1, result.output
    rules = set(re.findall(r": (R03\d) ", result.stdout))
    assert {"R030", "R031", "R032", "R033"} <= rules, result.stdout
    assert all(line.startswith(str(merchants / "acme-copy.yaml")) for line in result.stdout.splitlines())
    alone = invoke(tmp_path, "--merchants", str(merchants), "validate",
                   str(merchants / "bright-basics.yaml"))
    assert alone.exit_code == 0, alone.output


def test_validating_a_profile_says_so(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    profile = merchants / "profiles" / "tiktok-loop.yaml"
    result = invoke(tmp_path, "--merchants", str(merchants), "validate", str(profile))
    assert result.exit_code == 0, result.output
    assert f"{profile}: a profile, checked as a profile" in result.stderr
    assert "1 profile(s) valid" in result.stderr
    profile.write_text(profile.read_text(encoding="utf-8") + "bogus_key: 1\n", encoding="utf-8")
    broken = invoke(tmp_path, "--merchants", str(merchants), "validate", str(profile))
    assert broken.exit_code == 1
    assert f"{profile}: a profile, checked as a profile (every key optional): has problems" \
        in broken.stderr
    as_json = invoke(tmp_path, "--merchants", str(merchants), "validate", "--format", "json",
                     str(profile))
    assert json.loads(as_json.stdout)["profiles"] == [str(profile)]


@pytest.mark.parametrize("command", [("validate",), ("plan",), ("apply", "--auto-approve"),
                                     ("verify",), ("sandbox", "serve"), ("export", "acme-apparel")])
def test_a_missing_or_empty_merchants_directory_is_a_clear_error(tmp_path: Path,
                                                                 command: tuple[str, ...]) -> None:
    missing = tmp_path / "nowhere"
    result = invoke(tmp_path, "--merchants", str(missing), *command)
    assert result.exit_code == 1, result.output
    assert f"no merchants directory {missing}/" in result.stderr
    empty = tmp_path / "empty"
    (empty / "profiles").mkdir(parents=True)
    result = invoke(tmp_path, "--merchants", str(empty), *command)
    assert result.exit_code == 1, result.output
    assert f"merchants directory {empty}/ holds no merchant files" in result.stderr


@pytest.mark.parametrize("command,fmt", [
    (("plan",), "text"), (("plan", "--format", "json"), "json"),
    (("plan", "--format", "markdown"), "markdown"), (("apply", "--auto-approve"), "text"),
    (("verify",), "text"), (("verify", "--format", "json"), "json")])
def test_the_target_line_comes_first_even_when_the_files_are_bad(tmp_path: Path,
                                                                 command: tuple[str, ...],
                                                                 fmt: str) -> None:
    merchants = copy_merchants(tmp_path)
    (merchants / "broken.yaml").write_text("extends: tiktok-loop\nname: [unclosed\n", encoding="utf-8")
    result = invoke(tmp_path, "--merchants", str(merchants), *command)
    assert result.exit_code == 1
    stream = result.stdout if fmt == "text" else result.stderr
    assert stream.splitlines()[0] == "Target: sandbox", result.output
    assert result.output.count("Target: sandbox") == 1
    assert "broken.yaml" in result.stderr


def test_the_target_line_is_printed_once_on_success(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    for command in (("plan",), ("apply", "--auto-approve"), ("verify", "--exclude", "cosmo-kids")):
        result = invoke(tmp_path, "--merchants", str(merchants), *command)
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[0] == "Target: sandbox"
        assert result.output.count("Target: ") == 1, result.output


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_CODE = re.compile(r"`([^`\s]+)`")
_MARKDOWN_FILE = re.compile(r"(?<![\w./-])([\w./-]*[\w-]\.md)\b")
_EXTENSIONS = (".md", ".py", ".json", ".yaml", ".yml", ".sh", ".toml", ".txt", "/")
# Paths the product creates at run time or a user may add: cited, never shipped.
_RUNTIME = (".reconciler/", "bench/out/", "merchants/_sandbox.yaml", "/")


def cited_paths(doc: Path) -> set[str]:
    prose = _FENCE.sub("", doc.read_text(encoding="utf-8"))
    found = set(_LINK.findall(prose)) | set(_MARKDOWN_FILE.findall(prose))
    found |= {c.split("::")[0] for c in _CODE.findall(prose)
              if "/" in c and c.split("::")[0].endswith(_EXTENSIONS)}
    return {p for p in found if not p.startswith(("http://", "https://", "mailto:", *_RUNTIME))
            and not any(ch in p for ch in "<>{}*$[]")}


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_path_a_doc_cites_exists(doc: Path) -> None:
    missing = sorted(p for p in cited_paths(doc)
                     if not (doc.parent / p).exists() and not (ROOT / p).exists())
    assert not missing, f"{doc.relative_to(ROOT)} cites paths that do not exist: {missing}"


def test_the_design_is_in_the_repository_and_cited_by_the_code() -> None:
    assert (ROOT / "docs" / "design.md").is_file()
    cited = [p for p in (ROOT / "reconciler").rglob("*.py")
             if re.search(r"(?<![/\w])DESIGN\.md", p.read_text(encoding="utf-8"))]
    assert not cited, cited
