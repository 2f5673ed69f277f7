"""The report and the catalogue in a real browser: Debian's Chromium, headless, via Playwright.

Opens the hostile fixture report (tests/notebooks/hostile.ipynb run by papermill and exported)
and a catalogue, and checks what a reader's browser would do: no script error, no alert, no
request leaving the file, working contents links and table sorting, a page that is not blank.
Skipped only where Chromium is missing outside CI; in CI (.ci/run installs it) it must run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analysis.publish import catalogue
from analysis.publish.execute import execute_notebook
from analysis.publish.htmlexport import export_html
from tests.chromium import CHROMIUM, chromium_context

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).parent / "notebooks"

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    executed = folder / "hostile_run.ipynb"
    execute_notebook(NOTEBOOKS / "hostile.ipynb", executed, {"period": "2026-10"}, progress=False)
    return export_html(executed, folder / "reports" / "hostile" / "2026-10" / "hostile_2026-10.html",
                       title="Hostile fixture \u2014 2026-10")  # fmt: skip


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with chromium_context(profile, viewport={"width": 390, "height": 844}) as context:  # a phone
        yield context


def _open(context, path: Path):
    """Open ``path``; return the page and what it did: console errors, dialogs, requests."""
    page = context.new_page()
    seen = {"console_errors": [], "page_errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: m.type == "error" and seen["console_errors"].append(m.text))
    page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))

    def on_dialog(dialog):
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(300)  # let any (unwanted) timer or late handler fire
    return page, seen


def _assert_quiet(seen):
    assert seen["console_errors"] == []
    assert seen["page_errors"] == []
    assert seen["dialogs"] == []
    assert [u for u in seen["requests"] if not u.startswith(("file:", "data:"))] == []


def test_report_runs_nothing_fetches_nothing(browser_context, report):
    page, seen = _open(browser_context, report)
    _assert_quiet(seen)
    # Hostile case text is on the page as text, and the only script is our sorter.
    main_text = page.inner_text("main")
    assert "<script>alert('df-script')</script>" in main_text
    assert "<img src=x onerror=alert('df-img')>" in main_text
    assert page.evaluate("document.scripts.length") == 1
    page.close()


def test_contents_links_navigate(browser_context, report):
    page, seen = _open(browser_context, report)
    hrefs = page.eval_on_selector_all(
        "#ta-toc a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert hrefs == ["#sec-hostile-markdown", "#sec-case-table", "#sec-styled-table",
                     "#sec-raw-outputs", "#sec-figures"]  # fmt: skip
    # the contents are folded (the findings come first): closed until the reader opens them
    assert not page.is_visible('#ta-toc a[href="#sec-figures"]')
    page.click("#ta-toc summary")
    for href in hrefs:
        page.click(f'#ta-toc a[href="{href}"]')
        assert page.evaluate("location.hash") == href
        assert page.evaluate("id => document.getElementById(id) !== null", href[1:])
        # The target heading is scrolled into view.
        top = page.evaluate(
            "id => document.getElementById(id).getBoundingClientRect().top", href[1:]
        )
        assert -1 <= top < 844
    _assert_quiet(seen)
    page.close()


def test_tables_sort_by_clicking_a_header(browser_context, report):
    page, seen = _open(browser_context, report)
    # on a phone the tables are stacked into one card per row, with no header to click: sort on
    # a desktop-wide page
    page.set_viewport_size({"width": 1400, "height": 900})
    column = "table.dataframe tbody td:nth-of-type(2)"  # claimed_usd

    def values():
        return page.eval_on_selector_all(column, "cells => cells.map(c => c.textContent.trim())")

    assert values() == ["10000.0", "150.0", "2500.5", "99.0", "12500.0"]  # notebook order
    header = page.locator("table.dataframe thead th", has_text="claimed_usd")
    header.click()
    assert values() == ["99.0", "150.0", "2500.5", "10000.0", "12500.0"]  # numeric, not text order
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert values() == ["12500.0", "10000.0", "2500.5", "150.0", "99.0"]
    assert header.get_attribute("aria-sort") == "descending"
    _assert_quiet(seen)  # the sorter ran under the CSP: its hash matched
    page.close()


def test_page_is_not_blank(browser_context, report, tmp_path):
    from PIL import Image

    page, seen = _open(browser_context, report)
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        width, height = image.size
    # Text, table rules, the red SVG square and the blue chart: far more than one colour, and a
    # full page much taller than the phone's screen. (Saved under tmp_path for a look.)
    assert colours is not None and len(colours) > 50
    assert width == 390 and height > 1500
    # Nothing wider than the phone: wide tables scroll inside their box instead.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _assert_quiet(seen)
    page.close()


def test_catalogue_page_is_quiet(browser_context, report):
    out = report.parents[2]
    (report.parent / "run.json").write_text(json.dumps({
        "name": "hostile", "period": "2026-10", "status": "ok",
        "generated_at": "2026-11-01T06:00:00+00:00", "html": report.name,
        "headline": {"decided": 4, "supplier_sided_rate": 0.5, "supplier_sided_ci_low": 0.15,
                     "supplier_sided_ci_high": 0.85, "refund_ratio_pooled": 0.185,
                     "suppressed": False, "min_n": 0},
        "error": "<script>alert('catalogue')</script>",
    }))  # fmt: skip
    page, seen = _open(browser_context, catalogue.build_index(out))
    _assert_quiet(seen)
    page.click("table.ta-catalogue a")
    page.wait_for_load_state("load")
    assert page.url == report.as_uri()
    _assert_quiet(seen)
    page.close()


@pytest.fixture(scope="module")
def outcome_page(tmp_path_factory) -> Path:
    """The outcome report of the notebook tests' fixture store, rendered as a reader gets it."""
    from tests.fixture_store import TEST_MIN_N, TEST_PERIOD, build_fixture_store

    folder = tmp_path_factory.mktemp("fit")
    db = build_fixture_store(folder / "cases.duckdb", synthetic=True)
    executed = folder / "outcome_report.ipynb"
    execute_notebook(Path(__file__).parents[1] / "notebooks" / "outcome_report.ipynb", executed,
                     {"db": str(db), "period": TEST_PERIOD, "min_n": TEST_MIN_N,
                      "min_n_named": 2}, progress=False)  # fmt: skip
    return export_html(executed, folder / "outcome_report.html", title="Outcome report")


_TABLE_FIT = """
() => Array.from(document.querySelectorAll('main table')).map(t => {
  const box = t.closest('.jp-OutputArea-output') || t.parentElement;
  const header = Array.from(t.querySelectorAll('thead th')).map(h => h.textContent.trim());
  const rate = header.findIndex(h => /rate/i.test(h));
  const cells = Array.from(t.querySelectorAll('tbody tr')).map(r => r.children);
  const visible = el => { const b = el.getBoundingClientRect();
                          return b.width > 0 && b.left >= -1 && b.right <= window.innerWidth + 1; };
  return {columns: header.length, overflow: t.scrollWidth - box.clientWidth,
          label_visible: cells.every(c => c[0] && visible(c[0])),
          rate_visible: rate < 0 || cells.every(c => visible(c[rate]))};
})
"""


@pytest.mark.parametrize("width", [1400, 390])
def test_tables_fit_the_page_and_keep_their_label_and_rate_in_view(
    browser_context, outcome_page, width
):
    # issue 12: at 1400 px seven tables scrolled sideways inside a ~930 px column; at 390 px the
    # rate column was off-screen in every table
    page = browser_context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(outcome_page.as_uri())
    try:
        tables = page.evaluate(_TABLE_FIT)
        assert len(tables) > 15
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for i, table in enumerate(tables):
            if width == 1400 and table["columns"] <= 8:
                assert table["overflow"] <= 1, (i, table)
            assert table["label_visible"] and table["rate_visible"], (i, table)
        # every chart has an alt text saying what it shows, and none is wider than the page
        images = page.evaluate(
            "Array.from(document.querySelectorAll('main img')).map(i => "
            "({alt: i.alt, right: i.getBoundingClientRect().right}))"
        )
        assert images and all(len(i["alt"]) > 40 and i["right"] <= width + 1 for i in images)
    finally:
        page.close()


def test_a_tables_csv_link_downloads_its_data_under_the_csp(browser_context, report, tmp_path):
    # Issue 26.6: the data: link is a download (not a fetch): the page's CSP (default-src
    # 'none') lets it through, and the file is the table's data.
    page, seen = _open(browser_context, report)
    page.set_viewport_size({"width": 1400, "height": 900})
    with page.expect_download() as caught:
        page.locator("a.ta-csv").first.click()  # the case table's
    download = caught.value
    assert download.suggested_filename == "case-table-1.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(str(saved))
    text = saved.read_text(encoding="utf-8-sig")
    assert text.splitlines()[:2] == [
        ",supplier,claimed_usd",
        "0,<script>alert('df-script')</script>,10000.0",
    ]
    _assert_quiet(seen)
    page.close()
