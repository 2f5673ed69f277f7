"""The simulation: seeded synthetic disputes with their final state, and a tracker's snapshot of
them on a given day. Every random draw comes from one seeded numpy Generator per stage."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from analysis.demo.taxonomy import (
    _CLAIM_MIX_DEFAULT,
    _DESCRIPTIONS,
    AFTER_DAYS,
    AFTER_OUTCOMES,
    AFTER_ROUTES,
    CATEGORIES,
    CATEGORY_FORM_SHARE,
    CATEGORY_SLUGS,
    CLAIM_EFFECT,
    CLAIM_MIX,
    CLAIM_TYPES,
    COUNTRY_SHARE,
    CURRENCY_SHARE,
    EVIDENCE_EFFECT,
    EVIDENCE_ITEMS,
    FORMULA_DESCRIPTION,
    HOSTILE_DESCRIPTION,
    HOSTILE_SUPPLIER_NAME,
    MONTHS_OF_HISTORY,
    PLATFORM_REASONS,
    PUBLIC_REASONS,
    PUBLIC_SOURCE,
    QUALITY_ISSUES,
    REASON_MIX,
    UNMAPPED_CATEGORIES,
    USD_PER_UNIT,
)


@dataclass(frozen=True)
class Snapshot:
    """One export file: the state of the tracker at ``as_of``.

    A full snapshot holds every case opened by ``as_of``; a change export (``since`` set) only the
    cases opened, escalated or closed after ``since``.
    """

    name: str
    as_of: date
    since: date | None
    fmt: str  # csv | xlsx | json


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def snapshot_plan(today: date) -> list[Snapshot]:
    """The export files written for ``today``, oldest first (the order they must be loaded in)."""
    c1 = _month_end(*_add_months(today, -7))
    c2 = c1 + timedelta(days=14)
    c3 = _month_end(*_add_months(today, -3))
    return [
        Snapshot(f"cases_snapshot_{c1.isoformat()}.csv", c1, None, "csv"),
        Snapshot(f"cases_changes_{c2.isoformat()}.xlsx", c2, c1, "xlsx"),
        Snapshot(f"cases_changes_{c3.isoformat()}.json", c3, c2, "json"),
        Snapshot(f"cases_snapshot_{today.isoformat()}.csv", today, None, "csv"),
    ]


# --- simulation --------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, options: list, shares, size: int) -> np.ndarray:
    shares = np.asarray(shares, dtype=float)
    return np.asarray(options, dtype=object)[
        rng.choice(len(options), size=size, p=shares / shares.sum())
    ]


def _rowwise_choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row from that row's probabilities (vectorised inverse-CDF)."""
    cum = probs.cumsum(axis=1)
    cum /= cum[:, -1:]
    return (rng.random(len(probs))[:, None] > cum).sum(axis=1).clip(0, probs.shape[1] - 1)


def _choose(index: np.ndarray, options: list) -> np.ndarray:
    """Row i gets ``options[index[i]][i]`` (each option an array of length n, or a scalar)."""
    n = len(index)
    stacked = np.empty((len(options), n), dtype=object)
    for k, option in enumerate(options):
        stacked[k] = option
    return stacked[index, np.arange(n)]


def _days(values) -> np.ndarray:
    return np.asarray(np.round(values), dtype="int64").astype("timedelta64[D]")


def _simulate(rng: np.random.Generator, n: int, today: date) -> pd.DataFrame:
    """Simulate ``n`` synthetic cases with their final state (some close after ``today``)."""
    # Suppliers: a long tail (weight ~ 1/(rank+5)), each with a home country, a main category
    # and, for a few, the habit of lowballing or refusing.
    n_sup = max(12, n // 6)
    sup_number = rng.permutation(n_sup) + 1
    sup_weight = 1.0 / (np.arange(n_sup) + 5.0)
    sup_country = _pick(rng, list(COUNTRY_SHARE), list(COUNTRY_SHARE.values()), n_sup)
    cat_share = [v[0] for v in CATEGORIES.values()]
    sup_category = rng.choice(
        len(CATEGORY_SLUGS), size=n_sup, p=np.array(cat_share) / sum(cat_share)
    )
    sup_bad = rng.random(n_sup) < 0.05
    sup_bad[[1, 4]] = True  # two of the busiest suppliers are "bad" ones, so they show up
    suffixes = np.array(
        ["Co.", "Co., Ltd.", "Trading Co.", "Industrial Co., Ltd.", "Manufacturing Ltd."]
    )
    sup_name = np.array(
        [f"Synthetic Supplier {k:04d} {suffixes[k % len(suffixes)]}" for k in sup_number],
        dtype=object,
    )
    sup_name[6] = HOSTILE_SUPPLIER_NAME  # a busy supplier, so the name reaches the reports
    sup_id = np.array([f"SUP-SYN-{k:04d}" for k in sup_number], dtype=object)
    sup = rng.choice(n_sup, size=n, p=sup_weight / sup_weight.sum())

    # Buyers: some come back; each pays in one currency; refs are ids or e-mail-like.
    n_buy = max(10, n // 3)
    buy_weight = 1.0 / (np.arange(n_buy) + 20.0)
    buy_currency = _pick(rng, list(CURRENCY_SHARE), list(CURRENCY_SHARE.values()), n_buy)
    buy_number = rng.permutation(n_buy) + 1
    buy_email = rng.random(n_buy) < 0.3
    buy_ref = np.where(
        buy_email,
        np.array([f"buyer.{k:05d}@example.com" for k in buy_number], dtype=object),
        np.array([f"BUYER-{k:05d}" for k in buy_number], dtype=object),
    )
    buyer = rng.choice(n_buy, size=n, p=buy_weight / buy_weight.sum())
    currency = np.where(rng.random(n) < 0.85, buy_currency[buyer], "USD").astype(object)

    # Category: mostly the supplier's own; a few raw texts that map to nothing.
    cat_idx = np.where(
        rng.random(n) < 0.85,
        sup_category[sup],
        rng.choice(len(CATEGORY_SLUGS), size=n, p=np.array(cat_share) / sum(cat_share)),
    )
    category = np.array(CATEGORY_SLUGS, dtype=object)[cat_idx]
    category_raw = np.full(n, "", dtype=object)
    n_unmapped = max(3, round(0.005 * n))
    unmapped_rows = rng.choice(n, size=n_unmapped, replace=False)
    category[unmapped_rows] = "other"
    cat_idx[unmapped_rows] = CATEGORY_SLUGS.index("other")
    category_raw[unmapped_rows] = np.array(UNMAPPED_CATEGORIES, dtype=object)[
        np.arange(n_unmapped) % len(UNMAPPED_CATEGORIES)
    ]

    claim_probs = np.array([CLAIM_MIX.get(s, _CLAIM_MIX_DEFAULT) for s in CATEGORY_SLUGS])[cat_idx]
    claim_idx = _rowwise_choice(rng, claim_probs)
    claim_type = np.array(CLAIM_TYPES, dtype=object)[claim_idx]
    is_quality = claim_type == "quality"
    issue_probs = np.where(
        (category == "apparel_textiles")[:, None],
        [[0.45, 0.25, 0.2, 0.1]],
        [[0.1, 0.25, 0.4, 0.25]],
    )
    issue = np.where(
        is_quality, np.array(QUALITY_ISSUES, dtype=object)[_rowwise_choice(rng, issue_probs)], ""
    )
    pre_shipment = np.isin(claim_type, ["late_shipment", "non_delivery"])
    coverage = np.where(pre_shipment, "pre_shipment", "post_delivery").astype(object)

    # Money. Order values are log-normal around the category's median, in USD, then in the
    # buyer's currency. The claim is a share of what was paid (pre-shipment: often the deposit).
    median_usd = np.array([v[1] for v in CATEGORIES.values()])[cat_idx]
    order_usd = np.clip(rng.lognormal(np.log(median_usd), 0.85), 60, 2_000_000)
    unit = np.array([USD_PER_UNIT[c] for c in currency])
    decimals = np.where(currency == "JPY", 0, 2)
    scale = 10.0**decimals
    order_value = np.round(order_usd / unit * scale) / scale
    frac = np.select(
        [
            pre_shipment,
            claim_type == "quantity",
            claim_type == "damaged",
            claim_type == "compliance",
        ],
        [
            rng.choice([0.3, 0.5, 1.0], size=n, p=[0.35, 0.15, 0.5]),
            rng.beta(1.3, 6, n),
            rng.beta(1.6, 4, n),
            np.where(rng.random(n) < 0.55, 1.0, rng.beta(3, 2, n)),
        ],
        rng.beta(2.2, 2.5, n),
    ).clip(0.03, 1.0)
    claim_amount = np.minimum(
        np.maximum(np.floor(order_value * frac * scale) / scale, 1 / scale), order_value
    )

    # Evidence and inspection. Inspections are for quality/compliance/damage after delivery and
    # more likely on larger orders; the buyer pays the fee up front.
    ev_p = np.tile([0.78, 0.22, 0.0, 0.06, 0.30, 0.62], (n, 1))
    ev_p[pre_shipment, 0] = 0.25
    ev_p[claim_type == "compliance", 3] = 0.35
    evidence_bits = rng.random((n, len(EVIDENCE_ITEMS))) < ev_p
    can_inspect = np.isin(claim_type, ["quality", "compliance", "damaged"])
    p_inspect = can_inspect * (0.12 + 0.18 * (order_usd > 5000) + 0.10 * (order_usd > 20000))
    inspected = rng.random(n) < p_inspect
    inspection = np.where(
        inspected, _pick(rng, ["SGS", "TUV", "BV"], [0.45, 0.25, 0.30], n), "none"
    )
    inspection = inspection.astype(object)
    fee_usd = rng.integers(18, 53, size=n) * 10.0
    inspection_fee = np.where(inspected, np.round(fee_usd / unit * scale) / scale, np.nan)
    evidence_bits[:, 2] = (inspected & (rng.random(n) < 0.95)) | (rng.random(n) < 0.02)
    thin = evidence_bits.sum(axis=1) <= 1

    # Process dates (Trade Assurance): opened within 30 days of confirmed receipt (a few too late:
    # out of coverage); pre-shipment claims are opened after the promised shipping date.
    first_month = _add_months(today, -(MONTHS_OF_HISTORY - 1))
    month_starts, month_days = [], []
    for k in range(MONTHS_OF_HISTORY):
        y, m = _add_months(date(*first_month, 1), k)
        month_starts.append(np.datetime64(date(y, m, 1), "D"))
        month_days.append(today.day if k == MONTHS_OF_HISTORY - 1 else calendar.monthrange(y, m)[1])
    month_days = np.array(month_days)
    # Volume grows ~2.5% a month, with a bump after the Q4 shipping season.
    season = np.array([1.12 if _add_months(date(*first_month, 1), k)[1] in (1, 2) else 1.0
                       for k in range(MONTHS_OF_HISTORY)])  # fmt: skip
    month_weight = (1 + 0.025 * np.arange(MONTHS_OF_HISTORY)) * season * month_days
    month = rng.choice(MONTHS_OF_HISTORY, size=n, p=month_weight / month_weight.sum())
    opened = np.array(month_starts)[month] + _days(np.floor(rng.random(n) * month_days[month]))

    late_claim = ~pre_shipment & (rng.random(n) < 0.035)
    receipt_gap = np.where(
        late_claim, 31 + rng.integers(0, 60, n), np.floor(30 * rng.beta(1.2, 2.5, n))
    )
    received = np.where(pre_shipment, np.datetime64("NaT"), opened - _days(receipt_gap))
    order_date = np.where(
        pre_shipment,
        opened - _days(rng.integers(25, 91, n)),
        received - _days(rng.integers(20, 71, n)),
    )

    # Outcomes. Lapses first (withdrawn; cancelled for missing evidence, likelier when evidence is
    # thin; out of coverage when opened too late); then replacements; then an ordered-logit
    # decision on a latent "buyer's case" score.
    u = rng.random(n)
    p_withdrawn, p_cancelled = 0.045, 0.03 + 0.09 * thin
    outcome = np.full(n, "", dtype=object)
    outcome[u < p_withdrawn] = "withdrawn"
    outcome[(u >= p_withdrawn) & (u < p_withdrawn + p_cancelled)] = "cancelled"
    outcome[late_claim] = "out_of_coverage"
    undecided = outcome == ""
    replaceable = np.isin(claim_type, ["quality", "damaged", "quantity"])
    outcome[undecided & replaceable & (rng.random(n) < 0.07)] = "replacement"
    deciding = outcome == ""

    category_effect = np.array([v[2] for v in CATEGORIES.values()])[cat_idx]
    claim_effect = np.array([CLAIM_EFFECT[c] for c in claim_type])
    colour = issue == "colour"
    colour_effect = np.where(
        colour & (category == "apparel_textiles"), -1.6, np.where(colour, -0.6, 0.0)
    )
    evidence_effect = evidence_bits @ EVIDENCE_EFFECT + 0.4 * evidence_bits[:, 3] * (
        claim_type == "compliance"
    )
    latent = (
        0.35
        + category_effect
        + claim_effect
        + colour_effect
        + evidence_effect
        - 0.9 * thin
        - 0.8 * sup_bad[sup]
        - 0.15 * np.log10(order_usd / 5000)
        + rng.logistic(0, 0.9, n)
    )
    decision = np.where(
        latent > 1.4, "full_refund", np.where(latent > 0.1, "partial_refund", "no_refund")
    )
    outcome[deciding] = decision[deciding]

    # Refunds: never above the claim. Partial refunds are a share of the claim; "lowball" offers
    # (a few percent) come mostly from the bad suppliers.
    lowball = rng.random(n) < np.where(sup_bad[sup], 0.5, 0.06)
    partial_share = np.where(
        lowball, rng.uniform(0.008, 0.05, n), 0.08 + 0.84 * rng.beta(2.2, 2.8, n)
    )
    refund = np.select(
        [
            outcome == "full_refund",
            outcome == "partial_refund",
            np.isin(outcome, ["no_refund", "replacement"]),
        ],
        [
            claim_amount,
            np.maximum(np.round(claim_amount * partial_share * scale) / scale, 1 / scale),
            0.0,
        ],
        np.nan,
    )
    refund = np.minimum(refund, claim_amount)

    # Who decided, and when. Negotiation alone for 3 days; escalation from day 4, automatic
    # after day 7; the platform (or an outside body) decides some days or weeks later.
    r = rng.random(n)
    decided_by = np.select(
        [
            outcome == "replacement",
            outcome == "full_refund",
            outcome == "partial_refund",
            outcome == "no_refund",
            np.isin(outcome, ["cancelled", "out_of_coverage"]),
        ],
        [
            np.where(r < 0.8, "agreement", "platform"),
            np.where(r < 0.45, "agreement", np.where(r < 0.97, "platform", "external")),
            np.where(r < 0.5, "agreement", np.where(r < 0.97, "platform", "external")),
            np.where(r < 0.1, "agreement", np.where(r < 0.95, "platform", "external")),
            "platform",
        ],
        "",
    ).astype(object)
    settled_early = (decided_by == "agreement") & (rng.random(n) < 0.55)
    escalates = ((decided_by == "agreement") & ~settled_early) | np.isin(
        decided_by, ["platform", "external"]
    ) & (outcome != "out_of_coverage")
    escalation_day = rng.choice([3, 4, 5, 6, 7], size=n, p=[0.3, 0.15, 0.1, 0.1, 0.35])
    escalated = np.where(escalates, opened + _days(escalation_day), np.datetime64("NaT"))
    stuck = rng.random(n) < 0.04
    wait = np.select(
        [
            settled_early,
            decided_by == "agreement",
            outcome == "cancelled",
            outcome == "out_of_coverage",
            outcome == "withdrawn",
            decided_by == "external",
        ],
        [
            rng.integers(1, 4, n),
            escalation_day + 2 + rng.gamma(2, 5, n),
            escalation_day + rng.integers(5, 13, n),
            rng.integers(1, 6, n),
            rng.integers(1, 26, n),
            escalation_day + 30 + rng.gamma(2, 30, n),
        ],
        escalation_day
        + 4
        + rng.gamma(2.2, 9, n)
        + 10 * inspected
        + stuck * rng.integers(60, 240, n),
    )
    closed = opened + _days(wait)

    description = _describe(rng, claim_type, issue, n)
    description[n // 3] = HOSTILE_DESCRIPTION  # two different rows for any n >= 3
    description[2 * n // 3] = FORMULA_DESCRIPTION
    # How the tracker spells this case's category and inspection. Drawn once per case: the store
    # keeps the raw category text, so a case must read the same in every snapshot to be "unchanged".
    category_form = _weighted(rng, CATEGORY_FORM_SHARE, n)
    inspection_form = rng.random(n)

    frame = pd.DataFrame(
        {
            "supplier_id": sup_id[sup],
            "supplier_name": sup_name[sup],
            "supplier_country": sup_country[sup],
            "bad_supplier": sup_bad[sup],
            "buyer_ref": buy_ref[buyer],
            "category": category,
            "category_raw": category_raw,
            "claim_type": claim_type,
            "quality_issue": issue,
            "currency": currency,
            "order_value": order_value,
            "claim_amount": claim_amount,
            "refund_amount": refund,
            "inspection": inspection,
            "inspection_fee": inspection_fee,
            "evidence_mask": evidence_bits @ (1 << np.arange(len(EVIDENCE_ITEMS))),
            "coverage": coverage,
            "order_date": order_date.astype("datetime64[s]"),
            "received_date": received.astype("datetime64[s]"),
            "opened_date": opened.astype("datetime64[s]"),
            "escalated_date": escalated.astype("datetime64[s]"),
            "closed_date": closed.astype("datetime64[s]"),
            "outcome": outcome,
            "decided_by": decided_by,
            "description": description,
            "category_form": category_form,
            "inspection_form": inspection_form,
        }
    )
    # Case ids follow the opening date, as a tracker's would.
    frame = frame.sort_values("opened_date", kind="stable").reset_index(drop=True)
    width = max(6, len(str(n)))
    frame.insert(0, "case_id", [f"TA-SYN-{k:0{width}d}" for k in range(1, n + 1)])
    frame.insert(1, "order_id", [f"ORD-SYN-{k:0{width}d}" for k in rng.permutation(n) + 1])
    return frame


def _describe(
    rng: np.random.Generator, claim_type: np.ndarray, issue: np.ndarray, n: int
) -> np.ndarray:
    """Free-text descriptions, labelled synthetic; a few carry a fake e-mail or phone number."""
    text = np.empty(n, dtype=object)
    pick = rng.integers(0, 1000, n)
    for (kind, sub), templates in _DESCRIPTIONS.items():
        rows = (claim_type == kind) & (issue == sub)
        text[rows] = np.array(templates, dtype=object)[pick[rows] % len(templates)]
    text = "[synthetic] Buyer reports: " + text + "."
    contact = rng.random(n)
    number = rng.integers(0, 100, n)
    emails = np.array([f" Contact me at lin.{k:04d}@example.com" for k in range(100)], dtype=object)
    phones = np.array([f" Call +44 20 7946 01{k:02d}" for k in range(100)], dtype=object)
    quoted = ' Supplier replied: "all goods checked, no problem, please confirm receipt".'
    extra = np.select(
        [contact < 0.02, contact < 0.04, contact < 0.10],
        [emails[number], phones[number], quoted],
        "",
    )
    return text + extra


def _public_cases(sim: pd.DataFrame, today: date) -> pd.DataFrame:
    """The three cases from the public record, by name, in USD, closed long before the end."""
    start = date(*_add_months(today, -(MONTHS_OF_HISTORY - 1)), 1)

    def day(months: int, days: int) -> np.datetime64:
        return np.datetime64(date(*_add_months(start, months), 1) + timedelta(days=days), "s")

    # Invented suppliers from the simulation (so each keeps one name and country), based in China.
    chinese = sim[
        (sim["supplier_country"] == "CN") & sim["supplier_name"].str.startswith("Synthetic")
    ]
    chinese = chinese.drop_duplicates("supplier_id")

    def supplier(k: int) -> dict:
        row = chinese.iloc[k]
        return {
            "supplier_id": row.supplier_id,
            "supplier_name": row.supplier_name,
            "supplier_country": row.supplier_country,
        }

    base = {
        "currency": "USD",
        "bad_supplier": False,
        "category_raw": "",
        "coverage": "post_delivery",
        "decided_by": "platform",
        "inspection": "none",
        "inspection_fee": np.nan,
        "category_form": 0,
        "inspection_form": 0.5,
    }
    bit = {name: 1 << i for i, name in enumerate(EVIDENCE_ITEMS)}
    rows = [
        {
            "case_id": "TA-PUBLIC-001", "order_id": "ORD-PUBLIC-001", "buyer_ref": "BUYER-PUBLIC-1",
            "category": "machinery", "claim_type": "compliance", "quality_issue": "",
            "order_value": 17000.0, "claim_amount": 17000.0, "refund_amount": 0.0,
            "outcome": "no_refund", "inspection": "SGS", "inspection_fee": 350.0,
            "evidence_mask": (
                bit["photos"] | bit["contract"] | bit["chat_log"] | bit["inspection_report"]
                | bit["lab_test"]
            ),
            "order_date": day(3, 2), "received_date": day(4, 20), "opened_date": day(5, 6),
            "escalated_date": day(5, 13), "closed_date": day(6, 18),
            "description": (
                f"[synthetic] Public-record case ({PUBLIC_SOURCE}): $17,000 of machinery failed EU "
                "safety standards and came with falsified CE certificates (an SGS inspection "
                "report and a lab test say so); the platform declined a refund because the "
                'machine is "operational".'
            ),
            **supplier(0),
        },
        {
            "case_id": "TA-PUBLIC-002", "order_id": "ORD-PUBLIC-002", "buyer_ref": "BUYER-PUBLIC-2",
            "category": "apparel_textiles", "claim_type": "quality", "quality_issue": "colour",
            "order_value": 48000.0, "claim_amount": 48000.0, "refund_amount": 0.0,
            "outcome": "no_refund",
            "evidence_mask": bit["photos"] | bit["chat_log"] | bit["contract"],
            "order_date": day(7, 1), "received_date": day(8, 14), "opened_date": day(8, 20),
            "escalated_date": day(8, 27), "closed_date": day(9, 25),
            "description": (
                f"[synthetic] Public-record case ({PUBLIC_SOURCE}): a large clothing order arrived "
                "in clearly different colours; the complaint was dismissed as normal dye variation."
            ),
            **supplier(1),
        },
        {
            "case_id": "TA-PUBLIC-003", "order_id": "ORD-PUBLIC-003", "buyer_ref": "BUYER-PUBLIC-3",
            "category": "home_garden", "claim_type": "quality", "quality_issue": "defects",
            "order_value": 10000.0, "claim_amount": 10000.0, "refund_amount": 150.0,
            "outcome": "partial_refund",
            "evidence_mask": bit["photos"] | bit["video"] | bit["chat_log"],
            "order_date": day(11, 3), "received_date": day(12, 10), "opened_date": day(12, 17),
            "escalated_date": day(12, 24), "closed_date": day(13, 30),
            "description": (
                f"[synthetic] Public-record case ({PUBLIC_SOURCE}): a $150 refund was offered "
                "on a $10,000 order (1.5% of the claim)."
            ),
            **supplier(2),
        },
    ]  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows])[sim.columns]


def simulate_cases(n_cases: int, seed: int, today: date) -> pd.DataFrame:
    """The simulated cases in their final state (typed: floats, datetimes), public cases included.

    ``closed_date`` may lie after ``today``: such a case is still open in the exports.
    """
    streams = np.random.SeedSequence(seed).spawn(3)
    sim = _simulate(np.random.default_rng(streams[0]), n_cases - 3, today)
    cases = pd.concat([sim, _public_cases(sim, today)], ignore_index=True)
    # (a stream of its own, so that every draw before issue 29 is what it was)
    return _after_platform(np.random.default_rng(streams[2]), cases)


def _after_platform(rng: np.random.Generator, cases: pd.DataFrame) -> pd.DataFrame:
    """The platform's stated reason for its refusals and lapses, and what the buyer did after
    the platform refused (issue 29); the public-record cases keep the reasons they were given."""
    n = len(cases)
    claim = cases["claim_type"].to_numpy()
    outcome = cases["outcome"].to_numpy()
    platform = cases["decided_by"].to_numpy() == "platform"
    refused = platform & np.isin(outcome, ["no_refund", "partial_refund"])
    # the reason, drawn from the claim type's mix (a colour complaint: "normal variation")
    mix = np.array([REASON_MIX.get(c, REASON_MIX["other"]) for c in claim])
    colour = cases["quality_issue"].to_numpy() == "colour"
    mix[colour] = REASON_MIX["colour"]
    reason = np.array(PLATFORM_REASONS, dtype=object)[_rowwise_choice(rng, mix)]
    reason = np.where(outcome == "cancelled", "insufficient_evidence", reason)
    reason = np.where(outcome == "out_of_coverage", "outside_claim_window", reason)
    recorded = rng.random(n) < 0.85  # trackers leave the reason blank now and then
    has_reason = (refused | np.isin(outcome, ["cancelled", "out_of_coverage"])) & platform
    reason = np.where(has_reason & recorded, reason, "").astype(object)
    # after a refusal: a route (recorded in 80% of refusals), how it ended, how much came back
    route_idx = _rowwise_choice(rng, np.tile(list(AFTER_ROUTES.values()), (n, 1)))
    route = np.array(list(AFTER_ROUTES), dtype=object)[route_idx]
    route = np.where(refused & (rng.random(n) < 0.8), route, "").astype(object)
    odds = np.array([AFTER_OUTCOMES.get(r, (0, 0, 1)) for r in route])
    result = np.array(["recovered_full", "recovered_partial", "nothing"], dtype=object)[
        _rowwise_choice(rng, odds)
    ]
    further = (route != "") & (route != "none")
    result = np.where(further, result, "").astype(object)
    left = (cases["claim_amount"] - cases["refund_amount"].fillna(0)).to_numpy()
    scale = np.where(cases["currency"].to_numpy() == "JPY", 1.0, 100.0)
    share = np.select(
        [result == "recovered_full", result == "recovered_partial", result == "nothing"],
        [1.0, rng.uniform(0.2, 0.7, n), 0.0],
        np.nan,
    )
    amount = np.round(left * share * scale) / scale
    days = np.array([AFTER_DAYS.get(r, (30, 1))[0] for r in route]) + rng.gamma(
        2.0, np.array([AFTER_DAYS.get(r, (30, 1))[1] for r in route])
    )
    after_closed = np.where(
        further, cases["closed_date"].to_numpy() + _days(days), np.datetime64("NaT")
    )
    frame = cases.assign(
        platform_reason=reason,
        reason_form=rng.random(n),
        after_route=route,
        after_outcome=result,
        after_refund_amount=amount,
        after_closed_date=pd.to_datetime(after_closed).astype("datetime64[s]"),
    )
    for case_id, reason_slug in PUBLIC_REASONS.items():
        frame.loc[frame["case_id"] == case_id, ["platform_reason", "after_route", "after_outcome"]] = (
            reason_slug, "", "")  # fmt: skip
        frame.loc[frame["case_id"] == case_id, ["after_refund_amount", "after_closed_date"]] = (
            np.nan, pd.NaT)  # fmt: skip
    return frame


# --- snapshots -----------------------------------------------------------------------------------


def state_at(cases: pd.DataFrame, snapshot: Snapshot) -> pd.DataFrame:
    """The rows a tracker export at ``snapshot.as_of`` holds, each with its status on that day."""
    as_of = pd.Timestamp(snapshot.as_of)
    opened, closed, escalated = cases["opened_date"], cases["closed_date"], cases["escalated_date"]
    keep = opened <= as_of
    if snapshot.since is not None:
        since = pd.Timestamp(snapshot.since)
        keep &= (
            (opened > since)
            | ((closed > since) & (closed <= as_of))
            | ((escalated > since) & (escalated <= as_of))
        )
    frame = cases[keep].copy()
    still_open = frame["closed_date"] > as_of
    frame.loc[still_open, "outcome"] = "open"
    frame.loc[still_open, ["refund_amount"]] = np.nan
    frame.loc[still_open, "closed_date"] = pd.NaT
    frame.loc[still_open, "decided_by"] = ""
    frame.loc[frame["escalated_date"] > as_of, "escalated_date"] = pd.NaT
    # no reason before the decision; a route after it still under way is pending
    frame.loc[still_open, ["platform_reason", "after_route", "after_outcome"]] = ""
    frame.loc[still_open, "after_refund_amount"] = np.nan
    under_way = (frame["after_closed_date"] > as_of) & ~still_open
    frame.loc[under_way, "after_outcome"] = "pending"
    frame.loc[under_way | still_open, "after_refund_amount"] = np.nan
    frame.loc[under_way | still_open, "after_closed_date"] = pd.NaT
    return frame.reset_index(drop=True)


def _weighted(rng: np.random.Generator, shares, size: int) -> np.ndarray:
    shares = np.asarray(shares, dtype=float)
    return rng.choice(len(shares), size=size, p=shares / shares.sum())
