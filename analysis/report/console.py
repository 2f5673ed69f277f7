"""The command line's view of the metrics: ``ta-outcomes metrics --format table``."""

from __future__ import annotations

import pandas as pd

from analysis.report import fmt


def _rate_with_ci(block: dict, min_n: int) -> str:
    return fmt.rate_ci(
        block["supplier_sided_rate"],
        block["supplier_sided_ci_low"],
        block["supplier_sided_ci_high"],
        block["suppressed"],
        min_n,
    )


def _table_rows(blocks: dict[str, dict], min_n: int) -> pd.DataFrame:
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
                "sup.sided rate (CI)": _rate_with_ci(b, min_n),
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
        f"{_rate_with_ci(overall, p['min_n'])}",
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
            _table_rows(blocks, p["min_n"]).to_string(index=False) if blocks else "  (no cases)"
        )
    lines += [
        "",
        f"{fmt.suppressed_text(p['min_n'])}: fewer than {p['min_n']} decided cases; counts and "
        f"sums shown, rates, ratios, intervals and medians withheld. '{fmt.DASH}': nothing to "
        "divide by.",
    ]
    return "\n".join(lines)
