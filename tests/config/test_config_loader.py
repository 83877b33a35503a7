"""Loader behaviour beyond the table of cases: shipped merchants, desired state,
secrets never echoed, limits, robustness and documentation of every rule id."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.config import RULES, Problem, load_merchant, load_merchants
from reconciler.config import loader as loader_module
from reconciler.config.yamldoc import MAX_BYTES
from reconciler.model import H5Redirect, SecretRef
from tests.e2e.conftest import env_refs
from tests.recipe import RECIPE

REPO = Path(__file__).resolve().parents[2]
MERCHANTS = REPO / "merchants"
# Copies of the shipped files, their secrets named as variables (no encrypted file beside them).
ACME = env_refs((MERCHANTS / "acme-apparel.yaml").read_text(), "ACME")
BRIGHT = env_refs((MERCHANTS / "bright-basics.yaml").read_text(), "BRIGHT")
PROFILE = env_refs((MERCHANTS / "profiles" / "tiktok-loop.yaml").read_text(), "APP")

STANDARD_INSTRUCTIONS = (
    "Bought on TikTok Shop? Enter your TikTok Shop order number and the ZIP code of your "
    "shipping address. Email will not work for TikTok orders.\n"
)


def _merchants_dir(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return tmp_path


def test_shipped_merchants_validate() -> None:
    outcome = CliRunner().invoke(cli, ["validate", "--merchants", str(MERCHANTS)])
    assert outcome.exit_code == 0, outcome.output
    assert "3 merchant file(s) valid" in outcome.output


def test_shipped_merchants_load() -> None:
    result = load_merchants(MERCHANTS)
    assert result.problems == []
    assert [m.slug for m in result.merchants] == ["acme-apparel", "bright-basics", "cosmo-kids"]


def test_settings_of_a_merchant_from_the_profile() -> None:
    bright = {m.slug: m for m in load_merchants(MERCHANTS).merchants}["bright-basics"]
    assert dict(bright.settings) == {
        **RECIPE,
        "tiktok_shop.return_proxy.return_url":
            "https://returns.brightbasics.com/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]",
        "loop.portal.instructions": STANDARD_INSTRUCTIONS,
    }
    assert bright.shopify_shop == "bright-basics.myshopify.com"
    assert bright.tiktok_shop_id == "7495098765432109876"
    assert bright.tiktok_region == "US"
    assert bright.loop_portal_domain == "returns.brightbasics.com"
    assert bright.credentials.pipe17_api_key == SecretRef(
        "secrets/bright-basics.sops.yaml", "sops", "pipe17.api_key")
    assert str(bright.credentials.tiktok_app_key) == \
        "sops:secrets/tiktok-app.sops.yaml#tiktok_shop.app_key"  # from the profile
    assert bright.credentials.tiktok_access_token is None
    assert str(bright.credentials.tiktok_refresh_token) == \
        "sops:secrets/bright-basics.sops.yaml#tiktok_shop.refresh_token"
    assert bright.h5_redirect.approved is True


def test_fully_spelled_out_and_profile_merchants_agree_on_the_recipe() -> None:
    merchants = {m.slug: m for m in load_merchants(MERCHANTS).merchants}
    acme, bright = merchants["acme-apparel"], merchants["bright-basics"]
    assert {k: v for k, v in acme.settings.items() if k in RECIPE} == RECIPE
    assert acme.settings.keys() == bright.settings.keys()


def test_unusual_merchant() -> None:
    cosmo = {m.slug: m for m in load_merchants(MERCHANTS).merchants}["cosmo-kids"]
    assert cosmo.h5_redirect == H5Redirect(approved=False, evidence=None)
    assert cosmo.tiktok_region == "GB"
    instructions = cosmo.settings["loop.portal.instructions"]
    assert instructions.startswith("Returning something from Cosmo Kids?\nOrdered through TikTok Shop UK?")


def test_positions_point_into_the_merchant_file() -> None:
    merchants = {m.slug: m for m in load_merchants(MERCHANTS).merchants}
    acme, bright = merchants["acme-apparel"], merchants["bright-basics"]
    acme_lines = ACME.splitlines()
    line, column = acme.positions["loop.portal.order_lookup"]
    assert acme_lines[line - 1][column - 1:] == "zip"
    assert acme_lines[acme.positions["loop.portal_domain"][0] - 1].strip().startswith("portal_domain:")
    bright_lines = (MERCHANTS / "bright-basics.yaml").read_text().splitlines()
    inherited = bright.positions["pipe17.integration.shopify.flows.orders"]
    assert bright_lines[inherited[0] - 1].startswith("extends:")  # from the profile


def test_desired_state_is_immutable() -> None:
    acme = load_merchants(MERCHANTS).merchants[0]
    with pytest.raises(TypeError):
        acme.settings["loop.portal.order_lookup"] = "email"  # type: ignore[index]
    with pytest.raises(TypeError):
        acme.document["loop"]["order_lookup"] = "email"  # type: ignore[index]


def test_merchants_do_not_share_profile_state(tmp_path: Path) -> None:
    bright = BRIGHT
    other = (bright.replace("bright-basics", "other").replace("7495098765432109876", "7495098765432100000")
             .replace("brightbasics", "other").replace("BRIGHT_", "OTHER_"))
    root = _merchants_dir(tmp_path, {
        "bright-basics.yaml": bright, "other.yaml": other,
        "profiles/tiktok-loop.yaml": PROFILE,
    })
    first, second = load_merchants(root).merchants
    assert first.settings["tiktok_shop.return_proxy.return_url"] != \
        second.settings["tiktok_shop.return_proxy.return_url"]


CANARIES = ["shpat_CANARY0123456789abcdef", "CANARYliteral-9f8e7d6c5b4a", "77777777777777"]


def test_literal_secrets_are_never_echoed(tmp_path: Path) -> None:
    text = (ACME.replace("env:ACME_SHOPIFY_ACCESS_TOKEN", CANARIES[0])
            .replace("env:ACME_LOOP_API_KEY", f'"{CANARIES[1]}"')
            .replace("env:ACME_PIPE17_API_KEY", CANARIES[2]))
    root = _merchants_dir(tmp_path, {"acme-apparel.yaml": text})
    result = load_merchants(root)
    assert {p.rule for p in result.problems} == {"C001"}
    assert len(result.problems) == 3
    for fmt in ("text", "json"):
        outcome = CliRunner().invoke(cli, ["validate", "--merchants", str(root), "--format", fmt])
        assert outcome.exit_code == 1
        for canary in CANARIES:
            assert canary not in outcome.output


def test_json_output(tmp_path: Path) -> None:
    root = _merchants_dir(tmp_path, {"acme-apparel.yaml": ACME.replace("order_lookup: zip", "order_lookup: email")})
    outcome = CliRunner().invoke(cli, ["validate", "--merchants", str(root), "--format", "json"])
    document = json.loads(outcome.output)
    assert document["valid"] is False
    [problem] = document["problems"]
    assert problem["rule"] == "R017"
    assert set(problem) == {"file", "line", "column", "rule", "message", "hint"}


def test_problem_format() -> None:
    problem = Problem("m/a.yaml", 3, 5, "R017", "Loop order lookup is email", "set it to zip")
    assert problem.format() == "m/a.yaml:3:5: R017 Loop order lookup is email (set it to zip)"
    assert problem.to_json()["line"] == 3


def test_object_tags_are_never_constructed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    root = _merchants_dir(tmp_path / "m", {
        "a.yaml": f'name: !!python/object/apply:os.system ["touch {marker}"]\n',
        "b.yaml": f"name: !!python/object/new:pathlib.Path ['{marker}']\n",
    })
    result = load_merchants(root)
    assert {p.rule for p in result.problems} == {"Y004"}
    assert not marker.exists()


def test_oversized_file(tmp_path: Path) -> None:
    big = ACME + "# " + "x" * MAX_BYTES + "\n"
    root = _merchants_dir(tmp_path, {"acme-apparel.yaml": big})
    [problem] = load_merchants(root).problems
    assert (problem.rule, problem.line) == ("Y007", 1)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    root = _merchants_dir(tmp_path, {"bomb.yaml": "\n".join(lines) + "\n"})
    [problem] = load_merchants(root).problems
    assert problem.rule == "Y005"


def test_unexpected_errors_become_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(loader_module, "render_templates", broken)
    root = _merchants_dir(tmp_path, {"acme-apparel.yaml": ACME})
    [problem] = load_merchants(root).problems
    assert (problem.rule, problem.line) == ("F002", 1)
    outcome = CliRunner().invoke(cli, ["validate", "--merchants", str(root)])
    assert outcome.exit_code == 1
    assert "Traceback" not in outcome.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file(tmp_path: Path) -> None:
    root = _merchants_dir(tmp_path, {"acme-apparel.yaml": ACME})
    (root / "acme-apparel.yaml").chmod(0)
    [problem] = load_merchants(root).problems
    assert problem.rule == "F001"


def test_load_merchant_single_file() -> None:
    result = load_merchant(MERCHANTS / "bright-basics.yaml", MERCHANTS)
    assert [m.slug for m in result.merchants] == ["bright-basics"]


def test_validate_a_profile_by_path(tmp_path: Path) -> None:
    root = _merchants_dir(tmp_path, {"profiles/p.yaml": "loop: {order_lookup: fax}\n"})
    outcome = CliRunner().invoke(
        cli, ["validate", "--merchants", str(root), str(root / "profiles" / "p.yaml")])
    assert outcome.exit_code == 1
    assert f"{root / 'profiles' / 'p.yaml'}:1:" in outcome.output


def test_a_fleet_of_profile_based_merchants_loads(tmp_path: Path) -> None:
    bright = BRIGHT
    files: dict[str, str | bytes] = {"profiles/tiktok-loop.yaml": PROFILE}
    for i in range(300):
        files[f"m{i}.yaml"] = (bright.replace("bright-basics.myshopify", f"m{i}.myshopify")
                               .replace("7495098765432109876", str(7495098765432100000 + i))
                               .replace("brightbasics", f"m{i}").replace("BRIGHT_", f"M{i}_"))
    root = _merchants_dir(tmp_path, files)
    result = load_merchants(root)
    assert len(result.merchants) == 300 and not result.problems  # load speed: see make bench


def test_every_rule_is_documented() -> None:
    text = (REPO / "docs" / "rules.md").read_text()
    missing = [rule for rule in RULES if f"| {rule} |" not in text]
    assert not missing


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_never_raises(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    result = load_merchants(tmp_path, [path])
    assert all(p.line >= 1 and p.column >= 1 for p in result.problems)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=len(ACME) - 1), st.sampled_from(["", ":", "\t", "{", "- ", "&a", "*a", "'"]))
def test_mangled_merchant_never_raises(tmp_path: Path, at: int, insert: str) -> None:
    path = tmp_path / "acme-apparel.yaml"
    path.write_text(ACME[:at] + insert + ACME[at + 1:])
    result = load_merchants(tmp_path, [path])
    assert all(p.rule in RULES for p in result.problems)


YAML_CASES = sorted(p for p in (REPO / "tests" / "cases" / "config").iterdir()
                    if p.name.startswith("yaml-"))


@pytest.mark.parametrize("case", YAML_CASES, ids=lambda p: p.name)
def test_the_pure_python_composer_reports_what_libyaml_does(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without libyaml the depth is bounded before composing; the problems are the same.

    (The two parsers word syntax errors differently: rule and place are compared.)
    """
    import yaml

    from reconciler.config import yamldoc

    def found() -> list[tuple[str, int, int, str]]:
        return [(p.file, p.line, p.column, p.rule)
                for p in load_merchants(case / "merchants").problems]

    with_libyaml = found()
    monkeypatch.setattr(yamldoc, "_LIBYAML", False)
    monkeypatch.setattr(yamldoc, "_LOADER", yaml.SafeLoader)
    assert found() == with_libyaml


def test_a_file_reached_twice_loads_once_and_links_are_followed(tmp_path: Path) -> None:
    """A merchant file named directly and through its directory, or through a link, is one merchant."""
    merchants = tmp_path / "merchants"
    merchants.mkdir()
    (merchants / "acme-apparel.yaml").write_text(ACME)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "acme-apparel.yaml").symlink_to(merchants / "acme-apparel.yaml")
    (merchants / "_scenario.yaml").write_text("not: a merchant\n")
    (merchants / "notes.txt").write_text("not yaml\n")
    (merchants / "dir.yaml").mkdir()  # a directory with a merchant-like name is not a file
    result = loader_module.load_merchants(
        merchants, [merchants, merchants / "acme-apparel.yaml", elsewhere])
    assert [m.slug for m in result.merchants] == ["acme-apparel"]
    assert result.problems == []


def test_templates_see_the_values_as_written_and_leave_the_document_alone() -> None:
    import copy

    from reconciler.config.templates import render_templates
    from reconciler.config.yamldoc import Located

    data = {
        "tiktok_shop": {"return_proxy": {"return_url": "https://r.example/{{ slug }}"}, "region": "US"},
        "loop": {"instructions": "Go to {{ tiktok_shop.return_proxy.return_url }}", "api_key": "env:K"},
        "shopify": {"shop": "a.myshopify.com"},
    }
    original = copy.deepcopy(data)
    rendered, problems = render_templates(Located(data), "acme")
    assert problems == []
    assert rendered.data["tiktok_shop"]["return_proxy"]["return_url"] == "https://r.example/acme"
    # The second template reads the first as written, not as rendered.
    assert rendered.data["loop"]["instructions"] == "Go to https://r.example/{{ slug }}"
    assert data == original  # the input document is never written
    assert rendered.data["shopify"] == data["shopify"]


def test_documents_extending_one_profile_share_nothing_with_it_or_each_other() -> None:
    from reconciler.config.profiles import merge
    from reconciler.config.yamldoc import Located

    profile = Located({"pipe17": {"integrations": {"loop": {"flows": {"orders": "pull"}}}},
                       "loop": {"order_lookup": "zip"}})
    first = merge(profile, Located({"loop": {"api_key": "env:A"}}))
    second = merge(profile, Located({"loop": {"api_key": "env:B"}}))
    first.data["pipe17"]["integrations"]["loop"]["flows"]["orders"] = "off"
    first.data["loop"]["order_lookup"] = "email"
    assert profile.data["pipe17"]["integrations"]["loop"]["flows"]["orders"] == "pull"
    assert second.data["pipe17"]["integrations"]["loop"]["flows"]["orders"] == "pull"
    assert second.data["loop"] == {"order_lookup": "zip", "api_key": "env:B"}


def test_a_text_seen_before_resolves_by_its_style_every_time() -> None:
    from reconciler.config.yamldoc import parse_text

    text = "a: true\nb: 'true'\nc: 12\nd: \"12\"\ne: off\nf: ~\ng: '~'\n"
    expected = {"a": True, "b": "true", "c": 12, "d": "12", "e": "off", "f": None, "g": "~"}
    for _ in range(3):  # later documents resolve from what earlier ones taught
        assert parse_text(text, "x.yaml").data == expected
    flipped = "b: true\na: 'true'\nd: 12\nc: \"12\"\n"
    assert parse_text(flipped, "y.yaml").data == {"b": True, "a": "true", "d": 12, "c": "12"}
