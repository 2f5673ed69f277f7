"""Values reach SQL as bound parameters, never formatted into query text.

Injection-shaped values load as plain text; a category parameter shaped like one is refused
(BadParameter) with the store intact; report parameters are checked before a kernel starts; and a
static check keeps SQL built with f-strings to identifiers only.
"""

from __future__ import annotations

import ast
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import cli, metrics
from analysis.errors import BadParameter
from analysis.publish import runner
from tests.conftest import fetch
from tests.hostile.files import HEADER, csv_text, row

ROOT = Path(__file__).resolve().parents[1]
INJECTIONS = [
    "x'); DROP TABLE cases; --",
    "'; DELETE FROM loads WHERE '1'='1",
    '"); DROP TABLE quarantine; --',
    "$secret",
    "?",
    "Robert'); DROP TABLE store_meta;--",
]


@pytest.fixture
def injected_store(tmp_path) -> Path:
    db = tmp_path / "store" / "cases.duckdb"
    rows = [
        row(text, supplier_id=text, product_category=text)
        | {"supplier_name": text, "description": text}
        for text in INJECTIONS
    ]
    path = tmp_path / "inj.csv"
    path.write_text(csv_text(rows, [*HEADER, "supplier_name"]))
    assert cli.main(["ingest", str(path), "--db", str(db)]) == 0
    return db


def test_injection_shaped_values_load_as_text(injected_store):
    db = injected_store
    # 6 rows, 6 distinct case_ids: all inserted; the category text matches nothing -> 'other'
    assert fetch(db, "SELECT rows_read, inserted, quarantined FROM loads") == [(6, 6, 0)]
    stored = fetch(
        db,
        "SELECT case_id, supplier_id, supplier_name, category, category_raw, description "
        "FROM cases ORDER BY case_id",
    )
    assert stored == sorted((t, t, t, "other", t, t) for t in INJECTIONS)
    # every table is still there
    assert fetch(
        db,
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN "
        "('cases', 'loads', 'quarantine', 'store_meta')",
    ) == [(4,)]


@pytest.mark.parametrize("category", INJECTIONS[:3])
def test_injection_shaped_category_is_refused_and_the_store_is_intact(injected_store, category):
    before = injected_store.read_bytes()
    with pytest.raises(BadParameter, match="no case in the store has it"):
        metrics.outcome_metrics(
            injected_store, dt.date(2025, 3, 1), dt.date(2025, 3, 31), category=category
        )
    assert injected_store.read_bytes() == before
    assert fetch(injected_store, "SELECT count(*) FROM cases") == [(6,)]


def test_metrics_cli_with_injection_category_exits_2_with_one_line(injected_store, capsys):
    code = cli.main(
        [
            "metrics",
            "--db",
            str(injected_store),
            "--start",
            "2025-03-01",
            "--end",
            "2025-03-31",
            "--category",
            INJECTIONS[0],
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "not a category" in err
    assert fetch(injected_store, "SELECT count(*) FROM cases") == [(6,)]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--period", "2025-13"], "period"),
        (["--period", "2025-03", "-p", "threshold=1.5"], "threshold"),
        (
            ["--period", "2025-03", "-p", "category=x'); DROP TABLE cases; --"],
            "not a category",
        ),
        (["--period", "2025-03", "-p", "db=/etc/passwd"], "-p db"),
        (["--period", "2025-03", "-p", "__import__('os').system('id')=1"], "no such parameter"),
    ],
    ids=["bad-period", "threshold-out-of-range", "injection-category", "runner-key", "code-as-key"],
)
def test_report_parameters_are_refused_before_a_kernel_starts(
    injected_store, tmp_path, monkeypatch, capsys, argv, message
):
    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for a bad request")

    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)  # however the runner calls it
    monkeypatch.setattr(runner, "execute_notebook", no_kernel, raising=False)
    out = tmp_path / "reports"
    code = cli.main(
        ["report", "outcome_report", "--db", str(injected_store), "--out", str(out), *argv]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and message in err
    assert not (out / "outcome_report").exists()


# --- static check ---------------------------------------------------------------------------

SQL_WORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", " FROM ", " WHERE ")


def _sql_fstrings(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if any(w in literal.upper() for w in SQL_WORDS) and any(
                isinstance(v, ast.FormattedValue) for v in node.values
            ):
                yield node


def test_sql_built_with_fstrings_interpolates_identifiers_only():
    """Every f-string that builds SQL in analysis/ is marked, on its line, as interpolating
    identifiers or fixed fragments only (ruff's S608 enforces the marking), and interpolates no
    name that holds a value a user supplies."""
    value_names = {
        "start",
        "end",
        "category",
        "period",
        "threshold",
        "lowball",
        "min_n",
        "case_id",
        "supplier",
        "supplier_id",
        "value",
        "values",
        "params",
        "today",
        "secret",
        "buyer_ref",
    }
    found = 0
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in _sql_fstrings(ast.parse(source)):
            found += 1
            span = " ".join(lines[node.lineno - 1 : node.end_lineno + 1])
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if "S608" in span:
                assert any(w in span.lower() for w in ("identifier", "fixed", "catalog")), (
                    f"{where}: say why the interpolation is safe"
                )
            names = {
                n.id
                for v in node.values
                if isinstance(v, ast.FormattedValue)
                for n in ast.walk(v.value)
                if isinstance(n, ast.Name)
            }
            assert not names & value_names, f"{where}: interpolates {names & value_names}"
    assert found >= 3  # the check did look at the ingest's identifier-built SQL


def test_ruff_s608_finds_no_unmarked_sql_formatting():
    ruff = Path(sys.executable).with_name("ruff")
    run = subprocess.run(
        [str(ruff), "check", "--select", "S608", "--no-cache", "analysis"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout
