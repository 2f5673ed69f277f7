"""Period strings and their neighbours (analysis/periods.py)."""

from __future__ import annotations

from datetime import date

import pytest

from analysis.errors import BadParameter
from analysis.metrics.periods import (
    Period,
    last_complete,
    month_starts,
    parse_date,
    parse_period,
    previous_period,
    trailing_months,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10", Period(date(2026, 10, 1), date(2026, 10, 31), "2026-10", "month")),
        # February: 28 days in 2026, 29 in the leap year 2024.
        ("2026-02", Period(date(2026, 2, 1), date(2026, 2, 28), "2026-02", "month")),
        ("2024-02", Period(date(2024, 2, 1), date(2024, 2, 29), "2024-02", "month")),
        ("2026-Q3", Period(date(2026, 7, 1), date(2026, 9, 30), "2026-Q3", "quarter")),
        # Q4 ends on 31 December; lower case is accepted and the label is normalised.
        ("2026-q4", Period(date(2026, 10, 1), date(2026, 12, 31), "2026-Q4", "quarter")),
        ("2024-Q1", Period(date(2024, 1, 1), date(2024, 3, 31), "2024-Q1", "quarter")),
        ("2026", Period(date(2026, 1, 1), date(2026, 12, 31), "2026", "year")),
        (
            " 2026-01-15:2026-02-14 ",
            Period(date(2026, 1, 15), date(2026, 2, 14), "2026-01-15_2026-02-14", "range"),
        ),
        # A one-day range is a period too.
        (
            "2024-02-29:2024-02-29",
            Period(date(2024, 2, 29), date(2024, 2, 29), "2024-02-29_2024-02-29", "range"),
        ),
    ],
)
def test_parse_period_forms(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("2026-13", "month 13"),
        ("2026-00", "month 00"),
        ("2026-Q5", "not understood"),
        ("October 2026", "not understood"),
        ("", "not understood"),
        ("2026-10-01", "not understood"),
        ("2026/10", "not understood"),
        ("2026-02-30:2026-03-01", "not a valid date"),
        ("2026-03-01:2026-02-01", "ends before it starts"),
    ],
)
def test_parse_period_rejects_with_one_line(text, needle):
    with pytest.raises(BadParameter) as err:
        parse_period(text)
    message = str(err.value)
    assert needle in message
    assert "\n" not in message
    assert err.value.exit_code == 2


def test_parse_date_accepts_iso_and_dates():
    assert parse_date("2026-03-05", "--start") == date(2026, 3, 5)
    assert parse_date(" 2024-02-29 ", "--start") == date(2024, 2, 29)
    assert parse_date(date(2026, 1, 2), "--start") == date(2026, 1, 2)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("2026/03/05", "is not a date; use YYYY-MM-DD"),
        ("05 Mar 2026", "is not a date; use YYYY-MM-DD"),
        ("20260305", "is not a date; use YYYY-MM-DD"),
        ("2026-02-29", "not a valid date"),  # 2026 is not a leap year
        ("2026-04-31", "not a valid date"),
    ],
)
def test_parse_date_rejects_and_names_the_parameter(text, needle):
    with pytest.raises(BadParameter) as err:
        parse_date(text, "--end")
    assert str(err.value).startswith("--end: ")
    assert needle in str(err.value)


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        # January's previous month is December of the year before.
        ("2026-01", ("2025-12-01", "2025-12-31", "2025-12", "month")),
        # March 2024's previous month is the leap February.
        ("2024-03", ("2024-02-01", "2024-02-29", "2024-02", "month")),
        ("2026-Q1", ("2025-10-01", "2025-12-31", "2025-Q4", "quarter")),
        ("2026-Q3", ("2026-04-01", "2026-06-30", "2026-Q2", "quarter")),
        ("2026", ("2025-01-01", "2025-12-31", "2025", "year")),
        # 31 days (1-31 March) -> the 31 days before 1 March 2026: 29 Jan .. 28 Feb
        # (3 days of January + 28 of February).
        ("2026-03-01:2026-03-31", ("2026-01-29", "2026-02-28", "2026-01-29_2026-02-28", "range")),
        # 10 days in a leap year: 1-10 March 2024 -> 20-29 February 2024.
        ("2024-03-01:2024-03-10", ("2024-02-20", "2024-02-29", "2024-02-20_2024-02-29", "range")),
        # Across a year end: 1-5 January -> 27-31 December.
        ("2026-01-01:2026-01-05", ("2025-12-27", "2025-12-31", "2025-12-27_2025-12-31", "range")),
    ],
)
def test_previous_period(text, previous):
    start, end, label, kind = previous
    got = previous_period(parse_period(text))
    assert got == Period(date.fromisoformat(start), date.fromisoformat(end), label, kind)
    if kind == "range":
        assert got.days == parse_period(text).days


@pytest.mark.parametrize(
    ("kind", "today", "label"),
    [
        ("month", date(2026, 1, 1), "2025-12"),
        # The last day of March is not over yet: March is not complete.
        ("month", date(2026, 3, 31), "2026-02"),
        ("month", date(2026, 3, 1), "2026-02"),
        ("quarter", date(2026, 1, 15), "2025-Q4"),
        ("quarter", date(2026, 6, 30), "2026-Q1"),
        ("quarter", date(2026, 7, 1), "2026-Q2"),
        ("quarter", date(2026, 12, 31), "2026-Q3"),
    ],
)
def test_last_complete(kind, today, label):
    period = last_complete(kind, today)
    assert period.label == label
    assert period.end < today


def test_last_complete_rejects_other_kinds():
    with pytest.raises(BadParameter, match="use month or quarter"):
        last_complete("week", date(2026, 1, 1))


def test_trailing_months():
    # 12 whole months ending with October 2026: November 2025 .. October 2026.
    period = trailing_months(date(2026, 10, 15), 12)
    assert (period.start, period.end) == (date(2025, 11, 1), date(2026, 10, 31))
    # 3 months ending with February 2024 (leap): December 2023 .. 29 February 2024.
    period = trailing_months(date(2024, 2, 10), 3)
    assert (period.start, period.end) == (date(2023, 12, 1), date(2024, 2, 29))
    assert trailing_months(date(2026, 1, 31), 1).start == date(2026, 1, 1)
    with pytest.raises(BadParameter):
        trailing_months(date(2026, 1, 31), 0)


def test_month_starts():
    assert month_starts(date(2025, 11, 20), date(2026, 2, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert month_starts(date(2026, 2, 5), date(2026, 2, 6)) == [date(2026, 2, 1)]


def test_a_period_has_a_title_for_readers_beside_its_file_label():
    assert parse_period("2026-Q3").title == "2026-Q3"
    span = parse_period("2025-12-01:2026-11-30")
    assert span.label == "2025-12-01_2026-11-30"  # for file and folder names
    assert span.title == "2025-12-01 to 2026-11-30"  # for titles and the catalogue
