"""bench/: the generator writes the demo's mess, and the benchmark runs end to end (tiny size).

No timing is asserted: the point is that `make bench` works and measures what it says.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from analysis import ingest
from tests.conftest import fetch

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (bench/ is a folder of scripts)
import goals  # noqa: E402
import run  # noqa: E402

TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("bench") / "intake.csv"
    return path, generate.generate(path, 2000, today=TODAY)


def test_generator_writes_the_intake_columns_and_the_repeats(export):
    path, info = export
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == generate.COLUMNS
    # 2,000 cases plus the identical repeats (hash(i, 99) % 1000 < 3: about 0.3%, here a handful)
    assert info["cases"] == 2000
    assert info["rows"] == len(rows) > 2000
    assert len({r["case_id"] for r in rows}) == 2000
    # the same input gives the same file
    again = path.with_name("again.csv")
    generate.generate(again, 2000, today=TODAY)
    assert again.read_bytes() == path.read_bytes()


def test_generator_spells_values_the_demo_ways(export):
    path, _ = export
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    amounts = [r["order_value"] for r in rows]
    assert any(a.startswith("$") and "," in a for a in amounts)  # $12,500.00
    assert any(a.startswith("USD ") for a in amounts)  # USD 12,500.5
    assert any(a.endswith(" USD") for a in amounts)  # 12,500.00 USD
    assert any(a.startswith("€") for a in amounts)  # €1.234,56
    assert any(a.startswith("£") for a in amounts)  # £99.00
    assert any("," in a and "." not in a and a[-3] == "," for a in amounts if len(a) > 3)  # 400,50
    dates = [r["opened_date"] for r in rows]
    assert any("/" in d for d in dates) and any(", " in d for d in dates)  # 2026/03/05, Mar 5, 2026
    assert {"rejected", "denied", "pending"} <= {r["outcome"].strip().lower() for r in rows}
    assert len({r["currency"] for r in rows}) >= 6
    # amounts with cents are mostly distinct, as in real exports
    assert len(set(amounts)) > 0.9 * len(rows)


def test_generated_export_loads_with_about_one_percent_quarantined(export, tmp_path):
    path, info = export
    result = ingest.ingest_file(path, tmp_path / "cases.duckdb", today=TODAY)
    assert result.ok and result.adds_up()
    assert result.rows_read == info["rows"]
    assert result.repeats >= info["rows"] - info["cases"]
    # bad rows are ~1.12% of the cases by construction (14 kinds x 0.08%); allow sampling noise
    assert 0.002 * info["cases"] < result.quarantined < 0.03 * info["cases"]
    assert result.inserted == info["cases"] - result.quarantined
    reasons = fetch(tmp_path / "cases.duckdb", "SELECT reason FROM quarantine")
    assert any("opened_date" in r[0] for r in reasons)


@pytest.mark.slow
def test_bench_runs_end_to_end_at_a_tiny_size(tmp_path, monkeypatch):
    out = tmp_path / "results.json"
    # a group measured by an earlier run, kept with its date (and its goals marked so)
    out.write_text(json.dumps({"groups": {"test": _group("2026-12-06T10:00:00", TEST)}}))
    # the report and the empty-notebook floor start Jupyter kernels: measured, but not here
    monkeypatch.setattr(run, "REPORTS", False)
    argv = ["--tasks", "2000", "--repeat", "1", "--out", str(out), "--work", str(tmp_path / "w")]
    assert run.main(argv) == 0
    results = json.loads(out.read_text())
    tasks = results["groups"]["2000"]["tasks"]
    for task in ("floor", "ingest", "reload", "pandas", "metrics_quarter", "metrics_all_function"):
        assert tasks[task]["n"] == 1
        assert tasks[task]["wall_s"]["median"] > 0
        assert tasks[task]["peak_rss_mb"]["max"] > 10
    assert "inserted" in tasks["ingest"]["counts"]
    # the metrics' per-supplier passes, timed as bare SQL beside the metrics they bound
    for task in ("passes_quarter", "passes_all"):
        parts = tasks[task]["parts"]
        assert set(parts) == {"decided_cases", "by_supplier", "by_supplier_and_pattern"}
        assert tasks[task]["inner_s"]["median"] == pytest.approx(
            parts["by_supplier"] + parts["by_supplier_and_pattern"], abs=2e-3
        )
    # the reload of the same file changes nothing: every case unchanged
    assert "inserted 0 + updated 0" in tasks["reload"]["counts"]
    assert results["machine"]["nproc"] >= 1
    # the earlier group is kept as it was; its goals say they were not run this time
    assert results["groups"]["test"] == _group("2026-12-06T10:00:00", TEST)
    assert (
        "`make test` on 2 cores (goal under 240 s): 300 s (5.0 min); floor -: NOT met "
        "[NOT RUN THIS TIME: recorded 2026-12-06]"
    ) in results["goals"]
    assert not (tmp_path / "w" / "intake_2000.csv").exists()  # scratch removed unless --keep


def _timed(wall: float, inner: float | None = None, parts: dict | None = None, n: int = 1) -> dict:
    runs = [{"wall_s": wall, "peak_rss_mb": 100.0} for _ in range(n)]
    for r in runs:
        if inner is not None:
            r["inner_s"] = inner
        if parts is not None:
            r["parts"] = parts
    return run.summarise(runs)


def _group(date: str, tasks: dict) -> dict:
    return {"date": date, "tasks": tasks}


TEST = {"make_test": _timed(300.0), "make_test_fast": _timed(45.0)}
# 1M: ingest 9 s against a 3 s floor (3.00x); metrics of a quarter 2.5 s of work; the report
# 12 s against a 2 s empty notebook, so 10 s above it, of which imports 0.5 + export 0.7 +
# trailing passes 1.3 = 2.5 s; the reload 6 s against the first load's 9 s
ONE_MILLION = {
    "floor": _timed(3.0),
    "ingest": _timed(9.0),
    "reload": _timed(6.0),
    "metrics_quarter_function": _timed(3.0, 2.5),
    "passes_quarter": _timed(1.6, 1.5, {"by_supplier": 0.4, "by_supplier_and_pattern": 1.1}),
    "notebook_floor": _timed(2.0),
    "report_month": _timed(12.0),
    "report_parts": _timed(2.0, 1.2, {"imports": 0.5, "export": 0.7}),
    "passes_trailing": _timed(1.4, 1.3),
}
# the 5,000-case report: 13.5 s against the empty notebook and its export's 11.0 s (+2.5 s, three
# runs each); the batch of 10 reports 40 s against one report of the same store's 12.5 s (3.20x)
SMALL = {
    "notebook_floor_export": _timed(11.0, n=3),
    "report_month": _timed(13.5, n=3),
    "report_month_each_store": _timed(12.5),
    "each_category": {**_timed(40.0), "reports": 10},
}


def test_goals_state_each_goal_with_its_value_its_floor_and_when_it_was_measured():
    groups = {
        "small": _group("2026-12-07T09:30:00", SMALL),
        "1000000": _group("2026-12-07T09:40:00", ONE_MILLION),
        "test": _group("2026-12-06T10:00:00", TEST),
    }
    lines = goals.report(groups, run_now={"small", "1000000"})
    assert (
        lines[0]
        == "`make demo` on a fresh clone (goal under 90 s): not measured (make bench TASKS=demo)"
    )
    assert lines[1] == (
        "a monthly report of the 5,000-case demo store (goal floor + 3 s): 13.5 s = floor + "
        "2.5 s; floor 11.0 s (empty notebook + its nbconvert export; median of 3, alternating): "
        "met [this run]"
    )
    assert lines[2] == (
        "`--each category` on a 250-case store (goal under 4x one report): 40.0 s (10 reports) = "
        "3.20x one report; floor 12.5 s: met [this run]"
    )
    assert lines[3] == (
        "`make test` on 2 cores (goal under 240 s): 300 s (5.0 min); floor -: NOT met "
        "[NOT RUN THIS TIME: recorded 2026-12-06]"
    )
    assert lines[4].endswith(
        "45 s (0.8 min); floor -: met [NOT RUN THIS TIME: recorded 2026-12-06]"
    )
    assert (
        "ingest of the 1M messy export (goal <= 2.0x DuckDB's read_csv): 3.00x (9.0 s); floor "
        "read_csv 3.0 s: NOT met [this run]"
    ) in lines
    assert (
        "monthly report at 1M (goal floor + 5 s): 12.0 s = floor + 10.0 s; before any table or "
        "chart: imports 0.5 s + HTML export 0.7 s + the trailing 12 months' per-supplier passes "
        "1.3 s = 2.5 s; floor 2.0 s (empty notebook): NOT met [this run]"
    ) in lines
    assert (
        "snapshot reload at 1M (goal no dearer than the first load): 6.0 s; floor first load "
        "9.0 s: met [this run]"
    ) in lines
    assert "peak memory at 1M (goal under 4,096 MB): 100 MB; floor -: met [this run]" in lines
    # the 10M goals: never measured in these groups, and say how to measure them
    assert "monthly report at 10M (goal floor + 20 s): not measured (make bench TASKS=10M)" in lines
    assert (
        "metrics of a quarter at 10M (goal 3 s of work): not measured (make bench TASKS=10M)"
    ) in lines
    assert len(lines) == len(goals.GOALS)


def test_results_of_a_run_before_groups_are_read_as_one_group_per_size(tmp_path):
    # bench/results.json as written before issue 30: its sizes and one date for the run
    old = {"machine": {"date": "2026-12-06T00:16:50"}, "sizes": {"1000000": ONE_MILLION}}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(old))
    groups = run.previous(path)
    assert list(groups) == ["1000000"]
    assert groups["1000000"]["date"] == "2026-12-06T00:16:50"
    assert groups["1000000"]["tasks"] == json.loads(json.dumps(ONE_MILLION))
    assert run.previous(tmp_path / "none.json") == {}


def test_tasks_name_groups_and_sizes():
    assert run.parse_tasks("small, 1M,10M,demo,test,2000,lake-10M,lake-2_000") == [
        "small", "1000000", "10000000", "demo", "test", "2000", "lake-10000000", "lake-2000"
    ]  # fmt: skip
    with pytest.raises(SystemExit, match="unknown task 'tests'"):
        run.parse_tasks("tests")
    with pytest.raises(SystemExit, match="unknown task 'lake'"):
        run.parse_tasks("lake")  # a lake needs its size
    assert goals._task_name("lake-10000000") == "lake-10M"
    assert goals._task_name("lake-2000") == "lake-2000"


# a 10M lake beside the 10M file store, two rounds each: the lake's ingest 240 s against the
# file's 200 s (1.20x), its quarter's metrics 12 s against 10 s (1.20x), its report 330 s against
# 200 s (1.65x, over the 1.5x allowed)
LAKE = {
    "ingest_file": _timed(200.0, n=2),
    "ingest_lake": _timed(240.0, n=2),
    "metrics_quarter_file": _timed(10.0, n=2),
    "metrics_quarter_lake": _timed(12.0, n=2),
    "report_month_file": _timed(200.0, n=2),
    "report_month_lake": _timed(330.0, n=2),
}


def test_the_lake_goals_compare_it_with_the_file_store_measured_beside_it():
    lines = goals.report({"lake-10000000": _group("2026-12-07T12:00:00", LAKE)}, {"lake-10000000"})
    assert lines[-3:] == [
        "ingest of a 10M lake (goal within 1.5x the 10M file store): 1.20x (240.0 s); floor the "
        "file store 200.0 s (median of 2, alternating): met [this run]",
        "metrics of a quarter of a 10M lake (goal within 1.5x the 10M file store): 1.20x "
        "(12.0 s); floor the file store 10.0 s (median of 2, alternating): met [this run]",
        "monthly report of a 10M lake (goal within 1.5x the 10M file store): 1.65x (330.0 s); "
        "floor the file store 200.0 s (median of 2, alternating): NOT met [this run]",
    ]
    # a machine without PostgreSQL: the group says why it measured nothing, and so do its goals
    skipped = {"skipped": "PostgreSQL's initdb/pg_ctl are not installed"}
    lines = goals.report({"lake-10000000": _group("2026-12-07", skipped)}, {"lake-10000000"})
    assert lines[-1] == (
        "monthly report of a 10M lake (goal within 1.5x the 10M file store): not measured: "
        "PostgreSQL's initdb/pg_ctl are not installed"
    )
    assert goals.report({}, set())[-1] == (
        "monthly report of a 10M lake (goal within 1.5x the 10M file store): not measured "
        "(make bench TASKS=lake-10M)"
    )


STORES = ("file", "lake")


@pytest.mark.slow
def test_the_lake_group_loads_one_export_into_a_file_and_a_lake(tmp_path, monkeypatch):
    from tests import pg_server

    if pg_server.bindir() is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed: the lake bench needs them")
    monkeypatch.setattr(run, "REPORTS", False)  # the reports start Jupyter kernels: not here
    out, work = tmp_path / "results.json", tmp_path / "w"
    argv = ["--tasks", "lake-2000", "--repeat", "2", "--out", str(out), "--work", str(work)]
    assert run.main(argv) == 0
    tasks = json.loads(out.read_text())["groups"]["lake-2000"]["tasks"]
    for task in ("ingest", "metrics_quarter"):
        for kind in STORES:
            summary = tasks[f"{task}_{kind}"]
            assert summary["n"] == 2 and "failed" not in summary
            assert summary["wall_s"]["median"] > 0
    # each ingest started from an empty store: the second round inserted every case again, and
    # the lake and the file counted the same rows the same way
    assert "inserted 0" not in tasks["ingest_lake"]["counts"]
    counts = {kind: tasks[f"ingest_{kind}"]["counts"].split(" (load 1 into ") for kind in STORES}
    assert counts["lake"][0] == counts["file"][0]  # read ... = inserted ... + quarantined ...
    assert counts["lake"][1].startswith("ducklake:postgres:dbname=bench_1 ")  # the 2nd round's
    # the quarter's metrics from the lake equal the file store's, every field (to 1e-9 relative)
    assert tasks["same_figures"]["differ"] == [] and tasks["same_figures"]["fields"] > 500
    assert tasks["ingest_file"]["bytes"] > 0 and tasks["ingest_lake"]["bytes"] > 0
    assert "report_month_file" not in tasks
    assert not (work / "lake_2000").exists()  # scratch removed unless --keep


def test_differences_name_the_fields_that_differ_with_numbers_equal_to_1e_9():
    file = {"overall": {"decided": 609, "rate": 0.3875, "ci": [0.35, 0.42]}, "category": None}
    assert run.differences(file, json.loads(json.dumps(file))) == []
    # the last digits of a sum read in another order: equal; the 7th digit: not
    assert run.differences({"r": 0.3875}, {"r": 0.3875 * (1 + 1e-12)}) == []
    lake = {"overall": {"decided": 608, "rate": 0.38750004, "ci": [0.35]}, "client": "x"}
    assert sorted(run.differences(file, lake)) == [
        "category", "client", "overall.ci (2 against 1 items)", "overall.decided", "overall.rate"
    ]  # fmt: skip
    assert run.differences([{"a": True}], [{"a": 1}]) == ["[0].a"]  # true is not 1
    assert run.differences({"a": "4"}, {"a": 4}) == ["a"]


def test_a_goal_measured_by_a_failing_command_is_not_met_and_says_why():
    # the batch took 30 s (2.40x one report's 12.5 s) but one of its reports failed
    failed = {**SMALL, "each_category": {**_timed(30.0), "failed": "exit 1: FAILED outcome_report"}}
    (line,) = [
        g for g in goals.report({"small": _group("2026-12-07", failed)}, {"small"}) if "--each" in g
    ]
    assert line == (
        "`--each category` on a 250-case store (goal under 4x one report): 30.0 s = 2.40x one "
        "report (FAILED: exit 1: FAILED outcome_report); floor 12.5 s: NOT met [this run]"
    )
    # a failing run is timed all the same, and its first line of stderr kept
    result = run.run_process(
        [sys.executable, "-c", "import sys; sys.exit('no such period')"], check=False
    )
    assert result["failed"] == "exit 1: no such period"
    assert run.summarise([result])["failed"] == "exit 1: no such period"
    with pytest.raises(RuntimeError, match="no such period"):
        run.run_process([sys.executable, "-c", "import sys; sys.exit('no such period')"])
