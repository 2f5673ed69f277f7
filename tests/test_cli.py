"""analysis.cli: every failure is one line on stderr with a meaningful exit code."""

from analysis import cli, metrics


def test_not_a_store_is_refused_in_one_line(capsys, tmp_path):
    notes = tmp_path / "notes.duckdb"
    notes.write_text("not a database\n")
    code = cli.main(["metrics", "--db", str(notes), "--start", "2026-01-01", "--end", "2026-01-31"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"ta-outcomes metrics: {notes}: cannot open as a DuckDB case store")
    assert len(err.splitlines()) == 1


def test_a_bug_is_one_line_with_exit_70(monkeypatch, capsys, tmp_path):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(metrics, "outcome_metrics", broken)
    monkeypatch.delenv("TA_OUTCOMES_DEBUG", raising=False)
    code = cli.main(["metrics", "--db", str(tmp_path / "x.duckdb"), "--start", "2026-01-01",
                     "--end", "2026-01-31"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_INTERNAL == 70
    assert err == (
        "ta-outcomes metrics: internal error (ZeroDivisionError: division by zero); "
        "run again with TA_OUTCOMES_DEBUG=1 for the traceback, and report it"
    )
