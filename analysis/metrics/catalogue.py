"""The metric catalogue: every figure of a block declared once, and everything else derived from it.

A figure is one :class:`Metric`: its name (the JSON field), its label (what a table calls it),
its kind (``count``, ``sum`` or ``median``: an aggregate over the per-case flags of
``sql/cases.sql``; ``rate`` or ``ratio``: one field over another), its interval, its small-group
rule, the intake field it needs recorded, whether it is compared with (and tested against) the
previous period, its format and its definition in words. From :data:`CATALOGUE` come

- the block's SQL aggregates and its fields in JSON order (:mod:`analysis.metrics.blocks`),
- the Wilson rates, the plain ratios and the suppression rule (``blocks.finish_blocks``),
- the figures compared and tested against the previous period (:mod:`analysis.metrics.trends`),
- which figures an unrecorded field blanks (:mod:`analysis.metrics.coverage`),
- the definitions page (:mod:`analysis.metrics.definitions`, docs/metrics.md),
- the headline table's rows (:mod:`analysis.report.headline`),

and :data:`FLAGS`, the per-case flags of ``sql/cases.sql`` by the names notebooks use
(:mod:`analysis.explore`). Adding a rate is a flag in ``cases.sql``, one entry here and its test
(docs/architecture.md, "Adding a figure", works one through).
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis import settings as S


def level_text(level: float) -> str:
    """0.95 -> '95%', 0.998 -> '99.8%'."""
    return f"{100 * level:g}%"


@dataclass(frozen=True)
class Count:
    """The numerator of a rate declared with it: ``count_if(<where>)`` stored as ``name``."""

    name: str
    where: str
    label: str
    definition: str | None = None


@dataclass(frozen=True)
class Delta:
    """A ratio of two sums' interval by the delta method (linearised, large-sample): over ``n``
    cases, R = sum(r) / sum(c) has variance n / (n - 1) sum((r - R c)^2) / sum(c)^2, which the
    block's helper sums ``rr`` = sum(r^2), ``cc`` = sum(c^2) and ``rc`` = sum(r c) give without a
    second pass over the cases."""

    n: str
    rr: str
    cc: str
    rc: str


@dataclass(frozen=True)
class OrderStatistics:
    """A median's distribution-free interval: the j-th and k-th smallest of the n values
    ``value`` takes where ``where`` holds, j = floor(n/2 - z sqrt(n)/2) and
    k = ceil(1 + n/2 + z sqrt(n)/2), z the report's normal quantile (bound by
    analysis.metrics.blocks as ``$median_z``): it holds the median with at least the stated
    confidence for any distribution (the normal approximation of the binomial ranks). Null where
    j < 1 or k > n (too few values for any interval at that level)."""

    value: str
    where: str

    def sql(self, end: str) -> str:
        """The aggregate of the interval's ``low`` or ``high`` end over the block's cases."""
        n = f"count_if({self.where} AND {self.value} IS NOT NULL)"
        rank = (
            f"floor({n} / 2 - $median_z * sqrt({n}) / 2)"
            if end == "low"
            else f"ceil(1 + {n} / 2 + $median_z * sqrt({n}) / 2)"
        )
        values = f"list_sort(list({self.value}) FILTER (WHERE {self.where} AND {self.value} IS NOT NULL))"
        return f"CASE WHEN {rank} BETWEEN 1 AND {n} THEN {values}[{rank}::BIGINT] END"


@dataclass(frozen=True)
class Metric:
    """One figure of a block.

    ``sql`` is the aggregate of a count, sum or median over the window's per-case flags (sums
    read 0 over no case; the block's money fields are "not recorded" by ``recorded_by``).
    ``numerator`` / ``denominator`` name the fields a rate or ratio divides (a :class:`Count`
    declares its numerator in place). ``interval``: 'wilson' (a rate), a :class:`Delta` (a
    ratio of sums) or :class:`OrderStatistics` (a median) gives ``<stem>_ci_low`` and
    ``<stem>_ci_high``. ``small_group``: 'decided' withholds the figure in a group with fewer than
    min_n_rate decided cases (and marks it 'few cases' below min_n); 'denominator' withholds it
    when its own denominator is below min_n_rate; None never. ``needs``: the intake field whose
    absence from every export behind a window makes the figure "not recorded".
    ``recorded_by``: (base, recorded) counts; the figure is "not recorded" in a group where
    base > 0 and recorded == 0. ``compared``: shown against the previous period; ``tested``: a
    rate whose change gets a two-proportion test (its numerator and denominator are the test's).
    ``block``: False for a helper aggregate kept out of the JSON block. In a table, ``parts``
    are counts shown beside it ("3 (1 withdrawn, 2 cancelled)") and ``of`` a sum it is shown
    against ("$150 of $10,000").
    """

    name: str
    label: str
    kind: str
    definition: str | None = None
    sql: str | None = None
    numerator: str | Count | None = None
    denominator: str | None = None
    interval: str | Delta | OrderStatistics | None = None
    small_group: str | None = None
    needs: str | None = None
    recorded_by: tuple[str, str] | None = None
    compared: bool = False
    tested: bool = False
    format: str = "count"
    block: bool = True
    parts: tuple[str, ...] = ()
    of: str | None = None

    @property
    def numerator_name(self) -> str | None:
        return self.numerator.name if isinstance(self.numerator, Count) else self.numerator

    @property
    def interval_fields(self) -> tuple[str, ...]:
        """The interval's two fields (``supplier_sided_rate`` -> ``supplier_sided_ci_low``, ...)."""
        if self.interval is None:
            return ()
        stem = self.name.removesuffix("_rate")
        return (f"{stem}_ci_low", f"{stem}_ci_high")


#: The per-case flags of sql/cases.sql under the names a notebook uses (analysis.explore.cases).
FLAGS: dict[str, str] = {
    "decided": "is_decided",
    "supplier_sided": "is_supplier_sided",
    "full_refund": "is_full_refund",
    "lowball": "is_lowball",
    "lapsed": "is_lapsed",
    "final": "is_final",
    "monetary": "is_monetary",
    "undetermined": "is_undetermined",
    "escalated": "is_escalated",
    "buyer_lost_lapse": "is_buyer_loss_lapse",
    "buyer_outcome": "buyer_outcome",
    "has_inspection_report": "has_inspection_report",
    "other_evidence_kinds": "other_evidence_kinds",
    "opened_late": "opened_late",
    "days_to_close": "days_to_close",
    "refund_ratio": "refund_ratio",
    "closed_in": "closed_in",
    "opened_in": "opened_in",
    # issue 29 (analysis.metrics.beyond)
    "platform_supplier_sided": "is_platform_supplier_sided",
    "contrary_evidence": "has_contrary_evidence",
    "taken_further": "is_taken_further",
    "recovered_after": "is_recovered_after",
}

#: Where the money of the monetary decisions is recorded; where the claims of closed cases are.
_MONEY = "closed_in AND is_monetary AND has_amounts"
_AMOUNTS = ("monetary_decisions", "amounts_recorded")
_CLAIMS = ("cases_closed", "claims_recorded")

#: Every figure of a block, in the JSON contract's order. ``suppressed`` and ``few_cases`` (the
#: small-group rule's marks) stand where the contract has them.
CATALOGUE: tuple[Metric | str, ...] = (
    Metric(
        "cases_opened", "Cases opened", "count", sql="count_if(opened_in)", compared=True,
        definition="Cases whose opened_date falls in the period, whatever their outcome now.",
    ),
    Metric(
        "cases_closed", "Cases closed", "count", sql="count_if(closed_in)", compared=True,
        definition="Cases with a final outcome (every outcome of data/reference/outcomes.csv "
        "marked final: all but open) whose closed_date falls in the period.",
    ),
    Metric(
        "decided", "Decided", "count", sql="count_if(closed_in AND is_decided)", compared=True,
        definition="Closed cases with a decision on the claim (outcomes marked decided: "
        "full_refund, partial_refund, no_refund, replacement). Withdrawn, cancelled and "
        "out_of_coverage cases are not decided.",
    ),
    Metric(
        "lapsed", "Lapsed", "count", sql="count_if(closed_in AND is_lapsed)", compared=True,
        parts=("withdrawn", "cancelled", "out_of_coverage"),
        definition="Closed cases that ended without a decision (final, not decided): withdrawn by "
        "the buyer, cancelled (missing evidence or no response) or out_of_coverage. Reported in "
        "total and one by one, because procedural closures are part of the story.",
    ),
    Metric("withdrawn", "withdrawn", "count", sql="count_if(closed_in AND outcome = 'withdrawn')",
           definition="Lapsed cases the buyer withdrew."),
    Metric("cancelled", "cancelled", "count", sql="count_if(closed_in AND outcome = 'cancelled')",
           definition="Lapsed cases the platform cancelled (missing evidence, no response)."),
    Metric(
        "out_of_coverage", "out of coverage", "count",
        sql="count_if(closed_in AND outcome = 'out_of_coverage')",
        definition="Lapsed cases Trade Assurance did not cover.",
    ),
    Metric(
        "replacement", "Replacements", "count",
        sql="count_if(closed_in AND outcome = 'replacement')",
        definition="Decided cases settled by replacing the goods; no money changes hands.",
    ),
    Metric(
        "monetary_decisions", "Monetary decisions", "count",
        sql="count_if(closed_in AND is_monetary AND is_decided)",
        definition="Decided cases whose outcome is about money (outcomes marked monetary: "
        "full_refund, partial_refund, no_refund; decided minus replacement). Every money figure "
        "uses these cases only, unless it says otherwise.",
    ),
    Metric(
        "supplier_sided", "Supplier-sided", "count",
        sql="count_if(closed_in AND is_supplier_sided)",
        definition=f"Monetary decisions whose refund is below threshold x claim [default "
        f"{S.THRESHOLD:g}], compared on the case's original amounts in exact decimal arithmetic "
        "(refund and claim share one currency and one exchange rate, so this equals refund_usd "
        "< threshold x claim_usd). Every no_refund counts; a refund exactly at threshold x claim "
        "does not.",
    ),
    Metric(
        "supplier_sided_rate", "Supplier-sided rate", "rate", numerator="supplier_sided",
        denominator="decided", interval="wilson", small_group="decided", compared=True,
        tested=True, format="pct",
        definition=f"supplier_sided / decided, with a Wilson score interval "
        f"[{level_text(S.CONFIDENCE)}] in supplier_sided_ci_low and supplier_sided_ci_high. "
        "Replacements are in the denominator (decided, and not on the supplier's side); lapsed "
        "and open cases are not.",
    ),
    Metric(
        "claimed_usd", "Claimed (USD)", "sum", needs="claim_amount", recorded_by=_AMOUNTS,
        sql=f"fsum(claim_usd) FILTER (WHERE {_MONEY})", format="usd",
        definition="Sum of claim_usd over monetary decisions.",
    ),
    Metric(
        "refunded_usd", "Refunded of claimed, monetary decisions (USD)", "sum",
        needs="claim_amount", recorded_by=_AMOUNTS, of="claimed_usd",
        sql=f"fsum(refund_usd) FILTER (WHERE {_MONEY})", format="usd",
        definition="Sum of refund_usd over monetary decisions.",
    ),
    Metric(
        "refund_ratio_pooled", "Refund ratio, pooled", "ratio", numerator="refunded_usd",
        denominator="claimed_usd", small_group="decided", needs="claim_amount", compared=True,
        format="pct",
        interval=Delta("amounts_recorded", "refunded_usd_sq", "claimed_usd_sq", "claimed_refunded_usd"),
        definition="refunded_usd / claimed_usd: of all the money claimed in monetary decisions, "
        "the share that came back. Large claims weigh more. Its interval "
        f"[{level_text(S.CONFIDENCE)}] in refund_ratio_pooled_ci_low and refund_ratio_pooled_ci_high is the "
        "delta method's for a ratio of two sums over the amounts_recorded cases (clipped to [0, 1]); "
        "it is 'few cases' like a rate.",
    ),
    Metric("refunded_usd_sq", "", "sum", block=False,
           sql=f"fsum(refund_usd * refund_usd) FILTER (WHERE {_MONEY})"),
    Metric("claimed_usd_sq", "", "sum", block=False,
           sql=f"fsum(claim_usd * claim_usd) FILTER (WHERE {_MONEY})"),
    Metric("claimed_refunded_usd", "", "sum", block=False,
           sql=f"fsum(claim_usd * refund_usd) FILTER (WHERE {_MONEY})"),
    Metric(
        "refund_ratio_median", "Refund ratio, median case", "median",
        sql=f"median(refund_ratio) FILTER (WHERE {_MONEY})", small_group="decided",
        needs="claim_amount", compared=True, format="pct",
        interval=OrderStatistics("refund_ratio", _MONEY),
        definition="The median over monetary decisions of refund_amount / claim_amount: the "
        "typical case's share, each case weighing the same (the mean of the two middle values "
        "when their number is even). Its distribution-free interval "
        f"[{level_text(S.CONFIDENCE)}] in refund_ratio_median_ci_low and refund_ratio_median_ci_high is the j-th "
        "and k-th smallest of the n ratios, j = floor(n/2 - z sqrt(n)/2), k = ceil(1 + n/2 + "
        "z sqrt(n)/2); null where there are too few ratios for one.",
    ),
    Metric(
        "lowball", "Lowball decisions", "count", sql="count_if(closed_in AND is_lowball)",
        needs="claim_amount", compared=True,
        definition=f"Monetary decisions with 0 < refund < lowball x claim [default "
        f"{S.LOWBALL:g}], like $150 on a $10,000 claim. A refund of 0 is a refusal, not a "
        "lowball; a refund exactly at lowball x claim is not a lowball. With the default "
        "thresholds every lowball is also supplier-sided (and counted once there).",
    ),
    Metric(
        "escalated", "Escalated", "count", sql="count_if(closed_in AND is_escalated)",
        needs="escalated_date",
        definition="Closed cases escalated to the platform: an escalated_date, or a yes in the "
        "export's yes/no escalated column (its date then not recorded).",
    ),
    Metric(
        "escalation_rate", "Escalation rate", "ratio", numerator="escalated",
        denominator="cases_closed", small_group="decided", needs="escalated_date",
        compared=True, tested=True, format="pct",
        definition="escalated / cases_closed: the share of the period's closed cases, decided "
        "or lapsed, that were escalated to the platform.",
    ),
    Metric(
        "median_days_to_close", "Median days to close", "median",
        sql="median(days_to_close) FILTER (WHERE closed_in)", small_group="decided",
        compared=True, format="days",
        definition="The median of closed_date - opened_date, in days, over the cases closed in "
        "the period (every final outcome). It cannot see cases still open; time_to_resolution "
        "can.",
    ),
    "suppressed",
    "few_cases",
    Metric(
        "synthetic_cases", "Synthetic cases", "count", sql="count_if(is_synthetic)", block=False,
        definition="Cases of the window generated by ta-outcomes demo.",
    ),
    Metric("money_back", "money back", "count",
           sql="count_if(closed_in AND buyer_outcome = 'money_back')"),
    Metric("token", "a token", "count", sql="count_if(closed_in AND buyer_outcome = 'token')"),
    Metric("nothing", "nothing", "count", sql="count_if(closed_in AND buyer_outcome = 'nothing')"),
    Metric(
        "buyer_lost", "Buyer got nothing or a token, lapses counted", "count",
        sql="count_if(closed_in AND (buyer_outcome IN ('token', 'nothing') OR is_buyer_loss_lapse))",
        definition="Closed cases whose buyer came away with a token or nothing, and the lapses "
        "that cost the buyer (cancelled, out_of_coverage): the buyer-lost rate's numerator.",
    ),
    Metric(
        "buyer_lost_base", "Closed cases less withdrawals", "count",
        sql="count_if(closed_in AND (is_decided OR is_buyer_loss_lapse))",
        definition="Decided cases and the lapses that cost the buyer: the closed cases less the "
        "withdrawals (and the undetermined), the buyer-lost rate's denominator.",
    ),
    Metric(
        "buyer_lost_rate", "Buyer got nothing or a token, lapses counted", "rate",
        numerator="buyer_lost", denominator="buyer_lost_base", interval="wilson",
        small_group="denominator", compared=True, tested=True, format="pct",
        definition="(token + nothing + cancelled + out_of_coverage) / (cases_closed - "
        "withdrawn), with a Wilson interval: how often a buyer who did not withdraw came away "
        "with nothing or a token. Cancelled and out-of-coverage cases are $0 for the buyer, and "
        "weak claims are the ones that lapse, so leaving them out understates how often buyers "
        "get nothing. The lapses counted are the outcomes marked buyer_loss in outcomes.csv.",
    ),
    Metric(
        "claimed_usd_closed", "Claimed, closed cases (USD)", "sum", needs="claim_amount",
        recorded_by=_CLAIMS, format="usd",
        sql="fsum(claim_usd) FILTER (WHERE closed_in AND claim_usd IS NOT NULL)",
        definition="Sum of claim_usd over the closed cases whose claim was recorded.",
    ),
    Metric(
        "refunded_usd_closed", "Refunded, closed cases (USD)", "sum", needs="claim_amount",
        recorded_by=_CLAIMS, format="usd",
        sql="fsum(refund_usd) FILTER (WHERE closed_in AND is_monetary AND claim_usd IS NOT NULL)",
        definition="Sum of refund_usd over the monetary decisions among those closed cases.",
    ),
    Metric(
        "refund_ratio_closed", "Refund ratio, every closed case", "ratio",
        numerator="refunded_usd_closed", denominator="claimed_usd_closed", small_group="decided",
        needs="claim_amount", format="pct",
        interval=Delta("claims_recorded", "refunded_usd_closed_sq", "claimed_usd_closed_sq",
                       "claimed_refunded_usd_closed"),
        definition="Refunds over the claims of every closed case (lapsed and replaced cases "
        "count with nothing back in money): of all the money claimed in the period's closed "
        "cases, the share that came back, with the delta method's interval over the "
        "claims_recorded cases in refund_ratio_closed_ci_low and refund_ratio_closed_ci_high.",
    ),
    Metric("refunded_usd_closed_sq", "", "sum", block=False,
           sql="fsum(coalesce(refund_usd, 0) * coalesce(refund_usd, 0)) FILTER (WHERE closed_in "
           "AND is_monetary AND claim_usd IS NOT NULL)"),
    Metric("claimed_usd_closed_sq", "", "sum", block=False,
           sql="fsum(claim_usd * claim_usd) FILTER (WHERE closed_in AND claim_usd IS NOT NULL)"),
    Metric("claimed_refunded_usd_closed", "", "sum", block=False,
           sql="fsum(claim_usd * coalesce(refund_usd, 0)) FILTER (WHERE closed_in "
           "AND is_monetary AND claim_usd IS NOT NULL)"),
    Metric(
        "undetermined", "Undetermined", "count", sql="count_if(closed_in AND is_undetermined)",
        definition="A partial refund whose claim or refund amount was not recorded (an export "
        "without amounts): whether the buyer got back at least the threshold share cannot be "
        "said. Counted as undetermined, and left out of decided, so of every rate's denominator. "
        "A no_refund or full_refund without amounts is decided by its outcome alone (the "
        "refund_share column of outcomes.csv).",
    ),
    Metric(
        "amounts_recorded", "Amounts recorded", "count",
        sql="count_if(closed_in AND is_monetary AND is_decided AND has_amounts)",
        definition="Monetary decisions whose claim and refund amounts were both recorded: the "
        "cases the money figures of monetary decisions are over.",
    ),
    Metric(
        "claims_recorded", "Claims recorded", "count",
        sql="count_if(closed_in AND claim_usd IS NOT NULL)",
        definition="Closed cases whose claim amount was recorded: the cases the money figures "
        "of closed cases are over.",
    ),
    Metric(
        "full_refund_rate", "Refunded in full", "rate",
        numerator=Count(
            "full_refunds", "closed_in AND is_full_refund", "Refunded in full",
            "Monetary decisions in which the refund equals the claim (a full_refund without "
            "amounts counts; a refund above the claim is quarantined at ingest).",
        ),
        denominator="monetary_decisions", interval="wilson", small_group="decided",
        compared=True, tested=True, format="pct",
        definition=f"full_refunds / monetary_decisions, with a Wilson interval "
        f"[{level_text(S.CONFIDENCE)}] in full_refund_ci_low and full_refund_ci_high: of the decisions "
        "about money, the share in which the buyer got back everything claimed. Replacements "
        "and lapsed cases are not in the denominator.",
    ),
)  # fmt: skip

#: The rows of a report's headline table, in reading order.
HEADLINE: tuple[str, ...] = (
    "cases_opened", "cases_closed", "decided", "lapsed", "supplier_sided_rate", "buyer_lost_rate",
    "refunded_usd", "refund_ratio_pooled", "refund_ratio_median", "lowball", "escalation_rate",
    "median_days_to_close",
)  # fmt: skip

METRICS: tuple[Metric, ...] = tuple(m for m in CATALOGUE if isinstance(m, Metric))
#: The small-group rule's marks, computed by blocks.finish_blocks.
MARKS = tuple(m for m in CATALOGUE if isinstance(m, str))


def metric(name: str) -> Metric:
    """The catalogue entry called ``name`` (KeyError naming it otherwise)."""
    for m in METRICS:
        if m.name == name:
            return m
    raise KeyError(f"no metric {name!r} in the catalogue")


def aggregates() -> tuple[tuple[str, str, str], ...]:
    """(field, kind, SQL aggregate) of every count, sum and median, a rate's own count included."""
    out = []
    for m in METRICS:
        if isinstance(m.numerator, Count):
            out.append((m.numerator.name, "count", f"count_if({m.numerator.where})"))
        if m.sql is not None:
            out.append((m.name, m.kind, m.sql))
        if isinstance(m.interval, OrderStatistics):
            low, high = m.interval_fields
            out += [
                (low, "median", m.interval.sql("low")),
                (high, "median", m.interval.sql("high")),
            ]
    return tuple(out)


def block_fields() -> tuple[str, ...]:
    """The fields of a block, in JSON order: each figure, a rate's count before it and its
    interval after it, and the small-group marks where the catalogue places them."""
    out: list[str] = []
    for entry in CATALOGUE:
        if isinstance(entry, str):
            out.append(entry)
        elif entry.block:
            if isinstance(entry.numerator, Count):
                out.append(entry.numerator.name)
            out += [entry.name, *entry.interval_fields]
    return tuple(out)


def fields_of(field_name: str) -> tuple[str, ...]:
    """The block fields that are "not recorded" when no export recorded ``field_name``."""
    return tuple(
        name for m in METRICS if m.needs == field_name for name in (m.name, *m.interval_fields)
    )


def definitions() -> tuple[tuple[str, str], ...]:
    """(term, text) of every figure with a definition, in catalogue order."""
    out = []
    for m in METRICS:
        if isinstance(m.numerator, Count) and m.numerator.definition:
            out.append((m.numerator.name, m.numerator.definition))
        if m.definition:
            out.append((m.name, m.definition))
    return tuple(out)
