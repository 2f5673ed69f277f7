"""One case laid out for escalation: its timeline against Trade Assurance's rules, its money, its
evidence, and how comparable cases ended.

The rules (``docs/metrics.md``, from the platform's own help pages, which have changed over time):

- **claim window**: a dispute is opened within CLAIM_WINDOW_DAYS days after the buyer confirms
  receipt (``received_date``);
- **negotiation**: buyer and supplier have NEGOTIATION_DAYS days alone; either may escalate to the
  platform from the day after (day 4);
- **automatic escalation**: a dispute still unresolved is escalated automatically by
  AUTO_ESCALATION_DAY (day 7 or 8 in two versions of the page: the later one is used);
- **inspection**: a quality or compliance dispute is decided on an inspection report by a
  designated company, paid up front by the buyer.

Each check is ``met``, ``missed``, ``not recorded`` (a date the export did not carry) or ``not
applicable``, with a sentence saying why. Days count from the opening day (day 1). A case without
an escalation date is "not escalated" only when its export recorded escalation dates
(``loads.field_coverage``, :mod:`analysis.metrics.coverage`); otherwise it is "not recorded".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from analysis import settings
from analysis.errors import BadParameter
from analysis.metrics import coverage, periods, stats
from analysis.metrics.case_flags import bind, compose, period_cases_sql
from analysis.metrics.names import with_supplier_names
from analysis.metrics.params import Params
from analysis.store import Source, connect

#: The claim types a decision rests on an inspection report for.
INSPECTED_CLAIMS = ("quality", "compliance")

_CASE = """
    WITH period_cases AS ({period_cases})
    SELECT c.* EXCLUDE (buyer_key), f.is_decided, f.is_supplier_sided, f.is_lowball, f.is_lapsed,
        f.is_final, f.is_monetary, f.buyer_outcome, f.has_inspection_report, f.days_to_close, f.refund_ratio
    FROM cases c JOIN period_cases f USING (case_id)
    WHERE c.case_id = $case_id
"""
_COMPARABLE = """
    WITH period_cases AS ({period_cases})
    SELECT case_id, supplier_id, is_decided, is_supplier_sided, buyer_outcome, evidence,
        days_to_close, refund_ratio
    FROM period_cases
    WHERE closed_in AND category = $case_category AND claim_type = $case_claim_type
      AND case_id <> $case_id
      -- the other suppliers' cases only: the supplier's own would measure the case against
      -- the supplier's record instead of what such claims get elsewhere
      AND supplier_id <> $case_supplier_id
"""


#: Issue 29: what comparable cases of other suppliers did after the platform decided for the
#: supplier, by route beyond it (routes taken only), and how much came back.
_ROUTES = """
    WITH period_cases AS ({period_cases})
    SELECT after_route AS route, count(*) AS taken, count_if(is_recovered_after) AS recovered,
        coalesce(fsum(after_refund_usd) FILTER (WHERE is_recovered_after), 0) AS recovered_usd,
        median(after_closed_date - closed_date) FILTER (WHERE is_recovered_after) AS median_days
    FROM period_cases
    WHERE closed_in AND is_platform_supplier_sided AND is_taken_further
      AND category = $case_category AND claim_type = $case_claim_type
      AND supplier_id <> $case_supplier
    GROUP BY ALL ORDER BY recovered DESC, taken DESC, route
"""
_REFUSED = """
    WITH period_cases AS ({period_cases})
    SELECT count(*) FROM period_cases
    WHERE closed_in AND is_platform_supplier_sided
      AND category = $case_category AND claim_type = $case_claim_type
      AND supplier_id <> $case_supplier
"""
#: The intake fields of issue 29 a case's own export may not have carried.
AFTER_FIELDS = ("platform_reason", "after_route")


@dataclass(frozen=True)
class Check:
    """One rule applied to the case."""

    rule: str
    status: str  # met | missed | not recorded | not applicable
    detail: str


def day_number(opened: date, day: date) -> int:
    """The day of the dispute ``day`` falls on: the opening day is day 1."""
    return (day - opened).days + 1


def checks(case: dict) -> list[Check]:
    """The case's timeline against the rules (see the module docstring), one :class:`Check`
    each, in the order they apply."""
    opened, received = case.get("opened_date"), case.get("received_date")
    escalated, closed = case.get("escalated_date"), case.get("closed_date")
    window = settings.CLAIM_WINDOW_DAYS
    out = []
    if received is None:
        out.append(Check("claim window", "not recorded",
                         "no receipt date recorded: the claim window cannot be checked"))  # fmt: skip
    else:
        late = (opened - received).days
        out.append(
            Check("claim window", "missed", f"opened {late} days after receipt ({received} to "
                  f"{opened}); disputes are opened within {window} days")
            if late > window
            else Check("claim window", "met", f"opened {late} days after receipt, within {window}")
        )  # fmt: skip
    negotiation, auto = settings.NEGOTIATION_DAYS, settings.AUTO_ESCALATION_DAY
    if escalated is None and case.get("escalated"):
        # a yes in the export's escalated column, without a date: no day is invented
        out.append(Check("negotiation", "not recorded",
                         "escalated to the platform on a day not recorded: the days of "
                         "negotiation before it cannot be counted"))  # fmt: skip
        out.append(Check("escalation", "not recorded",
                         "escalated to the platform (the export says so), on a day not "
                         "recorded: whether it came by the automatic escalation's day cannot "
                         "be checked"))  # fmt: skip
    elif escalated is None and "escalated_date" in (case.get("fields_not_recorded") or ()):
        # the export had no escalation dates: a blank says nothing about this case
        out.append(Check("escalation", "not recorded",
                         "the export this case came from recorded no escalation dates: whether "
                         "and when it was escalated is not known"))  # fmt: skip
    elif escalated is None:
        unresolved_past = closed is None or day_number(opened, closed) > auto
        decided_by = case.get("decided_by")
        if decided_by == "platform":
            out.append(Check("escalation", "not recorded",
                             "decided by the platform, but no escalation date is recorded"))  # fmt: skip
        elif unresolved_past and case.get("outcome") == "open":
            out.append(Check("escalation", "missed",
                             f"still open and not escalated after day {auto}, when unresolved "
                             "disputes are escalated automatically"))  # fmt: skip
        else:
            out.append(Check("escalation", "not applicable",
                             "not escalated: settled between buyer and supplier"
                             + ("" if closed is None else f" (closed on day {day_number(opened, closed)})")))  # fmt: skip
    else:
        day = day_number(opened, escalated)
        if day <= negotiation:
            out.append(Check("negotiation", "missed",
                             f"escalated on day {day}, before the {negotiation} days of "
                             "negotiation were over"))  # fmt: skip
        else:
            out.append(Check("negotiation", "met",
                             f"{negotiation} days of negotiation before escalation on day {day}"))  # fmt: skip
        if day > auto:
            out.append(Check("escalation", "missed",
                             f"escalated on day {day}, after day {auto}, when unresolved disputes "
                             "are escalated automatically"))  # fmt: skip
        else:
            out.append(Check("escalation", "met",
                             f"escalated on day {day}, by day {auto}"))  # fmt: skip
    kind = _claim_name(case.get("claim_type"))
    if case.get("claim_type") in INSPECTED_CLAIMS:
        inspected = bool(case.get("has_inspection_report")) or (
            case.get("inspection") not in (None, "none")
        )
        if inspected:
            company = case.get("inspection")
            fee = case.get("inspection_fee")
            out.append(Check("inspection", "met",
                             "an inspection report is in the evidence"
                             + (f" ({company})" if company not in (None, "none", "other") else "")
                             + (f"; fee {fee} {case.get('currency') or ''}".rstrip() if fee is not None else "")))  # fmt: skip
        elif case.get("inspection") is None and not case.get("evidence"):
            out.append(Check("inspection", "not recorded",
                             "neither an inspection nor the evidence is recorded; a "
                             f"{kind} dispute is decided on an inspection report"))  # fmt: skip
        else:
            out.append(Check("inspection", "missed",
                             f"no inspection report: a {kind} dispute is decided "
                             "on one, by a designated company, paid up front by the buyer"))  # fmt: skip
    else:
        out.append(Check("inspection", "not applicable",
                         f"a {kind} claim does not rest on an inspection report"))  # fmt: skip
    return out


def _claim_name(slug: str | None) -> str:
    """'late_shipment' -> 'late shipment' (the vocabulary's display name, in a sentence)."""
    from analysis import vocab

    name = vocab.vocabulary().display_name("claim_type", slug) if slug else None
    return (name or str(slug or "")).replace("_", " ").lower()


def money(case: dict, params: Params | None = None) -> dict:
    """The case's amounts: claimed, covered (the claim, never more than the order's value: what
    was paid), refunded, refund / claim, and whether the refund is a lowball or supplier-sided."""
    params = params or Params()
    claim, order, refund = (
        case.get("claim_amount"),
        case.get("order_value"),
        case.get("refund_amount"),
    )
    covered = None if claim is None else (claim if order is None else min(claim, order))
    ratio = None if claim in (None, 0) or refund is None else float(refund) / float(claim)
    return {
        "outcome": case.get("outcome"),
        # a decision about money (a refund or none); a replacement, a withdrawal or an open case
        # is not, and its refund / claim says nothing about it
        "monetary": bool(case.get("is_monetary")),
        "final": bool(case.get("is_final")),
        "currency": case.get("currency"),
        "claimed": claim,
        "order_value": order,
        "covered": covered,
        "refunded": refund,
        "refund_ratio": ratio,
        "claim_usd": case.get("claim_usd"),
        "refund_usd": case.get("refund_usd"),
        "lowball": bool(case.get("is_lowball")),
        "supplier_sided": bool(case.get("is_supplier_sided")),
        "threshold": params.threshold,
        "lowball_threshold": params.lowball,
    }


def case_record(db: Source, case_id: str, params: Params | None = None) -> dict:
    """The stored case ``case_id`` with its per-case flags (the buyer key left out), or
    BadParameter naming the case."""
    params = params or Params()
    query = compose(_CASE, period_cases=period_cases_sql())
    with connect(db) as con:
        # every case is in the window [first opened, today]
        first = con.execute("SELECT min(opened_date), max(opened_date) FROM cases").fetchone()
        if first[0] is None:
            raise BadParameter(f"case {case_id!r}: the store holds no cases")
        frame = con.execute(
            query, bind(first[0], max(first[1], date.today()), params, None) | {"case_id": case_id}
        ).df()
        frame = with_supplier_names(con, frame, as_received=True)
    if frame.empty:
        raise BadParameter(f"case {case_id!r}: no such case in the store")
    row = frame.iloc[0].to_dict()
    record = {k: (None if _missing(v) else _plain(v)) for k, v in row.items()}
    # what the case's own export did not record: a blank there is "not recorded", not "none"
    record["fields_not_recorded"] = coverage.load_not_recorded(db, record.get("load_id"))
    # (issue 29: the platform's reason and the route after it, from the same load)
    record["after_not_recorded"] = coverage.load_not_recorded(
        db, record.get("load_id"), AFTER_FIELDS
    )
    return record


def case_subject(db: Source, case_id: str) -> dict:
    """What a dossier is titled by: ``{"case_id", "supplier_id", "supplier_name",
    "claim_type"}`` of the stored case (the supplier's one name), or BadParameter."""
    with connect(db) as con:
        frame = con.execute(
            "SELECT case_id, supplier_id, supplier_name, claim_type FROM cases WHERE case_id = ?",
            [case_id],
        ).df()
        frame = with_supplier_names(con, frame, as_received=True)
    if frame.empty:
        raise BadParameter(f"case {case_id!r}: no such case in the store")
    row = frame.iloc[0]
    return {k: (None if _missing(row[k]) else str(row[k]))
            for k in ("case_id", "supplier_id", "supplier_name", "claim_type")}  # fmt: skip


def comparable_routes(db: Source, case: dict, params: Params | None = None) -> dict | None:
    """Beyond the platform in comparable cases: of the platform's decisions for the supplier
    among the other suppliers' cases of the case's category and claim type closed in the
    comparable window (:func:`comparable`), ``{"refused": n, "routes": frame}`` with one row per
    route taken (taken, recovered, recovered_usd, median_days); None when no export behind the
    window recorded after_route (not recorded)."""
    params = params or Params()
    anchor = case.get("closed_date") or case.get("opened_date")
    span = periods.trailing_months(anchor, settings.TRAILING_MONTHS)
    if coverage.not_recorded(db, span.start, anchor, params, None, fields=("after_route",)):
        return None
    bound = bind(span.start, anchor, params, None) | {
        "case_category": case["category"], "case_claim_type": case["claim_type"],
        "case_supplier": case["supplier_id"],
    }  # fmt: skip
    with connect(db) as con:
        routes = con.execute(compose(_ROUTES, period_cases=period_cases_sql()), bound).df()
        (refused,) = con.execute(
            compose(_REFUSED, period_cases=period_cases_sql()), bound
        ).fetchone()
    return {"refused": int(refused), "routes": routes}


def case_supplier(db: Source, case_id: str) -> dict:
    """``{"supplier_id", "supplier_name"}`` of the stored case ``case_id``, or BadParameter
    naming the case (one indexed look-up: the check a report runs before its kernel starts)."""
    with connect(db) as con:
        row = con.execute(
            "SELECT supplier_id, supplier_name FROM cases WHERE case_id = ?", [case_id]
        ).fetchone()
    if row is None:
        raise BadParameter(f"case {case_id!r}: no such case in the store")
    return {"supplier_id": row[0], "supplier_name": row[1]}


def case_headline(case: dict, params: Params | None = None) -> dict:
    """A case's figures for the reports' catalogue: its outcome and its money (see
    :func:`money`), amounts as plain numbers."""
    m = money(case, params)
    return {
        "outcome": m["outcome"],
        "monetary": m["monetary"],
        "final": m["final"],
        "currency": m["currency"],
        "claimed": None if m["claimed"] is None else float(m["claimed"]),
        "refunded": None if m["refunded"] is None else float(m["refunded"]),
        "refund_ratio": m["refund_ratio"],
    }


def comparable(db: Source, case: dict, params: Params | None = None) -> pd.DataFrame:
    """The other suppliers' cases of the same category and claim type closed in the trailing 12
    months to the case's closing date (or opening date, for an open case); the case's own
    supplier's cases are left out."""
    params = params or Params()
    anchor = case.get("closed_date") or case.get("opened_date")
    span = periods.trailing_months(anchor, settings.TRAILING_MONTHS)
    query = compose(_COMPARABLE, period_cases=period_cases_sql())
    with connect(db) as con:
        frame = con.execute(
            query,
            bind(span.start, anchor, params, None)
            | {"case_category": case["category"], "case_claim_type": case["claim_type"],
               "case_id": case["case_id"], "case_supplier_id": case["supplier_id"]},
        ).df()  # fmt: skip
    frame.attrs.update(start=span.start.isoformat(), end=anchor.isoformat())
    return frame


def comparable_outcomes(frame: pd.DataFrame, confidence: float = settings.CONFIDENCE) -> dict:
    """How the comparable cases ended: buyer outcomes, and the supplier-sided rate of the decided
    ones with its Wilson interval."""
    decided = frame[frame["is_decided"].astype(bool)] if len(frame) else frame
    k, n = int(decided["is_supplier_sided"].sum()) if len(decided) else 0, len(decided)
    low, high = stats.wilson(k, n, confidence)
    return {
        "closed": len(frame),
        "decided": n,
        "supplier_sided": k,
        "rate": k / n if n else None,
        "ci_low": low,
        "ci_high": high,
        "buyer_outcomes": frame["buyer_outcome"].value_counts().to_dict() if len(frame) else {},
    }


def evidence_comparison(
    frame: pd.DataFrame, confidence: float = settings.CONFIDENCE
) -> pd.DataFrame:
    """For each evidence kind among the comparable decided cases: the supplier-sided rate of the
    cases with it and of those without it, each with its Wilson interval."""
    decided = frame[frame["is_decided"].astype(bool)] if len(frame) else frame
    lists = decided["evidence"].map(_kinds) if len(decided) else pd.Series(dtype=object)
    kinds = sorted({kind for items in lists for kind in items})
    rows = []
    for kind in kinds:
        has = lists.map(lambda items, kind=kind: kind in items)
        for label, part in (("with", decided[has]), ("without", decided[~has])):
            k, n = int(part["is_supplier_sided"].sum()), len(part)
            low, high = stats.wilson(k, n, confidence)
            rows.append({"evidence": kind, "group": label, "decided": n, "supplier_sided": k,
                         "rate": k / n if n else None, "ci_low": low, "ci_high": high})  # fmt: skip
    return pd.DataFrame(rows, columns=["evidence", "group", "decided", "supplier_sided", "rate",
                                       "ci_low", "ci_high"])  # fmt: skip


def _kinds(value) -> list[str]:
    """An evidence list as DuckDB hands it over (a list, an array, or None)."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return []
    return [str(v) for v in value]


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list (evidence): not missing
        return False


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, list | tuple | str):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return value
    return value
