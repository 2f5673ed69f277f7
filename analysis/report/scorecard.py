"""The supplier scorecard's sections: one supplier's record over a range, beside everyone's.

The notebook ``notebooks/supplier_scorecard.ipynb`` calls these in order. A supplier is judged
(compared with what its case mix predicts) only from ``min_n_named`` decided cases; below that its
figures are shown and said to be too few to judge. With no ``supplier_id`` the scorecard says so
and lists the suppliers that can be judged, by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from analysis import settings
from analysis.metrics import Params, notable, periods, provenance, scorecard, stats
from analysis.metrics.resolution import time_to_resolution
from analysis.metrics.suppliers import EXCESS_OE
from analysis.metrics.trends import monthly_series
from analysis.report import fmt
from analysis.report.context import open_store, period_text, resolve_period
from analysis.report.display import Banner, Findings, Table, user_errors_one_line
from analysis.report.labels import label, title
from analysis.report.privacy import mask_frame
from analysis.store import Reader


@dataclass
class ScorecardContext:
    """The scorecard's store, supplier, range and parameters (and its figures, computed once)."""

    store: Reader
    supplier_id: str | None
    supplier_name: str | None
    period: periods.Period
    params: Params
    parameters: dict
    synthetic: bool
    as_of: date | None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def description(self) -> str:
        who = self.supplier_id or "no supplier chosen"
        return f"supplier {who}, cases of {period_text(self.period)}"

    @property
    def who(self) -> str:
        if not self.supplier_id:
            return ""
        name = fmt.clean_text(self.supplier_name, 60) if self.supplier_name else ""
        # the one name (the alias file's) is often the id itself: said once
        same = self.supplier_name == self.supplier_id
        return f"{name} ({self.supplier_id})" if name and not same else self.supplier_id

    def cached(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        value = self._cache[key]
        return value.copy() if isinstance(value, pd.DataFrame) else value


@user_errors_one_line
def open_scorecard(
    db: str | Path = settings.DEFAULT_DB_TEXT,
    supplier_id: str = "",
    period: str = "",
    start: str = "",
    end: str = "",
    threshold: float = settings.THRESHOLD,
    lowball: float = settings.LOWBALL,
    min_n: int = settings.MIN_N,
    min_n_rate: int | None = None,
    min_n_named: int = settings.MIN_N_NAMED,
    today: date | None = None,
) -> ScorecardContext:
    """The scorecard's context; the range defaults to the trailing 12 months to the latest
    complete month."""
    if any(str(x or "").strip() for x in (period, start, end)):
        span = resolve_period(period, start, end, today)
    else:
        last = periods.last_complete("month", today)
        first = periods.trailing_months(last.end, settings.TRAILING_MONTHS)
        span = periods.range_period(first.start, last.end)
    params = Params(threshold=threshold, lowball=lowball, min_n=min_n, min_n_rate=min_n_rate,
                    min_n_named=min_n_named)  # fmt: skip
    reader = open_store(db)
    supplier_id = str(supplier_id or "").strip() or None
    name = scorecard.supplier_name(reader, supplier_id) if supplier_id else None
    facts = provenance.store_facts(reader)
    return ScorecardContext(
        store=reader,
        supplier_id=supplier_id,
        supplier_name=name,
        period=span,
        params=params,
        parameters={
            "db": str(db),
            "supplier_id": supplier_id or "",
            "period": period,
            "start": start,
            "end": end,
            **{k: v for k, v in params.as_dict().items() if k != "confidence"},
        },  # fmt: skip
        synthetic=facts["synthetic"],
        as_of=provenance.as_of(reader),
    )


def _overall(sc: ScorecardContext) -> pd.Series:
    return sc.cached(
        ("overall",),
        lambda: scorecard.beside_everyone(
            sc.store, sc.period.start, sc.period.end, sc.supplier_id, None, sc.params
        ),
    ).iloc[0]


def _mix(sc: ScorecardContext) -> dict | None:
    return sc.cached(
        ("mix",),
        lambda: scorecard.against_mix(
            sc.store, sc.period.start, sc.period.end, sc.supplier_id, sc.params
        ),
    )


def _named(sc: ScorecardContext) -> list[str]:
    return sc.cached(
        ("named",),
        lambda: scorecard.named_suppliers(sc.store, sc.period.start, sc.period.end, sc.params),
    )


def _rate(block, prefix: str, p: Params) -> str:
    return fmt.rate_ci(
        block[f"{prefix}supplier_sided_rate"], block[f"{prefix}supplier_sided_ci_low"],
        block[f"{prefix}supplier_sided_ci_high"], bool(block[f"{prefix}suppressed"]),
        p.min_n_rate, bool(block[f"{prefix}few_cases"]),
    )  # fmt: skip


@user_errors_one_line
def scorecard_banner(sc: ScorecardContext) -> Banner:
    """The header; without a supplier, what to set and which suppliers can be judged."""
    if not sc.supplier_id:
        named = _named(sc)
        lines = [
            "No supplier chosen: set supplier_id in the parameters cell (or -p supplier_id=...)."
        ]
        lines.append(
            f"Suppliers with at least {sc.params.min_n_named} decided cases in "
            f"{period_text(sc.period)}, by id: "
            + (", ".join(fmt.identifier(s, 40) for s in named) if named else "none")
            + "."
        )
    else:
        lines = [
            f"Supplier: {sc.who}; cases of {period_text(sc.period)} (outcomes by closing date, "
            "intake by opening date), beside every supplier's.",
            f"Data as of: {sc.as_of.isoformat() if sc.as_of else 'not recorded'}.",
            f"Supplier-sided: refund below {sc.params.threshold:g} x claim. A supplier is judged "
            f"against its case mix from {sc.params.min_n_named} decided cases.",
        ]
    return Banner(
        lines=lines,
        synthetic=sc.synthetic,
        warning="this store holds demo cases generated by ta-outcomes demo; the supplier is "
        "invented.",
        record={
            "supplier_id": sc.supplier_id,
            "start": sc.period.start,
            "end": sc.period.end,
            "synthetic": sc.synthetic,
        },  # fmt: skip
    )


def _mix_sentence(sc: ScorecardContext, decided: int) -> str:
    """The first sentence: the supplier against its case mix (shrunk O/E, probability, flag), or
    that it has too few cases to be judged."""
    mix, p = _mix(sc), sc.params
    if mix is None or decided < p.min_n_named or fmt.missing(mix["oe_ratio"]):
        return (
            f"With {fmt.count(decided)} decided case(s) in {period_text(sc.period)}"
            + (f", fewer than {p.min_n_named}" if decided < p.min_n_named else "")
            + ", the data cannot say whether this supplier is worse or better than its mix of "
            "cases predicts."
        )
    level = fmt.level(p.confidence)
    flag = mix["flag"] if isinstance(mix["flag"], str) else ""
    if flag == "high":
        verdict = f"more than its case mix predicts, beyond the {fmt.FLAG_LIMITS}"
    elif flag == "low":
        verdict = f"fewer than its case mix predicts, beyond the {fmt.FLAG_LIMITS}"
    else:
        detectable = (
            f"it would have needed an O/E of at least {mix['detectable_oe']:.2f} to be"
            if not fmt.missing(mix["detectable_oe"])
            else "no count of its cases could have been"
        )
        verdict = f"within the {fmt.FLAG_LIMITS} ({detectable} called out)"
    return (
        f"Against its mix of categories and claim types, {sc.who} had "
        f"{fmt.count(mix['supplier_sided'])} supplier-sided decisions of {fmt.count(decided)} in "
        f"{period_text(sc.period)} where the other suppliers' rates predict "
        f"{mix['expected']:.1f} (O/E {mix['oe_ratio']:.2f}, {level} interval "
        f"{mix['ci_low']:.2f} to {mix['ci_high']:.2f}): {verdict}. Shrunk toward 1 for how "
        f"little its cases pin down, its O/E is {mix['shrunk_oe']:.2f} ({mix['shrunk_ci_low']:.2f} "
        f"to {mix['shrunk_ci_high']:.2f}), and the probability that its true O/E is above "
        f"{EXCESS_OE:g} is {mix['prob_excess']:.2f}."
    )


def _others_rate(block: pd.Series, p: Params) -> str:
    """Every OTHER supplier's supplier-sided rate with its Wilson interval (the supplier's own
    cases taken out of everyone's)."""
    k = int(block["all_supplier_sided"] - block["supplier_sided"])
    n = int(block["all_decided"] - block["decided"])
    if n < p.min_n_rate:
        return f"{fmt.count(k)} of {fmt.count(n)} for the other suppliers"
    low, high = stats.wilson(k, n, p.confidence)
    return (
        f"{fmt.rate_ci(k / n, low, high, False, p.min_n_rate, n < p.min_n)} for the other suppliers"
    )


@user_errors_one_line
def scorecard_findings(sc: ScorecardContext) -> Findings:
    """The answer in sentences: first the supplier against its case mix (the fair comparison:
    shrunk O/E, probability of a real excess, flag), then its raw rate beside the other
    suppliers' (itself left out), lowballs."""
    if not sc.supplier_id:
        return Findings(["No supplier chosen."], record={"supplier_id": None})
    block, p = _overall(sc), sc.params
    decided = int(block["decided"])
    sentences = []
    if not block["cases_opened"] and not block["cases_closed"]:
        sentences.append(f"{sc.who} had no case opened or closed in {period_text(sc.period)}.")
        return Findings(sentences, record={"supplier_id": sc.supplier_id, "decided": 0})
    sentences.append(_mix_sentence(sc, decided))
    if block["suppressed"]:
        sentences.append(
            f"Raw: {fmt.count(block['supplier_sided'])} of {fmt.count(decided)} of its claims "
            f"decided in {period_text(sc.period)} ended on the supplier's side: too few decided "
            f"claims for a rate (a rate is given from {p.min_n_rate})."
        )
    else:
        sentences.append(
            f"Raw, whatever the claims: {fmt.count(block['supplier_sided'])} of "
            f"{fmt.count(decided)} of its decided claims ended on the supplier's side, "
            f"{_rate(block, '', p)}, against {_others_rate(block, p)}; the raw rates differ "
            "with the mix of claims each supplier gets, which the comparison above takes out."
        )
    if block["lowball"]:
        sentences.append(
            f"{fmt.count(block['lowball'])} of its refunds were lowballs (above 0, below "
            f"{p.lowball:g} x the claim)."
        )
    return Findings(sentences, record={"supplier_id": sc.supplier_id, "decided": decided,
                                       "supplier_sided": int(block["supplier_sided"])})  # fmt: skip


def _empty_without_supplier(sc: ScorecardContext, caption: str, name: str) -> Table | None:
    if sc.supplier_id:
        return None
    return Table(
        frame=pd.DataFrame(), caption=caption + " (no supplier chosen)", name=name,
        data=pd.DataFrame(),
    )  # fmt: skip


@user_errors_one_line
def scorecard_outcomes(sc: ScorecardContext) -> Table:
    """What the buyers of the supplier's closed cases came away with, beside everyone's."""
    caption = "What the buyers came away with"
    empty = _empty_without_supplier(sc, caption, "scorecard_outcomes")
    if empty:
        return empty
    data = scorecard.buyer_outcomes_beside_everyone(
        sc.store, sc.period.start, sc.period.end, sc.supplier_id, sc.params
    )
    own, everyone = data["cases"].sum(), data["all_cases"].sum()
    frame = pd.DataFrame(
        {
            "The buyer came away with": [k.replace("_", " ") for k in data["kind"]],
            "This supplier": [f"{fmt.count(n)} ({fmt.pct(n / own)})" if own else fmt.count(n) for n in data["cases"]],
            "Every supplier": [f"{fmt.count(n)} ({fmt.pct(n / everyone)})" if everyone else fmt.count(n) for n in data["all_cases"]],
        }
    )  # fmt: skip
    return Table(
        frame=frame,
        caption=f"{caption}: every closed case of {period_text(sc.period)}, the supplier's and "
        "everyone's, with shares of the closed cases.",
        name="scorecard_outcomes",
        data=data,
    )


@user_errors_one_line
def scorecard_against_mix(sc: ScorecardContext) -> Table:
    """The supplier's observed supplier-sided decisions against its case mix's expectation."""
    caption = "Against its case mix"
    empty = _empty_without_supplier(sc, caption, "scorecard_against_mix")
    if empty:
        return empty
    mix, p = _mix(sc), sc.params
    if mix is None:
        frame = pd.DataFrame({"Against its case mix": ["no decided case in the range"]})
    else:
        judged = mix["decided"] >= p.min_n_named
        flag = mix["flag"] if isinstance(mix["flag"], str) else None
        frame = pd.DataFrame(
            [
                ("Decided cases", fmt.count(mix["decided"])),
                ("Supplier-sided (O)", fmt.count(mix["supplier_sided"])),
                ("Expected from the other suppliers' rates (E)",
                 fmt.DASH if fmt.missing(mix["expected"]) else f"{mix['expected']:.1f}"),
                (f"O/E ({fmt.level(p.confidence)} interval)",
                 f"{mix['oe_ratio']:.2f} ({mix['ci_low']:.2f}{fmt.DASH}{mix['ci_high']:.2f})"
                 if not fmt.missing(mix["oe_ratio"]) else fmt.DASH),
                (f"Beyond the {fmt.FLAG_LIMITS}",
                 {"high": "more than expected", "low": "fewer than expected"}.get(flag, "within")
                 if judged else f"not judged: fewer than {p.min_n_named} decided cases"),
                ("Could be flagged from O/E",
                 "not at this size" if fmt.missing(mix["detectable_oe"])
                 else f"{mix['detectable_oe']:.2f}"),
                (f"Shrunk O/E ({fmt.level(p.confidence)} interval)",
                 f"{mix['shrunk_oe']:.2f} ({mix['shrunk_ci_low']:.2f}{fmt.DASH}"
                 f"{mix['shrunk_ci_high']:.2f})" if not fmt.missing(mix["shrunk_oe"]) else fmt.DASH),
                (f"P(true O/E > {EXCESS_OE:g})",
                 fmt.DASH if fmt.missing(mix["prob_excess"]) else f"{mix['prob_excess']:.2f}"),
            ],
            columns=["Figure", "Value"],
        )  # fmt: skip
    return Table(
        frame=frame,
        caption=(
            f"The supplier's supplier-sided decisions of {period_text(sc.period)} (O) against the "
            "number its mix of categories and claim types predicts (E: the sum over its decided "
            "cases of the supplier-sided rate of the case's category and claim type over the "
            "OTHER suppliers). Interval and flag: from the exact distribution of O; judged only "
            f"from {p.min_n_named} decided cases, and called out only beyond the "
            f"{fmt.FLAG_LIMITS}. Shrunk O/E and the probability of a real excess: from a "
            "random-intercept model of all suppliers (docs/metrics.md, shrunk_oe)."
        ),
        name="scorecard_against_mix",
        record=mix,
    )


@user_errors_one_line
def scorecard_by(sc: ScorecardContext, by: str = "claim_type") -> Table:
    """The supplier's supplier-sided rate in each group of ``by`` beside every supplier's."""
    caption = f"By {title(by).lower()}"
    empty = _empty_without_supplier(sc, caption, f"scorecard_by_{by}")
    if empty:
        return empty
    p = sc.params
    data = scorecard.beside_everyone(
        sc.store, sc.period.start, sc.period.end, sc.supplier_id, by, p
    )
    data["label"] = [label(by, g) for g in data["group"]]
    data["trailing_supplier_sided_rate"] = data["all_supplier_sided_rate"]
    data["trailing_supplier_sided_ci_low"] = data["all_supplier_sided_ci_low"]
    data["trailing_supplier_sided_ci_high"] = data["all_supplier_sided_ci_high"]
    data["trailing_suppressed"] = data["all_suppressed"]
    data["trailing_few_cases"] = data["all_few_cases"]
    data.attrs.update(min_n=p.min_n, min_n_rate=p.min_n_rate, synthetic=sc.synthetic,
                      period_label="this supplier", second_label="every supplier")  # fmt: skip
    frame = pd.DataFrame(
        {
            title(by): data["label"],
            "Decided (supplier)": data["decided"].map(fmt.count),
            "Rate (supplier)": [_rate(r, "", p) for _, r in data.iterrows()],
            "Decided (all)": data["all_decided"].map(fmt.count),
            "Rate (all)": [_rate(r, "all_", p) for _, r in data.iterrows()],
        }
    )
    return Table(
        frame=frame,
        caption=(
            f"Supplier-sided rate by {title(by).lower()}, cases closed in {period_text(sc.period)}: "
            f"the supplier's beside every supplier's (refund < {p.threshold:g} x claim / decided). "
            f"A rate is given from {p.min_n_rate} decided cases ('{fmt.suppressed_text(p.min_n_rate)}' "
            f"below), marked '{fmt.FEW_CASES}' below {p.min_n}."
        ),
        name=f"scorecard_by_{by}",
        data=data,
    )


@user_errors_one_line
def scorecard_trend(sc: ScorecardContext) -> Table:
    """The supplier's cases month by month over the range."""
    caption = "Month by month"
    empty = _empty_without_supplier(sc, caption, "scorecard_trend")
    if empty:
        return empty
    p = sc.params
    months = max(1, (sc.period.end.year - sc.period.start.year) * 12
                 + sc.period.end.month - sc.period.start.month + 1)  # fmt: skip
    data = monthly_series(sc.store, sc.period.end, months, p, supplier_id=sc.supplier_id)
    frame = pd.DataFrame(
        {
            "Month": data["month"],
            "Opened": data["cases_opened"].map(fmt.count),
            "Closed": data["cases_closed"].map(fmt.count),
            "Decided": data["decided"].map(fmt.count),
            "Supplier-sided": data["supplier_sided"].map(fmt.count),
            "Lowball": data["lowball"].map(fmt.count),
        }
    )
    return Table(
        frame=frame,
        caption=f"The supplier's cases by month, {period_text(sc.period)}: opened by opening "
        "date, the rest by closing date. A month's handful of cases carries no rate: read the "
        "counts.",
        name="scorecard_trend",
        data=data,
    )


@user_errors_one_line
def scorecard_resolution(sc: ScorecardContext) -> Table:
    """Time to resolution of the supplier's cases beside everyone's (Kaplan-Meier medians)."""
    caption = "Time to resolution"
    empty = _empty_without_supplier(sc, caption, "scorecard_resolution")
    if empty:
        return empty
    p = sc.params
    own = time_to_resolution(sc.store, sc.period.start, sc.period.end, None, p,
                             supplier_id=sc.supplier_id)["overall"]  # fmt: skip
    everyone = time_to_resolution(sc.store, sc.period.start, sc.period.end, None, p)["overall"]

    def median(result) -> str:
        if result["n"] < p.min_n_rate:
            return f"no curve (fewer than {p.min_n_rate} cases opened)"
        if result["median"] is None:
            return "not reached"
        high = (
            "not reached"
            if result["median_ci_high"] is None
            else fmt.days(result["median_ci_high"])
        )
        return f"{fmt.days(result['median'])} ({fmt.days(result['median_ci_low'])}{fmt.DASH}{high})"

    frame = pd.DataFrame(
        [("This supplier", fmt.count(own["n"]), fmt.count(own["events"]), median(own)),
         ("Every supplier", fmt.count(everyone["n"]), fmt.count(everyone["events"]), median(everyone))],
        columns=["Cases", "Opened", "Resolved", f"Median days ({fmt.level(p.confidence)} interval)"],
    )  # fmt: skip
    return Table(
        frame=frame,
        caption=(
            f"Kaplan-Meier time to resolution of the cases opened in {period_text(sc.period)}, "
            "open cases followed to the data's as-of date (see the outcome report's methodology)."
        ),
        name="scorecard_resolution",
    )


@user_errors_one_line
def scorecard_cases(sc: ScorecardContext, kind: str = "lowball") -> Table:
    """The supplier's lowball decisions or refused high-value claims, largest first."""
    names = {"lowball": "Lowball decisions", "refused_high_value": "Refused high-value claims",
             "compliance": "Compliance cases"}  # fmt: skip
    empty = _empty_without_supplier(sc, names[kind], f"scorecard_{kind}")
    if empty:
        return empty
    data, total = notable.notable_cases(sc.store, sc.period.start, sc.period.end, kind, sc.params,
                                        supplier_id=sc.supplier_id)  # fmt: skip
    data = mask_frame(data, ["description"])
    frame = pd.DataFrame(
        {
            "Case": data["case_id"].map(lambda s: fmt.identifier(s, 40)),
            "Closed": data["closed_date"].map(fmt.date_text),
            "Claim type": [label("claim_type", c) for c in data["claim_type"]],
            "Claimed (USD)": data["claim_usd"].map(fmt.usd),
            "Refunded (USD)": data["refund_usd"].map(fmt.usd),
            "Description": data["description"].map(fmt.clean_text),
        }
    )
    return Table(
        frame=frame,
        caption=f"{names[kind]} of the supplier closed in {period_text(sc.period)}, largest claims "
        "first; e-mail addresses and phone numbers in the text are hidden.",
        name=f"scorecard_{kind}",
        data=data,
        note=f"{total} case(s).",
    )


__all__ = [
    "ScorecardContext", "open_scorecard", "scorecard_against_mix", "scorecard_banner",
    "scorecard_by", "scorecard_cases", "scorecard_findings", "scorecard_outcomes",
    "scorecard_resolution", "scorecard_trend",
]  # fmt: skip
