"""analysis.htmlexport: self-contained, script-free (but for the pinned sorter) report HTML.

One real papermill run of tests/notebooks/hostile.ipynb (module fixture) checks what an
executed notebook full of hostile text turns into; small notebooks built in memory check the
page furniture (parameters box, hidden cells, contents) without a kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis.publish import htmlexport
from analysis.publish.execute import execute_notebook
from analysis.publish.htmlexport import export_html, render_markdown, sanitize_html

NOTEBOOKS = Path(__file__).parent / "notebooks"


# -- one executed hostile notebook -------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(html text, soup) of the hostile fixture notebook, executed by papermill and exported."""
    folder = tmp_path_factory.mktemp("hostile")
    executed = folder / "hostile_run.ipynb"
    execute_notebook(
        NOTEBOOKS / "hostile.ipynb",
        executed,
        {"db": "/srv/private/cases.duckdb", "period": "2026-10"},
        progress=False,
    )
    page = export_html(executed, folder / "hostile.html", title="Hostile <b>fixture</b>")
    text = page.read_text(encoding="utf-8")
    return text, BeautifulSoup(text, "html.parser")


@pytest.mark.notebook  # its fixture executes a notebook
def test_only_script_is_the_pinned_sorter(hostile):
    text, soup = hostile
    scripts = soup.find_all("script")
    assert len(scripts) == 1
    assert scripts[0].string == htmlexport.sorter_js()
    assert "src" not in scripts[0].attrs
    # The CSP names that script's hash and nothing else may run or be fetched.
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert csp == htmlexport.content_security_policy(htmlexport.sorter_js())
    assert csp.startswith("default-src 'none'; img-src data:;")
    assert "script-src 'sha256-" in csp and "unsafe-inline'; base-uri" not in csp
    # The hostile outputs' own scripts are gone, contents and all.
    for marker in ("html-script", "js-output", "alert('svg')"):
        assert marker not in text


@pytest.mark.notebook  # its fixture executes a notebook
def test_no_event_handlers_or_active_elements(hostile):
    _, soup = hostile
    for tag in soup.find_all(True):
        assert not [a for a in tag.attrs if a.lower().startswith("on")], tag.name
    for name in ("iframe", "object", "embed", "form", "input", "base", "link", "frame"):
        assert soup.find(name) is None, name
    # The only <meta> elements are ours, in the head.
    assert all(meta.parent.name == "head" for meta in soup.find_all("meta"))


@pytest.mark.notebook  # its fixture executes a notebook
def test_nothing_is_fetched_from_the_network(hostile):
    text, soup = hostile
    # Every image is embedded; no element but a plain link names a URL.
    for img in soup.find_all("img"):
        assert img.get("src") is None or img["src"].startswith("data:image/"), img
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            value = " ".join(value) if isinstance(value, list) else value
            if tag.name == "a" and attr == "href":
                continue
            assert not re.search(r"https?://", value), (tag.name, attr)
    for style in soup.find_all("style"):
        assert "url(" not in style.string and "@import" not in style.string
    # The hostile notebook points at example.invalid from an iframe, a stylesheet link, a CSS
    # background, a form and a Markdown image: all of it is gone.
    assert "example.invalid" not in text


@pytest.mark.notebook  # its fixture executes a notebook
def test_hostile_text_shows_as_text(hostile):
    _, soup = hostile
    visible = soup.main.get_text()
    for shown in (
        "<script>alert('df-script')</script>",  # DataFrame cell (pandas escapes)
        "<img src=x onerror=alert('df-img')>",
        "[x](javascript:alert('df-md'))",
        "$\\href{javascript:alert('df-latex')}{x}$",
        "<script>alert('md-script')</script>",  # raw HTML in a Markdown cell: escaped
        "$\\href{javascript:alert('md-latex')}{x}$",  # no MathJax: LaTeX is inert text
        "<script>alert('mdout-script')</script>",  # Markdown output
        "$\\href{javascript:alert('latex-output')}{x}$",  # text/latex output
        "<script>alert('param')</script>",  # printed parameter
    ):
        assert shown in visible, shown
    # The styled table escapes its cells too (Styler with escape="html").
    styled = soup.find("table", id=re.compile("^T_"))
    assert styled is not None
    assert "<script>alert('df-script')</script>" in styled.get_text()
    # Links to javascript: are disarmed: the text stays, the href goes.
    # The only data: links are the tables' CSV downloads (text/csv, percent-encoded: inert).
    for link in soup.find_all("a"):
        href = link.get("href", "").lower()
        assert not href.startswith("javascript:")
        if href.startswith("data:"):
            assert href.startswith("data:text/csv;charset=utf-8,") and "<" not in href
            assert link["class"] == ["ta-csv"] and link["download"].endswith(".csv")
    md_link = soup.find("a", string="javascript link")
    assert md_link is not None and "href" not in md_link.attrs


@pytest.mark.notebook  # its fixture executes a notebook
def test_hostile_parameter_value_is_escaped_in_the_box(hostile):
    _, soup = hostile
    box = dict(
        zip(
            [dt.get_text() for dt in soup.select(".ta-params dt")],
            [dd.get_text() for dd in soup.select(".ta-params dd")],
            strict=True,
        )
    )
    # The fixture's default supplier_name is hostile, but only injected values are shown:
    # db (as a file name, not the server's path) and period.
    assert box == {"period": "2026-10", "db": "cases.duckdb"}
    assert soup.title.string == "Hostile <b>fixture</b>"
    assert soup.find("h1").get_text() == "Hostile <b>fixture</b>"


@pytest.mark.notebook  # its fixture executes a notebook
def test_no_code_and_no_prompts(hostile):
    text, soup = hostile
    assert soup.find(class_="jp-InputArea-editor") is None
    assert (
        soup.find(class_="jp-InputPrompt") is None and soup.find(class_="jp-OutputPrompt") is None
    )
    for source_fragment in ("import pandas", "display(HTML(", "frame.style", "plt.subplots"):
        assert source_fragment not in text
    # The stand-in text of the dropped Javascript output is not shown either.
    assert "IPython.core.display.Javascript" not in text


@pytest.mark.notebook  # its fixture executes a notebook
def test_images_are_embedded(hostile):
    _, soup = hostile
    sources = [img.get("src", "") for img in soup.find_all("img")]
    assert any(s.startswith("data:image/png;base64,") for s in sources)  # the matplotlib chart
    assert any(
        s.startswith("data:image/svg+xml;base64,") for s in sources
    )  # SVG as an <img>: inert


@pytest.mark.notebook  # its fixture executes a notebook
def test_tables_get_sortable_headers_and_column_alignment(hostile):
    _, soup = hostile
    table = soup.find("table", class_="dataframe")
    headers = table.thead.find_all("th")
    # The blank index header is not sortable; the two named columns are.
    assert [h.get_text() for h in headers if "ta-sort" in h.get("class", [])] == [
        "supplier",
        "claimed_usd",
    ]
    first_row = table.tbody.find("tr").find_all(["th", "td"])
    # short numbers (a rate with its interval) are also kept on one line: "ta-short"
    assert [c.get("class") for c in first_row] == [
        ["ta-num", "ta-short"],
        ["ta-text"],
        ["ta-num", "ta-short"],
    ]


# -- page furniture, from notebooks built in memory ---------------------------------------------


def _export(tmp_path, cells, parameters=None, title="Report title") -> BeautifulSoup:
    nb = new_notebook()
    nb.metadata["papermill"] = {
        "parameters": parameters or {},
        "input_path": "notebooks/report.ipynb",
        "end_time": "2026-11-01T08:30:00+00:00",
    }
    nb.cells = cells
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    html = export_html(path, tmp_path / "out" / "report.html", title=title)
    return BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")


def _code(source, *outputs, tags=()):
    cell = new_code_cell(source)
    cell.outputs = list(outputs)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def test_parameter_cells_hidden_and_parameters_boxed(tmp_path):
    soup = _export(
        tmp_path,
        [
            _code("SECRET_DEFAULT = 1", tags=["parameters"]),
            _code(
                "SECRET_INJECTED = 2",
                new_output("stream", name="stdout", text="INJECTED_OUTPUT"),
                tags=["injected-parameters"],
            ),
            _code("HIDDEN_CODE = 3", new_output("stream", name="stdout", text="visible output\n")),
            _code("x", new_output("stream", name="stderr", text="a library warning\n")),
            _code(
                "y",
                new_output("stream", name="stdout", text="REMOVED_OUTPUT"),
                tags=["remove-output"],
            ),
        ],
        parameters={
            "db": "/srv/private/cases.duckdb",
            "threshold": 0.2,
            "category": None,
            "period": "2026-10",
            "show_watchlist": True,
        },
    )
    text = str(soup)
    for hidden in ("SECRET_DEFAULT", "SECRET_INJECTED", "INJECTED_OUTPUT", "HIDDEN_CODE",
                   "a library warning", "REMOVED_OUTPUT", "/srv/private"):  # fmt: skip
        assert hidden not in text, hidden
    assert "visible output" in soup.main.get_text()
    pairs = list(
        zip(
            [dt.get_text() for dt in soup.select(".ta-params dt")],
            [dd.get_text() for dd in soup.select(".ta-params dd")],
            strict=True,
        )
    )
    # Order: period, start, end, category, threshold, lowball, min_n, the rest, db last.
    assert pairs == [
        ("period", "2026-10"),
        ("category", "all"),  # an empty category is every category
        ("threshold", "0.2"),
        ("show_watchlist", "yes"),
        ("db", "cases.duckdb"),
    ]
    assert soup.select_one(".ta-generated").get_text() == "Generated 2026-11-01 08:30 UTC"
    assert "from the notebook report.ipynb" in soup.select_one(".ta-footer").get_text()


def test_table_of_contents_links_reach_unique_headings(tmp_path):
    soup = _export(
        tmp_path,
        [
            new_markdown_cell("# Report title\n\nIntro.\n\n## Results\n\nText.\n\n### Detail"),
            _code(
                "h",
                new_output(
                    "display_data", data={"text/html": "<h2>From output</h2>", "text/plain": "h"}
                ),
            ),  # fmt: skip
            new_markdown_cell("## Results"),
        ],
    )
    toc = soup.find("nav", id="ta-toc")
    top = toc.find("ol", recursive=False) or toc.ol
    entries = [
        (li.a.get_text(), li.a["href"], [(s.a.get_text(), s.a["href"]) for s in li.select("ol li")])
        for li in top.find_all("li", recursive=False)
    ]
    assert entries == [
        ("Results", "#sec-results", [("Detail", "#sec-detail")]),
        ("From output", "#sec-from-output", []),
        ("Results", "#sec-results-2", []),
    ]
    for link in toc.find_all("a"):
        targets = soup.find_all(id=link["href"][1:])
        assert len(targets) == 1 and targets[0].name in ("h2", "h3")
    # The notebook's own leading "# Report title" is replaced by the page title, not repeated.
    assert [h.get_text() for h in soup.find_all("h1")] == ["Report title"]


def test_no_headings_no_contents_box(tmp_path):
    soup = _export(tmp_path, [_code("1", new_output("stream", name="stdout", text="plain\n"))])
    assert soup.find("nav", id="ta-toc") is None


def test_sortable_false_means_no_script_at_all(tmp_path):
    nb = new_notebook()
    nb.cells = [_code("t", new_output("display_data", data={"text/html": "<table><thead><tr>"
        "<th>a</th></tr></thead><tbody><tr><td>2</td></tr><tr><td>1</td></tr></tbody></table>"}))]  # fmt: skip
    nbformat.write(nb, tmp_path / "n.ipynb")
    html = export_html(tmp_path / "n.ipynb", tmp_path / "n.html", sortable=False)
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    assert soup.find("script") is None and soup.find(class_="ta-sort") is None
    assert "script-src 'none'" in soup.find("meta", attrs={"http-equiv": True})["content"]
    assert not list(tmp_path.glob(".*partial"))  # written beside, renamed into place


def test_merged_cells_are_not_made_sortable(tmp_path):
    merged = (
        "<table><thead><tr><th>k</th><th>v</th></tr></thead><tbody>"
        '<tr><th rowspan="2">a</th><td>1</td></tr><tr><td>2</td></tr>'
        "<tr><th>b</th><td>3</td></tr></tbody></table>"
    )
    soup = _export(tmp_path, [_code("t", new_output("display_data", data={"text/html": merged}))])
    assert soup.find(class_="ta-sort") is None


def test_short_numbers_stay_on_one_line_long_ones_wrap_and_cells_carry_their_label(tmp_path):
    long_cell = "34 (9 withdrawn, 18 cancelled, 7 out of coverage)"  # 49 characters
    table = (
        '<table class="dataframe"><thead><tr><th>Category</th><th>Rate</th><th>Closed</th></tr></thead><tbody>'
        f"<tr><td>Apparel</td><td>41.2% (36.5\u201346.0%)</td><td>{long_cell}</td></tr>"
        "<tr><td>Toys</td><td>12.0% (8.1\u201317.4%)</td><td>12</td></tr>"  # tables of 2+ rows
        "</tbody></table>"
    )
    soup = _export(tmp_path, [_code("t", new_output("display_data", data={"text/html": table}))])
    label, rate, closed = soup.find("tbody").find("tr").find_all("td")
    assert label["class"] == ["ta-text"]
    assert rate["class"] == ["ta-num", "ta-short"]
    assert closed["class"] == ["ta-num"]  # a number, but too long to keep from wrapping
    # on a phone each row is a card of "label: value" lines
    assert [c["data-label"] for c in (label, rate, closed)] == ["Category", "Rate", "Closed"]
    assert "ta-stack" in soup.find("table")["class"]


# -- the sanitiser and the Markdown renderer ----------------------------------------------------


def test_sanitize_html_keeps_formatting_and_drops_everything_active():
    assert (
        sanitize_html(
            '<p onclick="steal()">a</p><script>alert(1)</script>'
            '<img src="https://example.invalid/x.png" alt="x"><img src="data:image/png;base64,iVBORw0KGgo=">'
        )
        == '<p>a</p><img alt="x"><img src="data:image/png;base64,iVBORw0KGgo=">'
    )
    assert sanitize_html(
        '<a href="javascript:alert(1)">j</a> <a href="https://example.org/page">w</a> '
        '<a href="#sec-notes">n</a> <a href="notes.html">r</a>'
    ) == (
        '<a rel="noopener noreferrer">j</a> '
        '<a href="https://example.org/page" rel="noopener noreferrer">w</a> '
        '<a href="#sec-notes" rel="noopener noreferrer">n</a> <a rel="noopener noreferrer">r</a>'
    )


def test_sanitize_html_keeps_a_charts_phone_rendition_but_only_embedded():
    # plots.Chart shows a <picture> whose <source> is the narrow PNG for phones
    chart = (
        '<picture class="ta-chart"><source media="(max-width: 600px)" '
        'srcset="data:image/png;base64,iVBORw0KGgo="><img src="data:image/png;base64,iVBORw0KGgo=" '
        'alt="a chart"></picture>'
    )
    assert sanitize_html(chart) == chart
    remote = '<picture><source srcset="https://example.invalid/x.png 2x" onerror="x()"></picture>'
    assert sanitize_html(remote) == "<picture><source></picture>"


def test_sanitize_html_keeps_styler_css_but_not_css_that_fetches():
    # pandas Styler colours cells from a <style> block keyed by ids: kept, with the ids.
    assert sanitize_html(
        '<style>#T_1 td { color: red; }</style><table id="T_1"><tr>'
        '<td style="color: red; background-image: url(https://example.invalid/x)">1</td></tr></table>'
    ) == (
        '<style>#T_1 td { color: red; }</style><table id="T_1"><tbody><tr>'
        '<td style="color:red">1</td></tr></tbody></table>'
    )
    assert (
        sanitize_html("<style>td { background: url(https://example.invalid/x) }</style><b>k</b>")
        == "<b>k</b>"
    )
    assert sanitize_html("<style>@import 'https://example.invalid/x.css';</style>") == ""


def test_markdown_escapes_raw_html_and_disarms_links():
    assert render_markdown(
        "<b>raw</b> **bold** [x](javascript:alert(1)) $\\href{javascript:alert(1)}{x}$"
    ) == (
        '<p>&lt;b&gt;raw&lt;/b&gt; <strong>bold</strong> <a rel="noopener noreferrer">x</a> '
        "$\\href{javascript:alert(1)}{x}$</p>\n"
    )
    assert render_markdown("![i](https://example.invalid/p.png) [ok](https://example.org/)") == (
        '<p><img alt="i"> <a href="https://example.org/" rel="noopener noreferrer">ok</a></p>\n'
    )


# -- each table's data as CSV (issue 26.6) -----------------------------------------------------


def _csv_of(link) -> str:
    from urllib.parse import unquote

    head, _, body = link["href"].partition(",")
    assert head == "data:text/csv;charset=utf-8"
    text = unquote(body)
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8
    return text[1:]


@pytest.mark.notebook  # its fixture executes a notebook
def test_every_table_offers_its_own_data_as_csv(hostile):
    _, soup = hostile
    tables = soup.main.find_all("table")
    assert len(tables) == 2  # the frame and its styled rendition
    for table in tables:
        holder = table.find_previous_sibling("p")
        assert holder["class"] == ["ta-csv-link"]
        (link,) = holder.find_all("a")
        assert link.get_text() == "Download CSV"
    plain = tables[0].find_previous_sibling("p").a
    assert plain["download"] == "case-table-1.csv"
    # the same columns and cells the table shows, by hand (pandas shows 150 as 150.0)
    assert _csv_of(plain) == (
        ",supplier,claimed_usd\r\n"
        "0,<script>alert('df-script')</script>,10000.0\r\n"
        "1,<img src=x onerror=alert('df-img')>,150.0\r\n"
        "2,javascript:alert('df-js'),2500.5\r\n"
        "3,[x](javascript:alert('df-md')),99.0\r\n"
        "4,$\\href{javascript:alert('df-latex')}{x}$,12500.0\r\n"
    )
    styled = tables[1].find_previous_sibling("p").a
    assert styled["download"] == "styled-table-2.csv"
    assert _csv_of(styled).splitlines()[1:3] == [
        "0,<script>alert('df-script')</script>,\"10,000.00\"",
        "1,<img src=x onerror=alert('df-img')>,150.00",
    ]


def test_the_csv_neutralises_formulas_and_flattens_merged_headers_and_cells():
    from bs4 import BeautifulSoup

    table = BeautifulSoup(
        "<table><thead><tr><th></th><th colspan='2'>Rate</th></tr>"
        "<tr><th>Group</th><th>period</th><th>12 months</th></tr></thead><tbody>"
        "<tr><th rowspan='2'>=HYPERLINK(\"http://x\")</th><td>-12.5%</td><td>+3.1 pts</td></tr>"
        "<tr><td>@SUM(A1)</td><td>1,234</td></tr>"
        "<tr><th>-2+3</th><td>\tx</td><td>0.5</td></tr></tbody></table>",
        "html.parser",
    ).table
    assert htmlexport.table_rows(table) == [
        ["Group", "Rate / period", "Rate / 12 months"],
        ['=HYPERLINK("http://x")', "-12.5%", "+3.1 pts"],
        ['=HYPERLINK("http://x")', "@SUM(A1)", "1,234"],
        ["-2+3", "x", "0.5"],  # a cell's text as shown (white space collapsed)
    ]
    # plain numbers stay numbers; any other text a spreadsheet would evaluate is text
    assert htmlexport.table_csv(table) == (
        "Group,Rate / period,Rate / 12 months\r\n"
        '"\'=HYPERLINK(""http://x"")",-12.5%,\'+3.1 pts\r\n'
        '"\'=HYPERLINK(""http://x"")",\'@SUM(A1),"1,234"\r\n'
        "'-2+3,x,0.5\r\n"
    )


# -- sections with nothing to say fold to one line (issue 26.3) -------------------------------


def test_a_section_whose_outputs_have_nothing_to_say_folds_its_introduction(tmp_path):
    import pandas as pd

    from analysis.report.display import Table

    def shown(table):
        return new_output("display_data", data={"text/html": table.to_html()})

    empty = Table(frame=pd.DataFrame(), caption="Lowballs closed in the period.")
    quiet = Table(frame=pd.DataFrame({"x": ["not modelled"]}), caption="The model.", quiet=True,
                  fold="Not modelled: too few cases.")  # fmt: skip
    full = Table(frame=pd.DataFrame({"Rate": ["40%", "50%"]}), caption="Rates.")
    soup = _export(tmp_path, [
        new_markdown_cell("## Quiet section\n\nA long explanation of QUIET_INTRO."),
        _code("a", shown(empty)),
        _code("b", shown(quiet)),
        new_markdown_cell("## Full section\n\nAn explanation of FULL_INTRO."),
        _code("c", shown(full)),
        _code("d", shown(empty)),
    ])  # fmt: skip
    quiet_heading = soup.find("h2", string="Quiet section")
    folded = quiet_heading.find_next_sibling("details")
    assert folded["class"] == ["ta-folded"]
    assert folded.summary.get_text() == "Nothing to show in this period (what this section shows)."
    assert "QUIET_INTRO" in folded.get_text()
    # each quiet output is one line: a summary, the rest inside the details
    summaries = [d.summary.get_text() for d in soup.find_all("details", class_="ta-quiet")]
    assert summaries == ["None.", "Not modelled: too few cases.", "None."]
    # a section with something to show keeps its introduction open
    full_heading = soup.find("h2", string="Full section")
    assert full_heading.find_next_sibling("details") is None
    assert "FULL_INTRO" in full_heading.find_next_sibling("p").get_text()


def test_a_cut_table_links_the_whole_table_as_csv_and_shows_its_first_rows(tmp_path):
    # issue 30.3: the named suppliers at 10M (1.2 MB of table) made the export walk the whole
    # table; the page shows page_rows rows, the link above them downloads every row
    import pandas as pd

    from analysis.report.display import Table

    names = [f"S{i}" for i in range(1, 31)]
    names[19] = "=HYPERLINK(1)"  # row 20, beyond the page: neutralised in the CSV too
    table = Table(frame=pd.DataFrame({"Supplier": names, "n": range(1, 31)}), caption="c.",
                  page_rows=5)  # fmt: skip
    forged = '<p class="ta-csv-link" id="ta-csv-00000000000000000000"></p>' + (
        "<table><thead><tr><th>k</th></tr></thead><tbody><tr><td>=1+1</td></tr></tbody></table>"
    )
    soup = _export(tmp_path, [
        new_markdown_cell("## Suppliers"),
        _code("t", new_output("display_data", data=table._repr_mimebundle_())),
        _code("f", new_output("display_data", data={"text/html": forged})),
    ])  # fmt: skip
    cut, other = soup.main.find_all("table")
    assert [r.td.get_text() for r in cut.tbody.find_all("tr")] == ["S1", "S2", "S3", "S4", "S5"]
    (link,) = cut.find_previous_sibling("p", class_="ta-csv-link").find_all("a")
    assert link["download"] == "suppliers-1.csv"
    assert link.get_text() == "Download CSV (all 30 rows)"
    rows = _csv_of(link).split("\r\n")
    assert rows[:3] == ["Supplier,n", "S1,1", "S2,2"] and rows[30] == "S30,30"
    assert rows[20] == "'=HYPERLINK(1),20" and rows[31:] == [""]
    assert len(soup.main.find_all("a", class_="ta-csv")) == 2  # one link per table
    # a placeholder no CSV came with stays empty; its table links what it shows
    assert other.find_previous_sibling("p").find("a") is not None
    assert _csv_of(other.find_previous_sibling("p").a) == "k\r\n'=1+1\r\n"
    forged_holder = soup.find(id="ta-csv-00000000000000000000")
    assert forged_holder is not None and forged_holder.find("a") is None
