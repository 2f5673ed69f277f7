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


def suppressed_text(min_n: int) -> str:
    """What a suppressed rate shows."""
    return f"suppressed (n<{min_n})"


def interval(low: Any, high: Any) -> str:
    """'36.5%–46.0%'."""
    return f"{pct(low)}{DASH}{pct(high)}"


def rate_ci(rate: Any, low: Any, high: Any, suppressed: bool, min_n: int) -> str:
    """'41.2% (36.5%–46.0%)', or 'suppressed (n<30)', or '–' when there is nothing to divide by."""
    if suppressed:
        return suppressed_text(min_n)
    if missing(rate):
        return DASH
    return f"{pct(rate)} ({interval(low, high)})"


def rate(value: Any, suppressed: bool, min_n: int, formatter=pct) -> str:
    """A suppressible figure: its text, or 'suppressed (n<30)'."""
    return suppressed_text(min_n) if suppressed else formatter(value)


def rate_ci_column(data: pd.DataFrame, min_n: int) -> list[str]:
    """The supplier-sided rate with its interval, one text per row of a block frame."""
    return [
        rate_ci(r, lo, hi, s, min_n)
        for r, lo, hi, s in zip(
            data["supplier_sided_rate"],
            data["supplier_sided_ci_low"],
            data["supplier_sided_ci_high"],
            data["suppressed"],
            strict=True,
        )
    ]


def rate_column(data: pd.DataFrame, column: str, min_n: int, formatter=pct) -> list[str]:
    """A suppressible figure of a block frame, one text per row."""
    return [
        rate(v, s, min_n, formatter) for v, s in zip(data[column], data["suppressed"], strict=True)
    ]


def clip(text: Any, limit: int = settings.DESCRIPTION_CHARS) -> Any:
    """``text`` cut to ``limit`` characters, with an ellipsis."""
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def clean_text(text: Any, limit: int = settings.DESCRIPTION_CHARS) -> str:
    """Case text made fit for a report: contact details masked first, then clipped."""
    if missing(text):
        return ""
    return clip(mask_contact_details(str(text)), limit)


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
