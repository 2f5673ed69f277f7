"""The speed goals (issue 30's table and its restated large-store goals), declared once.

Each goal names the group of tasks that measures it (bench/run.py: ``small``, a size such as
``1000000``, a lake such as ``lake-10000000``, ``demo``, ``test``), its limit and how its value and its floor are read from that
group's figures. ``make bench`` prints every goal with the value measured and the floor measured
beside it in the same run; a goal whose group was not run this time shows the group's last
recorded figures with their date, marked so. docs/performance.md opens with this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: The store sizes of the large-store goals (cases).
SIZES = (1_000_000, 10_000_000)
#: The monthly report's allowance above the empty-notebook floor, by store size (issue 30).
REPORT_ALLOWANCE_S = {1_000_000: 5.0, 10_000_000: 20.0}
#: The pooled store (issue 31): a lake of this size beside a file store of the same export, and
#: how much dearer than the file store a lake's ingest, metrics and report may be. A pool buys
#: writers on many machines; half as long again is what we accept for it (at 1M it cost ~1.0x).
LAKE_CASES = 10_000_000
LAKE_RATIO = 1.5
#: Cases of the small stores: the demo's default size, and the store of the batch goal.
SMALL_CASES = 5_000
EACH_CASES = 250


@dataclass(frozen=True)
class Outcome:
    """A goal's value as measured, in words, and the floor it was measured against."""

    value: float
    measured: str
    floor: str = "-"
    #: why the command measured failed (its time is shown, the goal is not met)
    failed: str | None = None


@dataclass(frozen=True)
class Goal:
    """One goal: what users wait for, its limit, and how its group's figures give its value."""

    wait: str
    target: str
    group: str
    limit: float
    evaluate: Callable[[dict], Outcome | None]

    def met(self, outcome: Outcome) -> bool:
        return outcome.failed is None and outcome.value <= self.limit


def median(tasks: dict, task: str, key: str = "wall_s") -> float | None:
    """The median of ``key`` (wall seconds by default) of ``task``, if it was measured."""
    return tasks.get(task, {}).get(key, {}).get("median")


def _demo(tasks: dict) -> Outcome | None:
    install, demo = median(tasks, "make_install"), median(tasks, "make_demo")
    if install is None or demo is None:
        return None
    return Outcome(
        install + demo,
        f"{install + demo:.1f} s (install {install:.1f} s + demo and report {demo:.1f} s)",
    )


def _report_small(tasks: dict) -> Outcome | None:
    report, floor = median(tasks, "report_month"), median(tasks, "notebook_floor_export")
    if report is None or floor is None:
        return None
    n = tasks["report_month"]["n"]
    return Outcome(
        report - floor,
        f"{report:.1f} s = floor + {report - floor:.1f} s",
        floor=f"{floor:.1f} s (empty notebook + its nbconvert export; median of {n}, alternating)",
        failed=tasks["report_month"].get("failed"),
    )


def _each_category(tasks: dict) -> Outcome | None:
    batch, one = median(tasks, "each_category"), median(tasks, "report_month_each_store")
    if batch is None or one is None:
        return None
    reports = tasks["each_category"].get("reports")
    what = f" ({reports} reports)" if reports else ""
    return Outcome(
        batch / one,
        f"{batch:.1f} s{what} = {batch / one:.2f}x one report",
        f"{one:.1f} s",
        failed=tasks["each_category"].get("failed")
        or tasks["report_month_each_store"].get("failed"),
    )


def _wall(task: str) -> Callable[[dict], Outcome | None]:
    def evaluate(tasks: dict) -> Outcome | None:
        seconds = median(tasks, task)
        if seconds is None:
            return None
        summary = tasks[task].get("summary")
        return Outcome(
            seconds,
            f"{seconds:.0f} s ({seconds / 60:.1f} min)" + (f": {summary}" if summary else ""),
            failed=tasks[task].get("failed"),
        )

    return evaluate


def _ingest(tasks: dict) -> Outcome | None:
    ingest, floor = median(tasks, "ingest"), median(tasks, "floor")
    if ingest is None or floor is None:
        return None
    return Outcome(
        ingest / floor, f"{ingest / floor:.2f}x ({ingest:.1f} s)", f"read_csv {floor:.1f} s"
    )


def _report_large(tasks: dict) -> Outcome | None:
    report, floor = median(tasks, "report_month"), median(tasks, "notebook_floor")
    if report is None or floor is None:
        return None
    line = f"{report:.1f} s = floor + {report - floor:.1f} s"
    parts = tasks.get("report_parts", {}).get("parts")
    passes = median(tasks, "passes_trailing", "inner_s")
    if parts and passes is not None:
        least = parts["imports"] + parts["export"] + passes
        line += (
            f"; before any table or chart: imports {parts['imports']:.1f} s + HTML export "
            f"{parts['export']:.1f} s + the trailing 12 months' per-supplier passes "
            f"{passes:.1f} s = {least:.1f} s"
        )
    return Outcome(report - floor, line, f"{floor:.1f} s (empty notebook)")


def _metrics_quarter(tasks: dict) -> Outcome | None:
    work = median(tasks, "metrics_quarter_function", "inner_s")
    if work is None:
        return None
    passes = median(tasks, "passes_quarter", "inner_s")
    floor = "-" if passes is None else f"its two per-supplier passes as bare SQL {passes:.2f} s"
    return Outcome(work, f"{work:.2f} s of work", floor)


def _reload(tasks: dict) -> Outcome | None:
    reload, ingest = median(tasks, "reload"), median(tasks, "ingest")
    if reload is None or ingest is None:
        return None
    return Outcome(reload / ingest, f"{reload:.1f} s", f"first load {ingest:.1f} s")


def _peak(tasks: dict) -> Outcome | None:
    peaks = [
        v["peak_rss_mb"]["max"]
        for k, v in tasks.items()
        if isinstance(v, dict) and "peak_rss_mb" in v and k != "pandas"
    ]
    if not peaks:
        return None
    return Outcome(max(peaks), f"{max(peaks):,.0f} MB")


def _lake_against_file(task: str) -> Callable[[dict], Outcome | None]:
    """The lake's median time for ``task`` over the file store's, measured alternating."""

    def evaluate(tasks: dict) -> Outcome | None:
        lake, file = median(tasks, f"{task}_lake"), median(tasks, f"{task}_file")
        if lake is None or file is None:
            return None
        n = tasks[f"{task}_lake"]["n"]
        return Outcome(
            lake / file,
            f"{lake / file:.2f}x ({lake:.1f} s)",
            f"the file store {file:.1f} s (median of {n}, alternating)",
            failed=tasks[f"{task}_lake"].get("failed") or tasks[f"{task}_file"].get("failed"),
        )

    return evaluate


def _lake_goals() -> tuple[Goal, ...]:
    n, group = f"{LAKE_CASES // 1_000_000}M", f"lake-{LAKE_CASES}"
    target = f"within {LAKE_RATIO:g}x the {n} file store"
    return tuple(
        Goal(f"{what} of a {n} lake", target, group, LAKE_RATIO, _lake_against_file(task))
        for what, task in (
            ("ingest", "ingest"),
            ("metrics of a quarter", "metrics_quarter"),
            ("monthly report", "report_month"),
        )
    )


def _size_goals() -> tuple[Goal, ...]:
    goals = []
    for rows in SIZES:
        n, size = f"{rows // 1_000_000}M", str(rows)
        goals += [
            Goal(
                f"ingest of the {n} messy export", "<= 2.0x DuckDB's read_csv", size, 2.0, _ingest
            ),
            Goal(
                f"monthly report at {n}",
                f"floor + {REPORT_ALLOWANCE_S[rows]:g} s",
                size,
                REPORT_ALLOWANCE_S[rows],
                _report_large,
            ),
        ]
    goals.append(
        Goal("metrics of a quarter at 10M", "3 s of work", str(SIZES[-1]), 3.0, _metrics_quarter)
    )
    for rows in SIZES:  # issue 13's, still standing
        n, size = f"{rows // 1_000_000}M", str(rows)
        goals += [
            Goal(f"snapshot reload at {n}", "no dearer than the first load", size, 1.0, _reload),
            Goal(f"peak memory at {n}", "under 4,096 MB", size, 4096.0, _peak),
        ]
    return tuple(goals)


#: Every goal, in the order of issue 30's table.
GOALS: tuple[Goal, ...] = (
    Goal("`make demo` on a fresh clone", "under 90 s", "demo", 90.0, _demo),
    Goal(
        f"a monthly report of the {SMALL_CASES:,}-case demo store",
        "floor + 3 s",
        "small",
        3.0,
        _report_small,
    ),
    Goal(
        f"`--each category` on a {EACH_CASES}-case store",
        "under 4x one report",
        "small",
        4.0,
        _each_category,
    ),
    Goal("`make test` on 2 cores", "under 240 s", "test", 240.0, _wall("make_test")),
    Goal("`make test-fast` on 2 cores", "under 60 s", "test", 60.0, _wall("make_test_fast")),
    *_size_goals(),
    *_lake_goals(),
)


def report(groups: dict, run_now: set[str]) -> list[str]:
    """One line per goal: its value and floor, met or not, and whether this run measured it
    (else the date its group was last measured, or that it never was)."""
    lines = []
    for goal in GOALS:
        group = groups.get(goal.group)
        outcome = goal.evaluate(group["tasks"]) if group else None
        head = f"{goal.wait} (goal {goal.target}): "
        if group and "skipped" in group["tasks"]:
            lines.append(head + f"not measured: {group['tasks']['skipped']}")
            continue
        if outcome is None:
            lines.append(head + "not measured (make bench TASKS=" + _task_name(goal.group) + ")")
            continue
        when = (
            "this run"
            if goal.group in run_now
            else f"NOT RUN THIS TIME: recorded {group['date'][:10]}"
        )
        failed = f" (FAILED: {outcome.failed})" if outcome.failed else ""
        lines.append(
            head
            + f"{outcome.measured}{failed}; floor {outcome.floor}: "
            + ("met" if goal.met(outcome) else "NOT met")
            + f" [{when}]"
        )
    return lines


def _task_name(group: str) -> str:
    """The TASKS name that runs ``group`` (a size is written 1M, 10M; a lake lake-10M)."""
    if group.startswith("lake-"):
        return "lake-" + _task_name(group[len("lake-") :])
    if group.isdigit() and int(group) % 1_000_000 == 0:
        return f"{int(group) // 1_000_000}M"
    return group
