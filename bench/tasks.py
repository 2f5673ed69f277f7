"""The measured tasks that are not a `ta-outcomes` command, each run by bench/run.py in a fresh
process so that its time and peak memory are its own.

    python bench/tasks.py floor FILE DB          DuckDB read_csv of FILE into a table in DB
    python bench/tasks.py metrics DB START END   analysis.metrics.outcome_metrics, in-process
    python bench/tasks.py notebook-floor DIR     papermill running an empty notebook

Each prints one line ``BENCH {"seconds": ...}``: the time of the work itself, without the
interpreter's start and imports (bench/run.py times the whole process besides).
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
    # (analysis.metrics imports its modules on first use: this line imports them)
    from analysis.metrics import outcome_metrics

    t0 = time.perf_counter()
    outcome_metrics(Path(db), dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    return time.perf_counter() - t0


def notebook_floor(work: str) -> float:
    """papermill running a one-cell notebook, driven from Python with an immediate kernel
    shutdown, as the report runner does: the least any report can cost."""
    import nbformat
    import papermill

    folder = Path(work)
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    src = folder / "empty.ipynb"
    nbformat.write(nb, src)
    t0 = time.perf_counter()
    papermill.execute_notebook(
        str(src),
        str(folder / "empty.out.ipynb"),
        kernel_name="python3",
        progress_bar=False,
        request_save_on_cell_execute=False,
        shutdown_kernel="immediate",
        cwd=str(folder),
    )
    return time.perf_counter() - t0


if __name__ == "__main__":
    task, args = sys.argv[1], sys.argv[2:]
    seconds = {"floor": floor, "metrics": metrics, "notebook-floor": notebook_floor}[task](*args)
    print("BENCH " + json.dumps({"seconds": seconds}), flush=True)
