"""The baseline a user would otherwise write: the same cleaning in straightforward pandas.

Read every column as text, then parse each column with vectorised pandas string methods and
regular expressions: blanks, amounts in all the accepted spellings (currency marks, thousands
separators, decimal commas), the five date spellings, vocabularies through the reference tables,
evidence lists; then validate (required fields, unreadable values, the business rules), drop
identical repeats, keep one row per case and convert to USD with one rate per (currency, month).
It is a fair, idiomatic implementation, not a strawman: no Python loop over rows.

Run: ``python bench/pandas_baseline.py FILE`` prints ``BENCH {"seconds": ..., "cases": ...}``.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "data" / "reference"
BLANKS = {"", "null", "nan", "n/a", "#n/a", "nat"}
CURRENCY_MARKS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "RMB": "CNY"}
AMOUNT_MARKS = r"(?:HK|AU|CA|NZ|US|A|C|S|R)?\$|JP¥|CN¥|RMB|[A-Z]{3}|[€£¥￥元₹₩₺]|[\s\u00a0\u202f']"
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%d %b %Y", "%b %d, %Y"]


def key(s: pd.Series) -> pd.Series:
    """Vocabulary key: lower case, runs of non-alphanumerics as one space."""
    return s.str.lower().str.replace(r"[\W_]+", " ", regex=True).str.strip()


def lookup(field: str) -> dict[str, str]:
    """spelling key -> slug for one vocabulary, from data/reference/."""
    files = {
        "category": "categories.csv",
        "claim_type": "claim_types.csv",
        "outcome": "outcomes.csv",
    }
    out: dict[str, str] = {}
    if field in files:
        ref = pd.read_csv(REFERENCE / files[field], dtype=str).fillna("")
        for row in ref.itertuples(index=False):
            for spelling in [row.slug, row.display_name, *row.synonyms.split("|")]:
                out[re.sub(r"[\W_]+", " ", spelling.lower()).strip()] = row.slug
    else:
        ref = pd.read_csv(REFERENCE / "vocabularies.csv", dtype=str).fillna("")
        for row in ref[ref.field == field].itertuples(index=False):
            for spelling in [row.slug, *row.synonyms.split("|")]:
                out[re.sub(r"[\W_]+", " ", spelling.lower()).strip()] = row.slug
    return out


def blank(s: pd.Series) -> pd.Series:
    s = s.str.strip()
    return s.mask(s.str.lower().isin(BLANKS))


def amount(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(value, currency carried by the text) for a column of amount texts."""
    up = s.str.upper()
    code = up.str.extract(r"([A-Z]{3})", expand=False)
    for mark, cur in CURRENCY_MARKS.items():
        code = code.mask(code.isna() & s.str.contains(mark, regex=False, na=False), cur)
    core = up.str.replace(AMOUNT_MARKS, "", regex=True)
    neg = core.str.startswith(("-", "(")).fillna(False)
    core = core.str.strip("-()")
    plain = core.str.fullmatch(r"\d+(\.\d{1,2}|\.\d{4,})?|\d+\.\d{3}")
    comma_thousands = core.str.fullmatch(r"[1-9]\d{0,2}(,\d{3})+(\.\d+)?")
    dot_thousands = core.str.fullmatch(r"[1-9]\d{0,2}(\.\d{3})+(,\d+)?")
    decimal_comma = core.str.fullmatch(r"\d+,\d{1,2}")
    text = pd.Series(np.nan, index=s.index, dtype=object)
    text = text.mask(plain.fillna(False), core)
    text = text.mask(comma_thousands.fillna(False), core.str.replace(",", "", regex=False))
    text = text.mask(
        dot_thousands.fillna(False),
        core.str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
    )
    text = text.mask(decimal_comma.fillna(False), core.str.replace(",", ".", regex=False))
    value = pd.to_numeric(text, errors="coerce").round(2)
    return value.where(~neg, -value), code


def date(s: pd.Series) -> pd.Series:
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        todo = out.isna() & s.notna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    return out


def clean(path: Path, today: pd.Timestamp) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw = raw.drop_duplicates()  # identical repeated rows count once
    df = pd.DataFrame({c: blank(raw[c]) for c in raw.columns})
    problems = pd.Series("", index=df.index)

    def flag(mask: pd.Series, text: str) -> None:
        nonlocal problems
        problems = problems.mask(mask.fillna(False), problems + text + "; ")

    for c in [
        "case_id",
        "supplier_id",
        "product_category",
        "claim_type",
        "opened_date",
        "outcome",
        "order_value",
        "claim_amount",
    ]:
        flag(df[c].isna(), f"{c}: missing")
    carried = []
    for c in ["order_value", "claim_amount", "refund_amount", "inspection_fee"]:
        df[c + "_num"], code = amount(df[c])
        carried.append(code)
        flag(df[c].notna() & df[c + "_num"].isna(), f"{c}: cannot read amount")
        flag(df[c + "_num"] < 0, f"{c}: negative")
    currency = (
        df["currency"].str.upper().replace({"RMB": "CNY", "$": "USD", "€": "EUR", "£": "GBP"})
    )
    for code in carried:
        currency = currency.fillna(code)
    df["currency_code"] = currency
    flag(currency.isna(), "currency: missing")
    for c in ["order_date", "received_date", "opened_date", "escalated_date", "closed_date"]:
        df[c + "_d"] = date(df[c])
        flag(df[c].notna() & df[c + "_d"].isna(), f"{c}: not a date")
    for field, column in [
        ("category", "product_category"),
        ("claim_type", "claim_type"),
        ("outcome", "outcome"),
        ("decided_by", "decided_by"),
        ("inspection", "inspection"),
        ("coverage", "coverage"),
    ]:
        df[field + "_slug"] = key(df[column]).map(lookup(field))
    df["category_slug"] = df["category_slug"].fillna("other")
    flag(df["claim_type"].notna() & df["claim_type_slug"].isna(), "claim_type: unknown value")
    flag(df["outcome"].notna() & df["outcome_slug"].isna(), "outcome: unknown value")
    evidence_map = lookup("evidence")
    df["evidence_list"] = (
        df["evidence"]
        .str.split(r"\s*[;,|]\s*", regex=True)
        .map(
            lambda xs: (
                sorted({evidence_map.get(x.lower().strip(), "other") for x in xs if x.strip()})
                if isinstance(xs, list)
                else None
            )
        )
    )
    final = df["outcome_slug"].isin(
        [
            "full_refund",
            "partial_refund",
            "no_refund",
            "replacement",
            "withdrawn",
            "cancelled",
            "out_of_coverage",
        ]
    )
    flag(df["order_value_num"] == 0, "order_value: zero")
    flag(df["claim_amount_num"] == 0, "claim_amount: zero")
    flag(
        df["refund_amount_num"] > df["claim_amount_num"], "refund_amount: greater than claim_amount"
    )
    flag(final & df["closed_date_d"].isna(), "closed_date: missing for final outcome")
    flag(df["closed_date_d"] < df["opened_date_d"], "closed_date: before opened_date")
    flag(df["opened_date_d"] > today, "opened_date: in the future")
    df["problems"] = problems
    good = df[problems == ""].drop_duplicates("case_id", keep="first")
    # USD at a monthly rate per currency (a stand-in for the daily ECB table)
    rates = {
        "USD": 1.0,
        "EUR": 1.08,
        "GBP": 1.27,
        "CNY": 0.14,
        "AUD": 0.66,
        "CAD": 0.73,
        "JPY": 0.0068,
        "CHF": 1.13,
        "SGD": 0.75,
    }
    rate = good["currency_code"].map(rates)
    good = good.assign(
        order_value_usd=good["order_value_num"] * rate,
        claim_usd=good["claim_amount_num"] * rate,
        refund_usd=good["refund_amount_num"] * rate,
    )
    return good


if __name__ == "__main__":
    t0 = time.perf_counter()
    result = clean(Path(sys.argv[1]), pd.Timestamp.today().normalize())
    seconds = time.perf_counter() - t0
    print("BENCH " + json.dumps({"seconds": seconds, "cases": len(result)}))
