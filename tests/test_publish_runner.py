"""analysis.runner: papermill runs of report notebooks, their outputs, failures, locks, notify.

The fixture notebooks in tests/notebooks each test one scenario (ok.ipynb: a table from the
store and a chart; failing.ipynb: a cell that raises; params.ipynb: typed parameters, never
executed). The store is built by hand, so the figures below are worked out by hand.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time
from contextlib import redirect_stdout
from datetime import date
from io import StringIO
from pathlib import Path

import nbformat
import papermill
import pytest
from bs4 import BeautifulSoup

from analysis import cli, metrics, settings
from analysis.errors import BadParameter
from analysis.publish import command, runner
from analysis.publish.params import resolve_params
from analysis.store import StoreMissing
from tests.casefactory import build_store

#: make test-fast leaves these out (make test runs them)
pytestmark = pytest.mark.notebook

NOTEBOOKS = Path(__file__).parent / "notebooks"

# October 2026, by hand (threshold 0.2: supplier-sided when refund < 0.2 x claim):
#   C1 no_refund       claim 10000  refund    0   closed 10-05   0 < 2000     -> supplier-sided
#   C2 full_refund     claim  2000  refund 2000   closed 10-10                -> not
#   C3 partial_refund  claim  1000  refund  150   closed 10-20   150 < 200    -> supplier-sided
#   C4 partial_refund  claim  4000  refund 1000   closed 10-25   1000 >= 800  -> not
#   C5 no_refund       closed 2026-09-15: outside October.   C6 open: not closed.
# decided = 4, supplier_sided = 2, rate = 0.5; at the default threshold 0.1, C3 (150 >= 100) is
# not supplier-sided, so the rate would be 0.25.
# refund_ratio_pooled = (0 + 2000 + 150 + 1000) / (10000 + 2000 + 1000 + 4000) = 3150 / 17000.
OCTOBER_CASES = [
    dict(case_id="C1", outcome="no_refund", claim_amount=10000, refund_amount=0,
         opened_date="2026-09-20", closed_date="2026-10-05"),
    dict(case_id="C2", outcome="full_refund", claim_amount=2000, refund_amount=2000,
         opened_date="2026-09-25", closed_date="2026-10-10"),
    dict(case_id="C3", outcome="partial_refund", claim_amount=1000, refund_amount=150,
         opened_date="2026-10-01", closed_date="2026-10-20"),
    dict(case_id="C4", outcome="partial_refund", claim_amount=4000, refund_amount=1000,
         opened_date="2026-10-02", closed_date="2026-10-25"),
    dict(case_id="C5", outcome="no_refund", claim_amount=500, refund_amount=0,
         opened_date="2026-09-01", closed_date="2026-09-15"),
    dict(case_id="C6", outcome="open", claim_amount=700, opened_date="2026-10-15"),
]  # fmt: skip


def _recorder_cmd(record: Path) -> str:
    """A --notify-cmd that writes its arguments and TA_REPORT_* environment to ``record``."""
    code = (
        "import json, os, sys; open(sys.argv[1], 'w').write(json.dumps({'argv': sys.argv[2:], "
        "'env': {k: v for k, v in os.environ.items() if k.startswith('TA_REPORT_')}}))"
    )
    return shlex.join([sys.executable, "-c", code, str(record)])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("store") / "cases.duckdb", OCTOBER_CASES)


@pytest.fixture(scope="module")
def ok_run(store, tmp_path_factory):
    """One successful run of ok.ipynb for 2026-10 with threshold 0.2 and min_n 0."""
    out = tmp_path_factory.mktemp("reports")
    record = out.parent / "notify-ok.json"
    printed = StringIO()
    with redirect_stdout(printed):
        code = command.main(
            "ok",
            period="2026-10",
            db=store,
            out=out,
            params=["threshold=0.2", "min_n=0"],
            notify_cmd=_recorder_cmd(record),
            progress=False,
            notebook_dir=NOTEBOOKS,
        )
    return {"code": code, "out": out, "dir": out / "ok" / "2026-10", "printed": printed.getvalue(),
            "record": record}  # fmt: skip


def test_ok_run_publishes_the_layout(ok_run):
    report_dir = ok_run["dir"]
    assert ok_run["code"] == 0
    html = report_dir / "ok_2026-10.html"
    assert ok_run["printed"].strip() == str(html)
    assert sorted(p.name for p in report_dir.iterdir()) == [
        ".lock",
        "metrics.json",
        "ok_2026-10.html",
        "ok_2026-10.ipynb",
        "run.json",
    ]  # fmt: skip  (no .partial, .running or .failed file left behind)
    assert (ok_run["out"] / "index.html").is_file()


def test_metrics_json_is_the_metrics_of_the_period(ok_run, store):
    written = json.loads((ok_run["dir"] / "metrics.json").read_text())
    expected = metrics.outcome_metrics(
        store, date(2026, 10, 1), date(2026, 10, 31), metrics.Params(threshold=0.2, min_n=0)
    )
    assert written == json.loads(json.dumps(expected, default=str))
    # And by hand (see OCTOBER_CASES): the -p values reached the metrics.
    assert written["params"]["threshold"] == 0.2 and written["params"]["min_n"] == 0
    assert written["overall"]["decided"] == 4
    assert written["overall"]["supplier_sided"] == 2
    assert written["overall"]["supplier_sided_rate"] == 0.5
    assert written["overall"]["refund_ratio_pooled"] == pytest.approx(3150 / 17000)


def test_run_json_records_the_run(ok_run, store):
    run = json.loads((ok_run["dir"] / "run.json").read_text())
    assert run["status"] == "ok" and run["error"] is None and run["last_good"] is None
    assert (run["name"], run["period"], run["start"], run["end"]) == (
        "ok",
        "2026-10",
        "2026-10-01",
        "2026-10-31",
    )
    assert (run["html"], run["ipynb"], run["metrics"]) == (
        "ok_2026-10.html",
        "ok_2026-10.ipynb",
        "metrics.json",
    )
    assert run["params"] == {"category": None, "threshold": 0.2, "lowball": 0.05, "min_n": 0,
                             "trace_file": "", "run_tag": "", "hold_file": ""}  # fmt: skip
    assert run["headline"]["decided"] == 4
    assert run["headline"]["supplier_sided_rate"] == 0.5
    assert run["headline"]["refund_ratio_pooled"] == pytest.approx(3150 / 17000)
    assert run["duration_s"] > 0


def test_executed_notebook_got_the_runner_parameters(ok_run, store):
    nb = nbformat.read(ok_run["dir"] / "ok_2026-10.ipynb", as_version=4)
    injected = nb.metadata.papermill.parameters
    assert injected["db"] == str(store.resolve())
    assert (injected["period"], injected["start"], injected["end"]) == (
        "2026-10",
        "2026-10-01",
        "2026-10-31",
    )
    assert injected["threshold"] == 0.2 and injected["min_n"] == 0
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    # C1-C4 closed in October (C5 in September, C6 open).
    assert "4 cases closed between 2026-10-01 and 2026-10-31" in printed


def test_html_report_shows_the_outputs_but_no_code(ok_run):
    soup = BeautifulSoup((ok_run["dir"] / "ok_2026-10.html").read_text(), "html.parser")
    assert soup.title.string == "Fixture report \u2014 2026-10"
    assert "4 cases closed between 2026-10-01 and 2026-10-31" in soup.main.get_text()
    assert "store.query_df" not in str(soup)
    assert any(img["src"].startswith("data:image/png;base64,") for img in soup.find_all("img"))
    assert [s for s in soup.find_all("script") if s.get("src")] == []


def test_notify_cmd_gets_status_and_report_path(ok_run):
    heard = json.loads(ok_run["record"].read_text())
    html = str((ok_run["dir"] / "ok_2026-10.html").resolve())
    assert heard["argv"] == ["ok", html]
    assert heard["env"] == {
        "TA_REPORT_NAME": "ok",
        "TA_REPORT_PERIOD": "2026-10",
        "TA_REPORT_STATUS": "ok",
        "TA_REPORT_PATH": html,
        "TA_REPORT_ERROR": "",
    }


def test_notify_failure_is_reported_not_fatal(tmp_path, capsys):
    result = runner.ReportResult(
        name="ok", period="2026-10", status="ok", report_dir=tmp_path, html=tmp_path / "r.html",
        ipynb=None, metrics=None, failed_ipynb=None, run_json=tmp_path / "run.json", error=None,
        duration=1.0,
    )  # fmt: skip
    exits_3 = [sys.executable, "-c", "import sys; sys.exit(3)"]
    runner._notify(exits_3, result)
    runner._notify([str(tmp_path / "no-such-command")], result)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"ta-outcomes report: warning: --notify-cmd {shlex.join(exits_3)} exited 3"
    assert err[1].startswith("ta-outcomes report: warning: --notify-cmd failed: [Errno 2]")
    assert len(err) == 2


def test_catalogue_lists_the_run(ok_run):
    soup = BeautifulSoup((ok_run["out"] / "index.html").read_text(), "html.parser")
    rows = soup.select("table.ta-catalogue tbody tr")
    assert len(rows) == 1
    cells = [td.get_text(" ", strip=True) for td in rows[0].find_all("td")]
    # the report's title and period, its period, all categories, real data (the fixture store)
    assert cells[0].startswith("Fixture report, 2026-10 generated ")
    assert cells[1:4] == ["2026-10", "all", "real as of 2026-10-25"]  # the latest day it mentions
    # Wilson 95% for 2 of 4: centre (0.5 + 1.96^2/8) / (1 + 1.96^2/4) = 0.5, half-width
    # 1.96 * sqrt(0.25/4 + 1.96^2/64) / 1.9604 = 0.34997 -> 15.0% to 85.0%; 3150/17000 = 18.5%.
    assert cells[4:] == ["ok", "4", "50.0% (15.0%\u201385.0%)", "18.5%"]
    assert rows[0].find("a")["href"] == "ok/2026-10/ok_2026-10.html"


# -- failure ------------------------------------------------------------------------------------


def test_failing_cell_keeps_last_good_report(store, tmp_path, monkeypatch, capsys):
    # A previous good report of failing/2026-10, as a run would have left it.
    report_dir = tmp_path / "out" / "failing" / "2026-10"
    report_dir.mkdir(parents=True)
    previous = {
        "failing_2026-10.html": b"<!DOCTYPE html><title>previous good</title>",
        "failing_2026-10.ipynb": b'{"previous": "good"}',
        "metrics.json": b'{"previous": "metrics"}',
    }
    for name, content in previous.items():
        (report_dir / name).write_bytes(content)
    good_headline = {"decided": 7, "supplier_sided_rate": 0.25, "supplier_sided_ci_low": 0.1,
                     "supplier_sided_ci_high": 0.5, "refund_ratio_pooled": 0.4, "suppressed": False,
                     "min_n": 0}  # fmt: skip
    (report_dir / "run.json").write_text(json.dumps({
        "name": "failing", "period": "2026-10", "status": "ok",
        "generated_at": "2026-11-01T06:00:00+00:00", "html": "failing_2026-10.html",
        "ipynb": "failing_2026-10.ipynb", "metrics": "metrics.json", "headline": good_headline,
    }))  # fmt: skip
    record = tmp_path / "notify.json"
    monkeypatch.setattr(settings, "notebooks_dir", lambda: NOTEBOOKS)

    code = cli.main([
        "report", "failing", "--period", "2026-10", "--db", str(store), "--out", str(tmp_path / "out"),
        "--no-progress", "--notify-cmd", _recorder_cmd(record),
    ])  # fmt: skip

    assert code == 1
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1  # one message, no traceback
    message = err_lines[0]
    # failing.ipynb: cell 1 markdown, 2 parameters, 3 `prepared = 1`, 4 tagged explode.
    assert message.startswith(
        "ta-outcomes report: failing 2026-10 failed in cell 4 [explode] "
        '`raise ValueError("deliberate failure in the fixture")`: '
        "ValueError: deliberate failure in the fixture; partial notebook: "
    )
    assert message.endswith("failing_2026-10.failed.ipynb")
    # The last good report is untouched, byte for byte.
    for name, content in previous.items():
        assert (report_dir / name).read_bytes() == content, name
    # The partial notebook is kept, with the error in it.
    partial = nbformat.read(report_dir / "failing_2026-10.failed.ipynb", as_version=4)
    errors = [
        o
        for c in partial.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert [(e.ename, e.evalue) for e in errors] == [
        ("ValueError", "deliberate failure in the fixture")
    ]
    assert not list(report_dir.glob(".*partial")) and not list(report_dir.glob(".*running*"))
    # run.json: failed, keeping the link to the last good report.
    run = json.loads((report_dir / "run.json").read_text())
    assert run["status"] == "failed"
    assert run["error"].startswith("failing 2026-10 failed in cell 4 [explode]")
    assert run["failed_ipynb"] == "failing_2026-10.failed.ipynb"
    assert run["last_good"]["html"] == "failing_2026-10.html"
    assert run["last_good"]["headline"] == good_headline
    # The catalogue shows the failure, the error line and the last good report.
    soup = BeautifulSoup((tmp_path / "out" / "index.html").read_text(), "html.parser")
    row = soup.select_one("table.ta-catalogue tbody tr")
    assert row.select_one(".status-failed").get_text() == "failed"
    assert (
        "ValueError: deliberate failure in the fixture" in row.select_one(".error-line").get_text()
    )
    links = {a.get_text(): a["href"] for a in row.find_all("a")}
    assert links == {
        "Failing fixture, 2026-10": "failing/2026-10/failing_2026-10.html",
        "last good report": "failing/2026-10/failing_2026-10.html",
        "partial notebook": "failing/2026-10/failing_2026-10.failed.ipynb",
    }
    assert "of 2026-11-01 06:00 UTC" in row.get_text()
    # The notify command heard about it.
    heard = json.loads(record.read_text())
    assert heard["argv"] == ["failed", str((report_dir / "failing_2026-10.failed.ipynb").resolve())]
    assert heard["env"]["TA_REPORT_ERROR"] == message.removeprefix("ta-outcomes report: ")


# -- refused before any kernel starts ----------------------------------------------------------


@pytest.fixture
def no_kernel(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    return calls


@pytest.mark.parametrize(
    ("name", "period", "params", "expected"),
    [
        (
            "nope",
            "2026-10",
            [],
            "unknown report 'nope' (available: failing, hostile, ok, params, subject)",
        ),
        ("../notebooks/ok", "2026-10", [], "unknown report '../notebooks/ok'"),
        ("ok", "2026-13", [], "period '2026-13': month 13 is not 01-12"),
        ("ok", "last tuesday", [], "period 'last tuesday' not understood"),
        ("ok", "2026-10", ["threshold=1.5"], "threshold must be between 0 and 1, got 1.5"),
        ("ok", "2026-10", ["lowball=-0.1"], "lowball must be between 0 and 1, got -0.1"),
        ("ok", "2026-10", ["threshold=abc"], "-p threshold=abc: expected a number"),
        ("ok", "2026-10", ["min_n=2.5"], "-p min_n=2.5: expected a whole number"),
        ("ok", "2026-10", ["min_n=-1"], "min_n must be 0 or more, got -1"),
        ("ok", "2026-10", ["colour=red"], "-p colour: notebook 'ok' has no such parameter"),
        ("ok", "2026-10", ["period=2026-09"], "-p period: set it with --period or --last, not -p"),
        ("ok", "2026-10", ["db=/tmp/x"], "-p db: set it with --db, not -p"),
        ("ok", "2026-10", ["threshold"], "-p 'threshold': expected KEY=VALUE"),
        ("ok", "2026-10", ["category=gizmos"], "category 'gizmos': not a category"),
        # issue 12 and 14: a period not over yet would read as days without disputes, and
        # 9999-12 failed inside a notebook cell
        ("ok", "9999-12", [], "period '9999-12' ends on 9999-12-31, after today"),
        ("ok", "2027-05", [], "period '2027-05' ends on 2027-05-31, after today"),
    ],
)
def test_bad_request_refused_before_kernel_start(
    no_kernel, store, tmp_path, name, period, params, expected
):
    with pytest.raises(BadParameter) as caught:
        command.main(name, period=period, db=store, out=tmp_path, params=params, progress=False,
                    notebook_dir=NOTEBOOKS)  # fmt: skip
    assert str(caught.value).startswith(expected)
    assert caught.value.exit_code == 2
    assert no_kernel == []
    assert not (tmp_path / "index.html").exists()


def test_missing_store_refused_with_the_stores_message(no_kernel, tmp_path):
    missing = tmp_path / "nowhere" / "cases.duckdb"
    with pytest.raises(StoreMissing) as caught:
        command.main("ok", period="2026-10", db=missing, out=tmp_path / "out", progress=False,
                    notebook_dir=NOTEBOOKS)  # fmt: skip
    assert str(caught.value).startswith(f"{missing.resolve()}: no case store here yet.")
    assert no_kernel == []


def test_malformed_notify_command_refused(no_kernel, store, tmp_path):
    with pytest.raises(BadParameter, match="--notify-cmd"):
        command.main("ok", period="2026-10", db=store, out=tmp_path, notify_cmd="mail 'unclosed",
                    progress=False, notebook_dir=NOTEBOOKS)  # fmt: skip
    assert no_kernel == []


# -- parameters ---------------------------------------------------------------------------------


def test_parameters_coerced_to_their_declared_types():
    period, params = resolve_params(
        "params",
        period="2026-Q3",
        params=["threshold=0.2", "min_n=12", "show_watchlist=no", "category=machinery", "top_n=5"],
        notebook_dir=NOTEBOOKS,
    )
    assert (period.label, period.start, period.end) == (
        "2026-Q3",
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    # Defaults for what -p does not set; db/period/start/end are the runner's, not here.
    assert params == {"category": "machinery", "threshold": 0.2, "lowball": 0.05, "min_n": 12,
                      "show_watchlist": False, "top_n": 5}  # fmt: skip
    assert type(params["min_n"]) is int and type(params["top_n"]) is int
    assert type(params["threshold"]) is float


def test_parameters_none_for_optional_and_dict_form():
    _, params = resolve_params(
        "params", period="2025", params={"category": "None", "threshold": "0.3", "show_watchlist": "true"},
        notebook_dir=NOTEBOOKS,
    )  # fmt: skip
    assert (
        params["category"] is None
        and params["threshold"] == 0.3
        and params["show_watchlist"] is True
    )


@pytest.mark.parametrize(
    ("kind", "today", "label", "start", "end"),
    [
        ("month", date(2026, 11, 27), "2026-10", date(2026, 10, 1), date(2026, 10, 31)),
        ("month", date(2026, 1, 1), "2025-12", date(2025, 12, 1), date(2025, 12, 31)),
        ("quarter", date(2026, 11, 27), "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("quarter", date(2026, 10, 1), "2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("quarter", date(2026, 2, 10), "2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
    ],
)
def test_last_picks_the_latest_complete_period(kind, today, label, start, end):
    period, _ = resolve_params("ok", last=kind, today=today, notebook_dir=NOTEBOOKS)
    assert (period.label, period.start, period.end) == (label, start, end)


def test_period_and_last_are_exclusive():
    with pytest.raises(BadParameter, match="exactly one of --period"):
        resolve_params("ok", period="2026-10", last="month", notebook_dir=NOTEBOOKS)
    with pytest.raises(BadParameter, match="exactly one of --period"):
        resolve_params("ok", notebook_dir=NOTEBOOKS)


# -- two runs of the same report and period ----------------------------------------------------


def test_concurrent_runs_of_one_period_do_not_interleave(store, tmp_path, capsys):
    out = tmp_path / "out"
    trace = tmp_path / "trace.txt"
    results: dict[str, runner.ReportResult] = {}
    errors: list[BaseException] = []

    def run(tag: str) -> None:
        try:
            the_period, params = resolve_params(
                "ok", period="2026-10", params=[f"trace_file={trace}", f"run_tag={tag}", "min_n=0"],
                notebook_dir=NOTEBOOKS,
            )  # fmt: skip
            results[tag] = runner.run_report("ok", the_period, store, out, params, progress=False,
                                             notebook_dir=NOTEBOOKS)  # fmt: skip
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    first = threading.Thread(target=run, args=("A",))
    first.start()
    # Start the second run once the first is inside its notebook, i.e. holds the report lock
    # (the notebook sleeps 1 s after writing "begin A").
    deadline = time.monotonic() + 120
    while not (trace.exists() and "begin A" in trace.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = threading.Thread(target=run, args=("B",))
    second.start()
    first.join(timeout=300)
    second.join(timeout=300)

    assert errors == []
    assert trace.read_text().splitlines() == ["begin A", "end A", "begin B", "end B"]
    assert "another run of ok 2026-10 is in progress; waiting" in capsys.readouterr().err
    assert results["A"].ok and results["B"].ok
    report_dir = out / "ok" / "2026-10"
    run = json.loads((report_dir / "run.json").read_text())
    assert run["status"] == "ok" and run["params"]["run_tag"] == "B"  # the later run's record
    nb = nbformat.read(report_dir / "ok_2026-10.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["run_tag"] == "B"
    soup = BeautifulSoup((report_dir / "ok_2026-10.html").read_text(), "html.parser")
    assert soup.find("dt", string="run_tag").find_next("dd").get_text() == "B"
    assert sorted(p.name for p in report_dir.iterdir()) == [
        ".lock", "metrics.json", "ok_2026-10.html", "ok_2026-10.ipynb", "run.json",
    ]  # fmt: skip


def test_category_report_does_not_replace_the_all_categories_report(store, tmp_path):
    # All six cases are in casefactory's default category, machinery: the figures agree, but the
    # restricted report is filed under its own folder and title.
    out = tmp_path / "reports"
    with redirect_stdout(StringIO()):
        code = command.main("ok", period="2026-10", db=store, out=out,
                           params=["category=machinery", "min_n=0"], progress=False,
                           notebook_dir=NOTEBOOKS)  # fmt: skip
    assert code == 0
    # filed apart, under the category's display name (as ingest and --category accept it)
    assert [p.name for p in (out / "ok").iterdir()] == ["2026-10_Machinery"]
    figures = json.loads((out / "ok" / "2026-10_Machinery" / "metrics.json").read_text())
    assert figures["overall"]["decided"] == 4 and list(figures["by_category"]) == ["machinery"]


def test_synthetic_data_is_labelled_in_every_file_of_a_run(tmp_path):
    # issue 10: the banner alone said so; a catalogue row, metrics.json, run.json or a page
    # title travel without it
    from tests.casefactory import build_store, make_case

    db = build_store(tmp_path / "demo.duckdb", [
        make_case(is_synthetic=True, opened_date="2026-10-02", closed_date="2026-10-20")
    ])  # fmt: skip
    out = tmp_path / "reports"
    code = command.main("ok", period="2026-10", db=db, out=out, progress=False,
                       params=["min_n=0"], notebook_dir=NOTEBOOKS)  # fmt: skip
    assert code == 0
    report_dir = out / "ok" / "2026-10"
    assert json.loads((report_dir / "metrics.json").read_text())["synthetic"] is True
    assert json.loads((report_dir / "run.json").read_text())["synthetic"] is True
    page = BeautifulSoup((report_dir / "ok_2026-10.html").read_text(), "html.parser")
    assert page.title.get_text() == "SYNTHETIC DATA \u2014 Fixture report \u2014 2026-10"
    index = BeautifulSoup((out / "index.html").read_text(), "html.parser")
    (row,) = index.select("table.ta-catalogue tbody tr")
    assert "ta-synthetic-row" in row["class"] and "SYNTHETIC" in row.get_text()


@pytest.fixture
def two_category_store(tmp_path):
    from tests.casefactory import build_store, make_case

    cases = [
        make_case(case_id=f"M{i}", category="machinery", supplier_id="S1",
                  opened_date="2026-10-02", closed_date="2026-10-20") for i in range(3)
    ] + [
        make_case(case_id=f"E{i}", category="electronics", supplier_id="S2",
                  opened_date="2026-10-03", closed_date="2026-10-21") for i in range(2)
    ]  # fmt: skip
    return build_store(tmp_path / "cases.duckdb", cases)


def test_each_category_renders_every_category_and_one_catalogue(
    two_category_store, tmp_path, capsys
):
    out = tmp_path / "reports"
    code = command.main("subject", period="2026-10", db=two_category_store, out=out,
                       progress=False, notebook_dir=NOTEBOOKS, each="category")  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == "3 of 3 report(s) published"
    folders = sorted(p.name for p in (out / "subject").iterdir())
    assert folders == ["2026-10", "2026-10_Electronics", "2026-10_Machinery"]
    index = (out / "index.html").read_text()
    assert index.count("Subject fixture, 2026-10") == 3


def test_a_failing_member_of_a_batch_leaves_the_others_and_fails_the_batch(
    two_category_store, tmp_path, capsys
):
    out = tmp_path / "reports"
    code = command.main("subject", period="2026-10", db=two_category_store, out=out,
                       progress=False, notebook_dir=NOTEBOOKS, each="category",
                       params=["fail_for=electronics"])  # fmt: skip
    assert code == runner.EXIT_FAILED
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "2 of 3 report(s) published; 1 FAILED"
    assert "FAILED subject 2026-10 failed in cell" in captured.err
    assert (out / "subject" / "2026-10_Machinery" / "subject_2026-10_Machinery.html").exists()


def test_each_supplier_renders_the_named_suppliers_only(two_category_store, tmp_path, capsys):
    out = tmp_path / "reports"
    # S1 has 3 decided cases, S2 2: with min_n_named 3 only S1 is named
    code = command.main("subject", period="2026-10", db=two_category_store, out=out,
                       progress=False, notebook_dir=NOTEBOOKS, each="supplier",
                       params=["min_n_named=3"])  # fmt: skip
    assert code == 0
    label = runner.subject_label("S1")  # S1 and a hash of it (issue 24.5)
    assert sorted(p.name for p in (out / "subject").iterdir()) == [f"2026-10_{label}"]
    html = (out / "subject" / f"2026-10_{label}" / f"subject_2026-10_{label}.html").read_text()
    assert "subject S1 2026-10" in html
    with pytest.raises(BadParameter, match="--each supplier: notebook 'ok' has no supplier_id"):
        command.main("ok", period="2026-10", db=two_category_store, out=out, progress=False,
                    notebook_dir=NOTEBOOKS, each="supplier")  # fmt: skip


def test_the_last_12_months_is_a_range_to_the_latest_complete_month():
    period, _ = resolve_params(
        "subject", last="12-months", today=date(2026, 12, 2), notebook_dir=NOTEBOOKS
    )
    assert (period.start, period.end) == (date(2025, 12, 1), date(2026, 11, 30))


@pytest.mark.browser
def test_pdf_beside_the_html(two_category_store, tmp_path):
    from tests.chromium import require_chromium

    require_chromium()
    out = tmp_path / "reports"
    code = command.main("subject", period="2026-10", db=two_category_store, out=out,
                       progress=False, notebook_dir=NOTEBOOKS, pdf=True)  # fmt: skip
    assert code == 0
    folder = out / "subject" / "2026-10"
    pdf = folder / "subject_2026-10.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 2000
    assert json.loads((folder / "run.json").read_text())["pdf"] == "subject_2026-10.pdf"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [".lock"]


def test_a_missing_chromium_is_one_line(two_category_store, tmp_path, monkeypatch):
    monkeypatch.setenv("TA_OUTCOMES_CHROMIUM", str(tmp_path / "no-chromium"))
    from analysis.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem, match="--pdf: Chromium not found at"):
        command.main("subject", period="2026-10", db=two_category_store, out=tmp_path / "r",
                    progress=False, notebook_dir=NOTEBOOKS, pdf=True)  # fmt: skip


def test_a_range_is_titled_with_its_days_and_filed_under_its_label(tmp_path):
    from analysis.metrics.periods import parse_period
    from analysis.publish.runner import plan_report

    plan = plan_report("ok", parse_period("2025-12-01:2026-11-30"), tmp_path / "cases.duckdb",
                       tmp_path / "reports", notebook_dir=NOTEBOOKS)  # fmt: skip
    assert plan.title == "Fixture report \u2014 2025-12-01 to 2026-11-30"
    assert plan.stem == "ok_2025-12-01_2026-11-30"


def test_a_report_starts_without_the_statistics_or_the_iri_grammar(tmp_path):
    # what the runner imports before its kernel starts: the request checked, papermill and
    # nbconvert loaded. scipy (the figures, computed in a thread beside the kernel) and
    # rfc3987_syntax (0.8 s of building a grammar no notebook schema uses) are not among them.
    code = (
        "import sys\n"
        "from analysis.publish import params, runner\n"
        "params.resolve_params('outcome_report', period='2026-10')\n"
        "import nbconvert, papermill\n"
        "print(sorted(m for m in ('scipy', 'statsmodels', 'rfc3987_syntax') if sys.modules.get(m)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "[]"


# -- subjects: labels, checks, batches (issue 24) ----------------------------------------------


@pytest.fixture
def subject_store(tmp_path):
    """Suppliers whose ids make one slug ('ACME/1', 'ACME 1'; 'Ωμέγα' and 'Ψ' are both 'x'),
    and one whose id is longer than a file name may be. October 2026, by hand:
    ACME/1: A1 no_refund 0 of 10000, A2 full_refund 10000 of 10000 -> decided 2, refunded
    10000 of 20000 claimed (pooled 50.0%); ACME 1: B1 no_refund -> decided 1; the whole store:
    decided 5."""
    from tests.casefactory import make_case

    def case(case_id, supplier, outcome="no_refund"):
        return make_case(case_id=case_id, supplier_id=supplier, supplier_name=f"Name {case_id}",
                         outcome=outcome, opened_date="2026-10-02", closed_date="2026-10-20")  # fmt: skip

    return build_store(tmp_path / "subjects.duckdb", [
        case("A1", "ACME/1"), case("A2", "ACME/1", "full_refund"), case("B1", "ACME 1"),
        case("G1", "Ωμέγα"), case("P1", "Ψ"),
    ])  # fmt: skip


def _subject_run(db, out, supplier_id):
    with redirect_stdout(StringIO()):
        return command.main("subject", period="2026-10", db=db, out=out, progress=False,
                           notebook_dir=NOTEBOOKS,
                           params=[f"supplier_id={supplier_id}", "min_n_rate=1"])  # fmt: skip


def test_subjects_whose_ids_make_one_slug_keep_their_own_reports(subject_store, tmp_path):
    # issue 24.5: 'ACME/1' and 'ACME 1' were both filed under 2026-10_ACME-1, 'Ωμέγα' and 'Ψ'
    # both under 2026-10_x: the later report replaced the earlier
    import hashlib

    out = tmp_path / "reports"
    ids = ["ACME/1", "ACME 1", "Ωμέγα", "Ψ"]
    for supplier in ids:
        assert _subject_run(subject_store, out, supplier) == 0
    folders = sorted(p.name for p in (out / "subject").iterdir())

    def digest(text):
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    assert folders == sorted([
        f"2026-10_ACME-1-{digest('ACME/1')}", f"2026-10_ACME-1-{digest('ACME 1')}",
        f"2026-10_x-{digest('Ωμέγα')}", f"2026-10_x-{digest('Ψ')}",
    ])  # fmt: skip
    for supplier in ids:  # each folder holds its own subject's report, and keeps it
        label = runner.subject_label(supplier)
        html = (out / "subject" / f"2026-10_{label}" / f"subject_2026-10_{label}.html").read_text()
        assert f"subject {supplier} 2026-10" in html
    # stable: the same id gets the same label on every run
    assert runner.subject_label("ACME/1") == f"ACME-1-{digest('ACME/1')}"


def test_a_subjects_catalogue_row_names_it_and_shows_its_own_figures(subject_store, tmp_path):
    # issue 24.9: every scorecard row read "Subject fixture, 2026-10" with the store's decided
    # count (5) and figures
    out = tmp_path / "reports"
    assert _subject_run(subject_store, out, "ACME/1") == 0
    label = runner.subject_label("ACME/1")
    run = json.loads((out / "subject" / f"2026-10_{label}" / "run.json").read_text())
    assert run["subject"] == {"key": "supplier_id", "id": "ACME/1", "name": "Name A2"}
    # its own figures, not the store's (5 decided, 4 supplier-sided, 10,000 of 50,000 back):
    # 2 decided, 1 supplier-sided (A1), 10,000 of 20,000 back
    headline = run["headline"]
    assert (headline["decided"], headline["supplier_sided_rate"]) == (2, 0.5)
    assert headline["refund_ratio_pooled"] == 0.5
    index = BeautifulSoup((out / "index.html").read_text(), "html.parser")
    (section,) = index.select("section.ta-catalogue-group")
    headers = [th.get_text(" ", strip=True) for th in section.select("thead th")]
    assert headers[:3] == ["Report", "Subject", "Period"]
    (row,) = section.select("tbody tr")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    assert cells[0].startswith("Subject fixture, 2026-10, supplier ACME/1 generated")
    assert cells[1] == "supplier ACME/1 (Name A2)"
    # Wilson 1 of 2: 9.5%-90.5%
    assert cells[-3:] == ["2", "50.0% (9.5%–90.5%) few cases", "50.0%"]


def test_an_unknown_or_empty_subject_is_refused_before_any_kernel_starts(
    no_kernel, subject_store, tmp_path
):
    # issue 24.11: refused inside the notebook after ~11 s, leaving a folder, a .failed.ipynb
    # and a failed catalogue row; an empty case_id rendered "No case chosen" with exit 0
    out = tmp_path / "reports"
    refused = [
        ("subject", ["supplier_id=NOPE"],
         "subject -p supplier_id: supplier 'NOPE': no case in the store has it"),
        ("supplier_scorecard", ["supplier_id=NOPE"],
         "supplier_scorecard -p supplier_id: supplier 'NOPE': no case in the store has it"),
        ("supplier_scorecard", ["supplier_id= "],
         "supplier_scorecard: no supplier chosen: set one with -p supplier_id=ID"),
        ("case_dossier", ["case_id=NOPE"],
         "case_dossier -p case_id: case 'NOPE': no such case in the store"),
        ("case_dossier", ["case_id="], "case_dossier: no case chosen: set one with -p case_id=ID"),
        ("case_dossier", [], "case_dossier: no case chosen: set one with -p case_id=ID"),
    ]  # fmt: skip
    for name, params, expected in refused:
        notebook_dir = NOTEBOOKS if name == "subject" else None
        with pytest.raises(BadParameter) as caught:
            command.main(name, period="2026-10", db=subject_store, out=out, params=params,
                        progress=False, notebook_dir=notebook_dir)  # fmt: skip
        assert str(caught.value).startswith(expected), (name, params)
        assert caught.value.exit_code == 2
    assert no_kernel == []
    assert not out.exists()  # no folder, no partial notebook, no catalogue row


@pytest.fixture
def long_id_store(tmp_path):
    from tests.casefactory import make_case

    long_id = "L" * 300  # longer than a file name may be (255 bytes)
    cases = [
        make_case(case_id=f"{s[:1]}{i}", supplier_id=s, opened_date="2026-10-02",
                  closed_date="2026-10-20")
        for s in (long_id, "S1", "S2") for i in range(2)
    ]  # fmt: skip
    return build_store(tmp_path / "cases.duckdb", cases), long_id


def test_a_batch_reaches_every_supplier_whatever_its_id(long_id_store, tmp_path, capsys):
    # issue 24.11: the 300-character id stopped the batch ("cannot write", exit 74): S1 and S2
    # were never rendered and the catalogue not rebuilt
    db, long_id = long_id_store
    out = tmp_path / "reports"
    code = command.main("subject", period="2026-10", db=db, out=out, progress=False,
                       notebook_dir=NOTEBOOKS, each="supplier", params=["min_n_named=2"])  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3 of 3 report(s) published"
    folders = sorted(p.name for p in (out / "subject").iterdir())
    assert len(folders) == 3 and all(len(f"subject_{f}.failed.ipynb") < 120 for f in folders)
    assert f"2026-10_{'L' * runner.SUBJECT_SLUG_CHARS}-" in folders[0]
    rows = BeautifulSoup((out / "index.html").read_text(), "html.parser").select("tbody tr")
    assert len(rows) == 3


def test_a_batch_member_the_machine_refuses_leaves_the_others_and_fails_the_batch(
    long_id_store, tmp_path, capsys
):
    # issue 24.11: a member whose folder cannot be made (here a file stands where it goes) is
    # one FAILED line; the members after it run, the catalogue is rebuilt, the exit is 74
    from analysis.errors import EnvironmentProblem

    db, long_id = long_id_store
    out = tmp_path / "reports"
    (out / "subject").mkdir(parents=True)
    blocked = out / "subject" / f"2026-10_{runner.subject_label('S1')}"
    blocked.write_text("not a folder")
    with pytest.raises(EnvironmentProblem) as caught:
        command.main("subject", period="2026-10", db=db, out=out, progress=False,
                    notebook_dir=NOTEBOOKS, each="supplier", params=["min_n_named=2"])  # fmt: skip
    assert caught.value.exit_code == 74
    assert str(caught.value).startswith(
        f"the machine refused 1 write(s) of the batch; the first: subject 2026-10 supplier_id S1 "
        f"failed: --out {out}: cannot create the report folder {blocked}"
    )
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == "2 of 3 report(s) published; 1 FAILED"
    assert f"FAILED subject 2026-10 supplier_id S1 failed: --out {out}: cannot create" in (
        captured.err
    )
    s2 = runner.subject_label("S2")
    assert (out / "subject" / f"2026-10_{s2}" / f"subject_2026-10_{s2}.html").exists()
    index = (out / "index.html").read_text()
    assert "supplier S2" in index and "supplier " + long_id in index


def test_a_cases_catalogue_row_names_the_case_and_shows_its_outcome_and_money(
    subject_store, tmp_path
):
    # issue 24.9: a dossier's row showed the store's decided count and rate; it shows the case
    out = tmp_path / "reports"
    with redirect_stdout(StringIO()):
        code = command.main("subject", period="2026-10", db=subject_store, out=out,
                           progress=False, notebook_dir=NOTEBOOKS, params=["case_id=A2"])  # fmt: skip
    assert code == 0
    label = runner.subject_label("A2")
    run = json.loads((out / "subject" / f"2026-10_{label}" / "run.json").read_text())
    assert run["subject"] == {"key": "case_id", "id": "A2", "supplier_id": "ACME/1",
                              "supplier_name": "Name A2"}  # fmt: skip
    assert run["headline"] == {"outcome": "full_refund", "monetary": True, "final": True,
                               "currency": "USD", "claimed": 10000.0, "refunded": 10000.0,
                               "refund_ratio": 1.0}  # fmt: skip
    index = BeautifulSoup((out / "index.html").read_text(), "html.parser")
    headers = [th.get_text(" ", strip=True) for th in index.select("thead th")]
    assert headers[-3:] == ["Outcome", "Claimed", "Refunded"]
    (row,) = index.select("tbody tr")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    assert cells[1] == "case A2, supplier Name A2 (ACME/1)"
    assert cells[-3:] == ["Full refund", "10,000.00 USD", "10,000.00 USD"]


def test_a_second_stores_report_does_not_replace_the_first(store, tmp_path):
    # Issue 26.7: the demo's October and the user's own October once shared one folder; the
    # second run replaced the first silently. Now it is refused before anything is written,
    # naming --out; the same store's run replaces its own report as before.
    out = tmp_path / "reports"
    other = build_store(tmp_path / "other" / "cases.duckdb", OCTOBER_CASES[:2])
    with redirect_stdout(StringIO()):
        command.main("ok", period="2026-10", db=store, out=out, params=["min_n=0"],
                    progress=False, notebook_dir=NOTEBOOKS)  # fmt: skip
    folder = out / "ok" / "2026-10"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert json.loads((folder / "run.json").read_text())["db"] == str(store.resolve())
    with pytest.raises(BadParameter) as caught:
        command.main("ok", period="2026-10", db=other, out=out, params=["min_n=0"],
                    progress=False, notebook_dir=NOTEBOOKS)  # fmt: skip
    assert str(caught.value) == (
        f"{folder} holds the ok 2026-10 report of another store ({store.resolve()}); this "
        f"run's store is {other.resolve()}. Pass --out FOLDER to keep each store's reports in "
        "a folder of its own (nothing was written)"
    )
    assert caught.value.exit_code == 2
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    # with its own --out, the second store's report is filed apart; the same store replaces its own
    with redirect_stdout(StringIO()):
        assert (
            command.main(
                "ok",
                period="2026-10",
                db=other,
                out=tmp_path / "mine",
                params=["min_n=0"],
                progress=False,
                notebook_dir=NOTEBOOKS,
            )
            == 0
        )
        assert command.main("ok", period="2026-10", db=store, out=out, params=["min_n=0"],
                           progress=False, notebook_dir=NOTEBOOKS) == 0  # fmt: skip
    assert json.loads((tmp_path / "mine/ok/2026-10/run.json").read_text())["db"] == str(
        other.resolve()
    )


def test_a_client_report_is_filed_apart_and_titled_without_the_name(tmp_path):
    # Issue 26.8: `report --client NAME` restricts to one buyer (the key, never the name), is
    # filed apart from the whole store's report, and its title says "one client"; --title sets it.
    from tests.small_agency import small_agency_store

    agency = small_agency_store(tmp_path / "agency")
    out = tmp_path / "reports"
    with redirect_stdout(StringIO()):
        code = cli.main(
            [
                "report",
                "outcome_report",
                "--period",
                "2026-11",
                "--db",
                str(agency),
                "--out",
                str(out),
                "--client",
                "Client Juniper Kids",
                "--no-progress",
            ]
        )
    assert code == 0
    (folder,) = (out / "outcome_report").iterdir()
    record = json.loads((folder / "run.json").read_text())
    key = record["params"]["buyer_key"]
    assert folder.name == f"2026-11_client-{key}" and len(key) == 20
    page = (folder / f"outcome_report_2026-11_client-{key}.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    assert soup.title.get_text() == "Trade Assurance dispute outcomes \u2014 2026-11 (one client)"
    assert "juniper" not in page.lower() and "juniper" not in json.dumps(record).lower()
    figures = json.loads((folder / "metrics.json").read_text())
    from tests.small_agency import rows

    mine = [r for r in rows() if r["buyer_ref"] == "Client Juniper Kids"
            and r["closed_date"].startswith("2026-11")]  # fmt: skip
    assert figures["overall"]["cases_closed"] == len(mine)
    assert "One client: its own cases only." in soup.find("details", class_="ta-banner").get_text()
    # the catalogue says whose it is without the name
    index = (out / "index.html").read_text()
    assert "Trade Assurance dispute outcomes, 2026-11, one client" in index
    assert "juniper" not in index.lower()
    with redirect_stdout(StringIO()):
        cli.main(["report", "outcome_report", "--period", "2026-11", "--db", str(agency), "--out",
                  str(out), "--client", "Client Juniper Kids", "--title", "Juniper: November",
                  "--no-progress"])  # fmt: skip
    assert BeautifulSoup((folder / f"outcome_report_2026-11_client-{key}.html").read_text(),
                         "html.parser").title.get_text() == "Juniper: November"  # fmt: skip


def test_each_supplier_on_a_small_store_says_why_and_what_would_include_them(
    two_category_store, tmp_path, capsys
):
    # Issue 26.5: S1 has 3 decided cases in 2026-10, S2 2; none reaches min_n_named 30. The run
    # says how many suppliers have how many decided cases and which parameter includes them.
    code = command.main("subject", period="2026-10", db=two_category_store, out=tmp_path,
                       progress=False, notebook_dir=NOTEBOOKS, each="supplier")  # fmt: skip
    assert code == 0
    assert capsys.readouterr().err == (
        "subject 2026-10: no supplier to report on: none has 30 decided cases (min_n_named) "
        "closed in 2026-10. Of 2 suppliers with a case, by decided cases: 2 with 2-4. "
        "-p min_n_named=N reports on those with N or more (the most any has is 3); the "
        "outcome report lists every supplier's cases as counts\n"
    )


def test_a_store_replaced_at_the_same_path_does_not_replace_its_report(tmp_path):
    # Issue 26.7: the demo's store removed by hand and the user's own loaded at the same path:
    # run.json says the report was of demo data, the store now holds none
    db = tmp_path / "cases.duckdb"
    build_store(db, [dict(c, is_synthetic=True) for c in OCTOBER_CASES])
    out = tmp_path / "reports"
    with redirect_stdout(StringIO()):
        command.main("ok", period="2026-10", db=db, out=out, params=["min_n=0"], progress=False,
                    notebook_dir=NOTEBOOKS)  # fmt: skip
    db.unlink()
    build_store(db, OCTOBER_CASES)
    with pytest.raises(BadParameter) as caught:
        command.main("ok", period="2026-10", db=db, out=out, params=["min_n=0"], progress=False,
                    notebook_dir=NOTEBOOKS)  # fmt: skip
    assert f"of another store ({db.resolve()}, when it held demo data)" in str(caught.value)
    assert "Pass --out FOLDER" in str(caught.value)


def test_a_run_moves_through_named_states_and_records_the_last(store, tmp_path, monkeypatch):
    # issue 25.3: planned -> running -> exported -> published; a failing cell ends in failed
    # (from running), a refused folder before the notebook in failed (from planned)
    runs = []
    record = runner.Run.record

    def spy(self):
        runs.append(self)
        record(self)

    monkeypatch.setattr(runner.Run, "record", spy)
    from analysis.metrics import periods

    october = periods.parse_period("2026-10")
    for name in ("ok", "failing"):
        runner.run_report(name, october, store, tmp_path / "out", progress=False,
                          notebook_dir=NOTEBOOKS, catalogue=False)  # fmt: skip
    assert [r.history for r in runs] == [
        ["planned", "running", "exported", "published"],
        ["planned", "running", "failed"],
    ]
    assert [r.status for r in runs] == ["ok", "failed"]
    assert json.loads((tmp_path / "out/failing/2026-10/run.json").read_text())["status"] == "failed"
    with pytest.raises(ValueError, match="not a state of a run: 'half-done'"):
        runs[0].move("half-done")


def test_a_batch_runs_two_reports_at_once(two_category_store, tmp_path, capsys, monkeypatch):
    # issue 30.2: each run of the batch waits until another has started; one after the other,
    # the first would wait alone for 60 s and fail
    meet = tmp_path / "meet"
    meet.mkdir()
    monkeypatch.setenv("TA_OUTCOMES_BATCH_WORKERS", "2")
    out = tmp_path / "reports"
    code = command.main("subject", period="2026-10", db=two_category_store, out=out,
                        progress=False, notebook_dir=NOTEBOOKS, each="category",
                        params=[f"meet_in={meet}"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[-1] == "3 of 3 report(s) published"
    # printed in the batch's order: all categories, then each category by name
    assert [Path(line).parent.name for line in captured.out.splitlines()[:3]] == [
        "2026-10", "2026-10_Electronics", "2026-10_Machinery",
    ]  # fmt: skip
    assert sorted(p.name for p in meet.iterdir()) == [
        "started-all", "started-electronics", "started-machinery",
    ]  # fmt: skip
