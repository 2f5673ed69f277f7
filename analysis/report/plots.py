"""Charts for the report notebooks (matplotlib and seaborn).

Every function takes a section's :class:`analysis.sections.Table` (or its ``data`` frame) and
returns a :class:`Chart`: a matplotlib ``Figure`` built without pyplot (no global state, nothing
shown twice by the inline backend, safe under the Agg backend in tests) that Jupyter displays as
one PNG. Sizes and resolution are kept small so a report with a dozen charts stays far below
5 MB.

Suppressed groups (fewer than ``min_n`` decided cases) are never drawn as if they had a rate:
bars are replaced by the words "suppressed (n<30)", heat-map cells are left blank and hatched,
months leave a gap in the trend line.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter

#: Figure width in inches and PNG resolution: 7 in x 96 dpi = 672 px, sharp on a phone.
WIDTH = 7.0
DPI = 96
#: Colours: one accent for the figures, grey for the overall reference and the suppressed marks.
ACCENT = "#2b6cb0"
SECOND = "#c05621"
OVERALL = "#4a5568"
MUTED = "#a0aec0"
HATCH = "///"


@dataclass
class Chart:
    """A figure and its title; Jupyter shows it as a PNG."""

    figure: Figure
    title: str

    def png(self) -> bytes:
        """The chart as PNG bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(
            buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None}
        )
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def __repr__(self) -> str:
        return f"<chart: {self.title}>"


def _frame(source: Any) -> pd.DataFrame:
    """A section Table's numbers, or a DataFrame as it is."""
    data = getattr(source, "data", source)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a section Table or a DataFrame, got {type(source).__name__}")
    return data


def _min_n(data: pd.DataFrame, min_n: int | None) -> int | None:
    return min_n if min_n is not None else data.attrs.get("min_n")


def _suppressed_words(min_n: int | None) -> str:
    return f"suppressed (n<{min_n})" if min_n is not None else "suppressed"


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _new_figure(height: float) -> Figure:
    return Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")


def _labels(data: pd.DataFrame) -> list[str]:
    column = "label" if "label" in data.columns else "group"
    return [str(v) for v in data[column]]


def interval_bars(
    source: Any,
    title: str = "Supplier-sided rate",
    rate: str = "supplier_sided_rate",
    low: str = "supplier_sided_ci_low",
    high: str = "supplier_sided_ci_high",
    xlabel: str = "supplier-sided / decided",
    min_n: int | None = None,
) -> Chart:
    """Horizontal bars of a rate with its interval as error bars, one per group (top to bottom
    in the table's order). Suppressed groups get words instead of a bar; a row flagged
    ``is_overall`` is drawn in grey and its rate as a dashed reference line."""
    data = _frame(source).reset_index(drop=True)
    min_n = _min_n(data, min_n)
    labels = _labels(data)
    n_rows = len(data)
    fig = _new_figure(min(1.0 + 0.32 * max(n_rows, 1), 9.0))
    ax = fig.add_subplot()
    positions = np.arange(n_rows)[::-1]  # first row at the top
    overall_flags = (
        data["is_overall"].astype(bool)
        if "is_overall" in data
        else pd.Series(False, index=data.index)
    )
    for i, row in data.iterrows():
        y = positions[i]
        suppressed = bool(row.get("suppressed", False))
        value = row[rate]
        if suppressed or not _finite(value):
            words = _suppressed_words(min_n) if suppressed else "no decided cases"
            ax.text(
                0.005, y, words, va="center", ha="left", fontsize=8, color=OVERALL, style="italic"
            )
            continue
        colour = OVERALL if overall_flags[i] else ACCENT
        ax.barh(y, value, color=colour, alpha=0.85, height=0.6)
        if _finite(row.get(low)) and _finite(row.get(high)):
            ax.errorbar(
                value,
                y,
                xerr=[[value - row[low]], [row[high] - value]],
                fmt="none",
                ecolor="black",
                capsize=3,
                linewidth=1,
            )
        if overall_flags[i]:
            ax.axvline(value, color=OVERALL, linestyle="--", linewidth=1)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    return Chart(fig, title)


def heatmap(
    source: Any,
    title: str = "Supplier-sided rate by category and claim type",
    min_n: int | None = None,
) -> Chart:
    """Category x claim type grid of the supplier-sided rate.

    Cells with 1 to min_n-1 decided cases are suppressed: no colour, no value, hatched. Cells
    with no decided case (or no case) stay white.
    """
    import seaborn as sns

    data = _frame(source)
    min_n = _min_n(data, min_n)
    rows_label = "category_label" if "category_label" in data else "category"
    cols_label = "claim_type_label" if "claim_type_label" in data else "claim_type"
    fig = _new_figure(1.4 + 0.38 * max(data[rows_label].nunique() if len(data) else 1, 1))
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10, loc="left")
    if data.empty:
        ax.text(
            0.5, 0.5, "no cases in the period", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_axis_off()
        return Chart(fig, title)
    rates = data.pivot(index=rows_label, columns=cols_label, values="supplier_sided_rate")
    decided = data.pivot(index=rows_label, columns=cols_label, values="decided").fillna(0)
    suppressed = data.pivot(index=rows_label, columns=cols_label, values="suppressed")
    suppressed = suppressed.astype("boolean").fillna(False).astype(bool)
    shown = rates.where(~suppressed)
    annotations = shown.map(lambda v: f"{100 * v:.0f}%" if _finite(v) else "")
    sns.heatmap(
        shown.astype(float),
        ax=ax,
        mask=shown.isna(),
        vmin=0,
        vmax=1,
        cmap="Blues",
        annot=annotations.to_numpy(),
        fmt="",
        annot_kws={"fontsize": 8},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"format": PercentFormatter(1.0), "label": "supplier-sided / decided"},
    )
    hatched = 0
    for i, row_name in enumerate(shown.index):
        for j, col_name in enumerate(shown.columns):
            if suppressed.loc[row_name, col_name] and decided.loc[row_name, col_name] > 0:
                ax.add_patch(
                    Rectangle(
                        (j, i), 1, 1, facecolor="#f4f4f4", hatch=HATCH, edgecolor=MUTED,
                        linewidth=0,
                    )
                )  # fmt: skip
                hatched += 1
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(labelsize=8)
    ax.tick_params(axis="x", labelrotation=30)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    ax.set_facecolor("white")
    if hatched:
        fig.legend(
            handles=[
                Patch(
                    facecolor="#f4f4f4",
                    edgecolor=MUTED,
                    hatch=HATCH,
                    label=f"{_suppressed_words(min_n)}: no value shown; white: no decided case",
                )
            ],
            loc="outside lower left",
            fontsize=8,
            frameon=False,
        )
    return Chart(fig, title)


def refund_ratios(
    source: Any,
    title: str = "Refund ratio: pooled and median case",
    min_n: int | None = None,
) -> Chart:
    """Pooled (dot) and median-case (diamond) refund ratio per group; suppressed groups in words."""
    data = _frame(source).reset_index(drop=True)
    min_n = _min_n(data, min_n)
    labels = _labels(data)
    fig = _new_figure(min(1.2 + 0.32 * max(len(data), 1), 9.0))
    ax = fig.add_subplot()
    positions = np.arange(len(data))[::-1]
    for i, row in data.iterrows():
        y = positions[i]
        if bool(row.get("suppressed", False)):
            ax.text(
                0.005,
                y,
                _suppressed_words(min_n),
                va="center",
                fontsize=8,
                color=OVERALL,
                style="italic",
            )
            continue
        if _finite(row["refund_ratio_pooled"]):
            ax.plot(row["refund_ratio_pooled"], y, "o", color=ACCENT, label="pooled")
        if _finite(row["refund_ratio_median"]):
            ax.plot(
                row["refund_ratio_median"],
                y,
                "D",
                color=SECOND,
                fillstyle="none",
                label="median case",
            )
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("refunded / claimed", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10, loc="left")
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    if unique:
        ax.legend(unique.values(), unique.keys(), fontsize=8, loc="lower right")
    return Chart(fig, title)


def trend(source: Any, title: str = "Trailing 12 months", min_n: int | None = None) -> Chart:
    """Top: supplier-sided rate (with its interval band) and pooled refund ratio per month, gaps
    where a month is suppressed. Bottom: cases opened and closed per month."""
    data = _frame(source).reset_index(drop=True)
    min_n = _min_n(data, min_n)
    months = [str(m) for m in data["month"]]
    x = np.arange(len(months))
    fig = _new_figure(4.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    rate = data["supplier_sided_rate"].astype(float)
    top.plot(x, rate, "o-", color=ACCENT, label="supplier-sided rate")
    top.fill_between(
        x,
        data["supplier_sided_ci_low"].astype(float),
        data["supplier_sided_ci_high"].astype(float),
        color=ACCENT,
        alpha=0.15,
        linewidth=0,
        label="interval",
    )
    top.plot(
        x,
        data["refund_ratio_pooled"].astype(float),
        "s--",
        color=SECOND,
        label="refund ratio, pooled",
    )
    suppressed = data["suppressed"].astype(bool).to_numpy()
    for xi in x[suppressed]:
        top.axvspan(xi - 0.5, xi + 0.5, color=MUTED, alpha=0.15, linewidth=0)
    top.set_ylim(0, 1)
    top.yaxis.set_major_formatter(PercentFormatter(1.0))
    top.tick_params(labelsize=8)
    top.grid(alpha=0.3)
    top.set_title(title, fontsize=10, loc="left")
    handles, names = top.get_legend_handles_labels()
    if suppressed.any():
        handles.append(Patch(color=MUTED, alpha=0.3))
        names.append(_suppressed_words(min_n))
    top.legend(handles, names, fontsize=7, loc="upper left", ncols=2)
    width = 0.4
    bottom.bar(x - width / 2, data["cases_opened"], width, color=MUTED, label="opened")
    bottom.bar(x + width / 2, data["cases_closed"], width, color=OVERALL, label="closed")
    if "complete" in data:
        for xi in x[~data["complete"].astype(bool).to_numpy()]:
            bottom.text(xi, 0, "partial", rotation=90, fontsize=7, ha="center", va="bottom")
    bottom.set_xticks(x, months, rotation=45, ha="right", fontsize=8)
    bottom.tick_params(axis="y", labelsize=8)
    bottom.set_ylabel("cases", fontsize=8)
    bottom.legend(fontsize=7, loc="upper left", ncols=2)
    bottom.grid(axis="y", alpha=0.3)
    return Chart(fig, title)


def km_curves(source: Any, title: str = "Time to resolution (Kaplan-Meier)") -> Chart:
    """Share of cases still open after t days: the overall curve with its band, and one curve per
    group that is not suppressed. ``source`` is the Table of
    :func:`analysis.sections.time_to_resolution` or the dict of
    :func:`analysis.metrics.time_to_resolution`."""
    result = getattr(source, "source", source)
    if not isinstance(result, dict) or "overall" not in result:
        raise TypeError("km_curves needs the result of time_to_resolution")
    fig = _new_figure(3.6)
    ax = fig.add_subplot()
    overall = result["overall"]
    drawn = 0
    if overall.get("curve") is not None and len(overall["curve"]):
        curve = overall["curve"]
        ax.step(curve["days"], curve["survival"], where="post", color="black", linewidth=2,
                label=f"all (n={overall['n']})")  # fmt: skip
        ax.fill_between(curve["days"], curve["ci_low"], curve["ci_high"], step="post",
                        color="black", alpha=0.1, linewidth=0)  # fmt: skip
        drawn += 1
    skipped = []
    palette = _palette(len(result.get("groups", {})))
    for colour, (name, group) in zip(palette, result.get("groups", {}).items(), strict=False):
        if group.get("suppressed") or group.get("curve") is None or not len(group["curve"]):
            skipped.append(str(name))
            continue
        curve = group["curve"]
        ax.step(curve["days"], curve["survival"], where="post", color=colour, linewidth=1,
                label=f"{_group_label(result.get('by'), name)} (n={group['n']})")  # fmt: skip
        drawn += 1
    ax.axhline(0.5, color=MUTED, linestyle=":", linewidth=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("days since the case was opened", fontsize=8)
    ax.set_ylabel("still open", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10, loc="left")
    if drawn:
        ax.legend(fontsize=7, loc="upper right")
    else:
        ax.text(0.5, 0.5, "too few cases opened for a curve", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
    if skipped:
        words = ", ".join(_group_label(result.get("by"), s) for s in skipped)
        fig.text(0.01, -0.02, f"no curve (too few cases): {words}", fontsize=7, color=OVERALL,
                 ha="left", va="top", wrap=True)  # fmt: skip
    return Chart(fig, title)


def _group_label(by: str | None, name: Any) -> str:
    from analysis.report.labels import label

    return label(by, name) if by else str(name)


def _palette(n: int) -> list:
    import seaborn as sns

    return list(sns.color_palette("tab10", max(n, 1)))
