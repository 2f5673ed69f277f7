"""Tests for analysis.plots: what each chart draws, on small hand-made frames (Agg backend)."""

from __future__ import annotations

import io

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
    frame = pd.DataFrame(
        {
            "group": ["machinery", "toys", "all"],
            "label": ["Machinery", "Toys", "All"],
            "supplier_sided_rate": [0.5, np.nan, 0.4],
            "supplier_sided_ci_low": [0.3, np.nan, 0.3],
            "supplier_sided_ci_high": [0.7, np.nan, 0.5],
            "suppressed": [False, True, False],
            "is_overall": [False, False, True],
        }
    )
    frame.attrs["min_n"] = 30
    return frame


def bars(ax) -> list[Rectangle]:
    # barh patches: Rectangles anchored at x = 0 (the axes background is not in ax.patches)
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_interval_bars_draws_unsuppressed_groups_only():
    chart = plots.interval_bars(Table(frame=pd.DataFrame(), caption="", data=rates_frame()))
    ax = chart.figure.axes[0]
    widths = sorted(round(p.get_width(), 6) for p in bars(ax))
    assert widths == [0.4, 0.5]  # machinery and the overall row; toys is suppressed
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["suppressed (n<30)"]
    # labels top to bottom in the table's order
    ticks = sorted(
        zip(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()], strict=True),
        reverse=True,
    )
    assert [name for _, name in ticks] == ["Machinery", "Toys", "All"]
    # the overall rate as a dashed reference line
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [0.4, 0.4]
    # whiskers from 0.3 to 0.7 around 0.5: the error bar's horizontal segment
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    spans = sorted((round(s[0][0], 6), round(s[1][0], 6)) for s in segments)
    assert spans == [(0.3, 0.5), (0.3, 0.7)]


def test_interval_bars_rejects_other_inputs():
    with pytest.raises(TypeError, match="section Table or a DataFrame"):
        plots.interval_bars([1, 2])


def heat_frame() -> pd.DataFrame:
    # machinery x quality: 50% of 40 decided; machinery x late: 5 decided (suppressed);
    # toys x quality: 0 decided (cases opened only); toys x late: no row at all.
    return pd.DataFrame(
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


def test_heatmap_blanks_and_hatches_suppressed_cells():
    chart = plots.heatmap(heat_frame(), min_n=30)
    ax = chart.figure.axes[0]
    annotations = [t.get_text() for t in ax.texts if t.get_text()]
    assert annotations == ["50%"]  # only the unsuppressed cell has a value
    hatched = [p for p in ax.patches if p.get_hatch()]
    # one hatched cell (machinery x late: 1-29 decided); the 0-decided cell stays white
    assert len(hatched) == 1
    columns = [t.get_text() for t in ax.get_xticklabels()]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    x, y = hatched[0].get_xy()
    assert (rows[int(y)], columns[int(x)]) == ("Machinery", "Late")
    legend_texts = [t.get_text() for legend in chart.figure.legends for t in legend.get_texts()]
    assert legend_texts == ["suppressed (n<30): no value shown; white: no decided case"]


def test_heatmap_without_cases():
    chart = plots.heatmap(heat_frame().iloc[:0])
    assert [t.get_text() for t in chart.figure.axes[0].texts] == ["no cases in the period"]


def test_refund_ratios():
    frame = pd.DataFrame(
        {
            "label": ["A", "B"],
            "refund_ratio_pooled": [0.25, np.nan],
            "refund_ratio_median": [0.1, np.nan],
            "suppressed": [False, True],
        }
    )
    ax = plots.refund_ratios(frame, min_n=5).figure.axes[0]
    points = {line.get_marker(): (line.get_xdata()[0], line.get_ydata()[0]) for line in ax.lines}
    assert points == {"o": (0.25, 1), "D": (0.1, 1)}  # row A at the top (y = 1)
    assert [t.get_text() for t in ax.texts] == ["suppressed (n<5)"]


def test_trend_leaves_gaps_for_suppressed_months():
    frame = pd.DataFrame(
        {
            "month": ["2026-01", "2026-02", "2026-03"],
            "complete": [True, True, False],
            "cases_opened": [10, 12, 3],
            "cases_closed": [9, 11, 2],
            "supplier_sided_rate": [0.4, np.nan, 0.5],
            "supplier_sided_ci_low": [0.2, np.nan, 0.3],
            "supplier_sided_ci_high": [0.6, np.nan, 0.7],
            "refund_ratio_pooled": [0.3, np.nan, 0.2],
            "suppressed": [False, True, False],
        }
    )
    chart = plots.trend(frame, min_n=30)
    top, bottom = chart.figure.axes
    rate_line = top.lines[0]
    assert np.isnan(rate_line.get_ydata()[1])  # a gap, not a zero
    assert list(rate_line.get_ydata()[[0, 2]]) == [0.4, 0.5]
    shaded = [
        p for p in top.patches if p.get_alpha() == 0.15 and p.get_facecolor()[:3] != (1, 1, 1)
    ]
    assert len(shaded) == 1  # February marked as suppressed
    assert sorted(p.get_height() for p in bars(bottom)) == [2, 3, 9, 10, 11, 12]
    assert [t.get_text() for t in bottom.texts] == ["partial"]  # March is cut short
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["2026-01", "2026-02", "2026-03"]


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
        "overall": {"curve": curve, "n": 4, "suppressed": False},
        "groups": {
            "machinery": {"curve": curve, "n": 3, "suppressed": False},
            "toys_sports": {"curve": None, "n": 1, "suppressed": True},
        },
    }


def test_km_curves_draws_unsuppressed_groups_and_names_the_rest():
    chart = plots.km_curves(km_result())
    ax = chart.figure.axes[0]
    steps = [line for line in ax.lines if line.get_drawstyle() == "steps-post"]
    assert [line.get_label() for line in steps] == ["all (n=4)", "Machinery (n=3)"]
    assert list(steps[0].get_ydata()) == [1.0, 0.5, 0.0]
    assert [t.get_text() for t in chart.figure.texts] == ["no curve (too few cases): Toys & Sports"]


def test_km_curves_needs_a_resolution_result():
    with pytest.raises(TypeError, match="time_to_resolution"):
        plots.km_curves(pd.DataFrame())


def test_chart_png_is_small():
    chart = plots.interval_bars(rates_frame())
    png = chart._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(io.BytesIO(png))
    height, width = image.shape[:2]
    # 7 in x 96 dpi = 672 px before the tight bounding box trims the margins
    assert 500 <= width <= 700 and height < 400
    assert len(png) < 60_000
    assert repr(chart) == "<chart: Supplier-sided rate>"


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
