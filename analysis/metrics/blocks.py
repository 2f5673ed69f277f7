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
from analysis.metrics.cases import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.store import connect

#: The block: every count, sum and median of a group, over the flags of sql/cases.sql, as
#: (field, kind, aggregate). Rates, intervals and the small-group rule are added by finish_blocks.
#: (The named outcome counts are the JSON contract's fields: those outcomes by slug.)
_AGGREGATES = (
    ("cases_opened", "count", "count_if(opened_in)"),
    ("cases_closed", "count", "count_if(closed_in)"),
    ("decided", "count", "count_if(closed_in AND is_decided)"),
    ("lapsed", "count", "count_if(closed_in AND is_lapsed)"),
    ("withdrawn", "count", "count_if(closed_in AND outcome = 'withdrawn')"),
    ("cancelled", "count", "count_if(closed_in AND outcome = 'cancelled')"),
    ("out_of_coverage", "count", "count_if(closed_in AND outcome = 'out_of_coverage')"),
    ("replacement", "count", "count_if(closed_in AND outcome = 'replacement')"),
    ("monetary_decisions", "count", "count_if(closed_in AND is_monetary AND is_decided)"),
    ("undetermined", "count", "count_if(closed_in AND is_undetermined)"),
    ("amounts_recorded", "count", "count_if(closed_in AND is_monetary AND is_decided AND has_amounts)"),
    ("supplier_sided", "count", "count_if(closed_in AND is_supplier_sided)"),
    # money over the monetary decisions whose amounts were recorded (none: "not recorded")
    ("claimed_usd", "sum", "fsum(claim_usd) FILTER (WHERE closed_in AND is_monetary AND has_amounts)"),
    ("refunded_usd", "sum", "fsum(refund_usd) FILTER (WHERE closed_in AND is_monetary AND has_amounts)"),
    ("refund_ratio_median", "median", "median(refund_ratio) FILTER (WHERE closed_in AND is_monetary AND has_amounts)"),
    ("lowball", "count", "count_if(closed_in AND is_lowball)"),
    ("escalated", "count", "count_if(closed_in AND is_escalated)"),
    ("median_days_to_close", "median", "median(days_to_close) FILTER (WHERE closed_in)"),
    ("synthetic_cases", "count", "count_if(is_synthetic)"),
    ("money_back", "count", "count_if(closed_in AND buyer_outcome = 'money_back')"),
    ("token", "count", "count_if(closed_in AND buyer_outcome = 'token')"),
    ("nothing", "count", "count_if(closed_in AND buyer_outcome = 'nothing')"),
    ("buyer_lost", "count",
     "count_if(closed_in AND (buyer_outcome IN ('token', 'nothing') OR is_buyer_loss_lapse))"),
    ("buyer_lost_base", "count", "count_if(closed_in AND (is_decided OR is_buyer_loss_lapse))"),
    ("claimed_usd_closed", "sum", "fsum(claim_usd) FILTER (WHERE closed_in AND claim_usd IS NOT NULL)"),
    ("refunded_usd_closed", "sum", "fsum(refund_usd) FILTER (WHERE closed_in AND is_monetary AND claim_usd IS NOT NULL)"),
    ("claims_recorded", "count", "count_if(closed_in AND claim_usd IS NOT NULL)"),
)  # fmt: skip
BLOCK_AGGREGATES = ",\n".join(
    f"    {'coalesce(' + sql + ', 0)' if kind == 'sum' else sql} AS {name}"
    for name, kind, sql in _AGGREGATES
)
COUNT_FIELDS = tuple(name for name, kind, _ in _AGGREGATES if kind == "count")
SUM_FIELDS = tuple(name for name, kind, _ in _AGGREGATES if kind == "sum")
_MEDIAN_FIELDS = tuple(name for name, kind, _ in _AGGREGATES if kind == "median")

#: The fields of a block, in output order (the JSON contract).
BLOCK_FIELDS = (
    "cases_opened", "cases_closed", "decided", "lapsed", "withdrawn", "cancelled",
    "out_of_coverage", "replacement", "monetary_decisions", "supplier_sided",
    "supplier_sided_rate", "supplier_sided_ci_low", "supplier_sided_ci_high",
    "claimed_usd", "refunded_usd", "refund_ratio_pooled", "refund_ratio_median", "lowball",
    "escalated", "escalation_rate", "median_days_to_close", "suppressed", "few_cases",
    "money_back", "token", "nothing", "buyer_lost", "buyer_lost_base", "buyer_lost_rate",
    "buyer_lost_ci_low", "buyer_lost_ci_high", "claimed_usd_closed", "refunded_usd_closed",
    "refund_ratio_closed", "undetermined", "amounts_recorded", "claims_recorded",
)  # fmt: skip
#: Everything withheld in a group with fewer than min_n_rate decided cases.
SUPPRESSIBLE = (
    "supplier_sided_rate",
    "supplier_sided_ci_low",
    "supplier_sided_ci_high",
    "refund_ratio_pooled",
    "refund_ratio_median",
    "escalation_rate",
    "median_days_to_close",
    "refund_ratio_closed",
)
#: The rates with a Wilson interval: (rate, numerator, denominator).
_WILSON_RATES = (
    ("supplier_sided_rate", "supplier_sided", "decided"),
    ("buyer_lost_rate", "buyer_lost", "buyer_lost_base"),
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
# MATERIALIZED: the per-case flags are computed once per case; inlined, DuckDB repeats the
# exact-decimal refund tests for every aggregate that uses a flag (a third of the cost)
_BLOCKS = """
    WITH period_cases AS MATERIALIZED ({period_cases}), keyed AS ({keyed})
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
    for name in _MEDIAN_FIELDS:
        frame[name] = np.nan
    return frame


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    numerator = numerator.astype(float)
    denominator = denominator.astype(float)
    return (numerator / denominator.where(denominator > 0)).astype(float)


def finish_blocks(raw: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Add rates, Wilson intervals and the small-group rule to raw blocks (one definition).

    A group's rates are shown from ``min_n_rate`` decided cases (below: ``suppressed``, only its
    counts and sums); from ``min_n_rate`` to ``min_n`` they are marked ``few_cases``. The
    buyer-lost rate follows the same rule on its own denominator.
    """
    frame = raw.copy()
    for name in COUNT_FIELDS:
        frame[name] = frame[name].fillna(0).astype("int64")
    for name in SUM_FIELDS:
        frame[name] = frame[name].fillna(0).astype(float)
    # money that was not recorded is not $0: no monetary decision (or closed case) with amounts
    no_amounts = (frame["monetary_decisions"] > 0) & (frame["amounts_recorded"] == 0)
    for name in ("claimed_usd", "refunded_usd"):
        frame[name] = frame[name].mask(no_amounts)
    no_claims = (frame["cases_closed"] > 0) & (frame["claims_recorded"] == 0)
    for name in ("claimed_usd_closed", "refunded_usd_closed"):
        frame[name] = frame[name].mask(no_claims)
    for name in _MEDIAN_FIELDS:
        frame[name] = frame[name].astype(float)
    for rate, numerator, denominator in _WILSON_RATES:
        frame[rate] = _ratio(frame[numerator], frame[denominator])
        low, high = stats.wilson_many(frame[numerator], frame[denominator], params.confidence)
        frame[rate.replace("_rate", "_ci_low")] = low
        frame[rate.replace("_rate", "_ci_high")] = high
    frame["refund_ratio_pooled"] = _ratio(frame["refunded_usd"], frame["claimed_usd"])
    frame["refund_ratio_closed"] = _ratio(frame["refunded_usd_closed"], frame["claimed_usd_closed"])
    frame["escalation_rate"] = _ratio(frame["escalated"], frame["cases_closed"])
    frame["suppressed"] = frame["decided"] < params.min_n_rate
    frame["few_cases"] = ~frame["suppressed"] & (frame["decided"] < params.min_n)
    for name in SUPPRESSIBLE:
        frame[name] = frame[name].mask(frame["suppressed"])
    lost_withheld = frame["buyer_lost_base"] < params.min_n_rate
    for name in ("buyer_lost_rate", "buyer_lost_ci_low", "buyer_lost_ci_high"):
        frame[name] = frame[name].mask(lost_withheld)
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
    supplier_id: str | None = None,
) -> pd.DataFrame:
    """One row per group of breakdown ``by`` (None: one row, group 'all') with every block field.

    ``by`` is one of :data:`BREAKDOWNS`. Same definitions and suppression as
    :func:`outcome_metrics`. Missing values of optional fields group as 'unknown'; under
    'evidence' a case counts once in each kind it has, or under 'none'. ``supplier_id``: one
    supplier's cases only (the scorecard).
    """
    return block_frames(db, start, end, (by,), params, category, supplier_id)[by]


def block_frames(
    db: Path | str,
    start: date | str,
    end: date | str,
    bys: tuple[str | None, ...],
    params: Params | None = None,
    category: str | None = None,
    supplier_id: str | None = None,
) -> dict[str | None, pd.DataFrame]:
    """:func:`block_frame` of each breakdown in ``bys`` (None: the whole window), from one
    grouped scan of the window: a grouping set per breakdown. A breakdown whose cases sit in
    several groups (``multi``, evidence) unnests its rows, which would multiply every other
    set's, so it gets a scan of its own."""
    params = params or Params()
    for by in bys:
        bd.check(by)
    start, end = window(start, end)
    single = tuple(by for by in bys if by is None or not bd.breakdown(by).multi)
    keys = tuple(by for by in single if by is not None)
    bound = bind(start, end, params, category, supplier_id)
    frames: dict[str | None, pd.DataFrame] = {}
    with connect(db) as con:
        check_category(con, category)
        if single:
            raw = grouped_blocks(con, bound, keys, [(by,) if by else () for by in single])
            every = (1 << len(keys)) - 1  # GROUPING(): a set bit for each key not grouped by
            for by in single:
                mask = every if by is None else every - (1 << (len(keys) - 1 - keys.index(by)))
                part = raw[raw["grouping_id"] == mask].reset_index(drop=True)
                frames[by] = _frame(part, by, params, start, end)
        for by in bys:
            if by not in frames:
                raw = grouped_blocks(con, bound, (by,), [(by,)])
                frames[by] = _frame(raw, by, params, start, end)
    return frames


def _frame(raw: pd.DataFrame, by: str | None, params: Params, start: date, end: date):
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
        "few_cases",
    ]
    return frame[columns].sort_values(["category", "claim_type"]).reset_index(drop=True)
