"""Two sections of the outcome report (issue 29): "What the platform said" (the reasons it gave
for deciding for the supplier, and how often against the buyer's inspection report or lab test)
and "Beyond the platform" (what buyers did after, and what came back over both stages).

Counts where small: a share is given with its Wilson interval from ``min_n_rate`` cases behind
it, marked "few cases" below ``min_n``; below that only the count. A window whose exports did
not carry the field says "not recorded", never 0.
"""

from __future__ import annotations

import pandas as pd

from analysis.metrics import stats
from analysis.report import figures, fmt
from analysis.report.context import ReportContext, period_text
from analysis.report.display import Table, TableGroup, user_errors_one_line
from analysis.report.labels import label

_WINDOWS = (("period", "Period"), ("trailing", fmt.TRAILING))


def _share(k, n, ctx: ReportContext) -> str:
    """'k (rate, interval)' from min_n_rate cases; 'k of n' below."""
    k, n = int(k), int(n)
    p = ctx.params
    if n == 0:
        return fmt.count(k)
    if n < p.min_n_rate:
        return f"{fmt.count(k)} of {fmt.count(n)}"
    low, high = stats.wilson(k, n, p.confidence)
    return f"{fmt.count(k)}: " + fmt.rate_ci(k / n, low, high, False, p.min_n_rate, n < p.min_n)


def _not_recorded(name: str, caption: str, field: str) -> Table:
    frame = pd.DataFrame({"": [f"{field}: {fmt.NOT_RECORDED}"]})
    note = (
        f"No export behind these cases carried a {field} column: the figures are not recorded "
        "(not zero)."
    )
    # nothing to say in the period: one line (the section folds when all its tables are quiet)
    return Table(frame=frame, caption=caption, name=name, note=note, quiet=True)


def _windows_text(ctx: ReportContext) -> str:
    return (
        f"the cases closed in {period_text(ctx.period)} and in the trailing {fmt.TRAILING} "
        f"({ctx.trailing.start.isoformat()} to {ctx.trailing.end.isoformat()})"
    )


@user_errors_one_line
def platform_said(ctx: ReportContext) -> TableGroup:
    """The reasons the platform gave for the decisions it made for the supplier, in the period
    and the trailing 12 months; how often each was given although the buyer's evidence held an
    inspection report or a lab test; and the 12 months' reasons by claim type and category."""
    caption = (
        f"The platform's stated reasons for its decisions for the supplier, {_windows_text(ctx)}. "
        "Share of reasons: of the decisions with a reason recorded; against an inspection report "
        "or a lab test: of the decisions giving that reason."
    )
    frames = {which: figures.platform_reasons(ctx, which) for which, _ in _WINDOWS}
    if frames["trailing"] is None:
        return TableGroup([_not_recorded("platform_reasons", caption, "platform_reason")],
                          name="platform_said")  # fmt: skip
    overall = {
        which: (f[f["grouping_id"] == 3].set_index("reason") if f is not None else None)
        for which, f in frames.items()
    }
    reasons = list(overall["trailing"].sort_values("cases", ascending=False).index)
    columns: dict[str, list[str]] = {"Reason": [label("platform_reason", r) for r in reasons]}
    for which, name in _WINDOWS:
        frame, rows = frames[which], overall[which]
        if frame is None:
            for head in ("cases (share of reasons)", "against an inspection report or lab test"):
                columns[f"{name}: {head}"] = [fmt.NOT_RECORDED] * len(reasons)
            continue
        given = frame.attrs["totals"]["with_reason"]
        cases = [int(rows["cases"].get(r, 0)) for r in reasons]
        contrary = [int(rows["with_contrary_evidence"].get(r, 0)) for r in reasons]
        columns[f"{name}: cases (share of reasons)"] = [_share(k, given, ctx) for k in cases]
        columns[f"{name}: against an inspection report or lab test"] = [
            _share(k, n, ctx) for k, n in zip(contrary, cases, strict=True)
        ]
    totals = frames["trailing"].attrs["totals"]
    note = (
        f"Over the {fmt.TRAILING} the platform decided {fmt.count(totals['platform_supplier_sided'])} "
        f"case(s) for the supplier; {fmt.count(totals['with_reason'])} record its reason, "
        f"{fmt.count(totals['with_reason_contrary'])} of them given although the buyer had "
        "submitted an inspection report or a lab test."
    )
    if reasons:
        top = overall["trailing"].loc[reasons[0]]
        note += (
            f" The commonest reason was \u201c{label('platform_reason', reasons[0])}\u201d "
            f"({fmt.count(top['cases'])}, {fmt.count(top['with_contrary_evidence'])} of them "
            "against such evidence)."
        )
    tables = [Table(frame=pd.DataFrame(columns), caption=caption, name="platform_reasons",
                    data=frames["trailing"], note=note)]  # fmt: skip
    trailing = frames["trailing"]
    for by, grouping in (("claim_type", 2), ("category", 1)):
        part = trailing[trailing["grouping_id"] == grouping]
        grid = part.pivot_table(index="reason", columns=by, values="cases", aggfunc="sum",
                                fill_value=0)  # fmt: skip
        grid = grid.reindex([r for r in reasons if r in grid.index])
        shown = pd.DataFrame({"Reason": [label("platform_reason", r) for r in grid.index]})
        for col in grid.columns:
            shown[label(by, col)] = grid[col].map(fmt.count).to_list()
        tables.append(Table(
            frame=shown,
            caption=(f"The {fmt.TRAILING}' reasons for decisions for the supplier by "
                     f"{by.replace('_', ' ')} (counts)."),
            name=f"platform_reasons_by_{by}", data=part,
        ))  # fmt: skip
    return TableGroup(tables, name="platform_said")


def _days(value) -> str:
    return fmt.DASH if fmt.missing(value) else f"{fmt.days(value)} days"


@user_errors_one_line
def beyond_platform(ctx: ReportContext) -> TableGroup:
    """Of the platform's decisions for the supplier: how many the buyer took further, by route;
    how many recovered something, how much (USD) and after how long; and what came back over
    both stages (the platform's refunds and the recoveries) against the claims."""
    caption = (
        f"After the platform decided for the supplier, {_windows_text(ctx)}: taken further "
        "(share of the platform's decisions for the supplier), recovered in full or in part "
        "(share of those taken further), USD recovered and, over the 12 months, the median days "
        "from the platform's decision to the recovery."
    )
    frames = {which: figures.beyond_routes(ctx, which) for which, _ in _WINDOWS}
    if frames["trailing"] is None:
        return TableGroup([_not_recorded("beyond_platform", caption, "after_route")],
                          name="beyond_platform")  # fmt: skip
    trailing = frames["trailing"]
    routes = [r for r in trailing.loc[trailing["grouping_id"] == 0, "route"]
              if isinstance(r, str) and r != "none"]  # fmt: skip
    rows = ["all", *routes]
    columns: dict[str, list[str]] = {
        "Route": ["All routes" if r == "all" else label("after_route", r) for r in rows]
    }
    for which, name in _WINDOWS:
        frame = frames[which]
        if frame is None:
            columns[f"{name}: taken"] = [fmt.NOT_RECORDED] * len(rows)
            continue
        total = frame[frame["grouping_id"] == 1]
        decided = int(total["cases"].iloc[0]) if len(total) else 0
        by = frame[frame["grouping_id"] == 0].set_index("route")
        amounts = frame.attrs["amounts_recorded"]
        taken, recovered, usd, days = [], [], [], []
        for r in rows:
            row = (
                total.iloc[0] if r == "all" and len(total) else by.loc[r] if r in by.index else None
            )
            if row is None:
                taken.append(fmt.count(0)), recovered.append(fmt.DASH)
                usd.append(fmt.DASH), days.append(fmt.DASH)
                continue
            taken.append(_share(row["taken"], decided, ctx))
            recovered.append(_share(row["recovered"], row["taken"], ctx))
            usd.append(fmt.usd(row["recovered_usd"]) if amounts else fmt.NOT_RECORDED)
            days.append(_days(row["median_days_to_recover"]))
        columns[f"{name}: taken further"] = taken
        columns[f"{name}: recovered"] = recovered
        columns[f"{name}: recovered (USD)"] = usd
        if which == "trailing":  # (a month's recoveries are too few for a median)
            columns[f"{name}: median time to recover"] = days
    total = trailing[trailing["grouping_id"] == 1]
    tables = [Table(frame=pd.DataFrame(columns), caption=caption, name="beyond_routes",
                    data=trailing)]  # fmt: skip
    both = {"Figure": ["Platform's decisions for the supplier with a claim", "Claimed (USD)",
                       "Refunded by the platform (USD)", "Recovered beyond the platform (USD)",
                       "Back to the buyer over both stages"]}  # fmt: skip
    for which, name in _WINDOWS:
        frame = frames[which]
        row = None if frame is None else frame[frame["grouping_id"] == 1]
        if row is None or not len(row):
            both[name] = [fmt.NOT_RECORDED if frame is None else fmt.DASH] * 5
            continue
        row = row.iloc[0]
        claimed = row["claimed_usd"]
        platform = 0.0 if fmt.missing(row["platform_refund_usd"]) else row["platform_refund_usd"]
        after = 0.0 if fmt.missing(row["after_refund_usd"]) else row["after_refund_usd"]
        amounts = frame.attrs["amounts_recorded"]
        back = (
            f"{fmt.usd(platform + after)} ({fmt.pct((platform + after) / claimed)} of the claims)"
            if amounts and not fmt.missing(claimed) and claimed
            else fmt.NOT_RECORDED
        )
        both[name] = [fmt.count(row["with_claim"]), fmt.usd(claimed), fmt.usd(platform),
                      fmt.usd(after) if amounts else fmt.NOT_RECORDED, back]  # fmt: skip
    note = ""
    if len(total):
        t = total.iloc[0]
        note = (
            f"Over the {fmt.TRAILING}, of {fmt.count(t['cases'])} decision(s) the platform made "
            f"for the supplier, {fmt.count(t['taken'])} were taken further and "
            f"{fmt.count(t['recovered'])} recovered something"
            + (
                f" ({fmt.usd(t['recovered_usd'])}"
                + (
                    f", a median of {_days(t['median_days_to_recover'])} after the decision)"
                    if not fmt.missing(t["median_days_to_recover"])
                    else ")"
                )
                if trailing.attrs["amounts_recorded"]
                else ""
            )
            + f"; {fmt.count(t['pending'])} route(s) were still under way."
        )
    tables.append(Table(
        frame=pd.DataFrame(both),
        caption=("What came back over both stages: the platform's refunds and the recoveries "
                 "beyond it, against the claims of the platform's decisions for the supplier "
                 "(the net recovery rate by value)."),
        name="beyond_both_stages", data=total, note=note,
    ))  # fmt: skip
    return TableGroup(tables, name="beyond_platform")
