"""analysis.report.context: the store found, the period resolved, the parameters checked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from analysis import metrics, settings
from analysis.errors import BadParameter
from analysis.report import sections
from analysis.store import StoreMissing
from tests.report_store import context


def test_resolve_db_tries_the_path_then_the_project_root(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "cases.duckdb").write_bytes(b"")
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(settings, "PROJECT_ROOT", root)
    assert sections.resolve_db("data/cases.duckdb") == root / "data" / "cases.duckdb"
    # a path that exists from the current folder wins
    (elsewhere / "data").mkdir()
    (elsewhere / "data" / "cases.duckdb").write_bytes(b"")
    assert sections.resolve_db("data/cases.duckdb") == Path("data/cases.duckdb")


def test_missing_store_says_what_to_do_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "PROJECT_ROOT", tmp_path / "root")
    with pytest.raises(StoreMissing) as caught:
        sections.open_report(db=tmp_path / "none.duckdb", period="2026-03")
    message = str(caught.value)
    assert "make demo" in message and "ta-outcomes ingest" in message
    # In a notebook IPython shows this instead of a traceback.
    assert caught.value._render_traceback_() == [f"StoreMissing: {message}"]


def test_period_resolution():
    assert sections.resolve_period("", today=date(2026, 4, 15)).label == "2026-03"
    assert sections.resolve_period("2026-Q3").start == date(2026, 7, 1)
    explicit = sections.resolve_period("2026-10", start="2026-01-05", end="2026-02-20")
    assert (explicit.start, explicit.end, explicit.kind) == (
        date(2026, 1, 5),
        date(2026, 2, 20),
        "range",
    )
    # the runner injects a period with its own dates: the calendar period is kept
    same = sections.resolve_period("2026-Q3", start="2026-07-01", end="2026-09-30")
    assert (same.label, same.kind) == ("2026-Q3", "quarter")
    assert (
        sections.resolve_period("2026-01-01_2026-03-31", start="2026-01-01", end="2026-03-31").kind
        == "range"
    )
    with pytest.raises(BadParameter, match="both start and end"):
        sections.resolve_period(start="2026-01-05")
    with pytest.raises(BadParameter, match="not understood"):
        sections.resolve_period("last spring")


def test_open_report_validates_parameters(store):
    ctx = context(store, threshold="0.2", min_n="5")
    assert ctx.params == metrics.Params(threshold=0.2, min_n=5)
    assert ctx.previous.label == "2026-02"
    assert ctx.category is None and ctx.synthetic is False
    with pytest.raises(BadParameter, match="threshold must be between 0 and 1"):
        context(store, threshold=1.5)
    with pytest.raises(BadParameter, match="category 'toys'.*electronics, machinery") as caught:
        context(store, category="toys")
    assert caught.value._render_traceback_()[0].startswith("BadParameter: category 'toys'")


def test_a_report_reads_its_store_through_one_open_reader(store):
    # one open connection for the report's forty-odd queries, passed down in its context
    from analysis import store as case_store

    ctx = context(store)
    try:
        assert isinstance(ctx.store, case_store.Reader) and ctx.store.is_open
        opened = ctx.store._con
        sections.headline(ctx)
        assert ctx.store._con is opened  # the sections used it, opened nothing else
    finally:
        ctx.store.close()


def test_the_stamp_closes_the_reader_the_report_opened(store):
    ctx = context(store)
    assert ctx.store.is_open
    sections.stamp(ctx)
    assert not ctx.store.is_open
    # a writer can open it at once
    import duckdb

    duckdb.connect(str(ctx.store.path)).close()
