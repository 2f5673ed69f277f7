"""Reporting periods: parsing '2026-10', '2026-Q3', '2026' or 'START:END', and their neighbours.

A period is always an inclusive range of whole days, [start, end]. Calendar periods (month,
quarter, year) know their kind, so "the previous period" is the previous calendar month, quarter
or year; an explicit range's previous period is the same number of days immediately before it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from analysis.errors import BadParameter

KINDS = ("month", "quarter", "year", "range")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_YEAR = re.compile(r"(\d{4})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2}):(\d{4}-\d{2}-\d{2})")

_FORMS = "2026-10 (month), 2026-Q3 (quarter), 2026 (year) or 2026-01-01:2026-03-31 (range)"


@dataclass(frozen=True)
class Period:
    """An inclusive range of days with a label for file names (``label``) and for readers
    (``title``)."""

    start: date
    end: date
    label: str
    kind: str  # 'month' | 'quarter' | 'year' | 'range'

    @property
    def title(self) -> str:
        """'2026-10', '2026-Q3', '2026', or for a range '2025-12-01 to 2026-11-30'."""
        if self.kind == "range":
            return f"{self.start.isoformat()} to {self.end.isoformat()}"
        return self.label

    @property
    def days(self) -> int:
        """Number of days in the period, both ends included."""
        return (self.end - self.start).days + 1


def parse_date(text: str | date, what: str) -> date:
    """Read an ISO date (YYYY-MM-DD); raise BadParameter naming ``what`` otherwise.

    A ``date`` (or ``datetime``) passes through, so notebooks can hand over either.
    """
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    raw = str(text).strip()
    if not _ISO_DATE.fullmatch(raw):
        raise BadParameter(f"{what}: {text!r} is not a date; use YYYY-MM-DD, e.g. 2026-03-31")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise BadParameter(f"{what}: {text!r} is not a valid date ({exc})") from None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def month_period(year: int, month: int) -> Period:
    """The calendar month ``year``-``month``."""
    return Period(date(year, month, 1), _month_end(year, month), f"{year:04d}-{month:02d}", "month")


def quarter_period(year: int, quarter: int) -> Period:
    """The calendar quarter ``quarter`` (1-4) of ``year``."""
    first_month = 3 * (quarter - 1) + 1
    return Period(
        date(year, first_month, 1),
        _month_end(year, first_month + 2),
        f"{year:04d}-Q{quarter}",
        "quarter",
    )


def year_period(year: int) -> Period:
    """The calendar year ``year``."""
    return Period(date(year, 1, 1), date(year, 12, 31), f"{year:04d}", "year")


def range_period(start: date, end: date) -> Period:
    """An explicit inclusive range; BadParameter when it ends before it starts."""
    if end < start:
        raise BadParameter(f"period {start.isoformat()}:{end.isoformat()} ends before it starts")
    return Period(start, end, f"{start.isoformat()}_{end.isoformat()}", "range")


def period_of(start: date, end: date) -> Period:
    """The calendar month, quarter or year that [start, end] is exactly, else the range: the
    period ``ta-outcomes metrics --start --end`` compares with the one before, as a report of
    that period does."""
    candidates = [month_period(start.year, start.month), year_period(start.year)]
    if start.month in (1, 4, 7, 10):
        candidates.append(quarter_period(start.year, (start.month - 1) // 3 + 1))
    for candidate in candidates:
        if (candidate.start, candidate.end) == (start, end):
            return candidate
    return range_period(start, end)


def parse_period(text: str) -> Period:
    """Parse '2026-10', '2026-Q3' (any case), '2026' or 'YYYY-MM-DD:YYYY-MM-DD'."""
    raw = str(text).strip()
    if m := _MONTH.fullmatch(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise BadParameter(f"period {text!r}: month {m[2]} is not 01-12")
        return month_period(year, month)
    if m := _QUARTER.fullmatch(raw):
        return quarter_period(int(m[1]), int(m[2]))
    if m := _YEAR.fullmatch(raw):
        if int(m[1]) < 1:
            raise BadParameter(f"period {text!r}: year 0000 does not exist")
        return year_period(int(m[1]))
    if m := _RANGE.fullmatch(raw):
        start = parse_date(m[1], f"period {text!r} start")
        end = parse_date(m[2], f"period {text!r} end")
        return range_period(start, end)
    raise BadParameter(f"period {text!r} not understood; use {_FORMS}")


def _shift_months(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def previous_period(period: Period) -> Period:
    """The period just before: previous calendar month/quarter/year, or for a range the same
    number of days immediately before its start."""
    if period.kind == "month":
        return month_period(*_shift_months(period.start.year, period.start.month, -1))
    if period.kind == "quarter":
        year, month = _shift_months(period.start.year, period.start.month, -3)
        return quarter_period(year, (month - 1) // 3 + 1)
    if period.kind == "year":
        return year_period(period.start.year - 1)
    end = period.start - timedelta(days=1)
    return range_period(end - timedelta(days=period.days - 1), end)


def last_complete(kind: str, today: date | None = None) -> Period:
    """The latest complete month or quarter (or year) that ended before ``today``.

    Today's own month is never complete: its last day is not over yet.
    """
    today = today or date.today()
    if kind == "month":
        return month_period(*_shift_months(today.year, today.month, -1))
    if kind == "quarter":
        current = quarter_period(today.year, (today.month - 1) // 3 + 1)
        return previous_period(current)
    if kind == "year":
        return year_period(today.year - 1)
    raise BadParameter(f"--last {kind!r}: use month or quarter")


def trailing_months(end: date, n: int = 12) -> Period:
    """The ``n`` whole calendar months ending with the month that contains ``end``."""
    if n < 1:
        raise BadParameter(f"trailing months: n must be at least 1, got {n}")
    first_year, first_month = _shift_months(end.year, end.month, -(n - 1))
    return range_period(date(first_year, first_month, 1), _month_end(end.year, end.month))


def month_starts(start: date, end: date) -> list[date]:
    """The first day of every calendar month that overlaps [start, end], in order."""
    months = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        months.append(date(year, month, 1))
        year, month = _shift_months(year, month, 1)
    return months
