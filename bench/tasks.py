"""The measured tasks that are not a `ta-outcomes` command, each run by bench/run.py in a fresh
process so that its time and peak memory are its own.

    python bench/tasks.py floor FILE DB          DuckDB read_csv of FILE into a table in DB
    python bench/tasks.py metrics DB START END   analysis.metrics.outcome_metrics, in-process
    python bench/tasks.py notebook-floor DIR     papermill running an empty notebook
    python bench/tasks.py notebook-floor-export DIR   the same, then its nbconvert HTML export
    python bench/tasks.py passes DB START END    the metrics' per-supplier passes as bare SQL
    python bench/tasks.py report-parts IPYNB     a report's imports and its HTML export

Each prints one line ``BENCH {"seconds": ...}``: the time of the work itself, without the
interpreter's start and imports (bench/run.py times the whole process besides); ``passes``
adds each pass's own time.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path


def floor(csv_path: str, db: str) -> float:
    """The floor: DuckDB's own CSV reader into a table of a database file, every column as
    text, no cleaning (what any ingest must at least pay to read the file and store it)."""
    import duckdb

    for leftover in (Path(db), Path(db + ".wal")):
        leftover.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(db)
    con.execute(
        "CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, all_varchar = true)",
        [csv_path],
    )
    con.close()
    return time.perf_counter() - t0


def metrics(db: str, start: str, end: str) -> float:
    """The metrics function in-process (imports excluded): what a notebook cell pays."""
    # (analysis.metrics imports its modules on first use: this line imports them; the model's
    # GLM is imported by its first fit, so here too: the timed call is the work alone)
    import statsmodels.genmod.generalized_linear_model  # noqa: F401

    from analysis.metrics import outcome_metrics

    t0 = time.perf_counter()
    outcome_metrics(Path(db), dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    return time.perf_counter() - t0


#: The passes over a window's decided cases that the metrics' per-supplier figures rest on, as
#: bare SQL over the same per-case flags (analysis/metrics/sql/cases.sql): what the supplier
#: comparison and the supplier-clustered model pay before any statistics, whatever the code
#: around them. Each groups by a key with about as many values as suppliers, so they cannot
#: share one hash table.
_DECIDED = (
    "WITH period_cases AS ({cases}) SELECT * FROM period_cases WHERE closed_in AND is_decided"
)
PASSES = {
    # the flags of every decided case of the window, no grouping (the scan itself)
    "decided_cases": "SELECT count(*), count_if(is_supplier_sided) FROM ({decided})",
    # the least any per-supplier figure pays: each supplier's decided and supplier-sided counts
    "by_supplier": "SELECT count(*), sum(n), sum(k) FROM (SELECT supplier_id, count(*) AS n, "
    "count_if(is_supplier_sided) AS k FROM ({decided}) GROUP BY supplier_id)",
    # the clustered model's grouping by (supplier, covariate pattern), as the model runs it
    "by_supplier_and_pattern": "SELECT count(*), sum(n), sum(k) FROM ({groups})",
}
#: The passes whose sum is the per-supplier floor of a metrics call.
FLOOR_PASSES = ("by_supplier", "by_supplier_and_pattern")


def passes(db: str, start: str, end: str) -> tuple[float, dict]:
    """Each of :data:`PASSES` over [start, end], warm, best of three (seconds); returns the
    floor (the sum of :data:`FLOOR_PASSES`) and every pass's time."""
    from analysis.metrics import effects
    from analysis.metrics.case_flags import bind, period_cases_sql
    from analysis.metrics.params import Params
    from analysis.store import connect

    bound = bind(dt.date.fromisoformat(start), dt.date.fromisoformat(end), Params(), None)
    texts = {"decided": _DECIDED.format(cases=period_cases_sql()), "groups": effects.groups_sql()}
    times = {}
    with connect(db) as con:
        for name, template in PASSES.items():
            query = template.format(**texts)
            con.execute(query, bound).fetchall()  # warm: the blocks read once
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                con.execute(query, bound).fetchall()
                best = min(best, time.perf_counter() - t0)
            times[name] = round(best, 4)
    return sum(times[name] for name in FLOOR_PASSES), times


def report_parts(ipynb: str) -> tuple[float, dict]:
    """What a report pays above the empty notebook whatever its figures: its kernel's imports of
    the libraries every section uses (pandas for the tables, matplotlib for the charts; first,
    in this fresh process) and the HTML export of the executed notebook ``ipynb`` (the export's
    work, its imports left out)."""
    import tempfile

    t0 = time.perf_counter()
    import matplotlib.pyplot  # noqa: F401
    import pandas  # noqa: F401

    imports = time.perf_counter() - t0
    # (nbconvert's own import is left out: the runner loads it beside the kernel's start)
    from analysis.publish.htmlexport import export_html

    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        export_html(Path(ipynb), Path(folder) / "report.html", title="bench")
        export = time.perf_counter() - t0
    return imports + export, {"imports": round(imports, 4), "export": round(export, 4)}


def notebook_floor(work: str) -> float:
    """papermill running a one-cell notebook, driven from Python with an immediate kernel
    shutdown, as the report runner does: the least any report can cost."""
    return _empty_notebook(Path(work))[0]


def notebook_floor_export(work: str) -> float:
    """The small-store floor: :func:`notebook_floor`, then nbconvert's own HTML export of the
    executed notebook to a file (its default template; nbconvert imported inside the timing, as
    a report's process pays it): the least a published report can cost."""
    seconds, executed = _empty_notebook(Path(work))
    t0 = time.perf_counter()
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(executed))
    executed.with_suffix(".html").write_text(body, encoding="utf-8")
    return seconds + time.perf_counter() - t0


def _empty_notebook(folder: Path) -> tuple[float, Path]:
    """Execute a one-cell notebook in ``folder``: (seconds, the executed notebook's path)."""
    import nbformat
    import papermill

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src, executed = folder / "empty.ipynb", folder / "empty.out.ipynb"
    nbformat.write(nb, src)
    t0 = time.perf_counter()
    papermill.execute_notebook(
        str(src),
        str(executed),
        kernel_name="python3",
        progress_bar=False,
        request_save_on_cell_execute=False,
        shutdown_kernel="immediate",
        cwd=str(folder),
    )
    return time.perf_counter() - t0, executed


if __name__ == "__main__":
    task, args = sys.argv[1], sys.argv[2:]
    tasks = {
        "floor": floor,
        "metrics": metrics,
        "notebook-floor": notebook_floor,
        "notebook-floor-export": notebook_floor_export,
        "passes": passes,
        "report-parts": report_parts,
    }
    outcome = tasks[task](*args)
    seconds, parts = outcome if isinstance(outcome, tuple) else (outcome, None)
    print(
        "BENCH " + json.dumps({"seconds": seconds, **({"parts": parts} if parts else {})}),
        flush=True,
    )
