"""The breakdowns of the metrics: how cases are grouped, and what each group is called.

Each :class:`Breakdown` holds its group key as fixed SQL over the columns of ``sql/cases.sql``
(never a value), its title, and where the names of its groups come from: the vocabulary of a
field (:mod:`analysis.vocab`), or labels of its own for groups the metrics derive (order-value
bands, escalated or not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis import vocab
from analysis.errors import BadParameter

#: Order-value bands on order_value_usd: (group, label, lower bound inclusive, upper exclusive).
ORDER_VALUE_BANDS = (
    ("under_1k", "under $1k", 0, 1_000),
    ("1k_5k", "$1k–5k", 1_000, 5_000),
    ("5k_20k", "$5k–20k", 5_000, 20_000),
    ("20k_100k", "$20k–100k", 20_000, 100_000),
    ("100k_plus", "$100k and more", 100_000, None),
)
#: What a group of cases with the field left blank is called.
UNKNOWN = "unknown"
#: The order-value band of a case whose order value was not recorded (issue 24.6: such a case
#: fell through every bound into the highest band).
NOT_RECORDED_BAND = ("not_recorded", "not recorded")


@dataclass(frozen=True)
class Breakdown:
    """One way of grouping the cases of a window."""

    name: str
    title: str
    key_sql: str
    vocabulary: str | None = None  # group names from this vocabulary's display names
    labels: dict[str, str] = field(default_factory=dict)  # or from these
    order: tuple[str, ...] | None = None  # groups in this order (else alphabetical)
    #: a case may sit in several groups (evidence), so the groups add up to more than the total
    multi: bool = False
    #: the intake field the groups come from, when an export may not record it (its groups are
    #: then "not recorded": analysis.metrics.coverage)
    needs: str | None = None

    def label(self, group: Any) -> str:
        """A reader's name for one group of this breakdown."""
        if group is None or (isinstance(group, float) and group != group):
            return UNKNOWN
        group = str(group)
        if self.vocabulary:
            name = vocab.vocabulary().display_name(self.vocabulary, group)
            if name:
                return name
        return self.labels.get(group, group.replace("_", " "))


def _band_sql() -> str:
    # Built from ORDER_VALUE_BANDS (module constants): the first band whose upper bound is above.
    # A case without an order value (or without a rate) is in no band: "not recorded".
    cases = " ".join(
        f"WHEN order_value_usd < {upper} THEN '{group}'"
        for group, _, _, upper in ORDER_VALUE_BANDS
        if upper is not None
    )
    return (
        f"CASE WHEN order_value_usd IS NULL THEN '{NOT_RECORDED_BAND[0]}' {cases} "
        f"ELSE '{ORDER_VALUE_BANDS[-1][0]}' END"
    )


_ALL = (
    Breakdown("category", "Category", "category", vocabulary="category"),
    Breakdown("claim_type", "Claim type", "claim_type", vocabulary="claim_type"),
    Breakdown("supplier_country", "Supplier country", f"coalesce(supplier_country, '{UNKNOWN}')"),
    Breakdown(
        "order_value_band",
        "Order value",
        _band_sql(),
        labels={g: label for g, label, _, _ in ORDER_VALUE_BANDS} | dict([NOT_RECORDED_BAND]),
        order=(*(g for g, _, _, _ in ORDER_VALUE_BANDS), NOT_RECORDED_BAND[0]),
    ),
    Breakdown(
        "inspection",
        "Inspection",
        f"coalesce(inspection, '{UNKNOWN}')",
        vocabulary="inspection",
        needs="inspection",
    ),
    # A case counts once in each evidence kind it has (the store holds them distinct, see
    # sql/cases.sql); a case with none counts under 'none'.
    Breakdown(
        "evidence",
        "Evidence",
        "unnest(CASE WHEN evidence IS NULL OR len(evidence) = 0 THEN ['none'] ELSE evidence END)",
        vocabulary="evidence",
        multi=True,
        needs="evidence",
    ),
    Breakdown(
        "escalated",
        "Escalation",
        "CASE WHEN is_escalated THEN 'escalated' ELSE 'not_escalated' END",
        labels={"escalated": "escalated to the platform", "not_escalated": "not escalated"},
        needs="escalated_date",
    ),
    Breakdown("supplier_id", "Supplier", "supplier_id"),
    Breakdown(
        "decided_by",
        "Decided by",
        f"coalesce(decided_by, '{UNKNOWN}')",
        vocabulary="decided_by",
        needs="decided_by",
    ),
)
BY_NAME = {b.name: b for b in _ALL}
BREAKDOWNS = tuple(BY_NAME)


def breakdown(name: str | None) -> Breakdown:
    """The breakdown called ``name``; BadParameter naming the known ones otherwise."""
    if name not in BY_NAME:
        raise BadParameter(f"breakdown {name!r} unknown; use one of {', '.join(BREAKDOWNS)}")
    return BY_NAME[name]


def check(name: str | None) -> None:
    """BadParameter unless ``name`` is None or a breakdown."""
    if name is not None:
        breakdown(name)
