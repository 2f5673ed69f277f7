"""Batch runs: one report for every category, or one scorecard for every named supplier.

``ta-outcomes report outcome_report --last month --each category`` renders the all-categories
report and one per category that has a case in the period; ``ta-outcomes report
supplier_scorecard --each supplier`` one scorecard per supplier with at least ``min_n_named``
decided cases in the period. Every report runs even when another fails, in a cell or because the
machine refused it (its folder cannot be made, the disk is full): each failure is printed as one
``FAILED`` line with its reason and recorded in its run.json where that can be written; the
catalogue is rebuilt once, at the end; the exit code is non-zero when any failed (74 when the
machine refused one, else 1).

The reports run :func:`analysis.settings.batch_workers` at a time (two on a two-core machine):
a report spends much of its time waiting on its kernel's start and on one core, so two side by
side finish the batch in a little over half the time. Each still runs alone in every other way
(its own kernel, reader, folder and lock); their lines are printed in the batch's order.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from analysis import settings
from analysis.errors import BadParameter, EnvironmentProblem
from analysis.metrics.periods import Period
from analysis.publish.runner import EXIT_FAILED, EXIT_OK, run_report

EACH = ("category", "supplier")


def subjects(each: str, period: Period, db: Path, params: Mapping[str, Any]) -> list[dict]:
    """The parameter sets of a batch: ``{}`` (all categories) and one per category with a case
    in the period, or one per named supplier."""
    from analysis import metrics
    from analysis.metrics import provenance, scorecard

    if each == "category":
        with_cases = metrics.block_frame(db, period.start, period.end, "category")
        present = with_cases.loc[
            (with_cases["cases_opened"] > 0) | (with_cases["cases_closed"] > 0), "group"
        ]
        known = set(provenance.store_facts(db)["categories"])
        return [{}] + [{"category": c} for c in sorted(present) if c in known]
    if each == "supplier":
        from analysis.publish.params import METRIC_KEYS

        metric_params = metrics.Params(**{k: params[k] for k in METRIC_KEYS if k in params})
        return [
            {"supplier_id": s}
            for s in scorecard.named_suppliers(db, period.start, period.end, metric_params)
        ]
    raise BadParameter(f"--each {each!r}: use one of {', '.join(EACH)}")


def _no_supplier(period: Period, db: Path, params: Mapping[str, Any]) -> str:
    """Why no supplier has a scorecard: how many suppliers have how many decided cases in the
    period, and the parameter (min_n_named) that would include them."""
    from analysis import metrics
    from analysis.metrics import supplier_facts
    from analysis.publish.params import METRIC_KEYS

    metric_params = metrics.Params(**{k: params[k] for k in METRIC_KEYS if k in params})
    frame = supplier_facts.supplier_facts(db, period.start, period.end, metric_params)
    least = metric_params.min_n_named
    if frame.empty:
        return f": no supplier has a case in {period.title}"
    bands = ", ".join(f"{n} with {text}" for text, n in supplier_facts.decided_bands(frame))
    most = int(frame["decided"].max())
    return (
        f": none has {least} decided cases (min_n_named) closed in {period.title}. Of "
        f"{len(frame)} suppliers with a case, by decided cases: {bands}. "
        f"-p min_n_named=N reports on those with N or more (the most any has is {most}); "
        "the outcome report lists every supplier's cases as counts"
    )


def run_each(
    name: str,
    each: str,
    period: Period,
    db: Path,
    out_dir: Path | str,
    params: Mapping[str, Any],
    progress: bool = True,
    notify_cmd: str | None = None,
    notebook_dir: Path | str | None = None,
    pdf: bool = False,
) -> int:
    """Run the batch; print one line per report (its path, or FAILED and why) and a total."""
    from analysis.publish import catalogue
    from analysis.publish.params import declared_parameters, notebook_path

    declared = declared_parameters(notebook_path(name, notebook_dir))
    key = {"category": "category", "supplier": "supplier_id"}[each]
    if key not in declared:
        raise BadParameter(f"--each {each}: notebook {name!r} has no {key} parameter")
    batch = subjects(each, period, db, params)
    if not batch:
        why = _no_supplier(period, db, params) if each == "supplier" else ""
        print(f"{name} {period.label}: no {each} to report on{why}", file=sys.stderr)
        return EXIT_OK
    workers = min(settings.batch_workers(), len(batch))

    def one(extra: dict):
        try:
            return run_report(
                name, period, db=db, out_dir=out_dir, params={**params, **extra},
                # two progress bars at once would garble each other: a line per report instead
                progress=progress and workers == 1, notify_cmd=notify_cmd,
                notebook_dir=notebook_dir, pdf=pdf, catalogue=False,
            )  # fmt: skip
        except EnvironmentProblem as exc:
            # the machine refused this one (run_report recorded and notified it where it
            # could): the others still run, and the catalogue is still rebuilt
            return exc

    failed = 0
    refused: list[EnvironmentProblem] = []
    with ThreadPoolExecutor(workers, thread_name_prefix="ta-batch") as pool:
        for outcome in pool.map(one, batch):  # in the batch's order
            if isinstance(outcome, EnvironmentProblem):
                failed += 1
                refused.append(outcome)
                print(f"FAILED {outcome}", file=sys.stderr, flush=True)
            elif outcome.ok:
                print(outcome.html, flush=True)
            else:
                failed += 1
                print(f"FAILED {outcome.error}", file=sys.stderr, flush=True)
    try:
        catalogue.build_index(out_dir)
    except OSError as exc:
        refused.append(EnvironmentProblem.from_os_error(exc))
    print(f"{len(batch) - failed} of {len(batch)} report(s) published"
          + (f"; {failed} FAILED" if failed else ""))  # fmt: skip
    if refused:
        raise EnvironmentProblem(
            f"the machine refused {len(refused)} write(s) of the batch; the first: {refused[0]}"
        )
    return EXIT_FAILED if failed else EXIT_OK
