"""Self-contained, safe HTML from an executed report notebook (nbconvert).

The page must survive being e-mailed to people who have never heard of Jupyter, and being opened
offline. So:

- nbconvert's ``HTMLExporter`` renders the cells with our template ``templates/ta_report``, which
  extends the JupyterLab cell markup but replaces its head: no require.js, MathJax, Mermaid or
  widget scripts from CDNs, no JupyterLab CSS, just ``static/report.css`` inlined.
- Code, prompts, the ``parameters`` cell and papermill's ``injected-parameters`` cell are hidden;
  the parameters are shown as a box at the top instead (from ``metadata.papermill.parameters``).
- Everything that comes out of the notebook is treated as hostile: nbconvert's ``sanitize_html``
  switch is on and its ``clean_html`` filter is replaced by :func:`sanitize_html` (nh3, an
  allow-list sanitiser: no ``<script>``, no ``on*`` attributes, no ``javascript:`` or remote
  URLs, images only as ``data:`` URIs). Markdown (cells and ``text/markdown`` outputs) is
  rendered with raw HTML escaped, and without MathJax ``$...$`` stays inert text.
- A Content-Security-Policy forbids every fetch and every script except the one inline sorter
  whose SHA-256 it names, so even an injection the sanitiser missed could neither run nor call
  home.
- Tables can be sorted by clicking a header. Sorting without JavaScript is impossible, so the page
  carries one tiny inline vanilla-JS sorter (``static/sort.js``, no fetch, pinned by its hash in
  the CSP). Mail clients that drop scripts show the same tables, clean and static.
- A table of contents is built from the h2/h3 headings, each given a stable ``id``. The page
  header shows the title, so a notebook's own leading ``# Title`` cell is not repeated.
- Cells tagged ``remove-cell`` are left out, outputs of cells tagged ``remove-output`` too;
  stderr (library warnings) is left out of the page but stays in the executed notebook.

For notebook authors: raw HTML in Markdown shows as text, so styled boxes come from
``display(HTML(...))`` built with escaped values; pandas ``Styler`` must be given
``escape="html"`` (``DataFrame.to_html`` escapes by default, ``Styler`` does not).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from analysis.files import write_atomic
from analysis.publish.sanitize import attribute_filter, render_markdown, sanitize_html

log = logging.getLogger(__name__)

#: The folder holding nbconvert template folders (ours: ``ta_report``).
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "ta_report"
STATIC_DIR = TEMPLATES_DIR / TEMPLATE_NAME / "static"

#: Cells never shown: papermill's injected values, the defaults they override, and cells an
#: author marks as scaffolding (the Jupyter Book convention).
HIDDEN_CELL_TAGS = frozenset({"injected-parameters", "parameters", "remove-cell"})
#: Output representations a report may carry. Scripts, widgets and Mermaid are dropped.
KEPT_MIMETYPES = (
    "text/html",
    "text/markdown",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "text/latex",
    "text/plain",
)

# -- sanitising ---------------------------------------------------------------------------------
# -- the page around the cells ------------------------------------------------------------------


def report_css() -> str:
    """The stylesheet inlined into every report and the catalogue."""
    return (STATIC_DIR / "report.css").read_text(encoding="utf-8")


def sorter_js() -> str:
    """The inline table sorter (no fetch, no eval)."""
    return (STATIC_DIR / "sort.js").read_text(encoding="utf-8")


def content_security_policy(script: str | None = None) -> str:
    """The page's CSP: nothing fetched, images only as data URIs, at most one pinned script."""
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        script_src = f"'sha256-{digest}'"
    else:
        script_src = "'none'"
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src {script_src}; base-uri 'none'; form-action 'none'"
    )


def _display_value(key: str, value: Any) -> str:
    if value is None or value == "":
        # an empty category means every category, not "none"
        return "all" if key == "category" else "none"
    if key == "db":
        # The server's folder layout means nothing to a reader (and need not leave the building).
        return Path(str(value)).name
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


#: Parameters shown first in the box, in this order; the rest alphabetically, the store last.
_PARAMETER_ORDER = (
    "period", "start", "end", "category", "threshold", "lowball", "min_n", "min_n_rate",
    "min_n_named",
)  # fmt: skip


def _parameter_order(parameters: dict) -> list[str]:
    first = [k for k in _PARAMETER_ORDER if k in parameters]
    rest = sorted(k for k in parameters if k not in _PARAMETER_ORDER and k != "db")
    return first + rest + (["db"] if "db" in parameters else [])


def _generated_at(papermill_meta: dict) -> str:
    stamp = papermill_meta.get("end_time") or papermill_meta.get("start_time")
    try:
        when = datetime.fromisoformat(stamp) if stamp else datetime.now().astimezone()
    except ValueError:
        return str(stamp)
    return when.strftime("%Y-%m-%d %H:%M %Z").strip()


def _prepare(nb):
    """A copy of ``nb`` holding only what a reader should see, and the whole tables of the cut
    ones: ``(notebook, {placeholder id: CSV text})`` (:class:`analysis.report.display.Table`)."""
    from analysis.report.display import CSV_MIME, csv_anchor

    nb = copy.deepcopy(nb)
    cells, whole = [], {}
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & HIDDEN_CELL_TAGS or cell.cell_type == "raw":
            continue
        if cell.cell_type == "markdown" and not cell.source.strip():
            continue
        if cell.cell_type == "code":
            if "remove-output" not in tags:
                for output in cell.outputs:
                    text = output.get("data", {}).get(CSV_MIME)
                    if isinstance(text, str):  # (dropped from the output with the other kinds)
                        whole[csv_anchor(text)] = text
            cell.outputs = [] if "remove-output" in tags else _reader_outputs(cell.outputs)
        cells.append(cell)
    nb.cells = cells
    return nb, whole


def _reader_outputs(outputs: list) -> list:
    kept = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") != "stdout":
            continue  # library warnings on stderr are for the analyst, not the reader
        if kind in ("display_data", "execute_result"):
            original = output.get("data", {})
            data = {m: v for m, v in original.items() if m in KEPT_MIMETYPES}
            if not data or (set(data) == {"text/plain"} and len(original) > 1):
                # Nothing left, or only the "<IPython...Javascript object>" stand-in of a
                # script or widget we dropped.
                continue
            output["data"] = data
        kept.append(output)
    return kept


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-_")
    return slug[:60] or "section"


def _finish(
    page: str, sortable: bool, our_script: str | None, whole: dict[str, str] | None = None
) -> str:
    """Post-process the rendered page: a last safety sweep, heading ids, contents, sortable
    tables, each table's CSV (a cut table's: the whole table's, from ``whole``)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    body = soup.body
    _sweep(body, our_script)
    _drop_leading_title(soup)
    _table_of_contents(soup)
    _fold_quiet_sections(soup)
    for n, table in enumerate(soup.main.find_all("table"), start=1):
        _csv_link(soup, table, n, whole or {})
        _shape_table(table, sortable)
        _label_cells(table)
    return str(soup)


# -- sections with nothing to say ---------------------------------------------------------------


def _quiet_output(output) -> bool:
    """An output with nothing to say in the period: it holds a ``ta-quiet`` element (an empty
    table, a model not fitted, a chart of nothing), every table in it is quiet, and no image."""
    if output.find(class_="ta-quiet") is None or output.find(["img", "picture"]) is not None:
        return False
    tables = output.find_all(["div", "details"], class_="ta-table")  # the wrappers, not <table>
    return all("ta-quiet" in t.get("class", []) for t in tables)


def _fold_quiet_sections(soup) -> None:
    """Fold the introduction of every h2/h3 section whose outputs all have nothing to say into
    one line ("Nothing to show in this period"): its heading and its one-line outputs stay, the
    explanation opens on a click, and a printed page leaves it out."""
    if soup.main is None:
        return
    groups: list[tuple[Any, list]] = []  # (last heading of a Markdown cell, the cells after it)
    for cell in soup.main.find_all("div", class_="jp-Cell"):
        headings = cell.find_all(["h2", "h3"]) if "jp-MarkdownCell" in cell.get("class", []) else []
        if headings:
            groups.append((headings[-1], []))
        elif groups:
            groups[-1][1].append(cell)
    for heading, cells in groups:
        outputs = [o for c in cells for o in c.find_all("div", class_="jp-OutputArea-output")]
        if not outputs or not all(_quiet_output(o) for o in outputs):
            continue
        intro = list(heading.find_next_siblings())
        if not intro:
            continue
        folded = soup.new_tag("details", attrs={"class": "ta-folded"})
        summary = soup.new_tag("summary")
        summary.string = "Nothing to show in this period (what this section shows)."
        folded.append(summary)
        for node in intro:
            folded.append(node.extract())
        heading.insert_after(folded)


# -- each table's data as CSV -------------------------------------------------------------------

#: A cell a spreadsheet reads as a plain number ("-12", "1,234.5", "-3.5%"): kept as it is; any
#: other text starting with = + - @ (or a tab or CR) is prefixed with an apostrophe.
_PLAIN_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?%?$")


def _cells(row) -> list[tuple[str, int]]:
    """(text, colspan) of each cell of a row."""
    return [
        (" ".join(c.get_text(" ").split()), _span(c, "colspan"))
        for c in row.find_all(["th", "td"], recursive=False)
    ]


def table_rows(table) -> list[list[str]]:
    """A rendered table as the rows of text it shows: one header row (the header rows of a
    MultiIndex joined per column with ' / '), then each body row; a merged cell's text repeated
    in every column and row it spans."""
    head = table.find("thead", recursive=False)
    header_rows = [
        [text for text, span in _cells(r) for _ in range(span)]
        for r in (head.find_all("tr", recursive=False) if head else [])
    ]
    body_rows, pending = [], {}  # column -> [text, rows still to fill] of a rowspan
    for body in table.find_all("tbody", recursive=False) or [table]:
        for row in body.find_all("tr", recursive=False):
            cells = iter(row.find_all(["th", "td"], recursive=False))
            out: list[str] = []
            while True:
                col = len(out)
                if col in pending:
                    out.append(pending[col][0])
                    pending[col][1] -= 1
                    if not pending[col][1]:
                        del pending[col]
                    continue
                cell = next(cells, None)
                if cell is None:
                    if any(k > col for k in pending):
                        out.append("")  # a column this row leaves empty, left of a spanned one
                        continue
                    break
                text = " ".join(cell.get_text(" ").split())
                for _ in range(_span(cell, "colspan")):
                    if _span(cell, "rowspan") > 1:
                        pending[len(out)] = [text, _span(cell, "rowspan") - 1]
                    out.append(text)
            body_rows.append(out)
    width = max((len(r) for r in header_rows + body_rows), default=0)
    header = [
        " / ".join(dict.fromkeys(r[i] for r in header_rows if i < len(r) and r[i]))
        for i in range(width)
    ]
    return ([header] if header_rows else []) + body_rows


def table_csv(table) -> str:
    """The CSV of what ``table`` shows (:func:`table_rows`), formulas neutralised
    (:func:`csv_text`)."""
    return csv_text(table_rows(table))


def csv_text(rows) -> str:
    """``rows`` of text as CSV, formulas neutralised: a cell that is not a plain number and
    starts with = + - @, a tab or CR gets a leading apostrophe
    (:func:`analysis.report.privacy.neutralise_formula`), so a spreadsheet shows it as text."""
    import csv
    import io

    from analysis.report.privacy import neutralise_formula

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([t if _PLAIN_NUMBER.match(t) else neutralise_formula(t) for t in row])
    return buffer.getvalue()


def _csv_link(soup, table, n: int, whole: dict[str, str]) -> None:
    """Put a 'Download CSV' link before ``table``: its data as a ``data:text/csv`` URL (the page
    stays one self-contained file; a link is a download, not a fetch, so the CSP allows it). A
    cut table's link is the whole table's (``whole``, by its placeholder's id), put in the
    placeholder; a placeholder no CSV came with is left empty and the table links what it shows."""
    import csv
    import io
    from urllib.parse import quote

    placeholder = table.find_previous_sibling("p", class_="ta-csv-link")
    source = whole.get(str(placeholder.get("id", ""))) if placeholder is not None else None
    records = list(csv.reader(io.StringIO(source))) if source else None
    rows = csv_text(records) if records else table_csv(table)
    if not rows:
        return
    heading = table.find_previous(["h2", "h3"])
    stem = str(heading["id"]).removeprefix("sec-") if heading and heading.get("id") else "table"
    link = soup.new_tag(
        "a",
        href="data:text/csv;charset=utf-8," + quote("\ufeff" + rows, safe=""),
        download=f"{stem}-{n}.csv",
        attrs={"class": "ta-csv"},
    )
    link.string = "Download CSV"
    if records:
        # the page shows fewer: the link says how many the file holds (the header aside)
        link.string = f"Download CSV (all {len(records) - 1:,} rows)"
        placeholder.append(link)
        return
    holder = soup.new_tag("p", attrs={"class": "ta-csv-link"})
    holder.append(link)
    table.insert_before(holder)


_ACTIVE_TAGS = ("script", "iframe", "object", "embed", "link", "meta", "base", "form", "frame")
_URL_ATTRIBUTES = ("src", "href", "srcset", "action", "formaction", "poster", "background", "data")


def _sweep(body, our_script: str | None) -> None:
    # Defence in depth: the sanitiser already ran on everything from the notebook, so this
    # should never find anything; if it does, remove it and say so.
    removed = 0
    for tag in body.find_all(_ACTIVE_TAGS):
        if tag.name == "script" and our_script is not None and tag.string == our_script:
            continue
        tag.decompose()
        removed += 1
    for tag in body.find_all(True):
        for attr in list(tag.attrs):
            value = tag.attrs[attr]
            value = " ".join(value) if isinstance(value, list) else str(value)
            name = attr.lower()
            bad = name.startswith("on") or (
                name in _URL_ATTRIBUTES
                and attribute_filter(tag.name, "href" if name == "href" else "src", value) is None
            )
            if bad:
                del tag.attrs[attr]
                removed += 1
    if removed:
        log.warning(
            "removed %d active elements or attributes that the sanitiser let through", removed
        )


def _drop_leading_title(soup) -> None:
    # The page header shows the title (with the period); a notebook that opens with its own
    # "# Title" cell (as it should, for JupyterLab) would show it twice.
    first_cell = soup.main.find("div", class_="jp-Cell") if soup.main else None
    if first_cell is None or "jp-MarkdownCell" not in first_cell.get("class", []):
        return
    rendered = first_cell.find("div", class_="jp-RenderedMarkdown")
    first = rendered.find(True) if rendered else None
    if first is not None and first.name == "h1":
        first.decompose()


def _table_of_contents(soup) -> None:
    nav = soup.find("nav", id="ta-toc")
    headings = soup.main.find_all(["h2", "h3"]) if soup.main else []
    if nav is None:
        return
    if not headings:
        nav.decompose()
        return
    taken = {str(tag["id"]) for tag in soup.find_all(id=True) if tag not in headings}
    # folded like the parameters: the findings come first on the first screen
    folded = soup.new_tag("details")
    title = soup.new_tag("summary", attrs={"class": "ta-box-title"})
    title.string = "Contents"
    top = soup.new_tag("ol")
    folded.append(title)
    folded.append(top)
    nav.append(folded)
    current_sub = None
    last_h2_item = None
    for heading in headings:
        text = " ".join(heading.get_text(" ").split())
        anchor = base = "sec-" + _slug(text)
        n = 2
        while anchor in taken:
            anchor, n = f"{base}-{n}", n + 1
        taken.add(anchor)
        heading["id"] = anchor
        item = soup.new_tag("li")
        link = soup.new_tag("a", href="#" + anchor)
        link.string = text
        item.append(link)
        if heading.name == "h3" and last_h2_item is not None:
            if current_sub is None:
                current_sub = soup.new_tag("ol")
                last_h2_item.append(current_sub)
            current_sub.append(item)
        else:
            top.append(item)
            if heading.name == "h2":
                last_h2_item, current_sub = item, None


def _grid(table):
    """(header cells, body rows of cells) of a simple table, else None.

    Simple: one body of at least two rows, no merged cells, and a header row exactly as wide as
    the body rows (pandas' first header row; with MultiIndex columns, the lowest level).
    """
    bodies = table.find_all("tbody", recursive=False)
    head = table.find("thead", recursive=False)
    if len(bodies) != 1 or head is None:
        return None
    rows = [
        r.find_all(["td", "th"], recursive=False) for r in bodies[0].find_all("tr", recursive=False)
    ]
    if len(rows) < 2 or len({len(cells) for cells in rows}) != 1:
        return None
    if any(_span(c, "rowspan") > 1 or _span(c, "colspan") > 1 for cells in rows for c in cells):
        return None
    width = len(rows[0])
    for header_row in head.find_all("tr", recursive=False):
        cells = header_row.find_all(["th", "td"], recursive=False)
        if len(cells) == width and all(_span(c, "colspan") == 1 for c in cells):
            return cells, rows
    return None


_NUMBER = re.compile(r"^[-+\u2212]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?")
_NUMBER_NOISE = re.compile(r"[\s,$\u20ac\u00a3\u00a5%\u00a0\u202f]")
_BLANK = {"", "-", "\u2014", "\u2013", "n/a", "na", "nan", "none", "null", "suppressed", "<na>"}


#: What a numeric column shows in place of a figure it withholds ("count only (n<10)", "not
#: reached ..."): such cells do not make the column text.
_WITHHELD = re.compile(
    r"^(count only \(n<\d+\)|[\u2013-] \(n=[\d,]+\)|not (reached|compared|recorded)\b.*"
    r"|no curve\b.*)$"
)


def _is_number(text: str) -> bool:
    bare = re.sub(r"^(US\$|USD|EUR|GBP|CNY|RMB)\s*", "", text, flags=re.IGNORECASE)
    return bool(_NUMBER.match(_NUMBER_NOISE.sub("", bare)))


def _shape_table(table, sortable: bool) -> None:
    # Numbers right-aligned, text left-aligned, decided per column; sortable headers marked.
    grid = _grid(table)
    if grid is None:
        return
    header, rows = grid
    for col, head_cell in enumerate(header):
        texts = [" ".join(row[col].get_text(" ").split()) for row in rows]
        filled = [t for t in texts if t.lower() not in _BLANK and not _WITHHELD.match(t)]
        numeric = bool(filled) and all(_is_number(t) for t in filled)
        cls = "ta-num" if numeric else "ta-text"
        for cell in [head_cell, *(row[col] for row in rows)]:
            cell["class"] = [*cell.get("class", []), cls]
        if numeric:
            # a rate and its interval read as one figure: kept on one line; a long cell
            # ("34 (9 withdrawn, 18 cancelled, ...)") may wrap, or the table would overflow
            for row, text in zip(rows, texts, strict=True):
                if len(text) <= SHORT_CELL:
                    row[col]["class"] = [*row[col].get("class", []), "ta-short"]
        if sortable and head_cell.name == "th" and head_cell.get_text().strip():
            head_cell["class"] = [*head_cell.get("class", []), "ta-sort"]
            head_cell["tabindex"] = "0"
            head_cell["aria-sort"] = "none"


#: Cells of a numeric column up to this many characters do not wrap.
SHORT_CELL = 28


def _label_cells(table) -> None:
    """Give every body cell its column's header as ``data-label``, and mark the table
    ``ta-stack``: on a phone each row becomes a block of label: value lines, so the label and
    rate columns are never off-screen (report.css)."""
    head = table.find("thead", recursive=False)
    body = table.find("tbody", recursive=False)
    if head is None or body is None:
        return
    rows = body.find_all("tr", recursive=False)
    width = {len(r.find_all(["td", "th"], recursive=False)) for r in rows}
    if len(width) != 1:
        return
    (n,) = width
    header = next(
        (
            cells
            for cells in (r.find_all(["th", "td"], recursive=False) for r in head.find_all("tr"))
            if len(cells) == n and all(_span(c, "colspan") == 1 for c in cells)
        ),
        None,
    )
    if header is None or any(_span(c, "rowspan") > 1 for r in rows for c in r.find_all(True)):
        return
    labels = [" ".join(h.get_text(" ").split()) for h in header]
    for row in rows:
        for cell, text in zip(row.find_all(["td", "th"], recursive=False), labels, strict=True):
            cell["data-label"] = text
    table["class"] = [*table.get("class", []), "ta-stack"]


def _span(cell, attr: str) -> int:
    try:
        return int(cell.get(attr, 1))
    except (TypeError, ValueError):
        return 1


def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        # nbconvert pipes cells and outputs through `clean_html` when this is on, and then
        # renders no application/javascript output at all; we supply the sanitiser.
        sanitize_html=True,
        filters={"clean_html": sanitize_html, "markdown2html": render_markdown},
    )


def export_html(
    ipynb_path: Path | str,
    html_path: Path | str,
    title: str | None = None,
    sortable: bool = True,
) -> Path:
    """Render the executed notebook ``ipynb_path`` as one self-contained HTML file.

    ``title`` defaults to the notebook's ``title`` metadata, else its file name. The file is
    written beside ``html_path`` and renamed into place, so a reader never sees half a page.
    Returns ``html_path``.
    """
    import nbformat

    from analysis import __version__

    ipynb_path, html_path = Path(ipynb_path), Path(html_path)
    nb = nbformat.read(ipynb_path, as_version=4)
    papermill_meta = dict(nb.metadata.get("papermill", {}))
    # The runner executes into a temporary file: name the notebook the user knows.
    source_name = Path(str(papermill_meta.get("input_path") or ipynb_path)).name
    parameters = papermill_meta.get("parameters") or {}
    script = sorter_js() if sortable else None
    ta = {
        "title": title or nb.metadata.get("title") or ipynb_path.stem.replace("_", " "),
        "csp": content_security_policy(script),
        "css": report_css(),
        "script": script,
        "generated_at": _generated_at(papermill_meta),
        "parameters": [(k, _display_value(k, parameters[k])) for k in _parameter_order(parameters)],
        "footer": (
            f"Produced by ta-outcomes {__version__} from the notebook {source_name}. "
            "This page is self-contained: it works offline and fetches nothing from the network."
        ),
    }
    shown, whole = _prepare(nb)
    page, _ = _exporter().from_notebook_node(
        shown, resources={"ta": ta, "metadata": {"name": Path(source_name).stem}}
    )
    page = _finish(page, sortable=sortable, our_script=script, whole=whole)
    return write_atomic(html_path, page)


def escape(text: Any) -> str:
    """HTML-escape ``text`` (quotes too), for pages assembled in Python."""
    return html.escape(str(text), quote=True)
