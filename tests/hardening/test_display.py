"""What a reviewer reads is what is there: values in full, diffs of long ones, controls escaped.

Plans used to cut values at 60 (text) and 80 (markdown) characters, so a
sentence changed near its end showed the same before and after; and a value
read from a service went to the terminal raw, escape sequences included.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.sandbox.store import StateStore
from tests.clock import PINNED
from tests.e2e.conftest import SHIPPED

BEFORE = ("Bought on TikTok Shop? Enter your TikTok Shop order number and the ZIP code of your "
          "shipping address. Email will not work for orders placed on TikTok.")
AFTER = ("Bought on TikTok Shop? Enter your TikTok Shop order number and the ZIP code of your "
         "shipping address. Email will never work for orders placed on TikTok.")
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\u202e"  # write the clipboard, clear the screen, flip text


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SHIPPED, tmp_path / "merchants")
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("RECONCILER_") or name == "NO_COLOR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / ".reconciler"))
    for name, value in PINNED.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def reconciler(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result.exit_code, result.stdout


def live_instructions(fleet: Path, text: str) -> None:
    """Set acme-apparel's Loop portal instructions as the service holds them."""
    store = StateStore(fleet / ".reconciler" / "sandbox-state.json")
    data = store.read()  # the snapshot and its log (a token refresh logs the merchant's record)
    data["merchants"]["acme-apparel"]["loop"]["portal"]["instructions"] = text
    store.path.write_text(json.dumps(data))
    store.log_path.unlink(missing_ok=True)


def desired_instructions(fleet: Path, text: str) -> None:
    path = fleet / "merchants" / "acme-apparel.yaml"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  instructions:"))
    lines[at:at + 2] = [f"  instructions: {json.dumps(text)}"]
    path.write_text("\n".join(lines) + "\n")


def test_a_sentence_changed_near_its_end_shows_in_full_with_a_word_diff(fleet: Path) -> None:
    assert reconciler("plan")[0] == 0
    live_instructions(fleet, BEFORE)
    desired_instructions(fleet, AFTER)
    code, text = reconciler("plan", "--merchant", "acme-apparel")
    assert code == 0, text
    assert f'- "{BEFORE}"' in text and f'+ "{AFTER}"' in text
    assert "Email will [-not-]{+never+} work" in text  # the word diff says what changed

    code, markdown = reconciler("plan", "--merchant", "acme-apparel", "--format", "markdown")
    assert code == 0, markdown
    assert f'- "{BEFORE}"' in markdown and f'+ "{AFTER}"' in markdown
    assert "```diff" in markdown and "[-not-]{+never+}" in markdown


def test_multi_line_values_show_a_line_diff(fleet: Path) -> None:
    assert reconciler("plan")[0] == 0
    live_instructions(fleet, BEFORE + "\nSecond line.\n")
    desired_instructions(fleet, BEFORE + "\nAnother second line.\n")
    code, text = reconciler("plan", "--merchant", "acme-apparel")
    assert code == 0, text
    assert f"        {BEFORE}" in text  # the unchanged line, in full
    assert "      - Second line." in text and "      + Another second line." in text


def test_a_word_changed_in_a_long_line_of_a_block_is_pointed_out(fleet: Path) -> None:
    assert reconciler("plan")[0] == 0
    live_instructions(fleet, BEFORE + "\n")
    desired_instructions(fleet, AFTER + "\n")
    code, text = reconciler("plan", "--merchant", "acme-apparel")
    assert code == 0, text
    assert f"      - {BEFORE}" in text and f"      + {AFTER}" in text
    assert "      ~ " in text and "[-not-]{+never+}" in text


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_control_characters_from_a_service_are_shown_escaped(fleet: Path, fmt: str) -> None:
    assert reconciler("plan")[0] == 0
    live_instructions(fleet, BEFORE + HOSTILE)
    code, text = reconciler("plan", "--merchant", "acme-apparel", "--format", fmt)
    assert code == 0, text
    assert not any(c in text for c in "\x1b\x07\u202e"), "a raw control character reached the terminal"
    assert "\\u202e" in text and ("\\u001b]52" in text or "\\x1b]52" in text)


def test_control_characters_in_apply_output_are_shown_escaped(fleet: Path) -> None:
    assert reconciler("plan")[0] == 0
    live_instructions(fleet, BEFORE + HOSTILE)
    code, text = reconciler("apply", "--auto-approve", "--merchant", "acme-apparel")
    assert code == 0, text
    assert not any(c in text for c in "\x1b\x07\u202e")
    assert "\\u202e" in text
