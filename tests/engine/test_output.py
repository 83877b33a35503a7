from __future__ import annotations

from reconciler.engine import exitcodes
from reconciler.engine.document import build_document
from reconciler.output.markdown import GITHUB_LIMIT, MARKER, render_markdown
from reconciler.output.text import render_plan


def entry(slug: str, n_changes: int = 3, blocked: bool = False, error: str | None = None) -> dict:
    changes = [
        {"address": f"pipe17.integration.shopify.flows.f{i}", "action": "update",
         "before": "off", "after": "push", "destructive": False, "blocked_by": None}
        for i in range(n_changes)
    ]
    if blocked:
        changes.append({"address": "pipe17.integration.tiktok_shop.flows.orders", "action": "update",
                        "before": "pull", "after": "off", "destructive": True,
                        "blocked_by": "destructive"})
    return {"merchant": slug, "status": "error" if error else "ok", "error": error,
            "changes": [] if error else changes, "manual_actions": []}


def test_worst_code_ranking_follows_the_contract() -> None:
    assert exitcodes.worst([0, 2, 3]) == 3
    assert exitcodes.worst([2, 5, 3]) == 5
    assert exitcodes.worst([5, 4]) == 4
    assert exitcodes.worst([4, 1, 5]) == 1
    assert exitcodes.worst([]) == 0


def test_markdown_for_a_2000_merchant_plan_fits_one_github_comment() -> None:
    merchants = [entry(f"merchant-{i:05d}", n_changes=8, blocked=(i % 500 == 0)) for i in range(2000)]
    document = build_document("sandbox", merchants)
    text = render_markdown(document)
    assert len(text) <= GITHUB_LIMIT
    assert text.splitlines()[0].startswith("### ⛔ reconciler plan on `sandbox`")
    assert "2,000 merchants: 9 change(s)" not in text  # the blocked ones are a set of their own
    assert "1,996 merchants: 8 change(s), 0 manual action(s)" in text
    assert "4 merchants: 9 change(s), 0 manual action(s)" in text
    assert all(f"merchant-{i:05d}" in text for i in range(2000))
    assert document["checksum"] in text
    assert "reconciler apply --plan" in text
    assert text.rstrip().endswith(MARKER)


def test_markdown_puts_verdict_then_attention_then_tables() -> None:
    document = build_document("sandbox", [entry("a", blocked=True), entry("b", error="pipe17: down")])
    text = render_markdown(document)
    assert text.index("reconciler plan on") < text.index("Needs attention") < text.index("<details>")
    assert "pipe17: down" in text


def test_text_plan_names_target_first_and_ends_with_summary() -> None:
    document = build_document("http://127.0.0.1:8787", [entry("a", blocked=True), entry("b", 0)])
    lines = render_plan(document).splitlines()
    assert lines[0] == "Target: http://127.0.0.1:8787"
    assert any("[destructive: blocked" in line for line in lines)
    assert "b: no changes" in lines
    assert lines[-2].startswith("Plan: 0 to create, 4 to update")


def test_checksum_ignores_order_and_time_but_not_content() -> None:
    a = build_document("sandbox", [entry("a"), entry("b")])
    b = build_document("sandbox", [entry("b"), entry("a")])
    assert a["checksum"] == b["checksum"]
    c = build_document("sandbox", [entry("a"), entry("b", n_changes=2)])
    assert c["checksum"] != a["checksum"]
    assert build_document("live", [entry("a"), entry("b")])["checksum"] != a["checksum"]


def test_multi_line_text_changes_show_a_line_diff() -> None:
    change = {"address": "loop.portal.instructions", "action": "update",
              "before": "Enter your order number\nand email address.",
              "after": "Enter your TikTok order number\nand shipping zip code.",
              "destructive": False, "blocked_by": None}
    document = build_document("sandbox", [{"merchant": "a", "status": "ok", "error": None,
                                           "changes": [change], "manual_actions": []}])
    text = render_plan(document)
    assert "      - and email address." in text
    assert "      + and shipping zip code." in text


LONG_LINE = "Bought on TikTok Shop? Enter your TikTok Shop order number and the ZIP code " * 3


def _diff_lines_of(markdown: str, address: str) -> list[str]:
    """The lines of the fenced diff under `address` in a markdown plan."""
    lines = markdown.splitlines()
    start = lines.index(f"`{address}`:") + 2
    fence = lines[start].removesuffix("diff")
    end = lines.index(fence, start + 1)
    return lines[start + 1:end]


def test_text_and_markdown_show_the_same_diff_of_a_long_value() -> None:
    changes = [
        {"address": "loop.portal.instructions", "action": "create", "before": None,
         "after": LONG_LINE},
        {"address": "loop.portal.footer", "action": "delete", "before": "one\ntwo", "after": None},
        {"address": "tiktok_shop.return_proxy.note", "action": "update",
         "before": LONG_LINE, "after": LONG_LINE.replace("ZIP", "zip")},
    ]
    for change in changes:
        change.update(destructive=False, blocked_by=None)
    document = build_document("sandbox", [{"merchant": "a", "status": "ok", "error": None,
                                           "changes": changes, "manual_actions": []}])
    text, markdown = render_plan(document).splitlines(), render_markdown(document)
    for change in changes:
        shown = _diff_lines_of(markdown, change["address"])
        assert shown, change["address"]
        at = next(i for i, line in enumerate(text) if f" {change['address']}: " in line)
        assert [line.removeprefix("      ") for line in text[at + 1:at + 1 + len(shown)]] == shown
    assert _diff_lines_of(markdown, "loop.portal.instructions") == [f'+ "{LONG_LINE}"']
