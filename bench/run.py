"""`make bench`: the speed goals of issue 30 (bench/goals.py), each measured beside its floor.

``--tasks`` chooses the groups of tasks to run (``make bench TASKS=small,1M``); each measurement
runs in a fresh process:

- ``small`` (default): the demo store at 5,000 cases, its monthly report alternating with the
  floor (papermill running an empty notebook plus its nbconvert export), ``--repeat`` times each;
  and on a 250-case demo store one monthly report alternating with ``--each category``
  (``--each-repeat`` times each);
- a size, ``1M``, ``10M`` (default) or a number of cases: a messy intake export of that many
  cases (bench/generate.py, the demo's mess), and, ``--repeat`` times each:

  - ``floor``: DuckDB's own read_csv of the file into a table of a database file, no cleaning;
  - ``ingest``: ``ta-outcomes ingest FILE`` into an empty store;
  - ``reload``: the same file again into the store that holds it (a snapshot reload);
  - ``pandas``: bench/pandas_baseline.py, the same cleaning in straightforward pandas (only up
    to ``--pandas-max-rows``);
  - ``metrics_quarter`` / ``metrics_all``: ``ta-outcomes metrics`` for the last complete quarter
    and for the whole range, as a process and as the in-process function call;
  - ``report_month``: ``ta-outcomes report outcome_report --period <last complete month>``,
    against ``notebook_floor``: papermill running an empty notebook;
  - ``passes_quarter`` / ``passes_all`` / ``passes_trailing``: the two passes over a window's
    decided cases that the per-supplier figures rest on, as bare SQL (bench/tasks.py
    ``passes``), and ``report_parts``: the report's imports and HTML export;

- ``lake-10M`` (opt-in; ``lake-1M``, ``lake-<cases>``): the pooled store beside the file store
  (issue 31): one export of that size loaded into an empty DuckDB file and into an empty DuckLake
  on a private PostgreSQL server, then a quarter's metrics and the monthly report from each, file
  and lake alternating, ``--repeat`` rounds (:func:`bench_lake`);
- ``demo`` (opt-in): ``make install`` then ``make demo`` in a fresh clone of this repository's
  committed HEAD in a temporary folder (the uv and pip caches are used as a user's would be);
- ``test`` (opt-in): ``make test-fast`` and ``make test`` in this working tree (on a shared
  machine, hold the test lock around the whole run: ``flock /work/testlock make bench
  TASKS=test``).

Per run it records the wall time of the process, its CPU time and its peak RSS (from
``os.wait4``: the child and the descendants it waited for, e.g. the report's kernel), the time of
the work itself where the child reports it (``BENCH {...}`` line), and the load average before
the run. It prints a table (median and min-max) and every goal with its value and floor, and
updates ``--out`` (JSON): the groups run now replace their earlier figures, the others keep
theirs with their date, and the goals they measure are printed as "not run this time".

    .venv/bin/python bench/run.py [--tasks small,1M,10M] [--repeat 3] [--out bench/results.json]
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ for its scripts, the project root for tests/pg_server.py (the lake's private server)
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

import generate  # noqa: E402  (bench/ is a folder of scripts, not a package)
import goals  # noqa: E402

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


def run_process(
    argv: list[str], env: dict | None = None, cwd: Path = ROOT, check: bool = True
) -> dict:
    """Run ``argv`` in a fresh process; wall and CPU seconds, peak RSS (MB), the BENCH line.
    A failure raises RuntimeError, or with ``check=False`` is recorded as ``failed`` (the last
    line of its stderr): a goal measured by a failing command is reported as not met."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd, env=env)
        # wait4, not communicate(): it returns the child's own resource usage (peak RSS of the
        # child and of the descendants it waited for).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0 and check:
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
    if proc.returncode != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        first = lines[0].split("; partial notebook:")[0] if lines else ""
        result["failed"] = f"exit {proc.returncode}: {first[:300]}"
    return result


def remove_store(db: Path) -> None:
    for p in (db, Path(f"{db}.wal"), Path(f"{db}.lock")):
        p.unlink(missing_ok=True)
    shutil.rmtree(f"{db}.tmp", ignore_errors=True)


def summarise(runs: list[dict]) -> dict:
    """Median and spread (min-max) of each measured figure."""
    out: dict = {"runs": runs, "n": len(runs)}
    failed = [r["failed"] for r in runs if "failed" in r]
    if failed:
        out["failed"] = failed[0]
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
        measure_task(results, f"{rows:,}", task, argv, times, before, log)

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
    # a folder per size: a report folder holds one store's reports (the runner refuses to write
    # a 10M store's report where the 1M store's is)
    reports = work / f"reports_{rows}"
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


def table(results: dict, run_now: set[str]) -> str:
    """The figures as a text table: median (min-max) seconds and peak RSS per group and task;
    a group not run this time is marked with the date it was measured."""
    lines = [
        f"{'task':<26}{'group':>12}  {'process s, median (min-max)':<30}"
        f"{'work s':<24}{'peak RSS MB':>12}"
    ]
    for name, group in results["groups"].items():
        label = goals._task_name(name)
        if name not in run_now:
            lines.append(f"{'':<26}{label:>12}  (not run this time: recorded {group['date'][:10]})")
        if "skipped" in group["tasks"]:
            lines.append(f"{'':<26}{label:>12}  skipped: {group['tasks']['skipped'][:80]}")
        for task, s in group["tasks"].items():
            if not isinstance(s, dict) or task == "generate":
                continue
            if "differ" in s:  # the lake's figures against the file store's
                lines.append(
                    f"{task:<26}{label:>12}  {s['fields']:,} fields, {len(s['differ'])} differ"
                )
                continue
            if "runs" not in s:
                lines.append(
                    f"{task:<26}{label:>12}  {s.get('skipped') or s.get('error', '')[:80]}"
                )
                continue
            rss = s["peak_rss_mb"]["max"]
            lines.append(
                f"{task:<26}{label:>12}  {_cell(s):<30}{_cell(s, 'inner_s'):<24}{rss:>12,.0f}"
            )
    return "\n".join(lines)


def measure_task(
    results: dict, label: str, task: str, argv: list[str], times: int, before=None, log=print
) -> None:
    """Run ``argv`` ``times`` times (``before`` first each time); its summary in results[task]."""
    runs = []
    for i in range(times):
        if before:
            before()
        runs.append(run_process(argv))
        log(
            f"[{label}] {task} {i + 1}/{times}: {runs[-1]['wall_s']:.2f} s, "
            f"{runs[-1]['peak_rss_mb']:.0f} MB (load {runs[-1]['load_before']})"
        )
    results[task] = summarise(runs)


def alternate(
    results: dict,
    label: str,
    argvs: dict[str, Callable[[int], list[str]]],
    times: int,
    log=print,
    env: dict | None = None,
) -> None:
    """Run the tasks of ``argvs`` in turn, ``times`` rounds (a, b, a, b, ...), so that a change
    in the machine's load falls on both alike; ``argvs[task](i)`` is the i-th run's command.
    A run that fails is timed all the same and its failure recorded (see :func:`run_process`)."""
    runs: dict[str, list[dict]] = {task: [] for task in argvs}
    for i in range(times):
        for task, argv in argvs.items():
            runs[task].append(run_process(argv(i), env=env, check=False))
            log(
                f"[{label}] {task} {i + 1}/{times}: {runs[task][-1]['wall_s']:.2f} s, "
                f"{runs[task][-1]['peak_rss_mb']:.0f} MB (load {runs[task][-1]['load_before']})"
            )
    for task, done in runs.items():
        results[task] = summarise(done)


def _demo_store(folder: Path, cases: int) -> Path:
    """A fresh demo store of ``cases`` cases in ``folder`` (``ta-outcomes demo``)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db = folder / "cases.duckdb"
    run_process(
        [TA, "demo", "--cases", str(cases), "--db", str(db), "--raw-dir", str(folder / "raw")]
    )
    return db


def _report_argv(db: Path, month: str, out: Path, *extra: str) -> list[str]:
    return [TA, "report", "outcome_report", "--period", month, "--db", str(db), "--out", str(out),
            "--no-progress", *extra]  # fmt: skip


def bench_small(repeat: int, each_repeat: int, work: Path, today: dt.date, log=print) -> dict:
    """The small-store goals: the monthly report of the 5,000-case demo store against the empty
    notebook plus its export, alternating; ``--each category`` on a 250-case store against one
    report of the same store, alternating. Each report is written to a new folder."""
    results: dict = {}
    month = _month_before(today)
    folder = work / "small"
    db = _demo_store(folder / "store", goals.SMALL_CASES)
    log(f"[small] demo store of {goals.SMALL_CASES:,} cases built")
    alternate(
        results,
        "small",
        {
            "notebook_floor_export": lambda i: [
                PY, "bench/tasks.py", "notebook-floor-export", str(folder / f"floor_{i}")
            ],
            "report_month": lambda i: _report_argv(db, month, folder / f"reports_{i}"),
        },
        repeat,
        log,
    )  # fmt: skip
    results["report_month"]["period"] = month
    each_db = _demo_store(folder / "each_store", goals.EACH_CASES)
    log(f"[small] demo store of {goals.EACH_CASES:,} cases built")
    alternate(
        results,
        "small",
        {
            "report_month_each_store": lambda i: _report_argv(each_db, month, folder / f"one_{i}"),
            "each_category": lambda i: _report_argv(
                each_db, month, folder / f"each_{i}", "--each", "category"
            ),
        },
        each_repeat,
        log,
    )
    # the batch's reports: its pages (less each folder's index) and the notebooks that failed
    batch = folder / "each_0"
    pages = [p for p in batch.rglob("*.html") if p.name != "index.html"]
    results["each_category"]["reports"] = len(pages) + len(list(batch.rglob("*.failed.ipynb")))
    results["each_category"]["period"] = month
    shutil.rmtree(folder, ignore_errors=True)
    return results


def _bytes(path: Path) -> int:
    """The size on disk of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def differences(a, b, path: str = "", rel: float = 1e-9) -> list[str]:
    """Where two JSON values differ (a dotted path each); numbers equal within ``rel``
    (relative): the same sums of doubles read in another order differ in the last digits."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}".lstrip(".") for k in a.keys() ^ b.keys()]
        for k in a.keys() & b.keys():
            out += differences(a[k], b[k], f"{path}.{k}", rel)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path} ({len(a)} against {len(b)} items)".lstrip(".")]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]", rel)]
    if isinstance(a, bool) or isinstance(b, bool):  # JSON's true is not its 1
        return [] if a is b else [path.lstrip(".")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b or abs(a - b) <= rel * max(abs(a), abs(b)):
            return []
    elif a == b:
        return []
    return [path.lstrip(".")]


def _same_figures(stores: dict[str, str], start: dt.date, end: dt.date, env: dict) -> dict:
    """The quarter's ``ta-outcomes metrics`` JSON from each store, compared field by field:
    {"fields": how many leaves, "differ": the paths that differ (empty: every figure equal)}."""
    figures = {}
    for kind, db in stores.items():
        done = subprocess.run(
            [TA, "metrics", "--db", db, "--start", str(start), "--end", str(end)],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        figures[kind] = json.loads(done.stdout)
    file, lake = figures["file"], figures["lake"]
    return {"fields": _leaves(file), "differ": differences(file, lake)}


def _leaves(value) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_leaves(v) for v in value)
    return 1


def bench_lake(
    rows: int, repeat: int, work: Path, today: dt.date, keep: bool = False, log=print
) -> dict:
    """The pooled store beside the file store at one size (issue 31): one generated export
    loaded into an empty DuckDB file and into an empty DuckLake whose catalog is a private
    PostgreSQL server (tests/pg_server.py, fsync on, on a unix socket of this machine) and whose
    Parquet files are on the same disk as the file; then a quarter's metrics and the monthly
    report from each. Each task alternates file and lake, ``repeat`` rounds; each ingest starts
    from an empty store (a new file; a new PostgreSQL database and data folder)."""
    from tests import pg_server

    label = f"lake {rows:,}"
    try:
        server = pg_server.start(fsync=True)
    except pg_server.Unavailable as exc:
        log(f"[{label}] skipped: {exc}")
        return {"skipped": f"{exc}: the lake is measured on a private PostgreSQL server"}
    folder = work / f"lake_{rows}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    results: dict = {}
    try:
        csv_path = folder / "intake.csv"
        t0 = time.perf_counter()
        info = generate.generate(csv_path, rows, today=today)
        results["generate"] = {**info, "seconds": round(time.perf_counter() - t0, 2)}
        log(f"[{label}] generated {info['rows']:,} rows in {results['generate']['seconds']} s")
        env = {**os.environ, "TA_OUTCOMES_BUYER_KEY_FILE": str(folder / "buyer.key")}
        file_db = folder / "store" / "cases.duckdb"
        file_db.parent.mkdir()
        lakes: list[tuple[str, Path]] = []

        def fresh_file(_: int) -> list[str]:
            remove_store(file_db)
            return [TA, "ingest", str(csv_path), "--db", str(file_db)]

        def fresh_lake(i: int) -> list[str]:
            if lakes:  # the previous round's lake: its data are not needed again
                shutil.rmtree(lakes[-1][1], ignore_errors=True)
            lakes.append((server.createdb(f"bench_{i}"), folder / f"lake-data-{i}"))
            db, data = lakes[-1]
            return [TA, "ingest", str(csv_path), "--db", db, "--data-path", str(data)]

        alternate(results, label, {"ingest_file": fresh_file, "ingest_lake": fresh_lake},
                  repeat, log, env=env)  # fmt: skip
        for kind in ("file", "lake"):
            results[f"ingest_{kind}"]["counts"] = results[f"ingest_{kind}"]["runs"][-1][
                "stdout_tail"
            ]
        lake_db, lake_data = lakes[-1]
        results["ingest_file"]["bytes"] = _bytes(file_db)
        results["ingest_lake"]["bytes"] = _bytes(lake_data)  # the Parquet files (not the catalog)
        stores = {"file": str(file_db), "lake": lake_db}
        start, end = _quarter_before(today)
        alternate(
            results,
            label,
            {
                f"metrics_quarter_{kind}": (
                    lambda _, db=db: [TA, "metrics", "--db", db, "--start", str(start),
                                      "--end", str(end)]
                )
                for kind, db in stores.items()
            },
            repeat,
            log,
            env=env,
        )  # fmt: skip
        # not timed: the lake's figures are the file store's, field by field, at this size too
        results["same_figures"] = _same_figures(stores, start, end, env)
        log(
            f"[{label}] the quarter's metrics, file against lake: "
            f"{results['same_figures']['fields']:,} fields, "
            f"{len(results['same_figures']['differ'])} differ"
        )
        if REPORTS:
            month = _month_before(today)
            alternate(
                results,
                label,
                {
                    f"report_month_{kind}": (
                        lambda i, db=db, kind=kind: [
                            TA, "report", "outcome_report", "--period", month, "--db", db,
                            "--out", str(folder / f"reports-{kind}-{i}"), "--no-progress"
                        ]
                    )
                    for kind, db in stores.items()
                },
                repeat,
                log,
                env=env,
            )  # fmt: skip
            for kind in stores:
                results[f"report_month_{kind}"]["period"] = month
    finally:
        pg_server.stop(server)  # the catalog goes with it: a kept folder keeps the file store
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def _clean_env() -> dict:
    """The environment a user's shell would give ``make``: no virtualenv, no outer make."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p).resolve() != BIN.resolve()
    )
    return env


def bench_demo(work: Path, log=print) -> dict:
    """``make install`` then ``make demo`` in a fresh clone of the committed HEAD (temporary
    folder; the uv and pip caches are used, as on a user's second project)."""
    results: dict = {}
    with tempfile.TemporaryDirectory(dir=work, prefix="fresh-clone-") as tmp:
        clone = Path(tmp) / "ta-outcomes"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        for task, target in (("make_install", "install"), ("make_demo", "demo")):
            results[task] = summarise([run_process(["make", target], env=_clean_env(), cwd=clone)])
            log(f"[demo] {task}: {results[task]['wall_s']['median']:.1f} s")
    return results


def bench_test(work: Path, log=print) -> dict:
    """``make test-fast`` and ``make test`` in this working tree, once each; a failing suite is
    timed all the same (not met), its output kept in ``work/<task>.log``."""
    results: dict = {}
    for task, target in (("make_test_fast", "test-fast"), ("make_test", "test")):
        log_file = work / f"{task}.log"
        argv = ["sh", "-c", f'make {target} > "{log_file}" 2>&1']
        results[task] = summarise([run_process(argv, env=_clean_env(), check=False)])
        lines = log_file.read_text(errors="replace").strip().splitlines()
        results[task]["summary"] = lines[-1] if lines else ""  # pytest's "N passed in S s"
        log(
            f"[test] {task}: {results[task]['wall_s']['median']:.1f} s ({results[task]['summary']})"
        )
    return results


#: The groups ``--tasks`` knows besides sizes, and the default selection.
GROUPS = ("small", "demo", "test")
DEFAULT_TASKS = "small,1M,10M"


#: The prefix of the pooled store's groups: ``lake-10M`` is a 10M lake beside a 10M file store.
LAKE = "lake-"


def _size(name: str) -> str | None:
    """``1M`` -> '1000000', ``2_000`` -> '2000'; None if ``name`` is not a size."""
    if name.upper().endswith("M") and name[:-1].isdigit():
        return str(int(name[:-1]) * 1_000_000)
    if name.replace("_", "").isdigit():
        return str(int(name.replace("_", "")))
    return None


def parse_tasks(text: str) -> list[str]:
    """``small,1M,10M,lake-10M,demo,test`` -> group names (a size as its number of cases:
    '1000000'; a lake as 'lake-' and its number of cases)."""
    out = []
    for name in (t.strip() for t in text.split(",") if t.strip()):
        if name in GROUPS:
            out.append(name)
        elif _size(name):
            out.append(_size(name))
        elif name.startswith(LAKE) and _size(name[len(LAKE) :]):
            out.append(LAKE + _size(name[len(LAKE) :]))
        else:
            raise SystemExit(
                f"bench: unknown task {name!r}: use {', '.join(GROUPS)}, 1M, 10M or a number of "
                "cases, lake-1M, lake-10M or lake-<cases>"
            )
    return out


def previous(path: Path) -> dict:
    """The groups recorded in ``path`` by earlier runs (a run before groups existed recorded
    its sizes and one date: read as one group per size, with that date)."""
    if not path.exists():
        return {}
    old = json.loads(path.read_text(encoding="utf-8"))
    if "groups" in old:
        return old["groups"]
    return {
        size: {
            "date": old["machine"]["date"],
            "machine": old["machine"],
            "command": old.get("command"),
            "load_at_start": old.get("load_at_start"),
            "tasks": tasks,
        }
        for size, tasks in old.get("sizes", {}).items()
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--tasks",
        default=DEFAULT_TASKS,
        help=f"comma-separated groups: small, 1M, 10M (or a number of cases), lake-10M (or "
        f"lake-<cases>), demo, test "
        f"(default {DEFAULT_TASKS})",
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (3)")
    ap.add_argument(
        "--each-repeat", type=int, default=1, help="runs of the --each category batch (1)"
    )
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
    selected = parse_tasks(args.tasks)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    today = dt.date.today()
    this_machine = machine()
    groups = previous(args.out)
    t0 = time.perf_counter()
    for name in selected:
        record = {
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": this_machine,
            "command": "make bench (" + " ".join(sys.argv) + ")",
            "repeat": args.repeat,
            "today": str(today),
            "load_at_start": os.getloadavg(),
        }
        start = time.perf_counter()
        if name == "small":
            tasks = bench_small(args.repeat, args.each_repeat, work, today)
        elif name == "demo":
            tasks = bench_demo(work)
        elif name == "test":
            tasks = bench_test(work)
        elif name.startswith(LAKE):
            tasks = bench_lake(int(name[len(LAKE) :]), args.repeat, work, today, args.keep)
        else:
            rows = int(name)
            tasks = bench_size(rows, args.repeat, work, args.pandas_max_rows, today)
            if not args.keep:
                (work / f"intake_{rows}.csv").unlink(missing_ok=True)
                shutil.rmtree(work / f"store_{rows}", ignore_errors=True)
        groups[name] = {
            **record,
            "seconds": round(time.perf_counter() - start, 1),
            "load_at_end": os.getloadavg(),
            "tasks": tasks,
        }
    run_now = set(selected)
    results = {
        "machine": this_machine,
        "command": "make bench (" + " ".join(sys.argv) + ")",
        "total_seconds": round(time.perf_counter() - t0, 1),
        "groups": groups,
        "goals": goals.report(groups, run_now),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(results, run_now))
    print()
    print("\n".join(results["goals"]))
    print(f"\nwritten {args.out} ({results['total_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
