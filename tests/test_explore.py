"""analysis.explore: a notebook's view of the store, with the metrics' own definitions."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from analysis import explore, metrics
from analysis.errors import BadParameter
from analysis.store import StoreMissing
from tests.casefactory import build_store
from tests.metrics_store import FEB, FEBRUARY_CASES, SMALL
from tests.readonly import unwritable_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def feb(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("explore") / "cases.duckdb", FEBRUARY_CASES)


def test_cases_by_closing_date_agree_with_the_metrics(feb):
    frame = explore.cases(*FEB, db=feb, min_n=3)
    # closed in February (tests/metrics_store.py): M1 M2 M3 M4 M5 A1 A2 A3 A4 E1 E2
    assert sorted(frame["case_id"]) == sorted(
        ["M1", "M2", "M3", "M4", "M5", "A1", "A2", "A3", "A4", "E1", "E2"]
    )
    overall = metrics.outcome_metrics(feb, *FEB, SMALL)["overall"]
    assert int(frame["decided"].sum()) == overall["decided"] == 8
    assert int(frame["supplier_sided"].sum()) == overall["supplier_sided"] == 5
    assert int(frame["lowball"].sum()) == overall["lowball"] == 2
    assert int(frame["lapsed"].sum()) == overall["lapsed"] == 3
    # the per-case truth, by hand: M3 is a lowball, M2 (exactly 10%) is not supplier-sided
    row = frame.set_index("case_id")
    assert (bool(row.loc["M3", "lowball"]), bool(row.loc["M2", "supplier_sided"])) == (True, False)
    assert (
        row.loc["A4", "buyer_outcome"] == "withdrawn"
        and row.loc["M4", "buyer_outcome"] == "money_back"
    )
    # every stored column is there but the buyer key
    assert {"claim_amount", "currency", "evidence", "extra", "source_file"} <= set(frame.columns)
    assert "buyer_key" not in frame.columns


def test_cases_by_opening_date_are_the_intake(feb):
    frame = explore.cases(*FEB, by="opened", db=feb)
    # opened in February: M3 M4 A1 A2 E1 E2 E3 M6 = 8 (the metrics' cases_opened)
    assert sorted(frame["case_id"]) == ["A1", "A2", "E1", "E2", "E3", "M3", "M4", "M6"]
    assert len(frame) == metrics.outcome_metrics(feb, *FEB, SMALL)["overall"]["cases_opened"]
    # a parameter moves the flags as it moves the metrics: at 25%, M2's 10% is supplier-sided
    at_25 = explore.cases(*FEB, db=feb, threshold=0.25).set_index("case_id")
    assert bool(at_25.loc["M2", "supplier_sided"])
    with pytest.raises(BadParameter, match="by must be 'closed' or 'opened'"):
        explore.cases(*FEB, by="created", db=feb)


def test_rates_use_the_metrics_rule(feb):
    frame = explore.cases(*FEB, db=feb)
    by = explore.rates(frame, "category", min_n_rate=3, min_n=5).set_index("category")
    # machinery decided M1-M5: sided M1 and M3 (2 of 5); Wilson 2/5 = 11.8%-76.9%
    assert (by.loc["machinery", "decided"], by.loc["machinery", "supplier_sided"]) == (5, 2)
    assert by.loc["machinery", "rate"] == pytest.approx(0.4)
    assert (by.loc["machinery", "ci_low"], by.loc["machinery", "ci_high"]) == pytest.approx(
        (0.117621, 0.769276), abs=1e-5
    )
    blocks = metrics.block_frame(feb, *FEB, "category", SMALL).set_index("group")
    assert (
        by.loc["apparel_textiles", "supplier_sided"]
        == blocks.loc["apparel_textiles", "supplier_sided"]
    )


def test_extra_columns_become_columns(tmp_path):
    db = build_store(tmp_path / "x.duckdb", [
        dict(case_id="X1", extra='{"state": "CA", "consumer_disputed": "No"}'),
        dict(case_id="X2"),
    ])  # fmt: skip
    frame = explore.cases("2026-01-01", "2026-12-31", db=db, extra=["state", "consumer_disputed"])
    rows = frame.set_index("case_id")[["state", "consumer_disputed"]]
    assert rows.loc["X1"].tolist() == ["CA", "No"]
    assert rows.loc["X2"].isna().all()  # not in the export: missing, not ""
    with pytest.raises(BadParameter, match="is not a column name of cases.extra"):
        explore.cases("2026-01-01", "2026-12-31", db=db, extra=["state; DROP TABLE cases"])
    # issue 24.6: a key named like a flag or a stored column came back as 'decided_1' while
    # 'decided' stayed the flag; it is refused in one line, as is a key given twice
    for clash in (["decided"], ["Outcome"], ["state", "STATE"]):
        with pytest.raises(BadParameter, match=r"^extra: '\w+' is (already a column|named twice)"):
            explore.cases("2026-01-01", "2026-12-31", db=db, extra=clash)


def test_query_binds_parameters_and_refuses_writes(feb):
    frame = explore.query(
        "SELECT case_id FROM cases WHERE category = ? ORDER BY 1", ["electronics"], db=feb
    )
    assert frame["case_id"].tolist() == ["E1", "E2", "E3"]
    named = explore.query(
        "SELECT count(*) AS n FROM cases WHERE outcome = $o", {"o": "open"}, db=feb
    )
    assert named["n"].tolist() == [2]
    with pytest.raises(BadParameter, match="explore.query reads only"):
        explore.query("DELETE FROM cases", db=feb)
    assert explore.query("SELECT count(*) AS n FROM cases", db=feb)["n"].tolist() == [15]


@pytest.mark.parametrize(
    ("attack", "refusal"),
    [
        # a file overwritten, read, listed; the store's buyer-key secret read
        ("COPY (SELECT 'pwned') TO '{victim}' (HEADER false)", "reaches no file"),
        ("SELECT * FROM read_csv('/etc/passwd')", "reaches no file"),
        ("SELECT * FROM read_text('{victim}')", "reaches no file"),
        ("SELECT * FROM glob('{folder}/*')", "reaches no file"),
        ("SELECT * FROM read_text('{key}')", "reaches no file"),
        ("SELECT * FROM read_csv('{key}', header = false)", "reaches no file"),
        ("ATTACH '{folder}/other.duckdb' AS other", "reaches no file"),
        ("EXPORT DATABASE '{folder}/dump'", "reaches no file"),
        # settings, for this connection or the whole process
        ("SET GLOBAL memory_limit = '1MB'", "settings cannot be changed"),
        ("SET enable_external_access = true", "settings cannot be changed"),
        ("RESET lock_configuration", "settings cannot be changed"),
        # extensions: no download is even tried, nothing is loaded
        ("INSTALL httpfs", "reaches no file"),
        ("FORCE INSTALL spatial FROM community", "reaches no file"),
        ("LOAD httpfs", "loads no extension"),
    ],
)
def test_query_reaches_nothing_but_the_store(feb, tmp_path, attack, refusal):
    from analysis import settings

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    key = settings.buyer_key_file(feb)
    made_key = not key.exists()
    if made_key:
        key.write_text("0" * 64 + "\n")
    try:
        sql = attack.format(victim=victim, folder=tmp_path, key=key)
        with pytest.raises(BadParameter, match=f"explore.query reads only: .*{refusal}"):
            explore.query(sql, db=feb)
        assert victim.read_text() == "precious\n"  # never overwritten
        assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]  # nothing made
    finally:
        if made_key:
            key.unlink()
    # the next query still works, with DuckDB's defaults (nothing changed for the process)
    assert explore.query("SELECT count(*) AS n FROM cases", db=feb)["n"].tolist() == [15]
    import duckdb

    assert duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0] != (
        "1.0 MiB"
    )


def test_query_works_while_a_report_holds_the_store(feb):
    # a report's reader is one DuckDB instance with the project's settings; the sealed
    # connection (other settings) is a database of its own, so the two live side by side
    from analysis.store import Reader

    with Reader(feb) as reader:
        assert explore.cases(*FEB, db=reader)["case_id"].size == 11  # through the open reader
        frame = explore.query(
            "SELECT count(*) AS n, current_database() AS db FROM main.cases", db=feb
        )
        assert frame.values.tolist() == [[15, "store"]]


def test_figures_are_the_metrics_as_frames(feb):
    figures = explore.figures(*FEB, db=feb, min_n=3)
    overall = metrics.outcome_metrics(feb, *FEB, SMALL)["overall"]
    assert figures["overall"].iloc[0]["supplier_sided"] == overall["supplier_sided"]
    by_category = figures["category"].set_index("group")
    assert by_category.loc["machinery", "decided"] == 5
    assert {"category", "claim_type", "evidence", "inspection", "escalated"} <= set(figures.keys())
    assert list(figures["sensitivity"].columns)[:2] == ["threshold", "lapsed_counted"]
    with pytest.raises(KeyError, match="one of overall"):
        figures["nonsense"]


def test_no_call_leaves_the_store_open(feb):
    # after a call, a writer can open the store at once: nothing is held
    explore.cases(*FEB, db=feb)
    explore.query("SELECT 1", db=feb)
    import duckdb

    duckdb.connect(str(feb)).close()  # read-write: fails if any connection were still open


def test_a_store_the_user_cannot_write_is_explored(feb):
    # as a process that cannot write the store or its folder (as in
    # tests/test_store_connection.py): every call opens it read-only and leaves nothing behind
    code = (
        "import sys; from analysis import explore; "
        "print(len(explore.cases('2026-02-01', '2026-02-28', db=sys.argv[1])), "
        "explore.query('SELECT count(*) AS n FROM cases', db=sys.argv[1]).n[0])"
    )
    with unwritable_store(feb, prefix="ta-explore-ro-") as target:
        result = target.run([sys.executable, "-c", code, str(target.db)], cwd=ROOT)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["11", "15"]
        assert sorted(p.name for p in target.folder.iterdir()) == ["cases.duckdb"]


def test_a_missing_store_says_how_to_make_one(tmp_path):
    with pytest.raises(StoreMissing, match="make demo"):
        explore.cases(*FEB, db=tmp_path / "none.duckdb")


@pytest.mark.notebook
def test_a_report_renders_while_another_process_reads_the_store(feb, tmp_path):
    from analysis.publish import command

    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], "
         "read_only=True); print('held', flush=True); time.sleep(30)", str(feb)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        code = command.main("ok", period="2026-02", db=feb, out=tmp_path / "reports",
                           progress=False, params=["min_n=0"],
                           notebook_dir=ROOT / "tests" / "notebooks")  # fmt: skip
        assert code == 0 and holder.poll() is None  # rendered while the other reader held it
        assert time.monotonic() - t0 < 60
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.notebook
def test_the_explore_notebook_runs_on_its_defaults(tmp_path, feb):
    # as committed, pointed at a store: its default window (the 12 months to the last complete
    # month) holds none of February's cases, and every cell copes with nothing
    empty = tmp_path / "empty.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "explore.ipynb"), str(empty), parameters={"db": str(feb)},
        kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
    )  # fmt: skip


@pytest.mark.notebook
def test_the_explore_notebook_answers_for_a_period(tmp_path, feb):
    output = tmp_path / "explore.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "explore.ipynb"), str(output),
        parameters={"db": str(feb), "start": FEB[0], "end": FEB[1]},
        kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
    )  # fmt: skip
    nb = nbformat.read(output, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "11 cases closed from 2026-02-01 to 2026-02-28" in text
    # M1, M3 and the three lapsed cases' default claim of 10,000 (tests/casefactory.py)
    assert "5 closed claims of $10,000 or more" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the custom chart
