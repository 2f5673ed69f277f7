"""Tests for analysis.plots: what each chart draws, on small hand-made frames (Agg backend)."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.image import imread  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from analysis.report import plots  # noqa: E402
from analysis.report.display import Table  # noqa: E402


def rates_frame() -> pd.DataFrame:
    """A breakdown as supplier_sided_by gives it: the period beside the trailing 12 months."""
    frame = pd.DataFrame(
        {
            "group": ["machinery", "toys", "all"],
            "label": ["Machinery", "Toys", "All"],
            "supplier_sided_rate": [0.5, np.nan, 0.4],
            "supplier_sided_ci_low": [0.3, np.nan, 0.3],
            "supplier_sided_ci_high": [0.7, np.nan, 0.5],
            "suppressed": [False, True, False],
            "few_cases": [True, False, False],
            "trailing_supplier_sided_rate": [0.45, 0.2, 0.35],
            "trailing_supplier_sided_ci_low": [0.4, 0.1, 0.3],
            "trailing_supplier_sided_ci_high": [0.5, 0.35, 0.4],
            "trailing_suppressed": [False, False, False],
            "trailing_few_cases": [False, False, False],
            "is_overall": [False, False, True],
        }
    )
    frame.attrs.update(min_n=30, min_n_rate=10, period_label="2026-03")
    return frame


def bars(ax) -> list[Rectangle]:
    # barh patches: Rectangles anchored at x = 0 (the axes background is not in ax.patches)
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_interval_bars_draws_both_windows_and_words_for_too_few_cases():
    chart = plots.interval_bars(Table(frame=pd.DataFrame(), caption="", data=rates_frame()))
    ax = chart.figure.axes[0]
    drawn = sorted((round(p.get_width(), 6), bool(p.get_hatch())) for p in bars(ax))
    # period: machinery (few cases: hatched) and the overall; 12 months: all three
    assert drawn == [(0.2, False), (0.35, False), (0.4, False), (0.45, False), (0.5, True)]
    assert [t.get_text() for t in ax.texts] == ["2026-03: too few for a rate (n<10)"]
    # group labels top to bottom in the table's order
    ticks = sorted(
        zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()], strict=True),
        reverse=True,
    )
    assert [name for _, name in ticks] == ["Machinery", "Toys", "All"]
    # the overall rate of the period as a dashed reference line
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [0.4, 0.4]
    # the whiskers: one horizontal segment per drawn bar, from its low to its high end
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    spans = sorted((round(s[0][0], 6), round(s[1][0], 6)) for s in segments)
    assert spans == [(0.1, 0.35), (0.3, 0.4), (0.3, 0.5), (0.3, 0.7), (0.4, 0.5)]
    assert sorted(plots.legend_labels(chart.figure)) == [
        "12 months", "2026-03", "2026-03 (few cases: hatched)",
    ]  # fmt: skip
    assert chart.alt.startswith("Supplier-sided rate: horizontal bars")


def test_interval_bars_rejects_other_inputs():
    with pytest.raises(TypeError, match="section Table or a DataFrame"):
        plots.interval_bars([1, 2])


def heat_frame() -> pd.DataFrame:
    # machinery x quality: 50% of 40 decided; machinery x late: 5 decided (too few);
    # toys x quality: 0 decided (cases opened only); toys x late: no row at all.
    frame = pd.DataFrame(
        {
            "category": ["machinery", "machinery", "toys"],
            "claim_type": ["quality", "late_shipment", "quality"],
            "category_label": ["Machinery", "Machinery", "Toys"],
            "claim_type_label": ["Quality", "Late", "Quality"],
            "decided": [40, 5, 0],
            "supplier_sided": [20, 1, 0],
            "supplier_sided_rate": [0.5, np.nan, np.nan],
            "suppressed": [False, True, True],
        }
    )
    frame.attrs["min_n_rate"] = 10
    return frame


def test_heatmap_hatches_cells_with_too_few_cases():
    chart = plots.heatmap(heat_frame())
    ax = chart.figure.axes[0]
    annotations = [t.get_text() for t in ax.texts if t.get_text()]
    assert annotations == ["50%"]  # only the cell with enough cases has a value
    hatched = [p for p in ax.patches if p.get_hatch()]
    # one hatched cell (machinery x late: 1-9 decided); the 0-decided cell stays white
    assert len(hatched) == 1
    columns = [t.get_text() for t in ax.get_xticklabels()]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    x, y = hatched[0].get_xy()
    assert (rows[int(y)], columns[int(x)]) == ("Machinery", "Late")
    legend_texts = [t.get_text() for legend in chart.figure.legends for t in legend.get_texts()]
    # wrapped to the phone's width, the one the chart is drawn at
    assert legend_texts == ["too few for a rate (n<10): no value;\nwhite: no decided case"]


def test_heatmap_without_cases():
    chart = plots.heatmap(heat_frame().iloc[:0])
    assert [t.get_text() for t in chart.figure.axes[0].texts] == ["no cases in the window"]


def test_refund_ratios_draws_both_windows():
    frame = pd.DataFrame(
        {
            "label": ["A", "B"],
            "refund_ratio_pooled": [0.25, np.nan],
            "suppressed": [False, True],
            "trailing_refund_ratio_pooled": [0.3, 0.6],
            "trailing_suppressed": [False, False],
        }
    )
    frame.attrs["period_label"] = "2026-03"
    ax = plots.refund_ratios(frame).figure.axes[0]
    points = sorted(
        (line.get_marker(), line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines
    )
    # row A at the top (y = 1): the period (dot) and 12 months (square); B only for 12 months
    assert points == [("o", 0.25, 1), ("s", 0.3, 1), ("s", 0.6, 0)]


def months_frame() -> pd.DataFrame:
    from analysis.metrics.trends import p_chart

    return p_chart(
        pd.DataFrame(
            {
                "month": ["2026-01", "2026-02", "2026-03"],
                "cases_opened": [30, 30, 0],
                "cases_closed": [25, 30, 0],
                "decided": [20, 40, 0],
                "supplier_sided": [18, 6, 0],
            }
        )
    )


def test_p_chart_marks_the_months_outside_their_limits():
    chart = plots.p_chart(months_frame())
    top, bottom = chart.figure.axes
    rate = next(line for line in top.lines if line.get_label() == "month's rate")
    assert list(rate.get_ydata())[:2] == [0.9, 0.15]
    assert np.isnan(rate.get_ydata()[2])  # no decided case in March: a gap, not a zero
    # p0 = 24/60 = 0.4: January's limits 0.4 +- 3 sqrt(0.24/20) = [0.071, 0.729], its 0.9
    # above; February's 0.4 +- 3 sqrt(0.24/40) = [0.168, 0.632], its 0.15 below
    outside = next(line for line in top.lines if line.get_label() == "outside the limits")
    assert list(outside.get_ydata()) == [0.9, 0.15]
    assert "outside: 2026-01 (above), 2026-02 (below)." in chart.alt
    assert sorted(p.get_height() for p in bars(bottom)) == [0, 0, 25, 30, 30, 30]


def km_result() -> dict:
    curve = pd.DataFrame(
        {
            "days": [0.0, 10.0, 20.0],
            "survival": [1.0, 0.5, 0.0],
            "ci_low": [1, 0.2, 0],
            "ci_high": [1, 0.8, 0],
        }
    )
    return {
        "by": "category",
        "as_of": "2026-04-30",
        "overall": {"curve": curve, "n": 4, "suppressed": False, "median": 10.0},
        "groups": {
            "machinery": {"curve": curve, "n": 3, "suppressed": False},
            "toys_sports": {"curve": None, "n": 1, "suppressed": True},
        },
    }


def test_km_curves_draws_the_groups_with_a_curve_and_names_the_rest():
    chart = plots.km_curves(km_result())
    ax = chart.figure.axes[0]
    steps = [line for line in ax.lines if line.get_drawstyle() == "steps-post"]
    assert [line.get_label() for line in steps] == ["all (n=4)", "Machinery (n=3)"]
    assert list(steps[0].get_ydata()) == [1.0, 0.5, 0.0]
    legend = chart.figure.legends[0]
    assert legend.get_title().get_text() == "no curve (too few cases): Toys &\nSports"
    assert "followed to 2026-04-30" in ax.get_xlabel()
    assert chart.alt.endswith("the overall median is 10 days.")


def test_km_curves_needs_a_resolution_result():
    with pytest.raises(TypeError, match="time_to_resolution"):
        plots.km_curves(pd.DataFrame())


def test_cohorts_stack_to_the_whole_month():
    frame = pd.DataFrame(
        {
            "month": ["2026-02", "2026-03"],
            "for_buyer_share": [0.5, 0.2],
            "for_supplier_share": [0.3, 0.1],
            "lapsed_share": [0.2, 0.1],
            "still_open_share": [0.0, 0.6],
        }
    )
    ax = plots.cohorts(frame).figure.axes[0]
    tops = {}
    for patch in bars(ax):
        x = round(patch.get_x() + patch.get_width() / 2)
        tops[x] = max(tops.get(x, 0), patch.get_y() + patch.get_height())
    assert tops == pytest.approx({0: 1.0, 1: 1.0})


def oe_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "supplier_id": ["BIG", "FLAGGED", "SMALL", "TINY"],
            "supplier_name": ["Big Co", "Flagged Co", None, None],
            "decided": [100, 75, 5, 1],
            "supplier_sided": [40, 51, 3, 2],
            "expected": [40.0, 30.0, 2.0, 0.2],
            "oe_ratio": [1.0, 1.7, 1.5, 10.0],
            "named": [True, True, False, False],
            "flag": [None, "high", None, None],
        }
    )
    frame.attrs.update(confidence=0.95, min_n_named=30)
    return frame


def test_funnel_plot_names_only_the_flagged_named_suppliers():
    chart = plots.funnel_plot(oe_frame())
    ax = chart.figure.axes[0]
    assert [t.get_text() for t in ax.texts] == ["Flagged Co"]
    # TINY (O/E 10 on a fifth of a case) is drawn on the axis's top edge, counted in the legend
    assert ax.get_ylim()[1] == plots.FUNNEL_TOP
    assert "not named, O/E above 4 (1)" in plots.legend_labels(chart.figure)
    assert {"95% limits", "99.8% limits", "named"} <= set(plots.legend_labels(chart.figure))
    assert "4 suppliers" in chart.alt and "1 lie beyond the 99.8% limits" in chart.alt
    # the lines are the flag's exact limits for a supplier of the overall rate (96 of 181)
    from analysis.metrics.suppliers import funnel_limits

    upper = [line for line in ax.lines if line.get_linestyle() == ":"][1]
    x, y = upper.get_xdata(), upper.get_ydata()
    assert upper.get_drawstyle() == "steps-mid"
    assert y == pytest.approx(np.minimum(funnel_limits(x, 0.998, 96 / 181)[1], 6.0))
    assert "exact distribution" in chart.alt


def test_forest_draws_adjusted_and_raw_odds_ratios_on_a_log_axis():
    frame = pd.DataFrame(
        {
            "term": ["inspection_report", "escalated"],
            "short_label": ["Inspection report", "Escalated"],
            "odds_ratio": [0.3, 5.0],
            "ci_low": [0.2, 4.0],
            "ci_high": [0.45, 6.5],
            "raw_odds_ratio": [0.8, 5.1],
        }
    )
    chart = plots.forest(frame)
    ax = chart.figure.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.2", "0.5", "1", "2", "5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Inspection report", "Escalated"]
    raw = next(line for line in ax.lines if line.get_label() == "raw")
    assert list(raw.get_xdata()) == [0.8, 5.1]
    assert chart.alt.endswith("2 intervals exclude 1.")
    empty = plots.forest(frame.iloc[:0])
    assert [t.get_text() for t in empty.figure.axes[0].texts] == ["the model was not fitted"]


def test_a_chart_is_drawn_once_as_an_svg_that_reads_on_a_phone_and_scales_up_on_a_screen():
    # issue 30.1: each chart was drawn twice (7 in for the page, 3.9 in for a phone) and saved
    # as two PNGs; now once, at the phone's width, as one SVG a wider screen shows 4/3 larger
    chart = plots.interval_bars(rates_frame())
    draws = []
    drawing = chart.draw
    chart.draw = lambda width: draws.append(width) or drawing(width)
    bundle = chart._repr_mimebundle_()
    assert draws == [3.9]
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<?xml") and "<text" not in svg  # text as outlines: no font fetched
    width, height, box = re.search(
        r'<svg [^>]*width="([0-9.]+)pt" height="([0-9.]+)pt" viewBox="0 0 ([0-9.]+) ', svg
    ).groups()
    # drawn at 3.9 in (374 px: a phone's width; the tight box may add the legend's overhang,
    # under 400 px = 300 pt) and shown at 4/3 of it
    assert 200 < float(box) < 300
    assert float(width) == pytest.approx(float(box) * 4 / 3, abs=0.01)
    assert len(svg) < 150_000
    html = bundle["text/html"]
    encoded = base64.b64encode(svg.encode()).decode()
    assert html == (
        f'<picture class="ta-chart"><img src="data:image/svg+xml;base64,{encoded}" '
        f'alt="{chart.alt}"></picture>'
    )  # one image, no second rendition
    assert bundle["text/plain"] == chart.alt
    assert plots.interval_bars(rates_frame()).svg() == svg  # the same bytes for the same data
    assert repr(chart) == "<chart: Supplier-sided rate>"
    png = chart.png()  # for authors, still at hand
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and imread(io.BytesIO(png)).shape[1] < 400


def _marks(figure) -> list[str]:
    return [t.get_text() for t in figure.texts] + [figure.get_suptitle()]


def test_a_chart_of_synthetic_data_says_so_in_the_image():
    frame = rates_frame()
    assert "SYNTHETIC DATA" not in _marks(plots.interval_bars(frame).figure)
    frame.attrs["synthetic"] = True
    chart = plots.interval_bars(frame)
    assert "SYNTHETIC DATA" in _marks(chart.figure)
    narrow = chart.figure  # the one drawing: a phone's width
    # above the chart's own title, not over it: the layout keeps the line for it
    narrow.canvas.draw()
    mark = narrow.get_suptitle()
    title_top = narrow.axes[0].title.get_window_extent().y1
    assert narrow._suptitle.get_window_extent().y0 >= title_top
    assert mark == "SYNTHETIC DATA"


def test_a_category_whose_every_decision_went_to_the_supplier_is_drawn(tmp_path):
    # issue 14: 41 machinery cases, all no_refund, closed in one month, crashed the report's
    # by-category cell ("'xerr' must not contain negative values")
    from analysis import metrics
    from tests.casefactory import build_store, make_case

    db = build_store(
        tmp_path / "cases.duckdb",
        [
            make_case(outcome="no_refund", opened_date="2026-03-02", closed_date="2026-03-20")
            for _ in range(41)
        ],  # fmt: skip
    )
    data = metrics.block_frame(db, "2026-03-01", "2026-03-31", "category")
    row = data.iloc[0]
    assert (row["decided"], row["supplier_sided"], row["supplier_sided_rate"]) == (41, 41, 1.0)
    assert row["supplier_sided_ci_high"] == 1.0 and row["supplier_sided_ci_low"] < 1.0
    chart = plots.interval_bars(data)
    assert chart.png().startswith(b"\x89PNG")


def test_a_phone_heatmap_of_seven_claim_types_leaves_the_values_to_the_table():
    kinds = ["quality", "late", "missing", "damaged", "quantity", "compliance", "other"]
    frame = pd.DataFrame(
        {
            "category": ["toys"] * 7,
            "claim_type": kinds,
            "category_label": ["Toys"] * 7,
            "claim_type_label": kinds,
            "decided": [40] * 7,
            "supplier_sided": [20] * 7,
            "supplier_sided_rate": [0.5] * 7,
            "suppressed": [False] * 7,
        }
    )
    chart = plots.heatmap(frame)
    # 1.3 in for 7 cells (0.19 in each, '100%' needs 0.32): no value would be legible
    assert [t.get_text() for t in chart.figure.axes[0].texts if t.get_text()] == []
    # a wider screen has room for them (2.65 in for 7 cells): its own drawing, the phone's
    # chosen by <picture> for the phone
    assert chart.wide
    wide = chart._drawn(plots.WIDE)
    assert [t.get_text() for t in wide.axes[0].texts if t.get_text()] == ["50%"] * 7
    html = chart._repr_mimebundle_()["text/html"]
    phone, screen = re.fullmatch(
        r'<picture class="ta-chart"><source media="\(max-width: 600px\)" '
        r'srcset="data:image/svg\+xml;base64,([^"]+)"><img src="data:image/svg\+xml;base64,'
        r'([^"]+)" alt="[^"]+"></picture>',
        html,
    ).groups()
    boxes = [
        float(re.search(r'viewBox="0 0 ([0-9.]+) ', base64.b64decode(b).decode())[1])
        for b in (phone, screen)
    ]
    assert boxes[0] < 300 < 5.25 * 72 * 0.9 < boxes[1] < 5.25 * 72 * 1.1  # 3.9 in and 5.25 in
    # three claim types fit on a phone too: one drawing
    assert not plots.heatmap(frame.iloc[:3]).wide


def test_a_phone_forest_gives_three_line_labels_the_height_they_need():
    long = "Category: Packaging & Printing"  # 3 lines at 17 characters (3.9 in x 4.5)
    frame = pd.DataFrame(
        {
            "term": ["a", "b"],
            "short_label": [long, "Escalated"],
            "odds_ratio": [0.3, 5.0],
            "ci_low": [0.2, 4.0],
            "ci_high": [0.45, 6.5],
            "raw_odds_ratio": [0.8, 5.1],
        }
    )
    chart = plots.forest(frame)
    narrow = chart.figure  # drawn at a phone's width
    assert narrow.axes[0].get_yticklabels()[0].get_text().count("\n") == 2
    assert narrow.get_size_inches()[1] == pytest.approx(1.6 + 2 * 0.45)  # 0.14 x 3 + 0.03
    # the axis label wraps on a phone, so the image stays as wide as the phone
    assert "\n" in narrow.axes[0].get_xlabel()


def test_bars_of_groups_that_are_all_withheld_are_one_line_not_a_chart():
    # every group counts-only or not recorded: words without a bar are one line of text (a
    # small month's report once printed a chart of "not recorded" labels and no bar)
    data = pd.DataFrame({
        "group": ["sgs", "none", "all"], "label": ["SGS", "None", "All"],
        "supplier_sided_rate": [np.nan, np.nan, np.nan], "supplier_sided_ci_low": [np.nan] * 3,
        "supplier_sided_ci_high": [np.nan] * 3, "suppressed": [True, True, True],
        "few_cases": [False] * 3, "decided": [2, 3, 5], "is_overall": [False, False, True],
    })  # fmt: skip
    chart = plots.interval_bars(data, title="By inspection")
    assert chart.quiet
    data.loc[2, ["supplier_sided_rate", "suppressed"]] = [0.4, False]  # one bar to draw
    assert not plots.interval_bars(data, title="By inspection").quiet


def test_a_funnel_of_thousands_of_suppliers_draws_its_points_as_one_image(monkeypatch):
    # at 1M cases the funnel plot's thousands of points were each an element of the SVG (47 MB
    # of page with its table): past DENSE_POINTS they are one embedded image, the axes and the
    # labels stay vectors
    vector = plots.funnel_plot(oe_frame()).svg()
    assert "<image" not in vector
    monkeypatch.setattr(plots, "DENSE_POINTS", 1)
    dense = plots.funnel_plot(oe_frame()).svg()
    assert dense.count("<image") == 1
    assert "<path" in dense  # the limits, axes and labels are still drawn as vectors
