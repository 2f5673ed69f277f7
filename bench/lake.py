"""The pooled store against the file store at one size: ingest, metrics of a quarter, the
monthly report, each on a DuckDB file and on a DuckLake whose catalog is a private PostgreSQL
server (tests/pg_server.py) and whose data are Parquet files on the local disk.

    .venv/bin/python bench/lake.py --rows 100000        # writes bench/work/lake_<rows>.json

Each task runs once per store in a fresh process (bench/run.py's ``run_process``: wall and CPU
seconds, peak memory); the two stores are loaded from the same generated export. Not part of
``make bench``'s default sizes: a 10M lake is a run of its own (docs/performance.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

import generate  # noqa: E402  (bench/ is a folder of scripts, not a package)
from run import PY, TA, _month_before, _quarter_before, run_process  # noqa: E402

from tests import pg_server  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Measure and print one line per task and store; write the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    args = parser.parse_args(argv)
    today = dt.date(2026, 11, 30)
    work = args.work / f"lake_{args.rows}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    csv_path = work / "intake.csv"
    generate.generate(csv_path, args.rows, today=today)
    server = pg_server.start()
    env = {**os.environ, "TA_OUTCOMES_BUYER_KEY_FILE": str(work / "buyer.key")}
    try:
        stores = {"file": str(work / "store" / "cases.duckdb"), "lake": server.createdb("bench")}
        start, end = _quarter_before(today)
        results: dict = {"rows": args.rows, "tasks": {}}
        for kind, db in stores.items():
            data = ["--data-path", str(work / "lake-data")] if kind == "lake" else []
            tasks = {
                "ingest": [TA, "ingest", str(csv_path), "--db", db, *data],
                "metrics_quarter": [TA, "metrics", "--db", db, "--start", str(start),
                                    "--end", str(end)],
                "report_month": [TA, "report", "outcome_report", "--period",
                                 _month_before(today), "--db", db, "--out",
                                 str(work / f"reports-{kind}"), "--no-progress"],
            }  # fmt: skip
            for task, command in tasks.items():
                run = run_process(command, env=env)
                results["tasks"].setdefault(task, {})[kind] = run
                print(
                    f"[{args.rows:,}] {task} {kind}: {run['wall_s']:.2f} s, "
                    f"{run['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
    finally:
        pg_server.stop(server)
    out = args.work / f"lake_{args.rows}.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"written {out} ({PY})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
