"""The report builder: lower bounds, ratios, target verdicts and the Markdown (not timed)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import analysis, report


def plan_run(merchants: int, latency: int, parallelism: int, wall: float, *,
             throttle: bool = False, errored: int = 0, rss: float = 120.0,
             cpu: float = 1.0, read: float | None = None) -> dict[str, Any]:
    by_service = {"tiktok_shop": 2 * merchants, "pipe17": merchants, "shopify": merchants,
                  "loop": merchants}
    requests = sum(by_service.values())
    return {
        "merchants": merchants, "latency_ms": latency, "parallelism": parallelism,
        "throttle": throttle, "wall_seconds": wall, "cli_cpu_seconds": cpu,
        "cli_peak_rss_mb": rss, "sandbox_cpu_seconds": wall / 2, "exit_code": 1 if errored else 0,
        "requests": requests, "requests_by_service": by_service, "errored": errored,
        "errors": ["fleet-00001: loop: HTTP 429"] if errored else [],
        "per_merchant_ms": 1000 * wall / merchants,
        "requests_per_merchant": requests / merchants,
        "cli_cpu_ms_per_merchant": 1000 * cpu / merchants,
        **({} if read is None else {
            "phases": {"load": 0.6, "read": read, "output": 0.1}, "read_seconds": read,
            "read_per_merchant_ms": 1000 * read / merchants}),
    }


def results(*, throttle_errored: int = 0, wide_50ms_read: float = 2.4) -> dict[str, Any]:
    runs = []
    for latency, sequential_read, default_read in ((20, 2.5, 4.5), (50, 5.5, 11.0)):
        wide_read = 1.5 if latency == 20 else wide_50ms_read
        runs += [
            plan_run(50, latency, 1, sequential_read + 0.7, read=sequential_read),
            plan_run(1000, latency, 10, default_read + 1.5, read=default_read),
            plan_run(1000, latency, 64, wide_read + 1.5, read=wide_read),
        ]
    return {
        "date": "2026-11-26 12:00 UTC", "mode": "quick", "bench_seconds": 300.0,
        "machine": {"cpu": "Test CPU", "cores": 2, "memory_gb": 8.0, "python": "3.11.7",
                    "os": "Linux", "wakeup_cpu_us": 57.0},
        "sizes": [1000], "latencies": [20, 50], "sample": 50,
        "fleets": [{"merchants": 1000, "sandbox_startup_seconds": 3.0,
                    "validate": {"files": 1000, "wall_seconds": 0.9, "cpu_seconds": 0.8,
                                 "peak_rss_mb": 90.0, "exit_code": 0,
                                 "seconds_per_1000_files": 0.9},
                    "runs": runs}],
        "throttle": plan_run(1000, 20, 10, 9.0, throttle=True, errored=throttle_errored),
        "engine": [{"merchants": 10000, "load_seconds": 8.0, "diff_all_seconds": 1.5,
                    "diff_converged_seconds": 1.0, "document_seconds": 0.5, "changes": 130000,
                    "changes_left_when_converged": 0, "document_bytes": 1, "peak_rss_mb": 600.0}],
    }


def verdicts(document: dict[str, Any]) -> dict[str, bool | None]:
    return {t.name.split(":")[0]: t.met for t in analysis.targets(document)}


def test_lower_bound_is_waves_times_critical_path_times_latency() -> None:
    assert analysis.lower_bound_seconds(1000, 64, 2, 50) == pytest.approx(16 * 2 * 0.05)
    assert analysis.lower_bound_seconds(1000, 10, 2, 20) == pytest.approx(100 * 2 * 0.02)


def test_critical_path_is_the_busiest_services_requests_per_merchant() -> None:
    assert analysis.critical_path(plan_run(1000, 20, 64, 1.0)) == 2


def test_targets_met_and_not_met_follow_the_numbers() -> None:
    good = verdicts(results())
    assert all(good.values()) is False  # no 5,000-merchant fleet: memory is not measured
    assert good["At most 6 requests per merchant for a plan"] is True
    assert good["50 ms, 1,000 merchants, parallelism 64"] is True  # read 2.4 s vs bound 1.6 s
    assert good["20 ms"] is True  # reading 50 ms vs 1.5 ms per merchant
    assert good["Peak memory under 500 MB for a 5,000-merchant plan"] is None

    bad = verdicts(results(throttle_errored=3, wide_50ms_read=4.0))
    assert bad["50 ms, 1,000 merchants, parallelism 64"] is False
    assert bad["Under sandbox throttling, a fleet plan finishes with no failed merchant"] is False


def test_markdown_report_shows_machine_targets_tables_and_failures() -> None:
    text = report.render(results(throttle_errored=3))

    assert text.startswith("# Performance\n")
    assert "| CPU | Test CPU |" in text
    assert "| At most 6 requests per merchant for a plan | 5.00 requests per merchant" in text
    assert "## 1,000 merchants" in text
    # wall 3.9 s; read 2.4 s over the 1.6 s bound; the whole process over it too
    assert "| 50 ms | 64 | 1,000 | 1 | 3.90 s | 0.60 s | 2.40 s | 2.40 ms | 1.60 s | 1.50x | 2.44x |" in text
    assert "reading 2.40 s vs bound 1.60 s = 1.50x (whole process 3.90 s = 2.44x)" in text
    assert "**not met**" in text and "not measured" in text
    assert "fleet-00001: loop: HTTP 429" in text
    assert "make bench" in text
    assert "| 10,000 | 800 µs | 150 µs | 100 µs | 50 µs | 1.10 ms | 130,000 | 0 | 600 MB |" in text


def test_a_run_saved_without_phases_is_judged_on_its_wall_time() -> None:
    document = results()
    for run in document["fleets"][0]["runs"]:
        for key in ("phases", "read_seconds", "read_per_merchant_ms"):
            run.pop(key)
    # wide 50 ms wall is 3.9 s: over twice the 1.6 s bound once the reading is not known
    assert verdicts(document)["50 ms, 1,000 merchants, parallelism 64"] is False


def test_phase_timings_are_read_from_the_cli_log() -> None:
    from bench.measure import phase_cpu, phases

    stderr = ("INFO reconciler.timing: load files=1000 seconds=0.912 cpu_seconds=0.901\n"
              "Target: http://127.0.0.1:8787\n"
              "INFO reconciler.timing: read merchants=1000 parallelism=64 seconds=2.345 "
              "cpu_seconds=1.700\n"
              "WARNING reconciler.http.loop: something\n"
              "INFO reconciler.timing: output seconds=0.120 cpu_seconds=0.110\n")
    assert phases(stderr) == {"load": 0.912, "read": 2.345, "output": 0.12}
    assert phase_cpu(stderr) == {"load": 0.901, "read": 1.7, "output": 0.11}
    older = "INFO reconciler.timing: read merchants=10 parallelism=64 seconds=2.345\n"
    assert phases(older) == {"read": 2.345} and phase_cpu(older) == {}


def test_the_cli_cpu_is_split_by_phase_in_the_report() -> None:
    document = results()
    for fleet in document["fleets"]:
        for run in fleet["runs"]:  # 0.5, 2.0 and 0.1 ms per merchant in every run
            n = run["merchants"] / 1000
            run["phase_cpu"] = {"load": 0.5 * n, "read": 2.0 * n, "output": 0.1 * n}
    text = report.render(document)
    assert "Where the CLI's CPU goes" in text
    assert "load 0.50, read 2.00, output 0.10" in text


def test_engine_stages_on_a_small_fleet_converge(tmp_path) -> None:
    from pathlib import Path

    from bench.engine import run_stages
    from bench.generate import write_fleet

    profiles = Path(__file__).resolve().parents[2] / "merchants" / "profiles"
    measured = run_stages(write_fleet(tmp_path / "fleet", 20, profiles))
    assert measured["merchants"] == 20
    assert measured["changes"] > 20 * 5  # every declared setting differs from an empty service
    assert measured["changes_left_when_converged"] == 0
    assert measured["document_bytes"] > 0


def test_repeated_runs_are_judged_by_their_median_and_shown_with_their_range() -> None:
    document = results()
    runs = document["fleets"][0]["runs"]
    runs += [plan_run(1000, 50, 64, 6.5, read=5.0, cpu=9.0), plan_run(1000, 50, 64, 3.5, read=2.0)]
    # reads 2.4 (the first run), 5.0 and 2.0: the median is 2.4 s, within 2x of 1.6 s
    assert verdicts(document)["50 ms, 1,000 merchants, parallelism 64"] is True
    # CPU 1.0 ms per merchant in the median run; the 9 ms run does not decide
    assert verdicts(document)["CLI CPU at most 5 ms per merchant"] is True
    text = report.render(document)
    assert "| 50 ms | 64 | 1,000 | 3 (2.00–5.00 s) | 3.90 s |" in text


def test_cpu_that_grows_with_waiting_is_explained_with_the_wakeup_cost() -> None:
    document = results()
    for run in document["fleets"][0]["runs"]:
        if run["latency_ms"] == 50 and run["parallelism"] == 10:
            run["cli_cpu_seconds"], run["cli_cpu_ms_per_merchant"] = 6.0, 6.0
    text = report.render(document)
    assert "| CPU per event-loop wake-up from idle | 57 µs |" in text
    assert "1,000 merchants at 50 ms take 6.00 ms of CPU per merchant at parallelism 10" in text
    assert "(57 µs on this machine" in text


def test_cli_cpu_is_judged_at_parallelism_64_and_at_parallelism_10() -> None:
    document = results()
    assert verdicts(document)["CLI CPU at most 5 ms per merchant"] is True
    assert verdicts(document)["CLI CPU at most 7 ms per merchant"] is True
    for run in document["fleets"][0]["runs"]:
        if run["latency_ms"] == 50 and run["merchants"] == 1000:
            ms = 6.0  # over 5 ms, under 7 ms: p64 fails, p10 passes
            run["cli_cpu_seconds"], run["cli_cpu_ms_per_merchant"] = ms, ms
    judged = {t.name: t for t in analysis.targets(document)}
    wide = judged["CLI CPU at most 5 ms per merchant: 1,000 merchants, 50 ms, parallelism 64"]
    default = judged["CLI CPU at most 7 ms per merchant: 1,000 merchants, 50 ms, parallelism 10"]
    assert (wide.met, default.met) == (False, True)
    assert wide.measured == "6.00 ms per merchant"
    # a CPU cost measured only at 20 ms judges nothing
    document["fleets"][0]["runs"] = [r for r in document["fleets"][0]["runs"]
                                     if r["latency_ms"] == 20]
    assert verdicts(document)["CLI CPU at most 5 ms per merchant"] is None


def with_large_fleet(document: dict[str, Any], *, read: float, rss: float) -> dict[str, Any]:
    """A 10,000-merchant fleet planned once, at 50 ms and parallelism 64 only."""
    run = plan_run(10000, 50, 64, read + 9.0, read=read, rss=rss, cpu=30.0)
    document["sizes"].append(10000)
    document["fleets"].append({"merchants": 10000, "sandbox_startup_seconds": 12.0,
                               "runs": [run]})
    return document


def test_the_10000_merchant_fleet_is_judged_on_memory_and_on_the_bound() -> None:
    name_rss = "Peak memory under 800 MB for a 10,000-merchant plan"
    name_bound = "50 ms, 10,000 merchants, parallelism 64"
    assert verdicts(results())[name_rss] is None
    assert verdicts(results())[name_bound] is None

    # bound: ceil(10000 / 64) = 157 waves x 2 requests x 50 ms = 15.7 s
    good = verdicts(with_large_fleet(results(), read=30.0, rss=700.0))
    assert good[name_rss] is True and good[name_bound] is True
    bad = verdicts(with_large_fleet(results(), read=32.0, rss=900.0))
    assert bad[name_rss] is False and bad[name_bound] is False


def test_the_10000_merchant_fleet_shows_only_the_plan_it_ran() -> None:
    text = report.render(with_large_fleet(results(), read=30.0, rss=700.0))
    section = text[text.index("## 10,000 merchants"):text.index("## Offline validate")]
    assert "| 50 ms | 64 | 10,000 | 1 | 39.00 s |" in section
    assert "15.70 s | 1.91x |" in section
    assert "| 20 ms |" not in section and "at 20 ms" not in section
    assert ("| Peak memory under 800 MB for a 10,000-merchant plan | 700 MB peak RSS of the CLI "
            "process (worst of 1 plan(s)) | met |") in text
    assert "| 50 ms, 10,000 merchants, parallelism 64: within 2x of the latency lower bound | " \
           "reading 30.00 s vs bound 15.70 s = 1.91x" in text


def test_make_bench_plans_the_10000_merchant_fleet_once_at_50_ms_and_parallelism_64() -> None:
    from pathlib import Path

    from bench import fleet

    args = fleet.parse_args([])
    assert analysis.LARGE_FLEET in fleet.FULL_SIZES
    fleet_dir, sample = Path("fleet"), Path("sample")
    assert fleet._plans(args, 10000, fleet_dir, sample) == [(50, [(fleet_dir, 10000, 64)])]
    assert [(latency, [p for _, _, p in plans]) for latency, plans
            in fleet._plans(args, 5000, fleet_dir, sample)] == [(20, [1, 10, 64]), (50, [1, 10, 64])]


def test_a_machine_shared_with_other_work_is_said_under_the_targets() -> None:
    document = results()
    document["machine"]["load_average"], document["load_average_end"] = 0.5, 1.2
    assert "Other work shared the machine" not in report.render(document)
    document["load_average_end"] = 4.17
    text = report.render(document)
    note = text.index("Other work shared the machine during this run (load average up to 4.17 on 2")
    assert text.index("## Targets") < note < text.index("## Machine")


def test_a_fresh_report_keeps_the_last_backend_numbers(tmp_path) -> None:
    from bench import backend

    doc = tmp_path / "performance.md"
    section = f"{backend.BEGIN}\n## Coordination backend\n\nmeasured\n{backend.END}\n"
    doc.write_text("# Performance\n\nold numbers\n\n" + section)
    kept = backend.keep("# Performance\n\nnew numbers\n", doc)
    assert kept == "# Performance\n\nnew numbers\n\n" + section
    backend.write_section(doc, section.replace("measured", "measured again"))
    assert doc.read_text().count(backend.BEGIN) == 1
    assert backend.keep("# Performance\n", tmp_path / "missing.md") == "# Performance\n"
