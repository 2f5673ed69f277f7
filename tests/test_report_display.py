"""analysis.report.display: tables escaped, records plain JSON."""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis.report import display, sections
from tests.report_store import HOSTILE


def test_show_table_escapes_cells_headers_and_caption():
    frame = pd.DataFrame({"<th>": [HOSTILE, "$x^2$ **b**"], "n": ["1", "2"]})
    table = display.show_table(frame, caption="a <i>caption</i>", name="t", record={"k": 1.5})
    html = table.to_html()
    assert "<script>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<p class="ta-caption">a &lt;i&gt;caption&lt;/i&gt;</p>' in html
    assert "&lt;th&gt;" in html  # the header text too
    assert "mathjax_ignore" in html  # $...$ is not typeset in JupyterLab
    bundle = table._repr_mimebundle_()
    assert bundle[sections.RECORD_MIME] == {"name": "t", "data": {"k": 1.5}}
    assert HOSTILE in bundle["text/plain"]  # plain text is never rendered as HTML


def test_empty_table_shows_none_and_no_header():
    table = display.show_table(pd.DataFrame({"a": []}), caption="Nothing here")
    html = table.to_html()
    assert "<table" not in html
    assert "Nothing here" in html and "None." in html


def test_record_is_plain_json():
    table = display.show_table(
        pd.DataFrame({"a": [1]}),
        "c",
        record={"nan": float("nan"), "day": date(2026, 3, 1), "n": pd.Series([2]).iloc[0]},
    )
    data = table._repr_mimebundle_()[sections.RECORD_MIME]["data"]
    assert data == {"nan": None, "day": "2026-03-01", "n": 2}
    assert type(data["n"]) is int


def test_an_empty_quiet_or_folded_table_is_one_line():
    # Issue 26.3: nothing to say is one line (a <details> summary), the definition inside it
    empty = display.show_table(pd.DataFrame({"a": []}), caption="Lowballs <b>closed</b>")
    assert empty.to_html() == (
        '<details class="ta-table tex2jax_ignore mathjax_ignore ta-quiet"><summary>None.</summary>'
        '<p class="ta-caption">Lowballs &lt;b&gt;closed&lt;/b&gt;</p></details>'
    )
    frame = pd.DataFrame({"Term": ["decided"], "Definition": ["<closed> with a decision"]})
    folded = display.Table(frame=frame, caption="Definitions.", fold="Definitions of <1> term")
    html = folded.to_html()
    assert html.startswith(
        '<details class="ta-table tex2jax_ignore mathjax_ignore"><summary>Definitions of '
        "&lt;1&gt; term</summary>"
    )
    assert "&lt;closed&gt; with a decision" in html and html.endswith("</details>")
    quiet = display.Table(frame=frame, caption="c", quiet=True, note="Nothing compared.")
    assert quiet.to_html().startswith(
        '<details class="ta-table tex2jax_ignore mathjax_ignore ta-quiet"><summary>Nothing '
        "compared.</summary>"
    )
    plain = display.Table(frame=frame, caption="c")
    assert plain.to_html().startswith('<div class="ta-table')


def test_a_cut_table_shows_its_first_rows_and_carries_the_whole_as_csv():
    # issue 30.3: a long table (the named suppliers) shows page_rows rows; the whole is its CSV
    frame = pd.DataFrame({"Supplier": [f"S{i}" for i in range(1, 8)], "n": list("1234567")})
    table = display.Table(frame=frame, caption="Suppliers.", page_rows=3)
    assert table.cut
    html = table.to_html()
    assert html.count("<tr>") == 3 and "<td>S3</td>" in html and "S4" not in html
    whole = "Supplier,n\r\nS1,1\r\nS2,2\r\nS3,3\r\nS4,4\r\nS5,5\r\nS6,6\r\nS7,7\r\n"
    bundle = table._repr_mimebundle_()
    assert bundle["text/csv"] == whole == table.csv()
    # the placeholder the exported page fills with the whole table's download, named by it
    anchor = display.csv_anchor(whole)
    assert anchor.startswith("ta-csv-") and len(anchor) == 27
    assert f'<p class="ta-csv-link" id="{anchor}"></p><table' in html
    # JupyterLab's text fallback: the page's rows, as the page (a 10M store's small suppliers
    # were a million rows of text in the notebook), and where the rest are
    assert "S3" in bundle["text/plain"] and "S4" not in bundle["text/plain"]
    assert bundle["text/plain"].endswith("(the first 3 of 7 rows: the CSV holds all)")
    assert table.csv() is table.csv()  # written once (the anchor and the download share it)
    # as long as the frame or longer: not cut, no CSV of its own
    for rows in (7, None):
        whole_table = display.Table(frame=frame, caption="Suppliers.", page_rows=rows)
        assert not whole_table.cut and "ta-csv-link" not in whole_table.to_html()
        assert "text/csv" not in whole_table._repr_mimebundle_()
