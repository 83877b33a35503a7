"""`python -m bench.secrets`: measures real decryptions, and its section survives the fleet report."""

from __future__ import annotations

from pathlib import Path

from bench import secrets


def test_a_small_measurement_decrypts_every_file_and_renders_a_verdict() -> None:
    result = secrets.measure(3, runs=1, parallelisms=[1, 2])
    row = result["by_parallelism"][2]
    assert row["files"] == 4 and row["references"] == 3 * 6  # three merchants and the app's file
    assert row["median"] > 0
    text = secrets.section({**result, "cpus": 2})
    assert text.startswith(secrets.BEGIN) and text.endswith(secrets.END)
    assert "Target: at most 2 s for 1,000 merchants" in text


def test_the_fleet_report_keeps_the_secrets_section(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    block = f"{secrets.BEGIN}\n## Resolving SOPS secrets\nmeasured\n{secrets.END}"
    doc.write_text(secrets.place("# Performance\n\n## Reading the numbers\n", block))
    rendered = secrets.keep("# Performance\n\nnew numbers\n\n## Reading the numbers\nhow\n", doc)
    assert rendered.index("new numbers") < rendered.index("measured") < rendered.index("## Reading")
    again = secrets.place(rendered, block.replace("measured", "measured again"))
    assert again.count(secrets.BEGIN) == 1 and "measured again" in again
