"""Property tests of the parsing macros (analysis/sql/macros.sql) and of the staging as a whole.

For any text the macros return a value or NULL and never raise; every accepted spelling of an
amount or a date parses back to the value it was written from; an ambiguous numeric date is NULL
with the 'ambiguous' problem. Many strings go through one query per example, for speed.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import ingest, sqlfiles, store
from tests.conftest import HEADER, TODAY, fetch, good_row

#: hypothesis draws hundreds of examples per property: make test runs them, test-fast does not
pytestmark = pytest.mark.slow

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like amounts and dates reaches the interesting branches more often than
# arbitrary Unicode; both are tried.
NUMBERISH = st.text(
    alphabet="0123456789.,-()/ $€£¥₹USDEURGBPRMBJanMrchT:\u00a0\u202f'", max_size=24
)
ANY_TEXT = st.text(max_size=40)
TEXTS = st.lists(st.one_of(NUMBERISH, ANY_TEXT), min_size=1, max_size=60)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    store.run_script(c, sqlfiles.sql("ingest", "macros.sql"))
    yield c
    c.close()


def _run(con, sql: str, texts: list[str], *params):
    # one query for the whole batch; the texts are a bound list, never formatted into the SQL
    return con.execute(
        f"SELECT {sql} FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(s, i) ORDER BY i",  # noqa: S608 (fixed SQL of this file)
        [texts, *params],
    ).fetchall()


# Free text as buyers write it: contact details among dates, amounts, references and words.
CONTACTISH = st.lists(
    st.one_of(
        st.text(alphabet="0123456789 ()-./+", min_size=1, max_size=20),
        st.sampled_from(["+86 138 0013 8000", "li.wei+ta@example.com.cn", "2026-10-01",
                         "1234567.89", "ORD5551234567x", "(555) 123-4567", "0049 30 1234567",
                         "TA-2026-000123", "@", "call", "x", "号", "\n", ", ", ": "]),
    ),
    max_size=12,
).map("".join)  # fmt: skip


@SETTINGS
@given(texts=st.lists(st.one_of(CONTACTISH, ANY_TEXT), min_size=1, max_size=40))
def test_ingest_masking_is_the_reports_rule(con, texts):
    # ta_mask_contacts (the ingest's, in SQL on RE2, which has no look-around) hides exactly what
    # the reports' masking (analysis.report.privacy, Python) hides: one rule, written twice
    from analysis.report.privacy import mask_contact_details

    rows = _run(con, "ta_mask_contacts(s)", texts)
    for text, (masked,) in zip(texts, rows, strict=True):
        assert masked == mask_contact_details(text), text


@SETTINGS
@given(texts=TEXTS)
def test_every_macro_returns_a_value_or_null_for_any_text(con, texts):
    rows = _run(
        con,
        "ta_amount(s), ta_amount_currency(s), ta_date(s, NULL), ta_date_problem(s, NULL), "
        "ta_date(s, '%d/%m/%Y'), ta_blank(s), ta_key(s), ta_amount_stripped(s)",
        texts,
    )
    assert len(rows) == len(texts)
    for text, (amount, currency, date, problem, declared_date, blank, key, _) in zip(
        texts, rows, strict=True
    ):
        assert amount is None or isinstance(amount, Decimal)
        assert amount is None or abs(amount) < Decimal("1e16")  # DECIMAL(18,2)
        assert currency is None or (isinstance(currency, str) and len(currency) == 3)
        assert date is None or isinstance(date, dt.date)
        assert declared_date is None or isinstance(declared_date, dt.date)
        assert problem in (
            "not a date",
            "ambiguous day/month order; declare date_format in a --mapping file",
        )
        assert blank is None or blank in text  # trimmed, never invented
        assert isinstance(key, str) and key == key.strip()


@SETTINGS
@given(texts=TEXTS)
def test_ta_key_is_idempotent_and_case_free(con, texts):
    rows = _run(con, "ta_key(s), ta_key(ta_key(s)), ta_key(upper(s))", texts)
    for key, key_of_key, _ in rows:
        assert key == key_of_key


AMOUNTS = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2),
    min_size=1,
    max_size=30,
)


def _european(v: Decimal) -> str:
    # 1234.56 -> '1.234,56'
    return f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def amount_spellings(v: Decimal) -> list[tuple[str, Decimal, str | None]]:
    """(text, the amount it must parse to, the currency it carries) for each accepted spelling."""
    plain, grouped = f"{v:.2f}", f"{v:,.2f}"
    out = [
        (plain, v, None),
        (grouped, v, None),
        ("$" + grouped, v, "USD"),
        ("USD " + grouped, v, "USD"),
        (grouped + " USD", v, "USD"),
        ("usd " + grouped, v, "USD"),
        ("€" + _european(v), v, "EUR"),
        ("EUR " + plain, v, "EUR"),
        ("£" + plain, v, "GBP"),
        (plain.replace(".", ","), v, None),
        (_european(v).replace(".", "\u00a0"), v, None),
        ("  " + plain + "  ", v, None),
        ("-" + plain, -v, None),
        ("(" + grouped + ")", -v, None),
        ("RMB " + grouped, v, "CNY"),
        ("¥" + plain, v, "CNY"),
        ("HK$" + grouped, v, "HKD"),
        ("CNY " + plain, v, "CNY"),
    ]
    if v == v.to_integral_value():
        out.append((str(int(v)), v, None))  # '12500'
    elif (v * 100) % 10 == 0:
        out.append(("USD " + grouped[:-1], v, "USD"))  # 'USD 12,500.5'
    return out


@SETTINGS
@given(values=AMOUNTS)
def test_every_amount_spelling_parses_back_to_its_value(con, values):
    cases = [c for v in values for c in amount_spellings(v)]
    rows = _run(con, "ta_amount(s), ta_amount_currency(s)", [c[0] for c in cases])
    for (text, want, want_currency), (amount, currency) in zip(cases, rows, strict=True):
        assert amount == want, text
        assert currency == want_currency, text


FAST_PATH = (
    "ta_amount_parts_text(ta_amount_parts(s)) IS NOT NULL, "
    "try_cast(ta_amount_parts_text(ta_amount_parts(s)) AS DECIMAL(18, 2)), "
    "ta_amount_parts_currency(ta_amount_parts(s)), ta_amount(s), ta_amount_currency(s)"
)


def _fast_path_agrees(con, texts: list[str]) -> int:
    """Assert that wherever the one-regex path takes a text, it reads what the full parser
    reads; returns how many texts it took."""
    taken = 0
    for text, (ok, amount, currency, full_amount, full_currency) in zip(
        texts, _run(con, FAST_PATH, texts), strict=True
    ):
        if ok:
            taken += 1
            assert (amount, currency) == (full_amount, full_currency), text
    return taken


@SETTINGS
@given(texts=TEXTS)
def test_the_one_regex_amount_path_reads_what_the_full_parser_reads(con, texts):
    _fast_path_agrees(con, texts)


@SETTINGS
@given(values=AMOUNTS)
def test_the_one_regex_amount_path_takes_the_common_spellings(con, values):
    cases = [c for v in values for c in amount_spellings(v)]
    taken = _fast_path_agrees(con, [c[0] for c in cases])
    # plain, grouped, $, 'USD ' prefix and suffix, €, 'EUR ', £ and the decimal comma at least
    assert taken >= 9 * len(values)


@pytest.mark.parametrize(
    ("text", "taken", "amount", "currency"),
    [("12500.5", True, "12500.50", None), ("12,500.00", True, "12500.00", None),
     ("$12,500.00", True, "12500.00", "USD"), ("USD 12,500.5", True, "12500.50", "USD"),
     ("12,500.00 USD", True, "12500.00", "USD"), ("€1.234,56", True, "1234.56", "EUR"),
     ("£99.00", True, "99.00", "GBP"), ("400,50", True, "400.50", None),
     ("1.234", True, "1234.00", None), ("RMB 500", False, None, None),
     ("USD 5 EUR", False, None, None), ("$5 USD", False, None, None), ("-5", False, None, None),
     ("usd 5", False, None, None), ("1,234.567", False, None, None), ("0.123", False, None, None)],
)  # fmt: skip
def test_the_one_regex_amount_path_by_hand(text, taken, amount, currency):
    con = duckdb.connect()
    store.run_script(con, sqlfiles.sql("ingest", "macros.sql"))
    ok, got, got_currency, *_ = con.execute(
        "SELECT " + FAST_PATH.replace("(s)", "($1)"), [text]
    ).fetchone()
    assert ok is taken
    if taken:
        assert (got, got_currency) == (Decimal(amount), currency)


DATES = st.lists(
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)),
    min_size=1,
    max_size=30,
)


def date_spellings(d: dt.date) -> list[str]:
    """Each accepted spelling of ``d`` that needs no declared format."""
    out = [
        d.isoformat(),
        d.strftime("%Y/%m/%d"),
        d.strftime("%Y.%m.%d"),
        f"{d.day} {d:%b} {d.year}",
        d.strftime("%d %b %Y"),
        d.strftime("%d %B %Y"),
        f"{d:%b} {d.day}, {d.year}",
        d.strftime("%B %d, %Y"),
        d.strftime("%d-%b-%Y"),
        f"{d.isoformat()}T08:30:00",
        f"{d.isoformat()} 23:59:59",
        f"{d.day} {d:%b} {d.year}".upper(),
        f" {d.isoformat()} ",
    ]
    if d.day > 12 or d.day == d.month:
        out += [f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day}.{d.month}.{d.year}"]  # d/m/Y
    if d.day > 12:
        out += [f"{d.month:02d}/{d.day:02d}/{d.year}", f"{d.month}-{d.day}-{d.year}"]  # m/d/Y
    return out


@SETTINGS
@given(dates=DATES)
def test_every_date_spelling_parses_back_to_its_date(con, dates):
    cases = [(s, d) for d in dates for s in date_spellings(d)]
    rows = _run(con, "ta_date(s, NULL)", [c[0] for c in cases])
    for (text, want), (got,) in zip(cases, rows, strict=True):
        assert got == want, text


@SETTINGS
@given(dates=DATES)
def test_ambiguous_day_month_is_null_with_the_ambiguous_problem(con, dates):
    ambiguous = [d for d in dates if d.day <= 12 and d.month <= 12 and d.day != d.month]
    texts = [f"{d.day:02d}/{d.month:02d}/{d.year}" for d in ambiguous]
    if not texts:
        return
    rows = _run(
        con,
        "ta_date(s, NULL), ta_date_problem(s, NULL), ta_date(s, '%d/%m/%Y'), "
        "ta_date(s, '%m/%d/%Y')",
        texts,
    )
    for d, (undeclared, problem, as_dm, as_md) in zip(ambiguous, rows, strict=True):
        assert undeclared is None
        assert problem.startswith("ambiguous day/month order")
        # with a declared format the same text is read, in the declared order
        assert as_dm == d
        assert as_md == dt.date(d.year, d.day, d.month)


# --- the staging as a whole -------------------------------------------------------------------

CELL = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30
)
FIELDS = HEADER  # the intake columns of the hand-written fixtures


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cells=st.lists(
        st.dictionaries(st.sampled_from(FIELDS), CELL, max_size=len(FIELDS)), min_size=1, max_size=5
    )
)
def test_staging_loads_or_quarantines_any_cell_text(cells):
    """Random text in random fields of a few valid rows: the file loads, each row is inserted,
    repeated or quarantined, and the counts add up, in the result and in the loads table."""
    rows = [
        good_row(f"P{i}", opened_date="2025-03-05", closed_date="2025-04-01") | overrides
        for i, overrides in enumerate(cells)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=HEADER)
            w.writeheader()
            w.writerows(rows)
        db = Path(tmp) / "cases.duckdb"
        result = ingest.ingest_file(path, db, today=TODAY)
        assert result.rows_read == len(rows)
        assert result.adds_up()
        assert fetch(
            db,
            "SELECT rows_read, inserted + updated + unchanged + repeats + quarantined FROM loads",
        ) == [(len(rows), len(rows))]
        assert fetch(db, "SELECT count(*) FROM quarantine") == [(result.quarantined,)]


@pytest.mark.parametrize(
    ("text", "currency"),
    [("US$ 1,200.00", "USD"), ("CA$5", "CAD"), ("C$5", "CAD"), ("A$5", "AUD"), ("AU$5", "AUD"),
     ("S$5", "SGD"), ("HK$ 5", "HKD"), ("NZ$5", "NZD"), ("R$5", "BRL"), ("$5", "USD"),
     ("JP¥500", "JPY"), ("¥500", "CNY"), ("RMB 500", "CNY"), ("5 EUR", "EUR")],
)  # fmt: skip
def test_dollar_and_yen_prefixes_are_told_apart(text, currency):
    con = duckdb.connect()
    store.run_script(con, sqlfiles.sql("ingest", "macros.sql"))
    assert con.execute("SELECT ta_amount_currency(?)", [text]).fetchone()[0] == currency
