"""``ta-outcomes metrics``: the metrics of one period as the JSON contract."""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis import settings, sqlfiles
from analysis.metrics import (
    beyond,
    coverage,
    effects,
    periods,
    pooling,
    provenance,
    stats,
    suppliers,
)
from analysis.metrics.blocks import (
    block_dict,
    empty_blocks,
    finish_blocks,
    grouped_blocks,
    json_value,
)
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.definitions import DEFINITIONS_VERSION
from analysis.metrics.params import Params, decimal_text
from analysis.store import Source, connect, reading

#: The buyer-outcome kinds the contract always lists (others appear when the vocabulary has them).
BUYER_OUTCOMES = (
    "money_back", "token", "nothing", "replacement", "cancelled", "out_of_coverage", "withdrawn",
)  # fmt: skip

_BUYER_OUTCOMES = """
    WITH period_cases AS ({period_cases})
    SELECT buyer_outcome, count(*) AS cases FROM period_cases
    WHERE closed_in GROUP BY ALL ORDER BY ALL
"""


def buyer_outcomes(con, bound: dict) -> dict[str, int]:
    """What the buyers of the window's closed cases came away with, by kind (every kind listed)."""
    rows = con.execute(compose(_BUYER_OUTCOMES, period_cases=period_cases_sql()), bound).fetchall()
    counts = dict.fromkeys(BUYER_OUTCOMES, 0)
    counts.update({kind: int(n) for kind, n in rows if kind is not None})
    return counts


def sensitivity(con, bound: dict, confidence: float) -> list[dict]:
    """The supplier-sided rate at SENSITIVITY_THRESHOLDS, without and with the lapses that cost
    the buyer (cancelled, out of coverage) counted as losses, with Wilson intervals."""
    thresholds = [decimal_text(t) for t in settings.SENSITIVITY_THRESHOLDS]
    query = compose(sqlfiles.sql("metrics", "sensitivity.sql"), period_cases=period_cases_sql())
    rows = con.execute(query, bound | {"thresholds": thresholds}).fetchall()
    out = []
    for threshold, sided, decided, lapses in rows:
        for counted in (False, True):
            numerator = sided + (lapses if counted else 0)
            denominator = decided + (lapses if counted else 0)
            low, high = stats.wilson(numerator, denominator, confidence)
            out.append({
                "threshold": float(threshold), "lapsed_counted": counted,
                "supplier_sided": int(numerator), "denominator": int(denominator),
                "rate": numerator / denominator if denominator else None,
                "ci_low": low, "ci_high": high,
            })  # fmt: skip
    return out


def outcome_metrics(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict:
    """The metrics of one period as the JSON contract of ``ta-outcomes metrics``.

    Keys: ``start``, ``end`` (ISO), ``category`` (the filter or None), ``params``,
    ``definitions_version``, ``synthetic`` (the window holds demo cases) and ``synthetic_cases``,
    ``as_of`` (the day the store's data describe), ``overall`` (a block), ``by_category`` and
    ``by_claim_type`` (blocks keyed by slug, every slug with a case opened or closed in the
    period), ``buyer_outcomes`` (the closed cases by what the buyer came away with),
    ``sensitivity`` (the supplier-sided rate at other thresholds, with and without lapses),
    ``supplier_comparison`` (the named suppliers' O/E), ``adjusted_effects`` (the model's
    odds ratios, or ``{"not_fitted": reason}``) and ``adjusted_effects_with_escalation`` (the
    same model adjusted for escalation too: a sensitivity check), ``platform_reasons`` and
    ``beyond_platform`` (:mod:`analysis.metrics.beyond`; None when not recorded). A block holds
    :data:`BLOCK_FIELDS`.
    """
    # a dozen queries: one open connection for all of them (the caller's run, or one of its own)
    with reading(db) as reader:
        return _outcome_metrics(reader, start, end, params, category)


def _outcome_metrics(db, start, end, params, category) -> dict:
    params = params or Params()
    start, end = window(start, end)
    bound = bind(start, end, params, category)
    with connect(db) as con:
        check_category(con, category)
        raw = grouped_blocks(
            con,
            bound,
            ("category", "claim_type"),
            [(), ("category",), ("claim_type",)],
            confidence=params.confidence,
        )
        kinds = buyer_outcomes(con, bound)
        sensitivity_rows = sensitivity(con, bound, params.confidence)
        before = periods.previous_period(periods.period_of(start, end))
        previous = grouped_blocks(
            con, bind(before.start, before.end, params, category), (), [()],
            confidence=params.confidence,
        )  # fmt: skip
    frame = finish_blocks(raw, params)
    # GROUPING(category, claim_type): 3 = neither (overall), 1 = by category, 2 = by claim type.
    overall = frame[frame["grouping_id"] == 3]
    overall_row = (
        overall.iloc[0]
        if len(overall)
        else finish_blocks(empty_blocks(pd.RangeIndex(1)), params).iloc[0]
    )
    # each group's supplier-sided rate pooled toward the whole (analysis.metrics.pooling)
    by_category = pooling.add_pooled(
        frame[frame["grouping_id"] == 1].sort_values("key_category"), params.confidence
    )
    by_claim_type = pooling.add_pooled(
        frame[frame["grouping_id"] == 2].sort_values("key_claim_type"), params.confidence
    )
    # the smallest change of the supplier-sided rate against the previous period these
    # counts could tell from chance
    k_before, n_before = (
        (
            int(previous["supplier_sided"].fillna(0).iloc[0]),
            int(previous["decided"].fillna(0).iloc[0]),
        )
        if len(previous)
        else (0, 0)
    )
    detectable = pooling.detectable_change(
        int(overall_row["supplier_sided"]), int(overall_row["decided"]), k_before, n_before,
        params.confidence,
    )  # fmt: skip
    as_of = provenance.as_of(db)
    compared = suppliers.comparison_contract(db, start, end, params, category)
    # escalation left out of the main model (it follows a dispute going badly), in the other
    model = effects.adjusted_effects(db, start, end, params, category)
    missing = coverage.not_recorded(db, start, end, params, category)

    def block(row) -> dict:
        return coverage.blank_figures(block_dict(row), missing)

    def group(row) -> dict:
        return block(row) | {name: json_value(row[name]) for name in pooling.POOLED_FIELDS}

    synthetic = bool(overall_row["synthetic_cases"]) or (
        not overall_row["cases_opened"] and not overall_row["cases_closed"]
        and provenance.store_facts(db)["synthetic"]
    )  # fmt: skip
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "category": category,
        "params": params.as_dict(),
        "definitions_version": DEFINITIONS_VERSION,
        "synthetic": synthetic,
        "synthetic_cases": int(overall_row["synthetic_cases"]),
        "as_of": as_of.isoformat() if as_of else None,
        "not_recorded": missing,
        "overall": block(overall_row)
        | {
            "detectable_change": detectable,
            "previous_start": before.start.isoformat(),
            "previous_end": before.end.isoformat(),
        },
        "by_category": {row["key_category"]: group(row) for _, row in by_category.iterrows()},
        "by_claim_type": {row["key_claim_type"]: group(row) for _, row in by_claim_type.iterrows()},
        "pooling": {
            "by_category": by_category.attrs["pooling"],
            "by_claim_type": by_claim_type.attrs["pooling"],
        },
        "buyer_outcomes": kinds,
        "sensitivity": sensitivity_rows,
        "supplier_comparison": compared["named"],
        "suppliers_compared": compared["counts"],
        "adjusted_effects": model.contract(),
        "adjusted_effects_with_escalation": model.sensitivity.contract(),
        # issue 29: what the platform said, and what buyers recovered beyond it (None: not recorded)
        "platform_reasons": beyond.platform_reasons(db, start, end, params, category),
        "beyond_platform": beyond.beyond_platform(db, start, end, params, category),
    }


def buyer_outcome_counts(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict[str, int]:
    """:func:`buyer_outcomes` of the cases closed in [start, end]."""
    params = params or Params()
    start, end = window(start, end)
    with connect(db) as con:
        check_category(con, category)
        return buyer_outcomes(con, bind(start, end, params, category))


def sensitivity_table(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> list[dict]:
    """:func:`sensitivity` of the cases closed in [start, end]."""
    params = params or Params()
    start, end = window(start, end)
    with connect(db) as con:
        check_category(con, category)
        return sensitivity(con, bind(start, end, params, category), params.confidence)
