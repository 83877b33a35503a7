"""bench.review's section of docs/performance.md survives bench.fleet rewriting the rest."""

from __future__ import annotations

from pathlib import Path

from bench import review

REPORT = "# Performance\n\n## 5,000 merchants\n\nnumbers\n\n## Reading the numbers\n\nnotes\n"


def test_the_section_goes_before_reading_the_numbers_and_replaces_itself(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(REPORT)
    review.write_section(f"{review.BEGIN}\nfirst\n{review.END}", doc)
    review.write_section(f"{review.BEGIN}\nsecond\n{review.END}", doc)
    text = doc.read_text()
    assert text.count(review.BEGIN) == 1 and "first" not in text
    assert text.index("second") < text.index("## Reading the numbers")


def test_a_fresh_report_keeps_the_last_review_numbers(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(review.place(REPORT, f"{review.BEGIN}\nmeasured\n{review.END}"))
    fresh = REPORT.replace("numbers\n", "new numbers\n", 1)
    kept = review.keep(fresh, doc)
    assert "new numbers" in kept and f"{review.BEGIN}\nmeasured\n{review.END}" in kept
    assert review.keep(REPORT, tmp_path / "missing.md") == REPORT
