"""Time to resolution: how long disputes take, without hiding the ones still open.

Open cases are censored at the store's as-of date (the day the latest export describes,
:func:`analysis.metrics.provenance.as_of`), not at the end of the reporting period: a monthly
cohort is followed for as long as the data allow, so slow cases count. The curve stops where
fewer than :data:`analysis.settings.KM_MIN_AT_RISK` cases are still at risk. Beside the curves,
the cohort view: for each of the trailing opening months, what has become of its cases by the
as-of date (still open, decided for the buyer, decided for the supplier, lapsed).
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from analysis import settings
from analysis.metrics import breakdowns as bd
from analysis.metrics import provenance, stats
from analysis.metrics.case_flags import (
    as_date,
    bind,
    check_category,
    compose,
    period_cases_sql,
    window,
)
from analysis.metrics.params import Params
from analysis.metrics.periods import month_starts, trailing_months
from analysis.store import Source, connect

_RESOLUTION = """
    WITH period_cases AS ({period_cases}),
    opened AS (
        SELECT {key} AS grp,
            CASE WHEN is_final AND closed_date <= $as_of THEN days_to_close
                 ELSE $as_of - opened_date END AS days,
            (is_final AND closed_date <= $as_of) AS event
        FROM period_cases WHERE opened_in AND opened_date <= $as_of
    )
    SELECT grp, days, event, count(*) AS n FROM opened GROUP BY {group_by} ORDER BY ALL
"""
_COHORTS = """
    WITH period_cases AS ({period_cases})
    SELECT date_trunc('month', opened_date) AS month,
        count(*) AS opened,
        count_if(NOT (is_final AND closed_date <= $as_of)) AS still_open,
        count_if(is_final AND closed_date <= $as_of AND is_decided AND NOT is_supplier_sided)
            AS for_buyer,
        count_if(is_final AND closed_date <= $as_of AND is_supplier_sided) AS for_supplier,
        count_if(is_final AND closed_date <= $as_of AND is_lapsed) AS lapsed
    FROM period_cases WHERE opened_in AND opened_date <= $as_of
    GROUP BY ALL ORDER BY month
"""
#: What a group without a curve shows its reason as.
_SUMMARY_COLUMNS = (
    "n", "events", "censored", "median", "median_ci_low", "median_ci_high", "suppressed",
    "few_cases", "stopped_at",
)  # fmt: skip


def _as_of(db: Source, as_of, end: date) -> date:
    if as_of is not None:
        return as_date(as_of, "as_of")
    return provenance.as_of(db) or end


def time_to_resolution(
    db: Source,
    start: date | str,
    end: date | str,
    by: str | None = "category",
    params: Params | None = None,
    category: str | None = None,
    as_of: date | str | None = None,
    supplier_id: str | None = None,
) -> dict:
    """Kaplan-Meier time to resolution over the cases OPENED in [start, end] (of one supplier
    with ``supplier_id``).

    A case closed (any final outcome) by the as-of date (default: the store's) is resolved
    after closed_date - opened_date days; a case still open then is censored at as_of -
    opened_date days. A group needs ``min_n_rate`` cases opened for a curve (else
    ``suppressed``), and is marked ``few_cases`` below ``min_n``. Returns ``{"start", "end",
    "as_of", "by", "overall", "groups", "summary"}``: ``overall`` and each ``groups[key]`` are
    :func:`analysis.metrics.stats.kaplan_meier` results (curves stopped where fewer than
    KM_MIN_AT_RISK cases are at risk) plus the flags; ``summary`` is a DataFrame with one row
    per group, the overall row first (group 'all').
    """
    params = params or Params()
    bd.check(by)
    start, end = window(start, end)
    as_of = _as_of(db, as_of, end)
    bound = bind(start, end, params, category, supplier_id) | {"as_of": as_of}
    with connect(db) as con:
        check_category(con, category)
        if by is None or bd.breakdown(by).multi:
            # Where a case sits in several groups, the overall curve, which must count each case
            # once, comes from its own query.
            counts = resolution_counts(con, bound, None, "grp, days, event")
            if by:
                grouped = resolution_counts(
                    con, bound, bd.breakdown(by).key_sql, "grp, days, event"
                )
                counts = pd.concat([counts, grouped], ignore_index=True)
        else:
            counts = resolution_counts(
                con,
                bound,
                bd.breakdown(by).key_sql,
                "GROUPING SETS ((days, event), (grp, days, event))",
            )

    def fit(part: pd.DataFrame) -> dict:
        durations = np.repeat(part["days"].to_numpy(float), part["n"].to_numpy(int))
        events = np.repeat(part["event"].to_numpy(bool), part["n"].to_numpy(int))
        n_cases = int(part["n"].sum())
        flags = {
            "suppressed": n_cases < max(params.min_n_rate, 1),
            "few_cases": params.min_n_rate <= n_cases < params.min_n,
        }
        if flags["suppressed"]:
            n_events = int(events.sum())
            return {
                "curve": None, "median": None, "median_ci_low": None, "median_ci_high": None,
                "n": n_cases, "events": n_events, "censored": n_cases - n_events,
                "stopped_at": None,
            } | flags  # fmt: skip
        return (
            stats.kaplan_meier(
                durations, events, params.confidence, min_at_risk=settings.KM_MIN_AT_RISK
            )
            | flags
        )

    overall = fit(counts[counts["grp"].isna()])
    grouped = counts[counts["grp"].notna()]
    groups = (
        {str(name): fit(part) for name, part in grouped.groupby("grp", sort=True)} if by else {}
    )
    summary = pd.DataFrame(
        [{"group": "all"} | {c: overall[c] for c in _SUMMARY_COLUMNS}]
        + [{"group": name} | {c: r[c] for c in _SUMMARY_COLUMNS} for name, r in groups.items()]
    )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "as_of": as_of.isoformat(),
        "by": by,
        "overall": overall,
        "groups": groups,
        "summary": summary,
    }


def resolution_counts(
    con: duckdb.DuckDBPyConnection, bound: dict, key: str | None, group_by: str
) -> pd.DataFrame:
    """(grp, days, event, n) for the cases opened in the window; grp is NULL for the overall.

    Durations are whole days, so these counts carry everything the estimator needs.
    """
    query = compose(
        _RESOLUTION, period_cases=period_cases_sql(), key=key or "NULL", group_by=group_by
    )
    return con.execute(query, bound).df()


def cohorts(
    db: Source,
    end: date | str,
    months: int = settings.TRAILING_MONTHS,
    params: Params | None = None,
    category: str | None = None,
    as_of: date | str | None = None,
) -> pd.DataFrame:
    """What became of each opening month's cases by the as-of date.

    One row per calendar month of the ``months`` ending with ``end``'s: ``opened``, and of
    them ``still_open``, ``for_buyer`` (decided, not supplier-sided), ``for_supplier``
    (supplier-sided), ``lapsed`` (withdrawn, cancelled, out of coverage), with the shares of
    ``opened`` (``*_share``). The four add up to ``opened``. ``attrs['as_of']`` is the date.
    """
    params = params or Params()
    end = as_date(end, "end")
    start = trailing_months(end, months).start
    as_of = _as_of(db, as_of, end)
    query = compose(_COHORTS, period_cases=period_cases_sql())
    with connect(db) as con:
        check_category(con, category)
        raw = con.execute(query, bind(start, end, params, category) | {"as_of": as_of}).df()
    firsts = month_starts(start, end)
    raw["month"] = pd.to_datetime(raw["month"]).dt.date
    frame = raw.set_index("month").reindex(firsts).fillna(0).astype("int64")
    for column in ("still_open", "for_buyer", "for_supplier", "lapsed"):
        frame[f"{column}_share"] = (
            frame[column] / frame["opened"].where(frame["opened"] > 0)
        ).astype(float)
    frame = frame.reset_index(names="month_start")
    frame.insert(0, "month", [d.strftime("%Y-%m") for d in frame["month_start"]])
    frame.attrs.update(as_of=as_of.isoformat(), start=start.isoformat(), end=end.isoformat())
    return frame
