"""Charts for the report notebooks (matplotlib and seaborn).

Every function takes a section's :class:`analysis.report.display.Table` (or its ``data`` frame)
and returns a :class:`Chart`: a matplotlib ``Figure`` built without pyplot (no global state,
safe under the Agg backend in tests), drawn once, at a phone's width, that Jupyter and the
exported page show as one SVG with an alt text saying what the chart shows (on a wider screen at
:data:`SCREEN_SCALE` times its drawn size, in print as vectors). The palette is Okabe and Ito's,
readable with every common colour-vision deficiency, and every series also differs in marker or
line style. A chart of synthetic data carries "SYNTHETIC DATA" in the image itself, so a
screenshot cannot travel without it.

A rate on too few cases is never drawn as if it were one: bars give way to words, heat-map cells
are hatched, months leave a gap.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter

from analysis import settings
from analysis.report import fmt

#: Every chart is drawn once, at a phone's width: 3.9 in x 96 dpi = 374 px, its text 9 pt
#: (12 px) and more. Drawing it twice (this and a 7 in rendition for wider screens) cost a
#: 5,000-case monthly report about 2.5 s (docs/performance.md, "Charts drawn once").
WIDTH = 3.9
#: On a screen wider than a phone the chart shows at this multiple of its drawn size (an SVG
#: scales without blur): its 9 pt text at 16 px, the page's own text size. On a phone the page's
#: ``img { max-width: 100% }`` shows it at about its drawn size.
SCREEN_SCALE = 4 / 3
#: The one chart whose content differs on a wider screen, the heat map (its cells hold their
#: values only where there is room), gets a second drawing at this width (672 px on screen).
WIDE = 5.25
#: Where the phone's drawing of a chart drawn twice is chosen (the page's phone layout).
PHONE_MEDIA = "(max-width: 600px)"
#: A scatter of more points than this is drawn as an image inside its SVG (see funnel_plot).
DENSE_POINTS = 2000
DPI = 96
FONT = 9
#: Okabe-Ito: distinct for deuteranopia, protanopia and tritanopia; black for the overall.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
LINESTYLES = ("-", "--", "-.", ":")
ACCENT, SECOND, OVERALL, MUTED = PALETTE[0], PALETTE[1], "#333333", "#999999"
WARNING = "#B00020"
HATCH = "///"


@dataclass
class Chart:
    """A chart: how to draw it at a width, its title and its alt text; Jupyter shows an SVG."""

    draw: Callable[[float], Figure]
    title: str
    alt: str
    synthetic: bool = False
    #: nothing to draw: shown as one line of text, no image (a section of nothing folds)
    quiet: bool = False
    #: the content at :data:`WIDE` differs from the phone's (more than the layout): drawn a
    #: second time there for wider screens, the phone's drawing chosen by :data:`PHONE_MEDIA`
    wide: bool = False

    @property
    def figure(self) -> Figure:
        """The chart at :data:`WIDTH` (drawn once)."""
        if not hasattr(self, "_figure"):
            self._figure = self._drawn(WIDTH)
        return self._figure

    def _drawn(self, width: float) -> Figure:
        figure = self.draw(width)
        if self.synthetic:
            _watermark(figure)
        return figure

    def png(self, width: float = WIDTH) -> bytes:
        """The chart as PNG bytes, at ``width`` inches (for authors; reports show :meth:`svg`)."""
        figure = self.figure if width == WIDTH else self._drawn(width)
        buffer = io.BytesIO()
        figure.savefig(
            buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None}
        )
        return buffer.getvalue()

    def svg(self, width: float = WIDTH) -> str:
        """The chart as an SVG document drawn at ``width`` inches, its text as outlines (the
        same on every machine, no font fetched), sized to show at :data:`SCREEN_SCALE` times its
        drawn size; the same chart gives the same bytes (no date, fixed element ids)."""
        from matplotlib import rc_context

        figure = self.figure if width == WIDTH else self._drawn(width)
        buffer = io.StringIO()
        with rc_context({"svg.hashsalt": "ta-outcomes", "svg.fonttype": "path"}):
            figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
        return _scaled(buffer.getvalue(), SCREEN_SCALE)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        if self.quiet:
            line = html.escape(self.alt, quote=True)
            return {"text/html": f'<p class="ta-note ta-quiet">{line}</p>', "text/plain": self.alt}
        svg = self.svg()
        alt = html.escape(self.alt, quote=True)
        # One drawing, shown in <img> (an SVG as an image runs nothing and fetches nothing):
        # the same markup in JupyterLab and in the exported page. A chart drawn twice puts the
        # wider drawing in the <img> and the phone's in a <source> that <picture> picks by
        # width, without CSS or script.
        image = f'<img src="{_data_url(self.svg(WIDE) if self.wide else svg)}" alt="{alt}">'
        phone = f'<source media="{PHONE_MEDIA}" srcset="{_data_url(svg)}">' if self.wide else ""
        picture = f'<picture class="ta-chart">{phone}{image}</picture>'
        return {"text/html": picture, "image/svg+xml": svg, "text/plain": self.alt}

    def __repr__(self) -> str:
        return f"<chart: {self.title}>"


_SVG_SIZE = re.compile(r'<svg ([^>]*?)width="([0-9.]+)pt" height="([0-9.]+)pt"')


def _scaled(svg: str, scale: float) -> str:
    """``svg`` (matplotlib's: its size in pt, its drawing in a viewBox) with its size, and so
    the size a page shows it at, multiplied by ``scale``."""

    def size(match: re.Match) -> str:
        width, height = float(match[2]) * scale, float(match[3]) * scale
        return f'<svg {match[1]}width="{width:.2f}pt" height="{height:.2f}pt"'

    scaled, found = _SVG_SIZE.subn(size, svg, count=1)
    if not found:  # matplotlib changed its output: fail loudly rather than show a tiny chart
        raise ValueError("the SVG from matplotlib carries no width and height in pt")
    return scaled


def _data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()


def _watermark(figure: Figure) -> None:
    # as the figure's super-title, for which the constrained layout keeps a line above the axes:
    # placed as free text, it ran into a chart's title on a phone's narrow rendition
    figure.suptitle("SYNTHETIC DATA", x=0.99, ha="right", fontsize=FONT + 1, fontweight="bold",
                    color=WARNING)  # fmt: skip
    figure.text(0.5, 0.5, "SYNTHETIC", ha="center", va="center", fontsize=40, color=WARNING,
                alpha=0.08, rotation=20, fontweight="bold")  # fmt: skip


def _nothing(title: str, data: pd.DataFrame) -> Chart:
    """A small chart that says there is nothing to draw (no group, no supplier chosen)."""

    def draw(width: float) -> Figure:
        fig = _new_figure(width, 1.0)
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "nothing to draw", ha="center", va="center", fontsize=FONT,
                transform=ax.transAxes)  # fmt: skip
        ax.set_axis_off()
        return fig

    return Chart(draw, title, f"{title}: nothing to draw.", _synthetic(data), quiet=True)


def _frame(source: Any) -> pd.DataFrame:
    """A section Table's numbers, or a DataFrame as it is."""
    data = getattr(source, "data", source)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a section Table or a DataFrame, got {type(source).__name__}")
    return data


def _synthetic(data: pd.DataFrame) -> bool:
    return bool(data.attrs.get("synthetic", False))


def _few_words(data: pd.DataFrame) -> str:
    n = data.attrs.get("min_n_rate", data.attrs.get("min_n"))
    return f"too few for a rate (n<{n})" if n is not None else "too few for a rate"


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _labels(data: pd.DataFrame) -> list[str]:
    column = "label" if "label" in data.columns else "group"
    return [str(v) for v in data[column]]


def _style(ax, title: str, width: float) -> None:
    ax.set_title(title, fontsize=FONT + 1, loc="left", wrap=True)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)


def _wrap(text: str, width: float) -> str:
    """A label wrapped for a narrow chart (about 4 characters per inch of chart)."""
    import textwrap

    limit = max(14, int(width * 4.5))
    return "\n".join(textwrap.wrap(text, limit)) if len(text) > limit else text


def _axis_text(text: str, width: float) -> str:
    """An axis label wrapped to the chart's width (about 12 characters of 9 pt per inch), so
    that a phone's narrow rendition does not grow wider than the phone and shrink its type."""
    import textwrap

    return "\n".join(textwrap.wrap(text, max(24, int(width * 12))))


def _rate_series(data: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(prefix, name, colour) of the windows a breakdown frame holds."""
    series = [("", str(data.attrs.get("period_label", "period")), ACCENT)]
    if "trailing_supplier_sided_rate" in data:
        series.append(("trailing_", str(data.attrs.get("second_label", fmt.TRAILING)), SECOND))
    return series


def interval_bars(
    source: Any,
    title: str = "Supplier-sided rate",
    rate: str = "supplier_sided_rate",
    low: str = "supplier_sided_ci_low",
    high: str = "supplier_sided_ci_high",
    xlabel: str = "supplier-sided / decided",
) -> Chart:
    """Horizontal bars of a rate with its interval, one group per row (the period, and the
    trailing 12 months beside it when the frame has them). Groups with too few decided cases get
    words instead of a bar; the overall row is the last, with its rate as a dashed line."""
    data = _frame(source).reset_index(drop=True)
    if data.empty:
        return _nothing(title, data)
    labels = _labels(data)
    series = _rate_series(data) if rate == "supplier_sided_rate" else [("", "period", ACCENT)]
    overall_flags = (
        data["is_overall"].astype(bool)
        if "is_overall" in data
        else pd.Series(False, index=data.index)
    )
    drawable = [
        not bool(row.get(f"{prefix}suppressed", False)) and _finite(row.get(f"{prefix}{rate}"))
        for _, row in data.iterrows()
        for prefix, _, _ in series
    ]
    if not any(drawable):
        # every group withheld or not recorded: words without a bar are one line, not a chart
        return _nothing(title, data)

    def draw(width: float) -> Figure:
        rows = len(data)
        fig = _new_figure(width, min(1.4 + 0.42 * max(rows, 1) * len(series), 11.0))
        ax = fig.add_subplot()
        height = 0.8 / len(series)
        positions = np.arange(rows)[::-1]
        for s, (prefix, name, colour) in enumerate(series):
            offset = (len(series) - 1) / 2 * height - s * height
            for i, row in data.iterrows():
                y = positions[i] + offset
                value = row.get(f"{prefix}{rate}")
                withheld = bool(row.get(f"{prefix}suppressed", False)) or not _finite(value)
                if withheld:
                    words = (fmt.NOT_RECORDED if bool(row.get("not_recorded", False))
                             else f"{name}: {_few_words(data)}")  # fmt: skip
                    ax.text(0.005, y, words, va="center", ha="left",
                            fontsize=FONT - 1, color=OVERALL, style="italic")  # fmt: skip
                    continue
                few = bool(row.get(f"{prefix}few_cases", False))
                ax.barh(y, value, color=colour, alpha=0.45 if few else 0.9, height=height * 0.9,
                        hatch="//" if few else None, edgecolor=colour,
                        label=name + (" (few cases: hatched)" if few else ""))  # fmt: skip
                lo, hi = row.get(f"{prefix}{low}"), row.get(f"{prefix}{high}")
                if _finite(lo) and _finite(hi):
                    ax.errorbar(value, y, xerr=[[value - lo], [hi - value]], fmt="none",
                                ecolor="black", capsize=3, linewidth=1)  # fmt: skip
                if overall_flags[i] and s == 0:
                    ax.axvline(value, color=OVERALL, linestyle="--", linewidth=1)
        ax.set_yticks(positions, [_wrap(x, width) for x in labels], fontsize=FONT)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel(_axis_text(xlabel, width), fontsize=FONT)
        _style(ax, title, width)
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        if len(series) > 1 or any("few" in n for n in unique):
            # under the axes, where it hides no bar
            fig.legend(unique.values(), unique.keys(), fontsize=FONT - 1,
                       loc="outside lower center", ncols=3 if width > 5 else 2, frameon=False)  # fmt: skip
        return fig

    shown = data[~data.get("suppressed", pd.Series(False, index=data.index)).astype(bool)]
    alt = (
        f"{title}: horizontal bars of the {xlabel} with their intervals for {len(data)} rows "
        f"({', '.join(n for _, n, _ in series)}); "
        + (
            f"highest {shown.loc[shown[rate].idxmax(), 'label' if 'label' in shown else 'group']} "
            f"{100 * shown[rate].max():.0f}%, lowest "
            f"{shown.loc[shown[rate].idxmin(), 'label' if 'label' in shown else 'group']} "
            f"{100 * shown[rate].min():.0f}%."
            if len(shown) and shown[rate].notna().any()
            else "no group has enough decided cases for a rate."
        )
    )
    return Chart(draw, title, alt, _synthetic(data))


def heatmap(source: Any, title: str = "Supplier-sided rate by category and claim type") -> Chart:
    """Category x claim type grid of the supplier-sided rate; cells with too few decided cases
    are hatched and carry no value, cells with no decided case stay white."""
    import seaborn as sns

    data = _frame(source)
    rows_label = "category_label" if "category_label" in data else "category"
    cols_label = "claim_type_label" if "claim_type_label" in data else "claim_type"

    def draw(width: float) -> Figure:
        fig = _new_figure(
            width, 1.8 + 0.42 * max(data[rows_label].nunique() if len(data) else 1, 1)
        )
        ax = fig.add_subplot()
        # (the title starts after the row labels: wrapped to the grid's width)
        ax.set_title(_axis_text(title, width - 1.5), fontsize=FONT + 1, loc="left")
        if data.empty:
            ax.text(
                0.5, 0.5, "no cases in the window", ha="center", va="center", transform=ax.transAxes
            )
            ax.set_axis_off()
            return fig
        rates = data.pivot(index=rows_label, columns=cols_label, values="supplier_sided_rate")
        decided = data.pivot(index=rows_label, columns=cols_label, values="decided").fillna(0)
        withheld = data.pivot(index=rows_label, columns=cols_label, values="suppressed")
        withheld = withheld.astype("boolean").fillna(False).astype(bool)
        shown = rates.where(~withheld)
        roomy = _roomy(width, len(shown.columns))
        notes = shown.map(lambda v: f"{100 * v:.0f}%" if _finite(v) and roomy else "")
        sns.heatmap(
            shown.astype(float), ax=ax, mask=shown.isna(), vmin=0, vmax=1, cmap="cividis",
            annot=notes.to_numpy(), fmt="", annot_kws={"fontsize": FONT - 1}, linewidths=0.5,
            linecolor="white", cbar_kws={"format": PercentFormatter(1.0), "label": "supplier-sided / decided"},
        )  # fmt: skip
        hatched = 0
        for i, row_name in enumerate(shown.index):
            for j, col_name in enumerate(shown.columns):
                if withheld.loc[row_name, col_name] and decided.loc[row_name, col_name] > 0:
                    ax.add_patch(Rectangle((j, i), 1, 1, facecolor="#f4f4f4", hatch=HATCH,
                                           edgecolor=MUTED, linewidth=0))  # fmt: skip
                    hatched += 1
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=FONT - 1)
        ax.tick_params(axis="x", labelrotation=35)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
        if hatched:
            fig.legend(
                handles=[Patch(facecolor="#f4f4f4", edgecolor=MUTED, hatch=HATCH,
                               label=_axis_text(f"{_few_words(data)}: no value; white: no decided case", width - 0.4))],
                loc="outside lower left", fontsize=FONT - 1, frameon=False,
            )  # fmt: skip
        return fig

    shown = data[~data["suppressed"].astype(bool)] if len(data) else data
    alt = (
        f"{title}: a grid of {data[rows_label].nunique() if len(data) else 0} categories by "
        f"{data[cols_label].nunique() if len(data) else 0} claim types; {len(shown)} cells have "
        "enough decided cases for a rate"
        + (f", from {100 * shown['supplier_sided_rate'].min():.0f}% to "
           f"{100 * shown['supplier_sided_rate'].max():.0f}%." if len(shown) else ".")
    )  # fmt: skip
    # the values fit in the cells on a wider screen and not on a phone: a second drawing
    columns = data[cols_label].nunique() if len(shown) else 0
    wide = bool(columns) and _roomy(WIDE, columns) and not _roomy(WIDTH, columns)
    return Chart(draw, title, alt, _synthetic(data), wide=wide)


def _roomy(width: float, columns: int) -> bool:
    """Whether a heat map ``width`` inches wide writes a value in each of its ``columns``
    cells: where a cell can hold '100%' (about 0.32 in of the grid's width after the row labels
    and the colour bar); else the table beside it gives the values."""
    return (width - 2.6) / max(columns, 1) >= 0.32


def refund_ratios(source: Any, title: str = "Refund ratio, pooled") -> Chart:
    """The pooled refund ratio per group: the period (filled) and the 12 months (hollow)."""
    data = _frame(source).reset_index(drop=True)
    labels = _labels(data)
    series = [("", str(data.attrs.get("period_label", "period")), ACCENT, "o", "full")]
    if "trailing_refund_ratio_pooled" in data:
        series.append(("trailing_", f"{fmt.TRAILING}", SECOND, "s", "none"))

    def draw(width: float) -> Figure:
        fig = _new_figure(width, min(1.4 + 0.38 * max(len(data), 1), 10.0))
        ax = fig.add_subplot()
        positions = np.arange(len(data))[::-1]
        for prefix, name, colour, marker, fill in series:
            for i, row in data.iterrows():
                value = row.get(f"{prefix}refund_ratio_pooled")
                if bool(row.get(f"{prefix}suppressed", False)) or not _finite(value):
                    continue
                ax.plot(
                    value,
                    positions[i],
                    marker,
                    color=colour,
                    fillstyle=fill,
                    markersize=7,
                    label=name,
                )
        ax.set_yticks(positions, [_wrap(x, width) for x in labels], fontsize=FONT)
        ax.set_xlim(-0.02, 1.02)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel(_axis_text("refunded / claimed (groups with too few cases are left out)", width),
                      fontsize=FONT)  # fmt: skip
        _style(ax, title, width)
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        if unique:
            ax.legend(unique.values(), unique.keys(), fontsize=FONT - 1, loc="lower right")
        return fig

    alt = f"{title}: dots of the share of the claimed money refunded, for {len(data)} rows ({', '.join(s[1] for s in series)})."
    return Chart(draw, title, alt, _synthetic(data))


def p_chart(source: Any, title: str = "Supplier-sided rate by month (p-chart)") -> Chart:
    """Top: each month's supplier-sided rate against the 12 months' pooled rate and its 3-sigma
    limits for the month's decided cases (outside: marked). Bottom: cases opened and closed."""
    data = _frame(source).reset_index(drop=True)
    months = [str(m) for m in data["month"]]

    def draw(width: float) -> Figure:
        x = np.arange(len(months))
        fig = _new_figure(width, 5.2)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        rate = data["p_chart_rate"].astype(float)
        centre = data["p_chart_centre"].astype(float)
        top.fill_between(x, data["p_chart_low"].astype(float), data["p_chart_high"].astype(float),
                         step="mid", color=MUTED, alpha=0.25, linewidth=0, label=f"{fmt.SIGMA_LIMITS}")  # fmt: skip
        top.plot(x, centre, "--", color=OVERALL, linewidth=1, label=f"{fmt.TRAILING}' rate")
        top.plot(x, rate, "o-", color=ACCENT, label="month's rate")
        outside = data["control"].notna().to_numpy()
        if outside.any():
            top.plot(x[outside], rate[outside], "D", color=WARNING, markersize=9, fillstyle="none",
                     label="outside the limits")  # fmt: skip
        top.set_ylim(0, 1)
        top.yaxis.set_major_formatter(PercentFormatter(1.0))
        _style(top, title, width)
        top.legend(fontsize=FONT - 1, loc="upper left", ncols=2)
        w = 0.4
        bottom.bar(x - w / 2, data["cases_opened"], w, color=PALETTE[5], label="opened")
        bottom.bar(x + w / 2, data["cases_closed"], w, color=OVERALL, label="closed", hatch="..")
        bottom.set_xticks(x, months, rotation=45, ha="right", fontsize=FONT - 1)
        bottom.tick_params(axis="y", labelsize=FONT - 1)
        bottom.set_ylabel("cases", fontsize=FONT)
        bottom.legend(fontsize=FONT - 1, loc="upper left", ncols=2)
        bottom.grid(axis="y", alpha=0.3)
        return fig

    out = data[data["control"].notna()]
    alt = (
        f"{title}: the monthly rate of {len(months)} months against the {fmt.TRAILING}' rate of "
        f"{100 * data['p_chart_centre'].iloc[0]:.0f}% and {fmt.SIGMA_LIMITS}; "
        + ("no month is outside them." if out.empty else
           "outside: " + ", ".join(f"{m} ({c})" for m, c in zip(out["month"], out["control"], strict=True)) + ".")
        + " Below, bars of the cases opened and closed each month."
    ) if len(data) and _finite(data["p_chart_centre"].iloc[0]) else f"{title}: no decided case in the 12 months."  # fmt: skip
    return Chart(draw, title, alt, _synthetic(data))


def km_curves(source: Any, title: str = "Time to resolution (Kaplan-Meier)") -> Chart:
    """Share of cases still open after t days: the overall curve with its band, and one curve per
    group with enough cases, each its own colour and line style. Curves stop where fewer than the
    minimum are at risk. ``source`` is the Table of the time-to-resolution section or the dict
    of :func:`analysis.metrics.resolution.time_to_resolution`."""
    result = getattr(source, "source", source)
    if not isinstance(result, dict) or "overall" not in result:
        raise TypeError("km_curves needs the result of time_to_resolution")
    synthetic = bool(getattr(source, "data", pd.DataFrame()).attrs.get("synthetic", False)) or bool(
        result.get("synthetic", False)
    )
    groups = result.get("groups", {})

    def draw(width: float) -> Figure:
        fig = _new_figure(width, 5.4)
        ax = fig.add_subplot()
        overall = result["overall"]
        drawn = 0
        if overall.get("curve") is not None and len(overall["curve"]):
            curve = overall["curve"]
            ax.step(curve["days"], curve["survival"], where="post", color="black", linewidth=2.2,
                    label=f"all (n={overall['n']})")  # fmt: skip
            ax.fill_between(curve["days"], curve["ci_low"], curve["ci_high"], step="post",
                            color="black", alpha=0.1, linewidth=0)  # fmt: skip
            drawn += 1
        skipped = []
        k = 0
        for name, group in groups.items():
            if group.get("suppressed") or group.get("curve") is None or not len(group["curve"]):
                skipped.append(_group_label(result.get("by"), name))
                continue
            curve = group["curve"]
            ax.step(curve["days"], curve["survival"], where="post",
                    color=PALETTE[k % (len(PALETTE) - 1)], linestyle=LINESTYLES[(k // (len(PALETTE) - 1)) % 4],
                    linewidth=1.3, label=f"{_group_label(result.get('by'), name)} (n={group['n']})")  # fmt: skip
            k += 1
            drawn += 1
        ax.axhline(0.5, color=MUTED, linestyle=":", linewidth=1)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel(_axis_text(f"days since the case was opened (open cases followed to {result.get('as_of', 'the as-of date')})", width),
                      fontsize=FONT)  # fmt: skip
        ax.set_ylabel("still open", fontsize=FONT)
        _style(ax, title, width)
        if drawn:
            # below the axes (the figure's legend, which the layout makes room for): inside,
            # the legend of a dozen groups would hide their curves
            handles, names = ax.get_legend_handles_labels()
            # (one column on a phone: two of 'Beauty & Personal Care (n=3110)' do not fit)
            fig.legend(handles, names, fontsize=FONT - 1, loc="outside lower left",
                       ncols=3 if width > 5 else 1, frameon=False,
                       title=_wrap(f"no curve (too few cases): {', '.join(skipped)}", width * 2.2)
                       if skipped else None, title_fontsize=FONT - 1)  # fmt: skip
        else:
            ax.text(0.5, 0.5, "too few cases opened for a curve", ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip
        return fig

    median = result["overall"].get("median")
    alt = (
        f"{title}: step curves of the share of cases still open by days since opening, for all "
        f"{result['overall']['n']} cases and {len(groups)} groups; the overall median is "
        + (f"{median:g} days." if median is not None else "not reached.")
    )
    return Chart(draw, title, alt, synthetic)


def cohorts(source: Any, title: str = "What became of each month's cases") -> Chart:
    """Stacked bars per opening month: still open, for the buyer, for the supplier, lapsed."""
    data = _frame(source).reset_index(drop=True)
    parts = (("for_buyer", "decided for the buyer", PALETTE[2], None),
             ("for_supplier", "decided for the supplier", PALETTE[3], "//"),
             ("lapsed", "lapsed", MUTED, ".."), ("still_open", "still open", PALETTE[5], "\\\\"))  # fmt: skip

    def draw(width: float) -> Figure:
        fig = _new_figure(width, 4.0)
        ax = fig.add_subplot()
        x = np.arange(len(data))
        bottom = np.zeros(len(data))
        for column, name, colour, hatch in parts:
            share = data[f"{column}_share"].fillna(0).to_numpy()
            ax.bar(
                x,
                share,
                0.7,
                bottom=bottom,
                color=colour,
                hatch=hatch,
                edgecolor="white",
                label=name,
            )
            bottom += share
        ax.set_xticks(x, data["month"], rotation=45, ha="right", fontsize=FONT - 1)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylabel(
            f"share of the cases opened (as of {data.attrs.get('as_of', '')})", fontsize=FONT
        )
        _style(ax, title, width)
        ax.legend(
            fontsize=FONT - 1, loc="upper left", bbox_to_anchor=(0, -0.28), ncols=2, frameon=False
        )
        return fig

    alt = (f"{title}: stacked bars for {len(data)} opening months of the shares decided for the "
           "buyer, for the supplier, lapsed and still open as of the data's date.")  # fmt: skip
    return Chart(draw, title, alt, _synthetic(data))


#: The funnel plot's O/E axis ends here (or above the highest named supplier): the limits of a
#: supplier with a fraction of one expected case reach far higher and would flatten the rest.
FUNNEL_TOP = 4.0


def funnel_plot(source: Any, title: str = "Suppliers against their case mix") -> Chart:
    """Every supplier's O/E against its expected count E, with the interval and call-out limits
    around 1; suppliers beyond the call-out limits with enough cases are named, the rest are
    points. Small suppliers above the axis's top are drawn on it as triangles and counted."""
    from analysis.metrics.suppliers import funnel_limits

    data = _frame(source)
    confidence = data.attrs.get("confidence", settings.CONFIDENCE)

    def draw(width: float) -> Figure:
        fig = _new_figure(width, 4.6)
        ax = fig.add_subplot()
        usable = data[data["expected"] > 0]
        if usable.empty:
            ax.text(
                0.5, 0.5, "no supplier with an expected count", ha="center", transform=ax.transAxes
            )
            ax.set_axis_off()
            return fig
        named = usable[usable["named"]]
        small = usable[~usable["named"]]
        top = max(FUNNEL_TOP, 1.15 * float(named["oe_ratio"].max()) if len(named) else 0.0)
        grid = np.geomspace(
            max(usable["expected"].min() * 0.8, 0.05), usable["expected"].max() * 1.2, 200
        )
        # the limits of a supplier whose every case has the overall rate, from the flag's exact
        # distribution (steps: counts are whole numbers)
        rate = float(data["supplier_sided"].sum() / data["decided"].sum())
        for level, style in ((confidence, "--"), (settings.FLAG_CONFIDENCE, ":")):
            low, high = funnel_limits(grid, level, rate)
            ax.plot(grid, low, style, color=OVERALL, linewidth=1, drawstyle="steps-mid",
                    label=f"{fmt.level(level)} limits")  # fmt: skip
            ax.plot(grid, np.minimum(high, top * 1.5), style, color=OVERALL, linewidth=1,
                    drawstyle="steps-mid")  # fmt: skip
        ax.axhline(1, color=OVERALL, linewidth=0.8)
        below = small[small["oe_ratio"] <= top]
        above = small[small["oe_ratio"] > top]
        # thousands of points (a large store's suppliers) are drawn as one embedded image: as
        # vectors each is an element of the SVG (47 MB at 1M cases); the axes and text stay vectors
        dense = len(usable) > DENSE_POINTS
        ax.scatter(below["expected"], below["oe_ratio"], s=10, color=MUTED, alpha=0.6,
                   label=f"fewer than {data.attrs.get('min_n_named', '')} decided: not named",
                   rasterized=dense)  # fmt: skip
        if len(above):
            ax.scatter(above["expected"], np.full(len(above), top * 0.98), s=16, marker="^",
                       color=MUTED, label=f"not named, O/E above {top:g} ({len(above)})",
                       rasterized=dense)  # fmt: skip
        ax.scatter(
            named["expected"],
            named["oe_ratio"],
            s=28,
            color=ACCENT,
            marker="o",
            label="named",
            rasterized=dense,
        )
        flagged = named[named["flag"].notna()]
        ax.scatter(flagged["expected"], flagged["oe_ratio"], s=80, facecolors="none",
                   edgecolors=WARNING, linewidths=1.5, label=f"beyond the {fmt.FLAG_LIMITS}")  # fmt: skip
        for row in flagged.itertuples():
            name = str(
                row.supplier_name if isinstance(row.supplier_name, str) else row.supplier_id
            )[:28]
            # names go to the left of their point: the large suppliers sit at the right edge
            ax.annotate(name, (row.expected, row.oe_ratio), textcoords="offset points",
                        xytext=(-6, 6), ha="right", fontsize=FONT - 1, color=WARNING)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel(
            _axis_text(
                "expected supplier-sided decisions for the supplier's case mix (E, log scale)",
                width,
            ),
            fontsize=FONT,
        )
        ax.set_ylabel("observed / expected (O/E)", fontsize=FONT)
        ax.set_ylim(0, top)
        _style(ax, title, width)
        ax.legend(fontsize=FONT - 1, loc="upper right")
        return fig

    flagged = data[data["flag"].notna()] if "flag" in data else data.iloc[:0]
    named_count = int(data["named"].sum()) if len(data) else 0
    alt = (
        f"{title}: a funnel plot of {len(data)} suppliers' observed / expected ratio against their "
        f"expected count, with {fmt.level(confidence)} and {fmt.FLAG_LIMITS} from the exact "
        "distribution of the count of a supplier whose cases all have the overall rate; "
        f"{named_count} "
        f"suppliers have enough cases to be named, {len(flagged)} lie beyond the {fmt.FLAG_LIMITS}."
    )
    return Chart(draw, title, alt, _synthetic(data))


#: Odds-ratio ticks of the forest plot (a log axis labelled in plain numbers).
_OR_TICKS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)


def forest(source: Any, title: str = "What goes with a supplier-sided outcome") -> Chart:
    """Adjusted odds ratios with their intervals (filled) and the raw ones (hollow), log scale."""
    from matplotlib.ticker import FixedLocator, NullLocator

    data = _frame(source).reset_index(drop=True)

    def draw(width: float) -> Figure:
        labels = (
            data["short_label"] if "short_label" in data else data.get("label", data.get("term"))
        )
        wrapped = [_wrap(str(x), width) for x in (labels if labels is not None else [])]
        # a row as tall as its longest wrapped label (three lines of 8 pt need 0.45 in)
        lines = max([w.count("\n") + 1 for w in wrapped] or [1])
        row = max(0.3, 0.14 * lines + 0.03)
        fig = _new_figure(width, min(1.6 + row * max(len(data), 1), 16.0))
        ax = fig.add_subplot()
        if data.empty:
            ax.text(0.5, 0.5, "the model was not fitted", ha="center", transform=ax.transAxes)
            ax.set_axis_off()
            return fig
        y = np.arange(len(data))[::-1]
        ax.errorbar(data["odds_ratio"], y, xerr=[data["odds_ratio"] - data["ci_low"], data["ci_high"] - data["odds_ratio"]],
                    fmt="o", color=ACCENT, capsize=3, label="adjusted (interval)")  # fmt: skip
        raw = data["raw_odds_ratio"].astype(float)
        ax.plot(raw, y + 0.25, "s", color=SECOND, fillstyle="none", label="raw")
        ax.axvline(1, color=OVERALL, linewidth=1)
        ax.set_xscale("log")
        values = pd.concat([data["ci_low"], data["ci_high"], raw]).astype(float)
        values = values[np.isfinite(values) & (values > 0)]
        low, high = float(values.min()) / 1.3, float(values.max()) * 1.3
        ax.set_xlim(low, high)
        ax.xaxis.set_major_locator(FixedLocator([t for t in _OR_TICKS if low <= t <= high]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
        ax.set_yticks(y, wrapped, fontsize=FONT - 1)
        ax.set_xlabel(_axis_text("odds ratio of a supplier-sided outcome (log scale; below 1: better for the buyer)", width),
                      fontsize=FONT)  # fmt: skip
        _style(ax, title, width)
        ax.legend(fontsize=FONT - 1, loc="lower right")
        return fig

    excludes = data[(data["ci_low"] > 1) | (data["ci_high"] < 1)] if len(data) else data
    alt = (f"{title}: adjusted odds ratios with intervals (and raw ones) for {len(data)} "
           f"characteristics on a log scale; {len(excludes)} intervals exclude 1.")  # fmt: skip
    if data.empty:  # one line of text in the report, no image
        return Chart(
            draw, title, f"{title}: the model was not fitted.", _synthetic(data), quiet=True
        )
    return Chart(draw, title, alt, _synthetic(data))


def _group_label(by: str | None, name: Any) -> str:
    from analysis.report.labels import label

    return label(by, name) if by else str(name)


#: For tests and authors: the legend entry of a line (a Line2D) by its label.
def legend_labels(figure: Figure) -> list[str]:
    """The legend texts of every axes of ``figure`` and of the figure itself."""
    legends = [ax.get_legend() for ax in figure.axes] + list(figure.legends)
    return [t.get_text() for legend in legends if legend is not None for t in legend.get_texts()]


__all__ = ["Chart", "Line2D", "cohorts", "forest", "funnel_plot", "heatmap", "interval_bars",
           "km_curves", "p_chart", "refund_ratios"]  # fmt: skip
