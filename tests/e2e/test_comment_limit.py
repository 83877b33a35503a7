"""Past GitHub's 65,536 characters the comment folds, and says how many merchants it does not name.

Driven through `reconciler show` of saved plans too large to plan in a unit of test time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import cmarkgfm
from click.testing import CliRunner
from cmarkgfm.cmark import Options

from reconciler.cli import cli
from reconciler.engine.document import build_document
from reconciler.output.groups import with_groups
from reconciler.output.markdown import GITHUB_LIMIT

URL = "tiktok_shop.return_proxy.return_url"


def entry(slug: str, after: str) -> dict:
    change = {"address": URL, "action": "update", "before": "https://old.example.com/",
              "after": after, "destructive": False, "blocked_by": None}
    return {"merchant": slug, "status": "ok", "error": None, "changes": [change],
            "manual_actions": []}


def show_markdown(tmp_path: Path, merchants: list[dict]) -> str:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(with_groups(build_document("sandbox", merchants))))
    result = CliRunner().invoke(cli, ["show", str(path), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    return result.stdout


def balanced(markdown: str) -> bool:
    page = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return page.count("<details>") == page.count("</details>") and "<hr />" in page


def test_one_huge_change_set_names_its_count_and_where_the_rest_are(tmp_path: Path) -> None:
    merchants = [entry(f"a-rather-long-merchant-name-{i:05d}", "https://new.example.com/")
                 for i in range(8_000)]
    text = show_markdown(tmp_path, merchants)
    assert len(text) <= GITHUB_LIMIT and balanced(text)
    assert "<summary>8,000 merchants: 1 change(s), 0 manual action(s)</summary>" in text
    named = len(re.findall(r"a-rather-long-merchant-name-\d{5}", text))
    left = int(re.search(r"and ([\d,]+) more: every name is in the `reconciler-plan` artifact",
                         text).group(1).replace(",", ""))
    assert named > 0 and named + left == 8_000


def test_thousands_of_distinct_change_sets_fold_and_count_every_merchant(tmp_path: Path) -> None:
    merchants = [entry(f"m-{i:05d}", f"https://new-{i}.example.com/") for i in range(3_000)]
    text = show_markdown(tmp_path, merchants)
    assert len(text) <= GITHUB_LIMIT and balanced(text)
    tables = text.count("<summary>m-")
    listed = len(re.findall(r"^- m-\d{5}: 1 change", text, flags=re.M))
    left = re.search(r"… ([\d,]+) more change set\(s\) of ([\d,]+) merchant\(s\): see the "
                     r"`reconciler-plan` artifact", text)
    assert left, text[-500:]
    assert tables + listed + int(left.group(2).replace(",", "")) == 3_000
    assert text.rstrip().endswith("<!-- reconciler-plan -->")
