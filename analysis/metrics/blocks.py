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

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis import settings
from analysis.metrics import breakdowns as bd
from analysis.metrics import catalogue, pooling, stats
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.store import Source, connect

#: The block's counts, sums and medians as (field, kind, aggregate) over the flags of
#: sql/cases.sql, from the metric catalogue; rates, intervals and the small-group rule are added
#: by finish_blocks, from the same catalogue.
_AGGREGATES = catalogue.aggregates()
BLOCK_AGGREGATES = ",\n".join(
    f"    {'coalesce(' + sql + ', 0)' if kind == 'sum' else sql} AS {name}"
    for name, kind, sql in _AGGREGATES
)
COUNT_FIELDS = tuple(name for name, kind, _ in _AGGREGATES if kind == "count")
SUM_FIELDS = tuple(name for name, kind, _ in _AGGREGATES if kind == "sum")
_MEDIAN_FIELDS = tuple(name for name, kind, _ in _AGGREGATES if kind == "median")

#: The fields of a block, in output order (the JSON contract).
BLOCK_FIELDS = catalogue.block_fields()
#: Withheld in a group with fewer than min_n_rate decided cases (with their intervals).
SUPPRESSIBLE = tuple(
    name
    for m in catalogue.METRICS
    if m.small_group == "decided"
    for name in (m.name, *m.interval_fields)
)
#: Withheld where their own denominator is below min_n_rate: (figures, denominator).
_OWN_DENOMINATOR = tuple(
    ((m.name, *m.interval_fields), m.denominator)
    for m in catalogue.METRICS
    if m.small_group == "denominator"
)
#: The rates with a Wilson interval: (rate, numerator, denominator, (ci_low, ci_high)).
_WILSON_RATES = tuple(
    (m.name, m.numerator_name, m.denominator, m.interval_fields)
    for m in catalogue.METRICS
    if m.interval == "wilson"
)
#: The ratios (of counts or sums): (ratio, numerator, denominator).
_RATIOS = tuple(
    (m.name, m.numerator_name, m.denominator)
    for m in catalogue.METRICS
    if m.kind in ("rate", "ratio") and m.interval != "wilson"
)
#: The ratios of sums with a delta-method interval: (ratio, numerator, denominator, Delta,
#: (ci_low, ci_high)).
_DELTA_RATIOS = tuple(
    (m.name, m.numerator_name, m.denominator, m.interval, m.interval_fields)
    for m in catalogue.METRICS
    if isinstance(m.interval, catalogue.Delta)
)
#: Money "not recorded" where none of the cases it is over had it: (figure, base, recorded).
_RECORDED_BY = tuple(
    (m.name, *m.recorded_by) for m in catalogue.METRICS if m.recorded_by is not None
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
    confidence: float = settings.CONFIDENCE,
) -> pd.DataFrame:
    """Aggregate the block over the window's cases for each grouping set (``confidence``: the
    level of the medians' order-statistic intervals).

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
    # the medians' order-statistic intervals need the normal quantile of the confidence
    # (catalogue.OrderStatistics): bound here, for the one query that uses it
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    return con.execute(query, bound | {"median_z": z}).df()


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
    for name, base, recorded in _RECORDED_BY:
        frame[name] = frame[name].mask((frame[base] > 0) & (frame[recorded] == 0))
    for name in _MEDIAN_FIELDS:
        frame[name] = frame[name].astype(float)
    for rate, numerator, denominator, (ci_low, ci_high) in _WILSON_RATES:
        frame[rate] = _ratio(frame[numerator], frame[denominator])
        frame[ci_low], frame[ci_high] = stats.wilson_many(
            frame[numerator], frame[denominator], params.confidence
        )
    for ratio, numerator, denominator in _RATIOS:
        frame[ratio] = _ratio(frame[numerator], frame[denominator])
    for _name, numerator, denominator, delta, (ci_low, ci_high) in _DELTA_RATIOS:
        frame[ci_low], frame[ci_high] = stats.delta_ratio_many(
            frame[delta.n], frame[denominator], frame[numerator], frame[delta.cc],
            frame[delta.rr], frame[delta.rc], params.confidence,
        )  # fmt: skip
    frame["suppressed"] = frame["decided"] < params.min_n_rate
    frame["few_cases"] = ~frame["suppressed"] & (frame["decided"] < params.min_n)
    for name in SUPPRESSIBLE:
        frame[name] = frame[name].mask(frame["suppressed"])
    for names, denominator in _OWN_DENOMINATOR:
        withheld = frame[denominator] < params.min_n_rate
        for name in names:
            frame[name] = frame[name].mask(withheld)
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
    db: Source,
    start: date | str,
    end: date | str,
    by: str | None = None,
    params: Params | None = None,
    category: str | None = None,
    supplier_id: str | None = None,
) -> pd.DataFrame:
    """One row per group of breakdown ``by`` (None: one row, group 'all') with every block field,
    and, for a breakdown whose groups do not overlap, each group's pooled supplier-sided rate
    (:data:`analysis.metrics.pooling.POOLED_FIELDS`; ``attrs['pooling']``).

    ``by`` is one of :data:`BREAKDOWNS`. Same definitions and suppression as
    :func:`outcome_metrics`. Missing values of optional fields group as 'unknown'; under
    'evidence' a case counts once in each kind it has, or under 'none'. ``supplier_id``: one
    supplier's cases only (the scorecard).
    """
    return block_frames(db, start, end, (by,), params, category, supplier_id)[by]


def block_frames(
    db: Source,
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
            raw = grouped_blocks(
                con, bound, keys, [(by,) if by else () for by in single],
                confidence=params.confidence,
            )  # fmt: skip
            every = (1 << len(keys)) - 1  # GROUPING(): a set bit for each key not grouped by
            for by in single:
                mask = every if by is None else every - (1 << (len(keys) - 1 - keys.index(by)))
                part = raw[raw["grouping_id"] == mask].reset_index(drop=True)
                frames[by] = _frame(part, by, params, start, end)
        for by in bys:
            if by not in frames:
                raw = grouped_blocks(con, bound, (by,), [(by,)], confidence=params.confidence)
                frames[by] = _frame(raw, by, params, start, end)
    return frames


def _frame(raw: pd.DataFrame, by: str | None, params: Params, start: date, end: date):
    if by is None and raw.empty:
        raw = empty_blocks(pd.RangeIndex(1))
    frame = finish_blocks(raw, params)
    frame.insert(0, "group", frame[f"key_{by}"] if by else "all")
    columns = ["group", *BLOCK_FIELDS]
    if by is not None and not bd.breakdown(by).multi:
        # groups that do not overlap: each one's rate pooled toward the whole
        frame = pooling.add_pooled(frame, params.confidence)
        columns += pooling.POOLED_FIELDS
    pooled = frame.attrs.get("pooling")
    frame = sort_groups(frame[columns], by)
    if pooled is not None:
        frame.attrs["pooling"] = pooled
    frame.attrs.update(by=by, start=start.isoformat(), end=end.isoformat())
    return frame


def heatmap_frame(
    db: Source,
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
        raw = grouped_blocks(
            con, bind(start, end, params, category), keys, [keys], confidence=params.confidence
        )
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
