"""Time to resolution: Kaplan-Meier curves of the share of cases still open after t days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis.metrics import breakdowns as bd
from analysis.metrics import stats
from analysis.metrics.cases import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.store import connect

_RESOLUTION = """
    WITH period_cases AS ({period_cases}),
    opened AS (
        SELECT {key} AS grp,
            CASE WHEN is_final AND closed_date <= $end THEN days_to_close
                 ELSE $end - opened_date END AS days,
            (is_final AND closed_date <= $end) AS event
        FROM period_cases WHERE opened_in
    )
    SELECT grp, days, event, count(*) AS n FROM opened GROUP BY {group_by} ORDER BY ALL
"""


def time_to_resolution(
    db: Path | str,
    start: date | str,
    end: date | str,
    by: str | None = "category",
    params: Params | None = None,
    category: str | None = None,
) -> dict:
    """Kaplan-Meier time to resolution over the cases OPENED in [start, end].

    A case closed (any final outcome) on or before ``end`` is resolved after closed_date -
    opened_date days; a case still open, or closed after ``end``, is censored at end -
    opened_date days. Returns ``{"start", "end", "by", "overall", "groups", "summary"}``:
    ``overall`` and each ``groups[key]`` are :func:`analysis.stats.kaplan_meier` results plus
    ``suppressed`` (fewer than ``min_n`` cases; then curve and median are None); ``summary``
    is a DataFrame [group, n, events, censored, median, median_ci_low, median_ci_high,
    suppressed] with the overall row first (group 'all').
    """
    params = params or Params()
    bd.check(by)
    start, end = window(start, end)
    bound = bind(start, end, params, category)
    with connect(db) as con:
        check_category(con, category)
        if by is None or by == "evidence":
            # Under 'evidence' a case sits in several groups, so the overall curve, which must
            # count each case once, comes from its own query.
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
        if n_cases < params.min_n or n_cases == 0:
            n_events = int(events.sum())
            return {
                "curve": None,
                "median": None,
                "median_ci_low": None,
                "median_ci_high": None,
                "n": n_cases,
                "events": n_events,
                "censored": n_cases - n_events,
                "suppressed": True,
            }
        return stats.kaplan_meier(durations, events, params.confidence) | {"suppressed": False}

    overall = fit(counts[counts["grp"].isna()])
    grouped = counts[counts["grp"].notna()]
    groups = (
        {str(name): fit(part) for name, part in grouped.groupby("grp", sort=True)} if by else {}
    )
    summary_columns = [
        "n",
        "events",
        "censored",
        "median",
        "median_ci_low",
        "median_ci_high",
        "suppressed",
    ]
    summary = pd.DataFrame(
        [{"group": "all"} | {c: overall[c] for c in summary_columns}]
        + [
            {"group": name} | {c: result[c] for c in summary_columns}
            for name, result in groups.items()
        ]
    )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
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
        _RESOLUTION,
        period_cases=period_cases_sql(),
        key=key or "NULL",
        group_by=group_by,
    )
    return con.execute(query, bound).df()
