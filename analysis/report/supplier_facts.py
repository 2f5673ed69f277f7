"""The suppliers too small to be rated, by fact: what happened with each, as counts."""

from __future__ import annotations

import pandas as pd

from analysis import settings
from analysis.metrics import supplier_facts as facts
from analysis.report import fmt
from analysis.report.context import ReportContext
from analysis.report.display import Table, user_errors_one_line
from analysis.report.labels import label


@user_errors_one_line
def small_suppliers(ctx: ReportContext, high_value_usd: float = settings.HIGH_VALUE_USD) -> Table:
    """Each supplier with fewer than ``min_n_named`` decided cases in the trailing 12 months:
    its cases, closed, decided, supplier-sided, lowballs and refused claims of at least
    ``high_value_usd``, as counts, by supplier id (never rated nor ranked)."""
    span, p = ctx.trailing, ctx.params
    data = facts.supplier_facts(ctx.store, span.start, span.end, p, ctx.category, high_value_usd)
    data = data[~data["named"]].reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "Supplier": [
                fmt.identifier(sid, 80)
                + (
                    ""
                    if fmt.missing(name) or name == sid
                    else f" \u2014 {fmt.clean_text(name, 80)}"
                )
                for sid, name in zip(data["supplier_id"], data["supplier_name"], strict=True)
            ],
            "Cases": data["cases"].map(fmt.count),
            "Closed": data["closed"].map(fmt.count),
            "Decided": data["decided"].map(fmt.count),
            "Supplier-sided": data["supplier_sided"].map(fmt.count),
            "Lowballs": data["lowballs"].map(fmt.count),
            f"Refused, claim {fmt.usd(high_value_usd)}+": data["refused_high_value"].map(fmt.count),
        }
    )
    where = f" in {label('category', ctx.category)}" if ctx.category else ""
    caption = (
        f"What happened with each supplier with fewer than {p.min_n_named} decided cases "
        f"(min_n_named){where}, {span.start.isoformat()} to {span.end.isoformat()}: counts of "
        "single cases, never rated, ranked or compared (too few cases for that), in order of "
        "supplier id. Cases: opened or closed in the window; the other counts are of the cases "
        f"closed in it. Supplier-sided: refund below {p.threshold:g} x claim; lowball: refund "
        f"above 0 and below {p.lowball:g} x claim; refused: no refund on a claim of "
        f"{fmt.usd(high_value_usd)} or more."
    )
    note = f"{len(frame)} supplier(s)."
    if len(frame) > settings.REFERENCE_ROWS:
        # a large store has thousands here (84 MB of page at 1M cases): the page lists the
        # first, the CSV holds them all
        note += (
            f" This page lists the first {settings.REFERENCE_ROWS} by supplier id; the table's "
            f"CSV (Download CSV) holds all {len(frame)}."
        )
    # folded: on a small store nearly every supplier is here, a long list kept one click away
    fold = f"What happened with each of the {len(frame)} suppliers too small to rate (counts)"
    return Table(frame=frame, caption=caption, name="small_suppliers", data=data, note=note,
                 fold=fold if len(frame) else "",
                 # the page's rows: the CSV holds them all (a 10M store's record was 1M rows)
                 record=data.iloc[: settings.REFERENCE_ROWS].to_dict(orient="records"),
                 page_rows=settings.REFERENCE_ROWS)  # fmt: skip
