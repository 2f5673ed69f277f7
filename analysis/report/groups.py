"""Breakdowns: the supplier-sided rate and the refund ratio by group, for the period and for the
trailing 12 months side by side (a month alone rarely has enough cases per group), the category x
claim type grid, and each group's change against the previous period."""

from __future__ import annotations

import pandas as pd

from analysis.metrics import coverage, stats
from analysis.report import figures, fmt
from analysis.report.context import ReportContext, period_text
from analysis.report.display import Table, user_errors_one_line
from analysis.report.headline import rate_rule
from analysis.report.labels import label, title


def _with_overall(ctx: ReportContext, by: str, which: str) -> pd.DataFrame:
    """block_frame by ``by`` of a window, with the window's total as a last row ('All')."""
    ctx.prefetch((by, None), which)
    groups = ctx.blocks(by, which)
    overall = ctx.blocks(None, which)
    groups["label"] = [label(by, g) for g in groups["group"]]
    overall["label"] = "All" + (f" ({label('category', ctx.category)})" if ctx.category else "")
    frame = pd.concat([groups, overall], ignore_index=True)
    frame["is_overall"] = [False] * len(groups) + [True]
    return frame


def side_by_side(ctx: ReportContext, by: str) -> pd.DataFrame:
    """The groups of ``by`` with the period's block (columns as they are) and the trailing
    window's (prefixed ``trailing_``), one row per group with a closed case in either, the total
    last. ``attrs``: by, min_n, min_n_rate, synthetic."""
    period = _with_overall(ctx, by, "period")
    trailing = _with_overall(ctx, by, "trailing")
    keep = set(period.loc[period["cases_closed"] > 0, "group"]) | set(
        trailing.loc[trailing["cases_closed"] > 0, "group"]
    )
    trailing = trailing.add_prefix("trailing_").rename(columns={"trailing_group": "group"})
    merged = trailing.merge(period, on="group", how="outer")
    merged["label"] = merged["label"].fillna(merged["trailing_label"])
    merged["is_overall"] = merged["is_overall"].fillna(merged["trailing_is_overall"]).astype(bool)
    merged = merged[merged["group"].isin(keep) | merged["is_overall"]]
    for column in ("decided", "supplier_sided", "cases_closed", "monetary_decisions"):
        merged[column] = merged[column].fillna(0).astype("int64")
    for column in ("suppressed",):
        merged[column] = merged[column].fillna(True).astype(bool)
    merged["few_cases"] = merged["few_cases"].fillna(False).astype(bool)
    merged = pd.concat(
        [merged[~merged["is_overall"]].sort_values("label"), merged[merged["is_overall"]]]
    )
    merged = merged.reset_index(drop=True)
    merged.attrs.update(
        by=by, min_n=ctx.params.min_n, min_n_rate=ctx.params.min_n_rate, synthetic=ctx.synthetic,
        period_label=ctx.period.title,
    )  # fmt: skip
    return merged


def _trailing_view(data: pd.DataFrame) -> pd.DataFrame:
    """The trailing columns of a side-by-side frame under their plain names (for fmt)."""
    view = data[[c for c in data.columns if c.startswith("trailing_")]].copy()
    view.columns = [c[len("trailing_") :] for c in view.columns]
    for column in ("suppressed",):
        view[column] = view[column].fillna(True).astype(bool)
    view["few_cases"] = view["few_cases"].fillna(False).astype(bool)
    for column in ("decided", "supplier_sided"):
        view[column] = view[column].fillna(0).astype("int64")
    return view


@user_errors_one_line
def supplier_sided_by(ctx: ReportContext, by: str = "category") -> Table:
    """Supplier-sided rate of each group of ``by``: the period beside the trailing 12 months."""
    data = side_by_side(ctx, by)
    trailing = _trailing_view(data)
    p = ctx.params
    period = ctx.period.title
    columns = {
        title(by): data["label"],
        f"Decided {period}": data["decided"].map(fmt.count),
        f"Rate {period}": fmt.rate_ci_column(data, p.min_n_rate),
        f"Decided, {fmt.TRAILING}": trailing["decided"].map(fmt.count),
        f"Rate, {fmt.TRAILING}": fmt.rate_ci_column(trailing, p.min_n_rate),
    }
    pooled = "pooled_rate" in data
    if pooled:
        # every group with a decided case, small ones pulled toward the whole
        columns[f"Pooled {period}"] = _pooled_column(data)
        columns[f"Pooled, {fmt.TRAILING}"] = _pooled_column(trailing)
    frame = pd.DataFrame(columns)
    extra = (
        " A case counts once under each kind of evidence it has, so the groups add up to more "
        "than the total."
        if by == "evidence"
        else ""
    )
    pooled_text = (
        " Pooled: each group's rate pulled toward the whole by as much as its size warrants "
        "(partial pooling, given for every group with a decided case; a small group is pulled "
        "most), with its interval; see the methodology."
        if pooled
        else ""
    )
    caption = (
        f"Supplier-sided rate by {title(by).lower()}: monetary decisions with refund < "
        f"{p.threshold:g} x claim / decided cases (lapsed and open cases excluded), for the cases "
        f"closed in {period_text(ctx.period)} and in the trailing {fmt.TRAILING} "
        f"({ctx.trailing.start.isoformat()} to {ctx.trailing.end.isoformat()}). "
        f"{rate_rule(ctx)}{pooled_text}{extra}"
    )
    note = groups_reading(data, by, ctx) if by != "evidence" else ""
    return Table(frame=frame, caption=caption, name=f"supplier_sided_by_{by}", data=data, note=note)


def _pooled_column(data: pd.DataFrame) -> list[str]:
    """Each group's pooled rate with its interval ('–' for a group without a decided case and
    for the total, which is the whole itself)."""
    return [
        fmt.DASH if overall else fmt.rate_ci(rate, low, high, False, 0)
        for rate, low, high, overall in zip(
            data["pooled_rate"], data["pooled_ci_low"], data["pooled_ci_high"],
            data["is_overall"], strict=True,
        )
    ]  # fmt: skip


def groups_reading(data: pd.DataFrame, by: str, ctx: ReportContext) -> str:
    """One sentence on whether the groups' 12-month rates differ by more than chance: a
    chi-square test over the groups with a rate (at least min_n_rate decided cases), and the
    highest and lowest of them only when the test finds a difference. The groups must not
    overlap (not for evidence)."""
    p = ctx.params
    rows = data[~data["is_overall"]]
    rated = rows[rows["trailing_decided"].fillna(0) >= p.min_n_rate]
    noun = title(by).lower()
    left_out = len(rows) - len(rated)
    tail = (
        f" {left_out} {noun} group(s) with fewer than {p.min_n_rate} decided cases are left out."
        if left_out
        else ""
    )
    if len(rated) < 2:
        return f"Over the {fmt.TRAILING} fewer than two {noun} groups have a rate: nothing to compare.{tail}"
    test = stats.homogeneity_test(rated["trailing_supplier_sided"], rated["trailing_decided"])
    alpha = 1 - p.confidence
    ordered = rated.sort_values("trailing_supplier_sided_rate")
    high, low = ordered.iloc[-1], ordered.iloc[0]

    def _group(row) -> str:
        return (
            f"{row['label']} {fmt.pct(row['trailing_supplier_sided_rate'])} "
            f"({fmt.interval(row['trailing_supplier_sided_ci_low'], row['trailing_supplier_sided_ci_high'])})"
        )

    if test["p_value"] is None:
        return f"Over the {fmt.TRAILING} every decided case of the {len(rated)} {noun} groups went one way.{tail}"
    head = (
        f"Over the {fmt.TRAILING} the supplier-sided rates of the {len(rated)} {noun} groups with a "
        "rate"
    )
    tested = f"(chi-square test of one common rate, {fmt.p_value(test['p_value'])})"
    if test["p_value"] < alpha:
        return (
            f"{head} differ by more than chance would give {tested}; highest {_group(high)}, "
            f"lowest {_group(low)}.{tail}"
        )
    # not shown to differ: naming a highest and a lowest would read as a difference the test
    # did not find
    return (
        f"{head} do not differ by more than chance would give {tested}: these data cannot tell "
        f"them apart, so none is named highest or lowest.{tail}"
    )


@user_errors_one_line
def refund_ratio_by(ctx: ReportContext, by: str = "category") -> Table:
    """Pooled and median refund ratio of each group of ``by``: the period beside 12 months."""
    data = side_by_side(ctx, by)
    trailing = _trailing_view(data)
    p = ctx.params
    period = ctx.period.title
    frame = pd.DataFrame(
        {
            title(by): data["label"],
            f"Claimed {period}": data["claimed_usd"].map(fmt.usd),
            f"Pooled {period}": fmt.rate_column(data, "refund_ratio_pooled", p.min_n_rate),
            f"Median case {period}": fmt.rate_column(data, "refund_ratio_median", p.min_n_rate),
            f"Claimed, {fmt.TRAILING}": trailing["claimed_usd"].map(fmt.usd),
            f"Pooled, {fmt.TRAILING}": fmt.rate_column(
                trailing, "refund_ratio_pooled", p.min_n_rate
            ),
            f"Median case, {fmt.TRAILING}": fmt.rate_column(
                trailing, "refund_ratio_median", p.min_n_rate
            ),
        }
    )
    caption = (
        f"Refund ratio by {title(by).lower()}, monetary decisions (full, partial or no refund; "
        f"replacements excluded) closed in {period_text(ctx.period)} and in the trailing 12 "
        "months. Pooled = refunded USD / claimed USD (large claims weigh more); median case = "
        "the median of refund / claim, each case weighing the same. Amounts in US dollars at the "
        "ECB rate of the opening date. Ratios are given from "
        f"{p.min_n_rate} decided cases ('{fmt.suppressed_text(p.min_n_rate)}' below)."
    )
    return Table(frame=frame, caption=caption, name=f"refund_ratio_by_{by}", data=data)


@user_errors_one_line
def heatmap(ctx: ReportContext) -> Table:
    """Supplier-sided rate for each category x claim type pair over the trailing 12 months."""
    data = figures.heatmap(ctx)
    p = ctx.params
    data.attrs.update(min_n=p.min_n, min_n_rate=p.min_n_rate, synthetic=ctx.synthetic)
    data["category_label"] = [label("category", c) for c in data["category"]]
    data["claim_type_label"] = [label("claim_type", c) for c in data["claim_type"]]
    cells = data.assign(
        text=[
            (f"{fmt.DASH} (n={d})" if s else f"{fmt.pct(r)} (n={d})" + ("*" if few else ""))
            for r, d, s, few in zip(
                data["supplier_sided_rate"], data["decided"], data["suppressed"], data["few_cases"],
                strict=True,
            )
        ]
    )  # fmt: skip
    if len(cells):
        grid = cells.pivot(index="category_label", columns="claim_type_label", values="text")
        frame = grid.fillna("").reset_index().rename(columns={"category_label": "Category"})
        frame.columns.name = None
    else:
        frame = pd.DataFrame({"Category": []})
    caption = (
        f"Supplier-sided rate by category and claim type, cases closed in the trailing {fmt.TRAILING} "
        f"({ctx.trailing.start.isoformat()} to {ctx.trailing.end.isoformat()}): supplier-sided / "
        f"decided, with the number of decided cases (n). '{fmt.DASH} (n=…)' = fewer than "
        f"{p.min_n_rate} decided cases, no rate (hatched in the chart); * = fewer than {p.min_n} "
        "(few cases); an empty cell had no case."
    )
    return Table(frame=frame, caption=caption, name="heatmap", data=data)


@user_errors_one_line
def change_by(ctx: ReportContext, by: str = "category") -> Table:
    """Each group's supplier-sided rate against the previous period, p-values adjusted."""
    data = figures.change_by(ctx, by)
    p = ctx.params
    level = f"{100 * p.confidence:g}%"
    data = data[(data["current_decided"] > 0) | (data["previous_decided"] > 0)].reset_index(
        drop=True
    )

    def verdict(row) -> str:
        if not row["tested"]:
            return f"not compared (fewer than {p.min_n_rate} decided in a period)"
        state = "significant" if row["flagged"] else "not shown by these data"
        return f"{fmt.p_value(row['p_adjusted'])} adjusted ({fmt.p_value(row['p_value'])} alone): {state}"

    frame = pd.DataFrame(
        {
            title(by): [label(by, g) for g in data["group"]],
            ctx.period.title: [
                f"{fmt.pct(r)} of {fmt.count(n)}" if n else "none decided"
                for r, n in zip(data["current_rate"], data["current_decided"], strict=True)
            ],
            ctx.previous.title: [
                f"{fmt.pct(r)} of {fmt.count(n)}" if n else "none decided"
                for r, n in zip(data["previous_rate"], data["previous_decided"], strict=True)
            ],
            f"Change ({level} interval)": [
                fmt.DASH if not t else f"{fmt.points(d)} ({fmt.points(lo)} to {fmt.points(hi)})"
                for d, lo, hi, t in zip(
                    data["difference"], data["difference_ci_low"], data["difference_ci_high"],
                    data["tested"], strict=True,
                )
            ],
            "Test": [verdict(row) for _, row in data.iterrows()],
        }
    )  # fmt: skip
    tested = data.attrs.get("tested", int(data["tested"].sum()))
    caption = (
        f"The supplier-sided rate of each {title(by).lower()} in {period_text(ctx.period)} against "
        f"{period_text(ctx.previous)}: the difference with Newcombe's {level} interval and a "
        f"two-proportion z-test. {tested} groups were tested at once, so the p-values are adjusted "
        "for the number of tests (Benjamini-Hochberg); a change is called significant only when "
        f"its adjusted p-value is below {1 - p.confidence:.2f}. Groups with fewer than "
        f"{p.min_n_rate} decided cases in either period are not compared."
    )
    # nothing compared (no group with enough decided cases in both periods): one line
    return Table(frame=frame, caption=caption, name=f"change_by_{by}", data=data,
                 quiet=not tested, fold="" if tested else f"Nothing compared: no {title(by).lower()} "
                 f"had {p.min_n_rate} decided cases in both periods.")  # fmt: skip


@user_errors_one_line
def outcomes_by(
    ctx: ReportContext, breakdowns: tuple[str, ...] | list[str], which: str = "trailing"
) -> Table:
    """Decided cases, supplier-sided rate and refund ratio of each group of several breakdowns,
    over the trailing 12 months (default) or the period: the raw comparisons, unadjusted."""
    parts = []
    missing = set(figures.not_recorded(ctx, which))
    ctx.prefetch(
        [by for by in breakdowns if coverage.BREAKDOWN_FIELDS.get(by) not in missing], which
    )
    for by in breakdowns:
        field = coverage.BREAKDOWN_FIELDS.get(by)
        if field in missing:
            # the exports did not carry the field: one row saying so, not a group "unknown"
            part = pd.DataFrame({"breakdown": [by], "group": [fmt.NOT_RECORDED],
                                 "label": [f"{title(by)}: {fmt.NOT_RECORDED}"],
                                 "group_label": [f"{fmt.NOT_RECORDED} ({field} not in these exports)"],
                                 "not_recorded": [True]})  # fmt: skip
            parts.append(part)
            continue
        part = ctx.blocks(by, which)
        part = part[part["cases_closed"] > 0].reset_index(drop=True)
        part.insert(0, "breakdown", by)
        part["label"] = [f"{title(by)}: {label(by, g)}" for g in part["group"]]
        part["group_label"] = [label(by, g) for g in part["group"]]
        parts.append(part)
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    unrecorded = (
        data["not_recorded"].fillna(False).astype(bool)
        if "not_recorded" in data
        else pd.Series(False, index=data.index)
    )
    data["not_recorded"] = unrecorded
    for column in ("cases_closed", "decided", "supplier_sided_rate", "supplier_sided_ci_low",
                   "supplier_sided_ci_high", "refund_ratio_pooled", "suppressed", "few_cases"):  # fmt: skip
        if column not in data:
            data[column] = float("nan")  # every breakdown asked for went unrecorded
    if unrecorded.any():
        data["suppressed"] = data["suppressed"].astype(object).where(~unrecorded, True)
        data["few_cases"] = data["few_cases"].astype(object).where(~unrecorded, False)
    p = ctx.params
    data.attrs.update(min_n=p.min_n, min_n_rate=p.min_n_rate, synthetic=ctx.synthetic)
    span = ctx.window(which)
    frame = pd.DataFrame(
        {
            "Breakdown": [title(b) for b in data["breakdown"]],
            "Group": data["group_label"],
            "Closed": data["cases_closed"].map(fmt.count),
            "Decided": data["decided"].map(fmt.count),
            "Supplier-sided rate (interval)": fmt.rate_ci_column(data, p.min_n_rate),
            "Refund ratio, pooled": fmt.rate_column(data, "refund_ratio_pooled", p.min_n_rate),
        }
    )
    frame.loc[unrecorded.to_numpy(), ["Closed", "Decided", "Supplier-sided rate (interval)",
                                      "Refund ratio, pooled"]] = ""  # fmt: skip
    titles = ", ".join(title(b).lower() for b in breakdowns)
    caption = (
        f"Outcomes of the cases closed from {span.start.isoformat()} to {span.end.isoformat()} by "
        f"{titles}: supplier-sided / decided (Wilson interval) and refunded / claimed USD over "
        "monetary decisions. 'unknown' = the field was blank. A case with several kinds of "
        "evidence counts under each. These are raw comparisons: the groups differ in more than "
        f"the one thing named (see the adjusted effects). {rate_rule(ctx)}"
    )
    return Table(
        frame=frame, caption=caption, name="outcomes_by_" + "_".join(breakdowns), data=data
    )
