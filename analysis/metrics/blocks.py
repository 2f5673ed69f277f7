"""The block: every count, sum and median of a group of cases, and the rates made from them.

The block of counts, sums and medians is defined once in :data:`BLOCK_AGGREGATES` over the
per-case flags of ``sql/cases.sql``; rates, Wilson intervals and small-group suppression are
applied once in :func:`finish_blocks`. The JSON of ``ta-outcomes metrics``
(:mod:`analysis.metrics.outcomes`), the breakdowns, the heatmap, the monthly series and the change
against the previous period are all built from those pieces, so the CLI, the notebooks and the
tests cannot disagree.
"""

from __future__ import annotations

import math
import numbers
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis.metrics import breakdowns as bd
from analysis.metrics import stats
from analysis.metrics.cases import as_date, bind, check_category, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.metrics.periods import (
    Period,
    month_starts,
    parse_period,
    previous_period,
    trailing_months,
)
from analysis.store import connect

#: The block: every count, sum and median of a group, over the flags of sql/cases.sql.
#: Rates, intervals and suppression are added by finish_blocks.
BLOCK_AGGREGATES = """
    count_if(opened_in) AS cases_opened,
    count_if(closed_in) AS cases_closed,
    count_if(closed_in AND is_decided) AS decided,
    count_if(closed_in AND is_lapsed) AS lapsed,
    count_if(closed_in AND outcome = 'withdrawn') AS withdrawn,
    count_if(closed_in AND outcome = 'cancelled') AS cancelled,
    count_if(closed_in AND outcome = 'out_of_coverage') AS out_of_coverage,
    count_if(closed_in AND outcome = 'replacement') AS replacement,
    count_if(closed_in AND is_monetary) AS monetary_decisions,
    count_if(closed_in AND is_supplier_sided) AS supplier_sided,
    coalesce(fsum(claim_usd) FILTER (WHERE closed_in AND is_monetary), 0) AS claimed_usd,
    coalesce(fsum(refund_usd) FILTER (WHERE closed_in AND is_monetary), 0) AS refunded_usd,
    median(refund_ratio) FILTER (WHERE closed_in AND is_monetary) AS refund_ratio_median,
    count_if(closed_in AND is_lowball) AS lowball,
    count_if(closed_in AND is_escalated) AS escalated,
    median(days_to_close) FILTER (WHERE closed_in) AS median_days_to_close,
    count_if(is_synthetic) AS synthetic_cases
"""

#: The fields of a block, in output order.
BLOCK_FIELDS = (
    "cases_opened",
    "cases_closed",
    "decided",
    "lapsed",
    "withdrawn",
    "cancelled",
    "out_of_coverage",
    "replacement",
    "monetary_decisions",
    "supplier_sided",
    "supplier_sided_rate",
    "supplier_sided_ci_low",
    "supplier_sided_ci_high",
    "claimed_usd",
    "refunded_usd",
    "refund_ratio_pooled",
    "refund_ratio_median",
    "lowball",
    "escalated",
    "escalation_rate",
    "median_days_to_close",
    "suppressed",
)
COUNT_FIELDS = (
    "cases_opened",
    "cases_closed",
    "decided",
    "lapsed",
    "withdrawn",
    "cancelled",
    "out_of_coverage",
    "replacement",
    "monetary_decisions",
    "supplier_sided",
    "lowball",
    "escalated",
    "synthetic_cases",
)
SUM_FIELDS = ("claimed_usd", "refunded_usd")
#: Everything that is nulled in a suppressed group.
SUPPRESSIBLE = (
    "supplier_sided_rate",
    "supplier_sided_ci_low",
    "supplier_sided_ci_high",
    "refund_ratio_pooled",
    "refund_ratio_median",
    "escalation_rate",
    "median_days_to_close",
)

_KEYED = "SELECT {keys}* FROM period_cases"
# A case counts as intake in the bucket of its opened_date and as an outcome in the bucket of its
# closed_date: one row for each role, with the other role's flag switched off.
_KEYED_BY_BUCKET = """
    SELECT {opened_bucket} AS bucket, {keys}* REPLACE (false AS closed_in)
    FROM period_cases WHERE opened_in
    UNION ALL
    SELECT {closed_bucket} AS bucket, {keys}* REPLACE (false AS opened_in)
    FROM period_cases WHERE closed_in
"""
_BLOCKS = """
    WITH period_cases AS ({period_cases}), keyed AS ({keyed})
    SELECT {columns}{grouping} AS grouping_id, {aggregates}
    FROM keyed GROUP BY GROUPING SETS ({sets})
"""


def grouped_blocks(
    con: duckdb.DuckDBPyConnection,
    bound: dict,
    keys: tuple[str, ...],
    grouping_sets: list[tuple[str, ...]],
    bucket: str | None = None,
) -> pd.DataFrame:
    """Aggregate the block over the window's cases for each grouping set.

    ``keys`` name breakdowns (:mod:`analysis.metrics.breakdowns`); ``grouping_sets`` are tuples of them (``()``
    is the whole window). ``bucket`` is a fixed SQL fragment over ``{d}`` that splits the window
    in time (months, current/previous period): a case then counts as intake in the bucket of
    its opened_date and as an outcome in the bucket of its closed_date, and the bucket joins
    every grouping set as column ``bucket``.

    Returns the raw counts/sums/medians (see :data:`BLOCK_AGGREGATES`) plus ``grouping_id``
    (DuckDB's GROUPING() bitmask over ``keys``, set bits = not grouped by that key).
    """
    # Every key is selected up front, whatever the grouping sets use, so GROUPING() can name them.
    # Keys are aliased key_<name> so that no key can clash with a block field ('escalated').
    key_select = "".join(f"{bd.breakdown(k).key_sql} AS key_{k}, " for k in keys)
    if bucket is None:
        keyed = compose(_KEYED, keys=key_select)
    else:
        keyed = compose(
            _KEYED_BY_BUCKET,
            keys=key_select,
            opened_bucket=bucket.format(d="opened_date"),
            closed_bucket=bucket.format(d="closed_date"),
        )
    extra = ("bucket",) if bucket is not None else ()
    key_columns = tuple(f"key_{k}" for k in keys)
    query = compose(
        _BLOCKS,
        period_cases=period_cases_sql(),
        keyed=keyed,
        columns="".join(f"{c}, " for c in extra + key_columns),
        grouping=f"GROUPING({', '.join(key_columns)})" if keys else "0",
        aggregates=BLOCK_AGGREGATES,
        sets=", ".join(
            "(" + ", ".join(extra + tuple(f"key_{k}" for k in s)) + ")" for s in grouping_sets
        ),
    )
    return con.execute(query, bound).df()


def empty_blocks(index: pd.Index) -> pd.DataFrame:
    """Raw blocks of zeros for groups with no case at all (e.g. a month without cases)."""
    frame = pd.DataFrame(index=index)
    for name in COUNT_FIELDS:
        frame[name] = 0
    for name in SUM_FIELDS:
        frame[name] = 0.0
    frame["refund_ratio_median"] = np.nan
    frame["median_days_to_close"] = np.nan
    return frame


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    numerator = numerator.astype(float)
    denominator = denominator.astype(float)
    return (numerator / denominator.where(denominator > 0)).astype(float)


def finish_blocks(raw: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Add rates, Wilson intervals and suppression to raw blocks (one definition for all)."""
    frame = raw.copy()
    for name in COUNT_FIELDS:
        frame[name] = frame[name].fillna(0).astype("int64")
    for name in SUM_FIELDS:
        frame[name] = frame[name].fillna(0).astype(float)
    frame["supplier_sided_rate"] = _ratio(frame["supplier_sided"], frame["decided"])
    low, high = stats.wilson_many(frame["supplier_sided"], frame["decided"], params.confidence)
    frame["supplier_sided_ci_low"] = low
    frame["supplier_sided_ci_high"] = high
    frame["refund_ratio_pooled"] = _ratio(frame["refunded_usd"], frame["claimed_usd"])
    frame["refund_ratio_median"] = frame["refund_ratio_median"].astype(float)
    frame["escalation_rate"] = _ratio(frame["escalated"], frame["cases_closed"])
    frame["median_days_to_close"] = frame["median_days_to_close"].astype(float)
    frame["suppressed"] = frame["decided"] < params.min_n
    for name in SUPPRESSIBLE:
        frame[name] = frame[name].mask(frame["suppressed"])
    return frame


def json_value(value):
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return None if math.isnan(value) else float(value)
    return value


def block_dict(row: pd.Series) -> dict:
    return {name: json_value(row[name]) for name in BLOCK_FIELDS}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def sort_groups(frame: pd.DataFrame, by: str | None, column: str = "group") -> pd.DataFrame:
    """Groups in the breakdown's own order (order-value bands), else alphabetically."""
    order = bd.breakdown(by).order if by else None
    if order:
        rank = {group: i for i, group in enumerate(order)}
        return frame.sort_values(column, key=lambda s: s.map(rank)).reset_index(drop=True)
    return frame.sort_values(column).reset_index(drop=True)


def block_frame(
    db: Path | str,
    start: date | str,
    end: date | str,
    by: str | None = None,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """One row per group of breakdown ``by`` (None: one row, group 'all') with every block field.

    ``by`` is one of :data:`BREAKDOWNS`. Same definitions and suppression as
    :func:`outcome_metrics`. Missing values of optional fields group as 'unknown'; under
    'evidence' a case counts once in each kind it has, or under 'none'.
    """
    params = params or Params()
    bd.check(by)
    start, end = window(start, end)
    keys = (by,) if by else ()
    with connect(db) as con:
        check_category(con, category)
        raw = grouped_blocks(con, bind(start, end, params, category), keys, [keys])
    if by is None and raw.empty:
        raw = empty_blocks(pd.RangeIndex(1))
    frame = finish_blocks(raw, params)
    frame.insert(0, "group", frame[f"key_{by}"] if by else "all")
    frame = sort_groups(frame[["group", *BLOCK_FIELDS]], by)
    frame.attrs.update(by=by, start=start.isoformat(), end=end.isoformat())
    return frame


def heatmap_frame(
    db: Path | str,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """supplier_sided_rate by category x claim type, one row per pair with any case.

    Columns: category, claim_type, decided, supplier_sided, supplier_sided_rate (NaN where
    suppressed), supplier_sided_ci_low, supplier_sided_ci_high, suppressed. For a grid:
    ``frame.pivot(index="category", columns="claim_type", values="supplier_sided_rate")``.
    """
    params = params or Params()
    start, end = window(start, end)
    keys = ("category", "claim_type")
    with connect(db) as con:
        check_category(con, category)
        raw = grouped_blocks(con, bind(start, end, params, category), keys, [keys])
    frame = finish_blocks(raw, params).rename(
        columns={"key_category": "category", "key_claim_type": "claim_type"}
    )
    columns = [
        "category",
        "claim_type",
        "decided",
        "supplier_sided",
        "supplier_sided_rate",
        "supplier_sided_ci_low",
        "supplier_sided_ci_high",
        "suppressed",
    ]
    return frame[columns].sort_values(["category", "claim_type"]).reset_index(drop=True)


def monthly_series(
    db: Path | str,
    end: date | str,
    months: int = 12,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """One row per calendar month for the ``months`` months up to the one containing ``end``.

    Outcome fields count the cases closed in the month, ``cases_opened`` those opened in it.
    Nothing after ``end`` counts: when ``end`` is not a month's last day the last month is
    partial (``complete`` False). Columns: month ('YYYY-MM'), month_start, month_end,
    complete, then every block field (with ``suppressed`` per month).
    """
    params = params or Params()
    end = as_date(end, "end")
    window = trailing_months(end, months)
    start = window.start
    with connect(db) as con:
        check_category(con, category)
        raw = grouped_blocks(
            con,
            bind(start, end, params, category),
            (),
            [()],
            bucket="date_trunc('month', {d})",
        )
    firsts = month_starts(start, end)
    raw["bucket"] = pd.to_datetime(raw["bucket"]).dt.date
    raw = raw.set_index("bucket").reindex(firsts)
    missing = raw["cases_opened"].isna()
    raw.loc[missing, list(COUNT_FIELDS) + list(SUM_FIELDS)] = 0
    frame = finish_blocks(raw, params).reset_index(names="month_start")
    frame["month_end"] = [trailing_months(d, 1).end for d in frame["month_start"]]
    frame["complete"] = frame["month_end"] <= end
    frame["month_end"] = [min(d, end) for d in frame["month_end"]]
    frame.insert(0, "month", [d.strftime("%Y-%m") for d in frame["month_start"]])
    return frame[["month", "month_start", "month_end", "complete", *BLOCK_FIELDS]]


#: change_vs_previous: (metric, numerator, denominator) for the proportions that get a test.
_TESTED = {
    "supplier_sided_rate": ("supplier_sided", "decided"),
    "escalation_rate": ("escalated", "cases_closed"),
}
_COMPARED = (
    "supplier_sided_rate",
    "refund_ratio_pooled",
    "refund_ratio_median",
    "escalation_rate",
    "median_days_to_close",
    "decided",
    "cases_closed",
    "cases_opened",
    "lapsed",
    "lowball",
)


def change_vs_previous(
    db: Path | str,
    period: Period | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The period against the previous one (:func:`analysis.periods.previous_period`).

    One row per metric: current, previous, difference (current - previous), p_value (pooled
    two-proportion z-test, for supplier_sided_rate and escalation_rate only), ``flagged`` (True
    only when neither period is suppressed and p < 1 - confidence), current_n / previous_n (the
    test's denominators) and ``comparable`` (neither period suppressed). ``attrs`` hold the two
    periods' labels and dates.
    """
    params = params or Params()
    current = period if isinstance(period, Period) else parse_period(period)
    previous = previous_period(current)
    with connect(db) as con:
        check_category(con, category)
        bound = bind(previous.start, current.end, params, category) | {"split": current.start}
        raw = grouped_blocks(
            con,
            bound,
            (),
            [()],
            bucket="CASE WHEN {d} >= $split THEN 'current' ELSE 'previous' END",
        )
    raw = raw.set_index("bucket").reindex(["current", "previous"])
    missing = raw["cases_opened"].isna()
    raw.loc[missing, list(COUNT_FIELDS) + list(SUM_FIELDS)] = 0
    blocks = finish_blocks(raw, params)
    cur, prev = blocks.loc["current"], blocks.loc["previous"]
    comparable = not cur["suppressed"] and not prev["suppressed"]
    rows = []
    for metric in _COMPARED:
        now, before = json_value(cur[metric]), json_value(prev[metric])
        row = {
            "metric": metric,
            "current": now,
            "previous": before,
            "difference": None if now is None or before is None else now - before,
            "p_value": None,
            "flagged": False,
            "current_n": None,
            "previous_n": None,
            "comparable": comparable if metric in SUPPRESSIBLE else True,
        }
        if metric in _TESTED:
            k_name, n_name = _TESTED[metric]
            row["current_n"], row["previous_n"] = int(cur[n_name]), int(prev[n_name])
            if comparable:
                test = stats.two_proportion_test(
                    int(cur[k_name]), int(cur[n_name]), int(prev[k_name]), int(prev[n_name])
                )
                row["p_value"] = test["p_value"]
                row["flagged"] = (
                    test["p_value"] is not None and test["p_value"] < 1 - params.confidence
                )
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("current_n", "previous_n"):
        frame[column] = frame[column].astype("Int64")
    frame.attrs.update(
        current=current.label,
        previous=previous.label,
        current_start=current.start.isoformat(),
        current_end=current.end.isoformat(),
        previous_start=previous.start.isoformat(),
        previous_end=previous.end.isoformat(),
        current_suppressed=bool(cur["suppressed"]),
        previous_suppressed=bool(prev["suppressed"]),
    )
    return frame
