"""Display objects of the report notebooks: tables with their definition, banners, one-line errors.

- :class:`Table`: a presentation frame (numbers already formatted as text), the caption that
  defines it (numerator, denominator, exclusions), the numbers behind it (``data``, for plots and
  tests) and optionally a machine-readable ``record``. Displayed in Jupyter it renders as an HTML
  table with every cell escaped, and carries the record under the MIME type :data:`RECORD_MIME`
  (read back by tests; dropped by the HTML export).
- :class:`TableGroup`: several tables shown together (data quality, the stamp).
- :class:`Banner`: the report's header box, with the SYNTHETIC DATA warning when it applies.

Case text is never rendered as Markdown or raw HTML: it goes into tables through
``DataFrame.to_html(escape=True)``, after contact details have been masked
(:mod:`analysis.report.privacy`).
"""

from __future__ import annotations

import functools
import hashlib
import html
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import UserError

#: Outputs carrying a section's figures for machines (the notebook tests) use this MIME type.
RECORD_MIME = "application/vnd.ta-outcomes.record+json"
#: A cut table (``Table.page_rows``) carries its whole frame as CSV under this MIME type.
CSV_MIME = "text/csv"


def csv_anchor(csv: str) -> str:
    """The id of a cut table's download placeholder: named by its CSV's digest, so that the
    exported page links each placeholder to the CSV that made it, and to nothing else."""
    return "ta-csv-" + hashlib.sha256(csv.encode("utf-8")).hexdigest()[:20]


# ---------------------------------------------------------------------------------------------
# Errors in a notebook: one line, no traceback wall
# ---------------------------------------------------------------------------------------------


def _one_line(exc: UserError) -> UserError:
    """Make IPython show ``exc`` as one line ("StoreMissing: ...") instead of a traceback.

    IPython calls an exception's ``_render_traceback_`` when it has one; papermill reports the
    same name and message. Outside IPython the attribute is inert.
    """
    line = f"{type(exc).__name__}: {exc}"
    exc._render_traceback_ = lambda: [line]  # type: ignore[attr-defined]
    return exc


def user_errors_one_line(func):
    """Decorator: UserErrors raised by a section render as one line in the notebook."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise _one_line(exc) from None

    return wrapper


# ---------------------------------------------------------------------------------------------
# Display objects
# ---------------------------------------------------------------------------------------------


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars, dates, Decimals and NaN made plain JSON (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [json_ready(row) for row in value.to_dict(orient="records")]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating | Decimal):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    return str(value)


def _escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


# MathJax (JupyterLab typesets HTML outputs) must not read "$...$" in case text as mathematics.
_TABLE_CLASSES = "ta-table tex2jax_ignore mathjax_ignore"


@dataclass
class Table:
    """A section's table: presentation text, its definition, and the numbers behind it."""

    frame: pd.DataFrame
    caption: str
    name: str = ""
    data: pd.DataFrame | None = None
    record: Any = None
    note: str = ""
    source: Any = field(default=None, repr=False)
    #: Shown folded (a one-line ``<details>`` whose summary is this text, the table inside):
    #: a long reference table (the definitions), or a table with nothing to say in the period
    #: (see ``quiet``). Folded content is not printed.
    fold: str = ""
    #: Nothing to say in this period (nothing found, nothing tested, nothing modelled): the
    #: table folds to one line, and a section whose tables are all quiet folds whole
    #: (:mod:`analysis.publish.htmlexport`). An empty table is quiet.
    quiet: bool = False
    #: The page shows only the frame's first ``page_rows`` rows; the whole frame is the table's
    #: CSV download (:meth:`csv`, linked by the exported page). The section's note says which
    #: rows show and how many more the CSV holds.
    page_rows: int | None = None
    _csv: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def cut(self) -> bool:
        """Whether the page shows fewer rows than the frame holds (see ``page_rows``)."""
        return self.page_rows is not None and len(self.frame) > self.page_rows

    def csv(self) -> str:
        """The whole frame as CSV text (the exported page neutralises formulas in it); written
        once per table (a 10M store's list of small suppliers is a million rows)."""
        if self._csv is None:
            self._csv = self.frame.to_csv(index=False, lineterminator="\r\n")
        return self._csv

    def to_html(self) -> str:
        """The table as HTML; every header and cell escaped, the caption escaped too. A cut
        table shows its first ``page_rows`` rows and, above them, an empty placeholder that the
        exported page fills with the download of the whole table (:func:`csv_anchor`)."""
        if self.frame.empty:
            # No header row over nothing: one line, "None.", and what was looked for inside
            caption = f'<p class="ta-caption">{_escape(self.caption)}</p>' if self.caption else ""
            return (
                f'<details class="{_TABLE_CLASSES} ta-quiet"><summary>None.</summary>'
                f"{caption}</details>"
            )
        shown = self.frame.iloc[: self.page_rows] if self.cut else self.frame
        body = shown.to_html(index=False, escape=True, na_rep="", border=0, classes=_TABLE_CLASSES)
        if self.cut:
            body = f'<p class="ta-csv-link" id="{csv_anchor(self.csv())}"></p>{body}'
        # The caption is a paragraph above the table, not a <caption>: a <caption> is as wide as
        # its table, so a two-column table's definition became a tall thin column of words.
        caption = f'<p class="ta-caption">{_escape(self.caption)}</p>' if self.caption else ""
        note = f'<p class="ta-note">{_escape(self.note)}</p>' if self.note else ""
        if self.fold or self.quiet:
            quiet = " ta-quiet" if self.quiet else ""
            summary = _escape(self.fold or self.note or "Nothing to show in this period.")
            return (
                f'<details class="{_TABLE_CLASSES}{quiet}"><summary>{summary}</summary>'
                f"{caption}{body}{note}</details>"
            )
        return f'<div class="{_TABLE_CLASSES}">{caption}{body}{note}</div>'

    def to_text(self) -> str:
        """The table as plain text (JupyterLab's fallback); a cut table's first ``page_rows``
        rows, as on the page (a 10M store's million small suppliers were 100 MB of text)."""
        parts = [self.caption] if self.caption else []
        shown = self.frame.iloc[: self.page_rows] if self.cut else self.frame
        parts.append(shown.to_string(index=False) if len(shown) else "(no rows)")
        if self.cut:
            parts.append(f"(the first {len(shown)} of {len(self.frame)} rows: the CSV holds all)")
        if self.note:
            parts.append(self.note)
        return "\n".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/html": self.to_html(), "text/plain": self.to_text()}
        if self.cut:
            bundle[CSV_MIME] = self.csv()
        if self.record is not None:
            bundle[RECORD_MIME] = {"name": self.name, "data": json_ready(self.record)}
        return bundle

    def __repr__(self) -> str:  # pragma: no cover - convenience in a console
        return self.to_text()


@dataclass
class TableGroup:
    """Several tables shown as one output, in order."""

    tables: list[Table]
    name: str = ""

    def __iter__(self):
        return iter(self.tables)

    def __getitem__(self, key: int | str) -> Table:
        if isinstance(key, str):
            return next(t for t in self.tables if t.name == key)
        return self.tables[key]

    def __len__(self) -> int:
        return len(self.tables)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {
            "text/html": "\n".join(t.to_html() for t in self.tables),
            "text/plain": "\n\n".join(t.to_text() for t in self.tables),
        }
        records = {t.name: json_ready(t.record) for t in self.tables if t.record is not None}
        if records:
            bundle[RECORD_MIME] = {"name": self.name, "data": records}
        return bundle


@dataclass
class Banner:
    """The report's header: what it covers, and a SYNTHETIC DATA warning when it applies."""

    lines: list[str]
    synthetic: bool
    warning: str = ""
    record: dict = field(default_factory=dict)

    def to_html(self) -> str:
        parts = []
        if self.synthetic:
            parts.append(
                '<div class="ta-synthetic" style="border: 3px solid #b00020; '
                "background-color: #fde7ea; color: #5c0011; padding: 10px; "
                'font-weight: bold; font-size: 1.2em">'
                f"SYNTHETIC DATA: {_escape(self.warning)}</div>"
            )
        # the first line shows, the rest folds away: the findings come on the first screen
        first, *rest = self.lines or [""]
        items = "".join(f"<li>{_escape(line)}</li>" for line in rest)
        parts.append(
            '<details class="ta-banner tex2jax_ignore mathjax_ignore">'
            f"<summary>{_escape(first)}</summary><ul>{items}</ul></details>"
        )
        return "\n".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        text = [f"SYNTHETIC DATA: {self.warning}"] if self.synthetic else []
        return {
            "text/html": self.to_html(),
            "text/plain": "\n".join(text + self.lines),
            RECORD_MIME: {"name": "banner", "data": json_ready(self.record)},
        }


@dataclass
class Findings:
    """The report's answer: numbered sentences, each written from the figures (escaped)."""

    sentences: list[str]
    record: dict = field(default_factory=dict)
    name: str = "findings"

    def to_html(self) -> str:
        items = "".join(f"<li>{_escape(s)}</li>" for s in self.sentences)
        return f'<ol class="ta-findings tex2jax_ignore mathjax_ignore">{items}</ol>'

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {
            "text/html": self.to_html(),
            "text/plain": "\n".join(f"{i}. {s}" for i, s in enumerate(self.sentences, start=1)),
            RECORD_MIME: {"name": self.name, "data": json_ready(self.record)},
        }


def show_table(frame: pd.DataFrame, caption: str, name: str = "", record: Any = None) -> Table:
    """Wrap any presentation frame for display: HTML with every cell escaped, and a caption."""
    return Table(frame=frame, caption=caption, name=name, record=record)


@dataclass
class Summary:
    """A page-one summary (issue 29, the case dossier): labelled paragraphs as a definition
    list, every label and text escaped, as wide as the page's prose."""

    items: list[tuple[str, str]]
    caption: str = ""
    record: Any = None
    name: str = "summary"

    def to_html(self) -> str:
        body = "".join(f"<dt>{_escape(k)}</dt><dd>{_escape(v)}</dd>" for k, v in self.items)
        caption = f'<p class="ta-caption">{_escape(self.caption)}</p>' if self.caption else ""
        return f'{caption}<dl class="ta-summary tex2jax_ignore mathjax_ignore">{body}</dl>'

    def to_text(self) -> str:
        return "\n".join([self.caption, *(f"{k}: {v}" for k, v in self.items)]).strip()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/html": self.to_html(), "text/plain": self.to_text()}
        if self.record is not None:
            bundle[RECORD_MIME] = {"name": self.name, "data": json_ready(self.record)}
        return bundle
