"""``ta-outcomes report``: one report (:mod:`analysis.publish.runner`) or a batch of them
(:mod:`analysis.publish.batch`). A thin wrapper over both, so that the batch calls the runner and
nothing calls back up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from analysis import settings
from analysis.publish import batch, runner
from analysis.publish.params import resolve_params


def main(
    name: str,
    period: str | None = None,
    last: str | None = None,
    db: Path | str | None = None,
    out: Path | str = settings.REPORTS_DIR,
    params: list[str] | Mapping[str, Any] | None = None,
    notify_cmd: str | None = None,
    progress: bool = True,
    notebook_dir: Path | str | None = None,
    today: date | None = None,
    pdf: bool = False,
    each: str | None = None,
) -> int:
    """``ta-outcomes report``: print the report's path and return 0, or raise a UserError.

    ``each`` ('category' or 'supplier') runs a batch (:mod:`analysis.publish.batch`).

    Bad parameters and a missing store raise BadParameter / StoreMissing (exit 2) before any
    kernel starts; a failing report raises :class:`ReportFailed` (exit 1) with one line naming
    the failing cell, after the catalogue and the notify command have been updated; a machine
    that refuses raises :class:`EnvironmentProblem` (exit 74).
    """
    runner.check_notify_cmd(notify_cmd)  # refuse a malformed command before doing any work
    the_period, effective = resolve_params(
        name, period=period, last=last, params=params, today=today, notebook_dir=notebook_dir
    )
    if each is not None:
        return batch.run_each(
            name, each, the_period, settings.store_location(db) if db is not None else settings.default_db(),
            out, effective, progress=progress, notify_cmd=notify_cmd,
            notebook_dir=notebook_dir, pdf=pdf,
        )  # fmt: skip
    result = runner.run_report(
        name,
        the_period,
        db=db if db is not None else settings.default_db(),
        out_dir=out,
        params=effective,
        progress=progress,
        notify_cmd=notify_cmd,
        notebook_dir=notebook_dir,
        pdf=pdf,
    )
    if not result.ok:
        raise runner.ReportFailed(result.error or f"{name} {the_period.label} failed")
    print(result.html)
    return runner.EXIT_OK
