"""The command line's view of the metrics: ``ta-outcomes metrics --format table``."""

from __future__ import annotations

import pandas as pd

from analysis.metrics.suppliers import EXCESS_OE
from analysis.report import fmt


def _rate_with_ci(block: dict, min_n_rate: int, prefix: str = "supplier_sided") -> str:
    return fmt.rate_ci(
        block[f"{prefix}_rate"],
        block[f"{prefix}_ci_low"],
        block[f"{prefix}_ci_high"],
        block["suppressed"] if prefix == "supplier_sided" else block[f"{prefix}_rate"] is None,
        min_n_rate,
        bool(block.get("few_cases")),
    )


def _table_rows(blocks: dict[str, dict], min_n_rate: int) -> pd.DataFrame:
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
                "sup.sided rate (CI)": _rate_with_ci(b, min_n_rate),
                "claimed USD": fmt.usd(b["claimed_usd"]),
                "refunded USD": fmt.usd(b["refunded_usd"]),
                "refund ratio": fmt.pct(b["refund_ratio_pooled"]),
                "median ratio": fmt.pct(b["refund_ratio_median"]),
                "lowball": b["lowball"],
                "escalated": fmt.pct(b["escalation_rate"]),
                "median days": fmt.days(b["median_days_to_close"]),
            }
        )
    return pd.DataFrame(rows)


def format_table(result: dict) -> str:
    """A person's view of an :func:`analysis.metrics.outcome_metrics` result
    (``ta-outcomes metrics --format table``)."""
    p = result["params"]
    overall = result["overall"]
    rate_n = p["min_n_rate"]
    lines = [
        f"Trade Assurance dispute outcomes, {result['start']} to {result['end']}"
        + (f", category {result['category']}" if result.get("category") else ""),
        f"threshold {p['threshold']:g} x claim, lowball {p['lowball']:g} x claim, rates from "
        f"{rate_n} decided ('{fmt.FEW_CASES}' below {p['min_n']}), suppliers named from "
        f"{p['min_n_named']}, {100 * p['confidence']:g}% intervals; data as of "
        f"{result.get('as_of') or 'not recorded'}",
    ]
    if result.get("synthetic"):
        lines.append(
            f"SYNTHETIC DATA: {result['synthetic_cases']} case(s) in this window were generated "
            "by ta-outcomes demo"
        )
    buyers = result.get("buyer_outcomes") or {}
    lines += [
        "",
        "Overall",
        f"  cases opened {overall['cases_opened']}, closed {overall['cases_closed']}: "
        f"decided {overall['decided']} (replacement {overall['replacement']}, monetary "
        f"{overall['monetary_decisions']}), lapsed {overall['lapsed']} (withdrawn "
        f"{overall['withdrawn']}, cancelled {overall['cancelled']}, out of coverage "
        f"{overall['out_of_coverage']})",
        f"  supplier-sided {overall['supplier_sided']} of {overall['decided']} decided: "
        f"{_rate_with_ci(overall, rate_n)}",
        f"  buyer got nothing or a token, lapses counted: {overall['buyer_lost']} of "
        f"{overall['buyer_lost_base']}: {_rate_with_ci(overall, rate_n, 'buyer_lost')}",
        "  buyers came away with: "
        + ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in buyers.items()),
        f"  refunded {fmt.usd(overall['refunded_usd'])} of {fmt.usd(overall['claimed_usd'])} "
        f"claimed: pooled {fmt.pct(overall['refund_ratio_pooled'])}, "
        f"median case {fmt.pct(overall['refund_ratio_median'])}",
        f"  lowball {overall['lowball']}; escalated {fmt.pct(overall['escalation_rate'])} of closed; "
        f"median days to close {fmt.days(overall['median_days_to_close'])}",
    ]
    for title, key in (("By category", "by_category"), ("By claim type", "by_claim_type")):
        lines += ["", title]
        blocks = result[key]
        lines.append(
            _table_rows(blocks, rate_n).to_string(index=False) if blocks else "  (no cases)"
        )
    named = result.get("supplier_comparison") or []
    lines += [
        "",
        f"Suppliers with at least {p['min_n_named']} decided cases, against their case mix",
    ]
    lines += [
        f"  {row['supplier_id']}: O {row['supplier_sided']} of {row['decided']} decided, "
        f"E {_number(row['expected'], '.1f')}, O/E {_ratio(row, '')}"
        + (f", {row['flag']}" if row.get("flag") else "")
        + f"; shrunk {_ratio(row, 'shrunk_')}, P(true O/E > {EXCESS_OE:g}) "
        f"{_number(row['prob_excess'], '.2f')}"
        for row in named
    ] or ["  (none)"]
    effects = result.get("adjusted_effects")
    lines += ["", "Adjusted odds ratios of a supplier-sided outcome"]
    if isinstance(effects, dict):
        lines.append(f"  not fitted: {effects.get('not_fitted')}")
    else:
        lines += [
            f"  {row['term']}: {fmt.odds_ratio(row['odds_ratio'])} "
            f"({fmt.odds_ratio(row['ci_low'])}{fmt.DASH}{fmt.odds_ratio(row['ci_high'])}), "
            f"{fmt.p_value(row['p_value'])}"
            for row in effects or []
        ]
    lines += [
        "",
        f"{fmt.suppressed_text(rate_n)}: fewer than {rate_n} decided cases; counts and sums "
        f"shown, rates, ratios, intervals and medians withheld. '{fmt.FEW_CASES}': fewer than "
        f"{p['min_n']}. '{fmt.DASH}': nothing to divide by.",
    ]
    return "\n".join(lines)


def _number(value, spec: str) -> str:
    return fmt.DASH if fmt.missing(value) else format(value, spec)


def _ratio(row: dict, prefix: str) -> str:
    """An O/E of the contract with its interval (``prefix`` '' or 'shrunk_'); a dash for none."""
    value = row["oe_ratio" if not prefix else "shrunk_oe"]
    if fmt.missing(value):
        return fmt.DASH
    low, high = row[f"{prefix}ci_low"], row[f"{prefix}ci_high"]
    return f"{value:.2f} ({_number(low, '.2f')}{fmt.DASH}{_number(high, '.2f')})"
