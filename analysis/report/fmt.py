"""Every way a figure is written for a reader, once: the reports, the catalogue and the
command line's table all format through these functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from analysis import settings
from analysis.report.privacy import mask_contact_details

#: What a figure with nothing to show reads as (no decided cases, nothing to divide by).
DASH = "–"


def missing(value: Any) -> bool:
    """True for None, NA, NaN and NaT."""
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def pct(value: Any, digits: int = 1) -> str:
    """0.4123 -> '41.2%'; missing -> '–'."""
    return DASH if missing(value) else f"{100 * float(value):.{digits}f}%"


def count(value: Any) -> str:
    """12345 -> '12,345'; missing -> '–'."""
    return DASH if missing(value) else f"{int(value):,}"


def usd(value: Any) -> str:
    """12345.6 -> '$12,346'; missing -> '–'."""
    return DASH if missing(value) else f"${float(value):,.0f}"


def days(value: Any) -> str:
    """23.0 -> '23', 23.5 -> '23.5'; missing -> '–'."""
    return DASH if missing(value) else f"{float(value):g}"


def points(value: Any) -> str:
    """A difference of two fractions in percentage points: 0.031 -> '+3.1 pts'."""
    return DASH if missing(value) else f"{100 * float(value):+.1f} pts"


def signed(value: Any) -> str:
    """A difference of counts or days: 5 -> '+5', -2.5 -> '-2.5'."""
    return DASH if missing(value) else f"{float(value):+g}"


def suppressed_text(min_n_rate: int) -> str:
    """What a rate on fewer than ``min_n_rate`` decided cases shows instead (its counts stay)."""
    return f"count only (n<{min_n_rate})"


#: The mark of a rate on fewer than min_n decided cases.
FEW_CASES = "few cases"
#: What a figure shows when the exports behind it did not carry its field.
NOT_RECORDED = "not recorded"
#: A figure shown without an interval because its values are too few for one at the level.
NO_INTERVAL = "too few for an interval"


def level(confidence: float) -> str:
    """An interval's level: 0.95 -> '95%', 0.998 -> '99.8%'."""
    return f"{100 * float(confidence):g}%"


#: The supplier comparison's call-out limits and the p-chart's limits, in words.
FLAG_LIMITS = f"{level(settings.FLAG_CONFIDENCE)} limits"
SIGMA_LIMITS = f"{settings.P_CHART_SIGMA}-sigma limits"
#: The trailing window's length, in words ("12 months").
TRAILING = f"{settings.TRAILING_MONTHS} months"


def interval(low: Any, high: Any) -> str:
    """'36.5%–46.0%'."""
    return f"{pct(low)}{DASH}{pct(high)}"


def rate_ci(
    rate: Any, low: Any, high: Any, suppressed: bool, min_n_rate: int, few: bool = False
) -> str:
    """'41.2% (36.5%–46.0%)', '41.2% (30.1%–53.0%) few cases', 'count only (n<10)', or '–'
    when there is nothing to divide by."""
    if suppressed:
        return suppressed_text(min_n_rate)
    if missing(rate):
        return DASH
    if missing(low) or missing(high):
        # a median of a handful of values (or a ratio over one case) has no interval at the level
        return f"{pct(rate)} ({NO_INTERVAL})" + (f" {FEW_CASES}" if few else "")
    return f"{pct(rate)} ({interval(low, high)})" + (f" {FEW_CASES}" if few else "")


def rate(value: Any, suppressed: bool, min_n_rate: int, formatter=pct) -> str:
    """A figure withheld below min_n_rate decided cases: its text, or 'count only (n<10)'."""
    return suppressed_text(min_n_rate) if suppressed else formatter(value)


def rate_ci_column(
    data: pd.DataFrame, min_n_rate: int, prefix: str = "supplier_sided"
) -> list[str]:
    """A rate with its interval (and the few-cases mark), one text per row of a block frame."""
    few = data["few_cases"] if "few_cases" in data else [False] * len(data)
    withheld = data["suppressed"] if prefix == "supplier_sided" else data[f"{prefix}_rate"].isna()
    return [
        rate_ci(r, lo, hi, bool(s), min_n_rate, bool(f))
        for r, lo, hi, s, f in zip(
            data[f"{prefix}_rate"], data[f"{prefix}_ci_low"], data[f"{prefix}_ci_high"],
            withheld, few, strict=True,
        )
    ]  # fmt: skip


def rate_column(data: pd.DataFrame, column: str, min_n_rate: int, formatter=pct) -> list[str]:
    """A figure of a block frame withheld below min_n_rate, one text per row."""
    return [
        rate(v, s, min_n_rate, formatter)
        for v, s in zip(data[column], data["suppressed"], strict=True)
    ]


def odds_ratio(value: Any) -> str:
    """0.2775 -> '0.28'; 5.09 -> '5.09'; missing -> '–'."""
    return DASH if missing(value) else f"{float(value):.2f}"


def p_value(value: Any) -> str:
    """'p = 0.032', 'p < 0.001'; missing -> '–'."""
    if missing(value):
        return DASH
    return "p < 0.001" if float(value) < 0.001 else f"p = {float(value):.3f}"


def clip(text: Any, limit: int = settings.DESCRIPTION_CHARS) -> Any:
    """``text`` cut to ``limit`` characters, with an ellipsis."""
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def clean_text(text: Any, limit: int = settings.DESCRIPTION_CHARS) -> str:
    """Case text made fit for a report: contact details masked first, then clipped. For free
    text only (descriptions, names, reasons): an identifier goes through :func:`identifier`."""
    if missing(text):
        return ""
    return clip(mask_contact_details(str(text)), limit)


def identifier(value: Any, limit: int = 60) -> str:
    """A value of one of the store's id columns (``case_id``, ``supplier_id``) as a report shows
    it: clipped, never masked. A 16-digit order number used as a case id looks like a phone
    number to :func:`~analysis.report.privacy.mask_contact_details`, and a reader must be able
    to find the case by it; ids are not where buyers write their contact details."""
    if missing(value):
        return ""
    return clip(str(value), limit)


def name_or_id(name: Any, identifier_value: Any, limit: int = 60) -> str:
    """A supplier's name (free text: masked) or, when the export gave none, its id (not masked)."""
    return clean_text(name, limit) if not missing(name) else identifier(identifier_value, limit)


def file_name(path: Any) -> str:
    """A file's name only: folder layouts mean nothing to a reader (and need not leave the building)."""
    return clean_text(Path(str(path)).name, 80) if not missing(path) else ""


def timestamp(value: Any) -> str:
    """'2026-11-02 06:00'; missing -> '–'."""
    if missing(value):
        return DASH
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def date_text(value: Any) -> str:
    """'2026-11-02'; missing -> '–'."""
    if missing(value):
        return DASH
    return pd.Timestamp(value).date().isoformat()
