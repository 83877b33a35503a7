"""Hostile merchant files (issue 8, item 3): the loader and the CLI never crash, every
problem points at `file:line:column`, and nothing hostile is ever rendered, fetched or written.

Property-based (hypothesis) over random bytes, random YAML documents and
mutations of a real merchant file; table-driven over known attacks: YAML
bombs, object tags, deep nesting, huge files, odd encodings, template
injection, and return URLs that would send buyers elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import copy_profiles
from reconciler.cli import cli
from reconciler.config import LoadResult, load_merchants
from tests.e2e.conftest import SHIPPED, Sandbox, env_refs, serving, start_logged_sandbox
from tests.hardening.conftest import PROBLEM_LINE, run_checked

MERCHANT = env_refs((SHIPPED / "bright-basics.yaml").read_text(encoding="utf-8"), "BRIGHT")
PORTAL = "returns.brightbasics.com"
GOOD_URL = f"https://{PORTAL}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]"
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """A merchants directory holding the shipped profiles and nothing else."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "merchants"
        copy_profiles(SHIPPED / "profiles", directory / "profiles")
        yield directory


def load_bytes(data: bytes) -> LoadResult:
    with workspace() as directory:
        path = directory / "hostile.yaml"
        path.write_bytes(data)
        return load_merchants(directory)


def assert_well_formed(result: LoadResult) -> None:
    """Every problem is located, named and explained; none is an internal error."""
    for problem in result.problems:
        assert problem.line >= 1 and problem.column >= 1, problem
        assert re.fullmatch(r"[A-Z]\d{3}", problem.rule), problem
        assert problem.message.strip(), problem
        assert PROBLEM_LINE.match(problem.format()), problem.format()
        assert problem.rule != "F002", f"internal error surfaced as a problem: {problem.format()}"


def validate(text: str | bytes) -> tuple[int, str, str]:
    """`reconciler validate` in process on one file; returns (exit code, stdout, stderr)."""
    with workspace() as directory:
        path = directory / "hostile.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        result = CliRunner().invoke(cli, ["validate", "--merchants", str(directory), str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        assert lines and all(PROBLEM_LINE.match(line) for line in lines), result.stdout
    return result.exit_code, result.stdout, result.stderr


def with_setting(section: str, line: str) -> str:
    """The merchant file with `line` (indented YAML) added to the top of `section`."""
    return MERCHANT.replace(f"\n{section}:\n", f"\n{section}:\n{line}\n", 1)


# -- property-based ------------------------------------------------------------------------

@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash_the_loader(data: bytes) -> None:
    result = load_bytes(data)
    assert_well_formed(result)
    assert len(result.merchants) <= 1


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=40,
)


@FUZZ
@given(st.dictionaries(st.text(max_size=16), yaml_values, max_size=8))
def test_random_yaml_documents_are_reported_not_raised(document: dict) -> None:
    result = load_bytes(yaml.safe_dump(document, allow_unicode=True).encode("utf-8"))
    assert_well_formed(result)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(MERCHANT)), st.integers(0, 6),
                          st.text(max_size=6)), min_size=1, max_size=4))
def test_mutated_merchant_files_validate_cleanly(edits: list[tuple[int, int, str]]) -> None:
    text = MERCHANT
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut:]
    validate(text)


@FUZZ
@given(st.sampled_from(["name", "loop.instructions", "tiktok_shop.h5_redirect.evidence"]),
       st.text(max_size=80))
def test_any_text_in_a_templated_or_free_field_is_handled(field: str, value: str) -> None:
    section, _, key = field.rpartition(".")
    quoted = yaml.safe_dump({key.split(".")[-1]: value}, allow_unicode=True, width=10_000).strip()
    if not section:
        text = MERCHANT.replace("name: Bright Basics", quoted)
    elif section == "loop":
        text = with_setting("loop", "  " + quoted)
    else:
        text = MERCHANT.replace('    evidence: "AM Priya Shah approved by email to '
                                'ops@brightbasics.example, 2026-09-14"', "    " + quoted)
    validate(text)


# -- encodings, sizes, depth, bombs, tags ----------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"])
def test_odd_encodings_are_rejected_with_a_location(encoding: str) -> None:
    text = MERCHANT.replace("Bright Basics", "Brîght Básics “Ltd”" if encoding == "cp1252"
                            else "Brîght Básics")
    code, out, _ = validate(text.encode(encoding))
    assert code == 1 and "Y008" in out, out


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    code, out, _ = validate("\ufeff".encode() + MERCHANT.encode("utf-8"))
    assert code == 0, out


@pytest.mark.parametrize("text", [
    "a: " + "[" * 100_000,
    "a: " + "{b: " * 50_000,
    "".join(" " * i + f"k{i}:\n" for i in range(500)) + " " * 500 + "v",
], ids=["flow-lists", "flow-maps", "block-maps"])
def test_deep_nesting_fails_fast(text: str) -> None:
    started = time.monotonic()
    code, out, _ = validate(text)
    assert code == 1 and re.search(r"\b(Y001|Y006)\b", out), out[:500]
    assert time.monotonic() - started < 10


def test_huge_files_are_refused_before_parsing() -> None:
    started = time.monotonic()
    code, out, _ = validate(MERCHANT + "# padding\n" * 300_000)
    assert code == 1 and "Y007" in out, out
    assert time.monotonic() - started < 5


def test_many_values_under_the_size_limit_are_refused() -> None:
    code, out, _ = validate(MERCHANT + "".join(f"k{i}: {i}\n" for i in range(60_000)))
    assert code == 1 and re.search(r"\b(Y007|S0\d\d)\b", out), out[:500]


BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
)


@pytest.mark.parametrize("text", [
    BILLION_LAUGHS,
    "a: &x [*x]",
    "a: &a [" + ", ".join(["x"] * 200) + "]\nb: [" + ", ".join(["*a"] * 200) + "]",
], ids=["billion-laughs", "self-reference", "quadratic"])
def test_yaml_bombs_are_refused_fast(text: str) -> None:
    started = time.monotonic()
    code, out, _ = validate(text)
    assert code == 1 and re.search(r"\b(Y001|Y005|Y007)\b", out), out[:500]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("tagged", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {{a, b}}",
    "!custom value",
])
def test_object_tags_are_refused_and_never_constructed(tagged: str, tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    code, out, _ = validate(MERCHANT.replace("name: Bright Basics",
                                             "name: " + tagged.format(marker=marker)))
    assert code == 1 and re.search(r"\bY00[14]\b", out), out
    assert not marker.exists()


def test_overlong_numbers_are_located_problems() -> None:
    result = load_bytes(MERCHANT.replace("region: US", "region: " + "9" * 5000).encode())
    assert_well_formed(result)


# -- template injection ------------------------------------------------------------------------

INJECTIONS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}",
    "{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ self.__init__.__globals__ }}",
    "{{ request.application.__globals__ }}",
    "{{ config.items() }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for a in name %}{% for b in name %}{% for c in name %}x{% endfor %}{% endfor %}{% endfor %}",
    "{{ 'x' * 100000000 }}",
    "{{ name | attr('__class__') }}",
    "{% set x = 9**9**9 %}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{{ loop.portal_domain.__class__.__base__.__subclasses__() }}",
]


@pytest.mark.parametrize("template", INJECTIONS)
def test_template_injection_is_rejected(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    payload = template.replace("MARKER", str(marker))
    started = time.monotonic()
    code, out, _ = validate(with_setting("loop", "  instructions: " + json.dumps(payload)))
    assert code == 1 and re.search(r"\bT00\d\b", out), out
    assert time.monotonic() - started < 5
    assert not marker.exists()


# -- return URLs -------------------------------------------------------------------------------

BAD_URLS = {
    "user-info": f"https://attacker@{PORTAL}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
    "user-and-password": f"https://{PORTAL}:pw@evil.example/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
    "javascript": f"javascript:alert(1)//{PORTAL}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
    "data": "data:text/html;base64,PHNjcmlwdD4=?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
    "plain-http": f"http://{PORTAL}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
    "scheme-relative": f"//{PORTAL}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
    "cyrillic-a-in-host": GOOD_URL.replace("brightbasics", "brightb\u0430sics"),
    "punycode-host": GOOD_URL.replace(PORTAL, "xn--returns-brghtbasics-xyz.com"),
    "fullwidth-dot": GOOD_URL.replace("brightbasics.com", "brightbasics\uff0ecom"),
    "zero-width-space": GOOD_URL.replace(PORTAL, PORTAL + "\u200b"),
    "suffix-host": GOOD_URL.replace(PORTAL, PORTAL + ".evil.example"),
    "encoded-slash": GOOD_URL.replace(PORTAL, PORTAL + "%2F.evil.example"),
    "backslash": GOOD_URL.replace(PORTAL, PORTAL + "\\@evil.example"),
    "leading-space": " " + GOOD_URL,
    "trailing-newline": GOOD_URL + "\n",
    "header-injection": GOOD_URL + "\r\nLocation: https://evil.example/",
    "tab-in-host": GOOD_URL.replace(PORTAL, PORTAL + "\t"),
    "port": GOOD_URL.replace(PORTAL, PORTAL + ":8443"),
    "fragment": GOOD_URL + "#@evil.example",
    "email-parameter": GOOD_URL + "&email=[BUYER_EMAIL]",
    "no-placeholders": f"https://{PORTAL}/",
}


@pytest.mark.parametrize("name", BAD_URLS)
def test_return_urls_that_could_send_buyers_elsewhere_are_rejected(name: str) -> None:
    text = with_setting("tiktok_shop", f"  return_proxy:\n    return_url: {json.dumps(BAD_URLS[name])}")
    code, out, _ = validate(text)
    assert code == 1 and re.search(r"\bR01\d\b", out), f"{name}: {out}"
    assert "hostile.yaml:" in out


@pytest.mark.parametrize("domain", [
    "returns.brightb\u0430sics.com",  # Cyrillic 'а'
    "returns.brightbasics.com/@evil.example",
    "evil.example#returns.brightbasics.com",
    "returns.brightbasics.com:8443",
    "user@returns.brightbasics.com",
    "returns.brightbasics.com\n",
    "https://returns.brightbasics.com",
])
def test_look_alike_or_malformed_portal_domains_are_rejected(domain: str) -> None:
    code, out, _ = validate(MERCHANT.replace(f"portal_domain: {PORTAL}",
                                             f"portal_domain: {json.dumps(domain)}"))
    assert code == 1 and re.search(r"\bR0\d\d\b", out), out


# -- none of it ever writes ------------------------------------------------------------------

HOSTILE_FILES = {
    "bomb": BILLION_LAUGHS,
    "tag": MERCHANT.replace("name: Bright Basics", "name: !!python/object/apply:os.getpid []"),
    "injection": with_setting("loop", "  instructions: \"{{ ''.__class__.__mro__ }}\""),
    "redirect": with_setting("tiktok_shop", "  return_proxy:\n    return_url: "
                             f"\"https://{PORTAL}.evil.example/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]\""),
    "binary": "\x00\x01\x02",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with serving(start_logged_sandbox(tmp_path_factory.mktemp("hostile"))) as sandbox:
        yield sandbox


@pytest.mark.parametrize("name", HOSTILE_FILES)
def test_a_hostile_file_in_the_fleet_stops_plan_and_apply_before_any_request(served: Sandbox,
                                                                          name: str) -> None:
    path = served.merchants / f"zz-{name}.yaml"
    path.write_text(HOSTILE_FILES[name], encoding="utf-8")
    try:
        before = served.stats()
        for command in (["plan"], ["plan", "--format", "json", "--detailed-exitcode"],
                        ["apply", "--auto-approve"]):
            result = run_checked(served, *command, timeout=60)
            assert result.returncode == 1, result.stdout + result.stderr
            assert f"zz-{name}.yaml:" in result.stderr
            assert "nothing was read or written" in result.stderr
        after = served.stats()
        assert after["writes"] == before["writes"] == 0
        assert after["requests"] == before["requests"]
    finally:
        path.unlink()
