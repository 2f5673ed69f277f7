"""`make bench`: ingest, metrics and reports at 1M and 10M cases, against the floor and pandas.

For each size in ``--rows`` it generates a messy intake export (bench/generate.py, the demo's mess)
and measures, ``--repeat`` times each, every task in a fresh process:

- ``floor``: DuckDB's own read_csv of the file into a table of a database file, no cleaning;
- ``ingest``: ``ta-outcomes ingest FILE`` into an empty store;
- ``reload``: the same file again into the store that holds it (a snapshot reload, all unchanged);
- ``pandas``: bench/pandas_baseline.py, the same cleaning in straightforward pandas (only at
  sizes up to ``--pandas-max-rows``: at 10M rows it needs more memory than the goal allows and
  minutes per run);
- ``metrics_quarter`` / ``metrics_all``: ``ta-outcomes metrics`` for the last complete quarter and
  for the whole range, as a process and as the in-process function call;
- ``report_month``: ``ta-outcomes report outcome_report --period <last complete month>``, against
  ``notebook_floor``: papermill running an empty notebook from the same environment;
- ``passes_quarter`` / ``passes_all`` / ``passes_trailing``: the two passes over a window's
  decided cases that the per-supplier figures rest on, as bare SQL (bench/tasks.py ``passes``),
  and ``report_parts``: the report's imports and HTML export; what each goal cannot get below,
  stated beside it.

Per run it records the wall time of the process, its CPU time and its peak RSS (from
``os.wait4``: the child and the descendants it waited for, e.g. the report's kernel), the time of
the work itself where the child reports it (``BENCH {...}`` line), and the load average before
the run. It prints a table (median and min-max) and writes ``--out`` (JSON).

    .venv/bin/python bench/run.py [--rows 1000000,10000000] [--repeat 3] [--out bench/results.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402  (bench/ is a folder of scripts, not a package)

from analysis.metrics.periods import parse_period  # noqa: E402
from analysis.report.context import trailing_window  # noqa: E402

BIN = Path(sys.executable).parent
TA = str(BIN / "ta-outcomes")
PY = sys.executable
#: Measure the report and the empty-notebook floor (they start Jupyter kernels; the test skips them).
REPORTS = True


def _quarter_before(day: dt.date) -> tuple[dt.date, dt.date]:
    """The last complete calendar quarter before ``day``."""
    q_start = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    end = q_start - dt.timedelta(days=1)
    return dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end


def _month_before(day: dt.date) -> str:
    end = day.replace(day=1) - dt.timedelta(days=1)
    return f"{end.year}-{end.month:02d}"


def run_process(argv: list[str], env: dict | None = None) -> dict:
    """Run ``argv`` in a fresh process; wall and CPU seconds, peak RSS (MB), the BENCH line."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT, env=env)
        # wait4, not communicate(): it returns the child's own resource usage (peak RSS of the
        # child and of the descendants it waited for).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{stderr[-2000:]}")
    result = {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load_before": round(load, 2),
    }
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            bench = json.loads(line[6:])
            result["inner_s"] = round(bench["seconds"], 3)
            if "parts" in bench:
                result["parts"] = bench["parts"]
    result["stdout_tail"] = stdout.strip().splitlines()[-1][:300] if stdout.strip() else ""
    return result


def remove_store(db: Path) -> None:
    for p in (db, Path(f"{db}.wal"), Path(f"{db}.lock")):
        p.unlink(missing_ok=True)
    shutil.rmtree(f"{db}.tmp", ignore_errors=True)


def summarise(runs: list[dict]) -> dict:
    """Median and spread (min-max) of each measured figure."""
    out: dict = {"runs": runs, "n": len(runs)}
    for key in ("wall_s", "cpu_s", "peak_rss_mb", "inner_s"):
        values = [r[key] for r in runs if key in r]
        if values:
            out[key] = {
                "median": round(statistics.median(values), 3),
                "min": round(min(values), 3),
                "max": round(max(values), 3),
            }
    parts = [r["parts"] for r in runs if "parts" in r]
    if parts:
        out["parts"] = {k: round(statistics.median(p[k] for p in parts), 3) for k in parts[0]}
    return out


def bench_size(
    rows: int, repeat: int, work: Path, pandas_max: int, today: dt.date, log=print
) -> dict:
    """Every measurement for one size; returns {task: summary}."""
    csv_path = work / f"intake_{rows}.csv"
    db = work / f"store_{rows}" / "cases.duckdb"
    floor_db = work / f"floor_{rows}.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    results: dict = {}

    t0 = time.perf_counter()
    info = generate.generate(csv_path, rows, today=today)
    results["generate"] = {**info, "seconds": round(time.perf_counter() - t0, 2)}
    log(
        f"[{rows:,}] generated {info['rows']:,} rows ({info['bytes'] / 1e6:,.0f} MB) in "
        f"{results['generate']['seconds']} s"
    )

    def measure(task: str, argv: list[str], before=None, times: int = repeat) -> None:
        runs = []
        for i in range(times):
            if before:
                before()
            runs.append(run_process(argv))
            log(
                f"[{rows:,}] {task} {i + 1}/{times}: {runs[-1]['wall_s']:.2f} s, "
                f"{runs[-1]['peak_rss_mb']:.0f} MB (load {runs[-1]['load_before']})"
            )
        results[task] = summarise(runs)

    measure("floor", [PY, "bench/tasks.py", "floor", str(csv_path), str(floor_db)])
    remove_store(floor_db)
    measure(
        "ingest", [TA, "ingest", str(csv_path), "--db", str(db)], before=lambda: remove_store(db)
    )
    results["ingest"]["counts"] = results["ingest"]["runs"][-1]["stdout_tail"]
    measure("reload", [TA, "ingest", str(csv_path), "--db", str(db)])
    results["reload"]["counts"] = results["reload"]["runs"][-1]["stdout_tail"]
    if rows <= pandas_max:
        measure("pandas", [PY, "bench/pandas_baseline.py", str(csv_path)])
    else:
        results["pandas"] = {
            "skipped": f"not run above {pandas_max:,} rows (--pandas-max-rows): "
            "pandas holds every text cell as a Python object"
        }
    q_start, q_end = _quarter_before(today)
    for task, (start, end) in {
        "metrics_quarter": (q_start, q_end),
        "metrics_all": (dt.date(2000, 1, 1), today),
    }.items():
        measure(task, [TA, "metrics", "--db", str(db), "--start", str(start), "--end", str(end)])
        measure(
            task + "_function", [PY, "bench/tasks.py", "metrics", str(db), str(start), str(end)]
        )
        results[task]["period"] = f"{start}..{end}"
        # what the figures' per-supplier passes cost as bare SQL (each best of three, in-process)
        measure(
            task.replace("metrics", "passes"),
            [PY, "bench/tasks.py", "passes", str(db), str(start), str(end)],
            times=1,
        )
    if not REPORTS:
        return results
    month = _month_before(today)
    reports = work / "reports"
    measure(
        "notebook_floor", [PY, "bench/tasks.py", "notebook-floor", str(work / "notebook_floor")]
    )
    try:
        measure(
            "report_month",
            [
                TA,
                "report",
                "outcome_report",
                "--period",
                month,
                "--db",
                str(db),
                "--out",
                str(reports),
                "--no-progress",
            ],
        )
        results["report_month"]["period"] = month
        trailing = trailing_window(parse_period(month))
        measure(
            "passes_trailing",
            [PY, "bench/tasks.py", "passes", str(db), str(trailing.start), str(trailing.end)],
            times=1,
        )
        executed = reports / "outcome_report" / month / f"outcome_report_{month}.ipynb"
        measure("report_parts", [PY, "bench/tasks.py", "report-parts", str(executed)])
    except RuntimeError as exc:  # the report runner may not be finished yet: say so, go on
        results["report_month"] = {"error": str(exc)[:1000]}
        log(f"[{rows:,}] report_month FAILED: {str(exc)[:300]}")
    return results


def machine() -> dict:
    import duckdb
    import pandas

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "platform": platform.platform(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "memory_limit": os.environ.get("TA_OUTCOMES_MEMORY_LIMIT", "3GB (the ingest's default)"),
    }


def _cell(summary: dict, key: str = "wall_s") -> str:
    if key not in summary:
        return "-"
    s = summary[key]
    return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"


def table(results: dict) -> str:
    """The figures as a text table: median (min-max) seconds and peak RSS per task and size."""
    lines = [
        f"{'task':<26}{'rows':>12}  {'process s, median (min-max)':<30}"
        f"{'work s':<24}{'peak RSS MB':>12}"
    ]
    for rows, tasks in results["sizes"].items():
        for task, s in tasks.items():
            if task == "generate":
                continue
            if "runs" not in s:
                lines.append(
                    f"{task:<26}{int(rows):>12,}  {s.get('skipped') or s.get('error', '')[:80]}"
                )
                continue
            rss = s["peak_rss_mb"]["max"]
            lines.append(
                f"{task:<26}{int(rows):>12,}  {_cell(s):<30}{_cell(s, 'inner_s'):<24}{rss:>12,.0f}"
            )
    return "\n".join(lines)


#: The monthly report's allowance above the empty-notebook floor, by store size (issue 13).
REPORT_ALLOWANCE_S = {1_000_000: 3.0, 10_000_000: 5.0}


def _inner(tasks: dict, task: str) -> float | None:
    """The median of what ``task``'s child timed itself (its ``inner_s``), if measured."""
    return tasks.get(task, {}).get("inner_s", {}).get("median")


def goals(results: dict) -> list[str]:
    """The issue's goals, each checked against the medians."""
    out = []
    for rows, t in results["sizes"].items():
        med = {
            k: v["wall_s"]["median"] for k, v in t.items() if isinstance(v, dict) and "wall_s" in v
        }
        n = f"{int(rows):,}"
        if "ingest" in med and "floor" in med:
            ratio = med["ingest"] / med["floor"]
            out.append(
                f"{n}: ingest / floor = {ratio:.2f} (goal <= 2): {'met' if ratio <= 2 else 'NOT met'}"
            )
        if "pandas" in med and "ingest" in med:
            ratio = med["pandas"] / med["ingest"]
            out.append(
                f"{n}: pandas / ingest = {ratio:.1f} (goal >= 10): {'met' if ratio >= 10 else 'NOT met'}"
            )
        if "reload" in med and "ingest" in med:
            ok = med["reload"] <= med["ingest"]
            out.append(
                f"{n}: reload {med['reload']:.2f} s vs first load {med['ingest']:.2f} s: "
                f"{'met' if ok else 'NOT met'}"
            )
        for task in ("metrics_quarter_function", "metrics_all_function"):
            if task in t and "inner_s" in t[task]:
                v = t[task]["inner_s"]["median"]
                line = f"{n}: {task} {v:.2f} s (goal < 1 s): {'met' if v < 1 else 'NOT met'}"
                floor = _inner(t, task.replace("metrics", "passes").replace("_function", ""))
                if floor is not None:
                    line += (
                        f"; its two per-supplier passes alone, as bare SQL: {floor:.2f} s "
                        f"({100 * floor:.0f}% of the goal)"
                    )
                out.append(line)
        if "report_month" in med and "notebook_floor" in med:
            extra = med["report_month"] - med["notebook_floor"]
            allowed = REPORT_ALLOWANCE_S.get(int(rows), max(REPORT_ALLOWANCE_S.values()))
            line = (
                f"{n}: report - empty-notebook floor = {extra:.1f} s (goal <= {allowed:g} s): "
                f"{'met' if extra <= allowed else 'NOT met'}"
            )
            parts = t.get("report_parts", {}).get("parts")
            passes = _inner(t, "passes_trailing")
            if parts and passes is not None:
                least = parts["imports"] + parts["export"] + passes
                line += (
                    f"; before any table or chart it pays pandas and matplotlib's import "
                    f"{parts['imports']:.1f} s + the HTML export {parts['export']:.1f} s + the "
                    f"trailing 12 months' per-supplier passes {passes:.1f} s = {least:.1f} s "
                    f"({100 * least / allowed:.0f}% of the goal)"
                )
            out.append(line)
        peak = max(
            (
                v["peak_rss_mb"]["max"]
                for v in t.values()
                if isinstance(v, dict) and "peak_rss_mb" in v and v is not t.get("pandas")
            ),
            default=None,
        )
        if peak is not None:
            out.append(
                f"{n}: peak RSS of the project's commands {peak:,.0f} MB (goal < 4096 MB): "
                f"{'met' if peak < 4096 else 'NOT met'}"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1000000,10000000", help="comma-separated sizes (cases)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (3)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    ap.add_argument(
        "--work",
        type=Path,
        default=ROOT / "bench" / "work",
        help="scratch folder for exports and stores (bench/work/, git-ignored)",
    )
    ap.add_argument(
        "--pandas-max-rows",
        type=int,
        default=1_000_000,
        help="run the pandas baseline only up to this size (1,000,000)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the generated exports and stores")
    args = ap.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.rows.split(",") if s.strip()]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    today = dt.date.today()
    results = {
        "machine": machine(),
        "command": "make bench (" + " ".join(sys.argv) + ")",
        "repeat": args.repeat,
        "today": str(today),
        "load_at_start": os.getloadavg(),
        "sizes": {},
    }
    t0 = time.perf_counter()
    for rows in sizes:
        results["sizes"][str(rows)] = bench_size(
            rows, args.repeat, work, args.pandas_max_rows, today
        )
        if not args.keep:
            (work / f"intake_{rows}.csv").unlink(missing_ok=True)
            shutil.rmtree(work / f"store_{rows}", ignore_errors=True)
    results["total_seconds"] = round(time.perf_counter() - t0, 1)
    results["load_at_end"] = os.getloadavg()
    results["goals"] = goals(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(results))
    print()
    print("\n".join(results["goals"]))
    print(f"\nwritten {args.out} ({results['total_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
