"""The report's context: the notebook's parameters validated once, the store found, the period
and the one before it, and the breakdowns of the period computed once for every section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from analysis import metrics, settings, store
from analysis.errors import BadParameter
from analysis.metrics import periods, provenance
from analysis.report.display import user_errors_one_line


def resolve_db(db: str | Path) -> Path:
    """Find the store: ``db`` as given, else relative to the project root.

    A notebook opened in JupyterLab runs in ``notebooks/``, where the default
    ``data/cases.duckdb`` does not exist; the project root's does. Raises
    :class:`analysis.store.StoreMissing`, saying what to do, when neither exists.
    """
    given = Path(str(db)).expanduser()
    candidates = [given]
    if not given.is_absolute():
        candidates.append(settings.PROJECT_ROOT / given)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = " or ".join(str(c) for c in dict.fromkeys(candidates))
    raise store.StoreMissing(
        f"no case store at {looked}. Create it with `make demo` (synthetic demo data) or "
        f"`ta-outcomes ingest data/raw/YOUR_EXPORT.csv --db {given}`, then run this notebook again."
    )


def resolve_period(
    period: str = "", start: str = "", end: str = "", today: date | None = None
) -> periods.Period:
    """The report's period: explicit ``start`` and ``end`` win, then ``period``, else the latest
    complete calendar month before ``today``."""
    start, end, period = (str(x or "").strip() for x in (start, end, period))
    if start or end:
        if not (start and end):
            raise BadParameter(
                "give both start and end (YYYY-MM-DD), or neither and a period such as 2026-10"
            )
        first = periods.parse_date(start, "start")
        last = periods.parse_date(end, "end")
        if period:
            # The runner passes the period's label together with its dates. When they describe
            # the same days, keep the calendar period: its previous period is the previous
            # month or quarter, not "the same number of days before".
            try:
                named = periods.parse_period(period)
            except BadParameter:
                named = None  # e.g. a range's label; the explicit dates decide anyway
            if named is not None and (named.start, named.end) == (first, last):
                return named
        return periods.range_period(first, last)
    if period:
        return periods.parse_period(period)
    return periods.last_complete("month", today)


@dataclass(frozen=True)
class ReportContext:
    """Everything a section needs: the store, the period and the previous one, the parameters."""

    db: Path
    period: periods.Period
    previous: periods.Period
    params: metrics.Params
    category: str | None
    parameters: dict
    synthetic: bool
    mixed: bool  # synthetic and real data in one store
    # block_frame results by breakdown: several sections show the same breakdown of the same
    # period, and on a large store each computation is a scan of it
    _blocks: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def start(self) -> date:
        return self.period.start

    def blocks(self, by: str | None) -> pd.DataFrame:
        """``metrics.block_frame`` of the report's period by ``by`` (a copy; computed once)."""
        if by not in self._blocks:
            self._blocks[by] = metrics.block_frame(
                self.db, self.start, self.end, by, self.params, self.category
            )
        return self._blocks[by].copy()

    @property
    def end(self) -> date:
        return self.period.end


def period_text(period: periods.Period) -> str:
    """'2026-10 (2026-10-01 to 2026-10-31)' or, for a range, '2026-01-05 to 2026-02-20'."""
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    return span if period.kind == "range" else f"{period.label} ({span})"


def short_period(period: periods.Period) -> str:
    return (
        f"{period.start.isoformat()} to {period.end.isoformat()}"
        if period.kind == "range"
        else period.label
    )


@user_errors_one_line
def open_report(
    db: str | Path = settings.DEFAULT_DB_TEXT,
    period: str = "",
    start: str = "",
    end: str = "",
    category: str = "",
    threshold: float = settings.THRESHOLD,
    lowball: float = settings.LOWBALL,
    min_n: int = settings.MIN_N,
    today: date | None = None,
) -> ReportContext:
    """Validate the notebook's parameters, find the store, and return the report's context.

    Raises one-line errors (shown without a traceback in the notebook): StoreMissing saying how
    to create the store, BadParameter for a period, threshold or category that cannot be used.
    """
    the_period = resolve_period(period, start, end, today)
    params = metrics.Params(threshold=threshold, lowball=lowball, min_n=min_n)
    path = resolve_db(db)
    facts = provenance.store_facts(path)
    category = str(category or "").strip() or None
    if category is not None and category not in facts["categories"]:
        known = ", ".join(facts["categories"]) or "none: the store is empty"
        raise BadParameter(
            f"category {category!r}: no case in the store has it (categories: {known})"
        )
    return ReportContext(
        db=path,
        period=the_period,
        previous=periods.previous_period(the_period),
        params=params,
        category=category,
        parameters={
            "db": str(db),
            "period": period,
            "start": start,
            "end": end,
            "category": category or "",
            "threshold": params.threshold,
            "lowball": params.lowball,
            "min_n": params.min_n,
        },
        synthetic=facts["synthetic"],
        mixed=facts["mixed"],
    )
