"""The methodology section: every definition in plain words, the parameters used, the limits."""

from __future__ import annotations

import pandas as pd

from analysis import metrics
from analysis.report.context import ReportContext
from analysis.report.display import Table, TableGroup, user_errors_one_line


@user_errors_one_line
def methodology(ctx: ReportContext | None = None) -> TableGroup:
    """Every definition of metrics.DEFINITIONS, the parameters used, and the data's limits."""
    definitions = pd.DataFrame(
        [(name, text) for name, text in metrics.DEFINITIONS], columns=["Term", "Definition"]
    )
    tables = [
        Table(
            frame=definitions,
            caption="Definitions, as in docs/metrics.md (generated from analysis.metrics.definitions). "
            "Defaults in brackets; the values used in this report are listed below.",
            name="definitions",
            data=definitions,
            fold=f"Definitions of the {len(definitions)} terms this report uses",
        )
    ]
    if ctx is not None:
        p = ctx.params
        used = pd.DataFrame(
            [
                ("threshold", f"{p.threshold:g}", "supplier-sided when refund < threshold x claim"),
                ("lowball", f"{p.lowball:g}", "lowball when 0 < refund < lowball x claim"),
                ("min_n_rate", str(p.min_n_rate), "a rate is given from this many decided cases"),
                ("min_n", str(p.min_n), "a rate on fewer decided cases is marked 'few cases'"),
                (
                    "min_n_named",
                    str(p.min_n_named),
                    "a supplier is named from this many decided cases",
                ),
                (
                    "confidence",
                    f"{p.confidence:g}",
                    "interval coverage; significant when p < 1 - confidence",
                ),
            ],
            columns=["Parameter", "Value", "Meaning"],
        )
        tables.append(
            Table(
                frame=used,
                caption="Parameters used in this report.",
                name="parameters_used",
                fold="The parameters used in this report",
            )  # fmt: skip
        )
    tables.append(
        Table(
            frame=pd.DataFrame({"What the data can and cannot say": list(metrics.LIMITATIONS)}),
            caption="Limits of the data (docs/metrics.md).",
            name="limitations",
            fold="What the data can and cannot say",
        )
    )
    return TableGroup(tables, name="methodology")
