"""Rendering: the simulated cases written the way a tracker exports them (all text, spellings and
formats varying row by row, a few bad rows on purpose), as CSV, Excel and JSON."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.demo.simulate import Snapshot, _choose, _weighted
from analysis.demo.taxonomy import (
    _REQUIRED_FIELDS,
    AMOUNT_COLUMNS,
    AMOUNT_STYLE_SHARE,
    AMOUNT_STYLES,
    BAD_KINDS,
    CLAIM_SYNONYMS,
    COLUMNS,
    DATE_COLUMNS,
    DATE_STYLE_SHARE,
    EVIDENCE_ITEMS,
    MONTH_ABBR,
    OUTCOME_SPELLINGS,
    README_MARKER,
    REASON_SPELLINGS,
    REPEAT_SHARE,
    display_name,
)

# --- rendering (the messy part) -----------------------------------------------------------------


_TWO_DIGITS = np.array([f"{k:02d}" for k in range(32)], dtype=object)
_NUMBERS = np.array([str(k) for k in range(32)], dtype=object)


def _fmt_dates(values: pd.Series, styles: np.ndarray) -> np.ndarray:
    """Dates as text in one of five styles per row; '' where the date is missing."""
    out = np.full(len(values), "", dtype=object)
    present = values.notna().to_numpy()
    if not present.any():
        return out
    days = values[present].to_numpy().astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year_number = months.astype("datetime64[Y]").astype(int) + 1970
    month_number = months.astype(int) % 12 + 1
    day_number = (days - months).astype(int) + 1
    y = np.array([str(k) for k in range(year_number.min(), year_number.max() + 1)], dtype=object)[
        year_number - year_number.min()
    ]
    m, d, day = _TWO_DIGITS[month_number], _TWO_DIGITS[day_number], _NUMBERS[day_number]
    mon = MONTH_ABBR.astype(object)[month_number - 1]
    forms = [y + "-" + m + "-" + d, y + "/" + m + "/" + d, day + " " + mon + " " + y,
             d + " " + mon + " " + y, mon + " " + day + ", " + y]  # fmt: skip
    out[present] = _choose(styles[present], forms)
    return out


def _european(text: str) -> str:
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def _fmt_amount(value: float, currency: str, style: str) -> str:
    if style == "plain":
        text = f"{value:.2f}"
        return text[:-3] if text.endswith(".00") else text
    if style == "thousands":
        return f"{value:,.2f}"
    if style == "symbol" and currency in ("USD", "EUR", "GBP"):
        if currency == "EUR":
            return "€" + _european(f"{value:,.2f}")
        return {"USD": "$", "GBP": "£"}[currency] + f"{value:,.2f}"
    if style in ("code_prefix", "symbol"):
        text = f"{value:,.2f}"
        if not text.endswith(".00") and text.endswith("0"):
            text = text[:-1]  # "USD 12,500.5"
        return f"{currency} {text}"
    if style == "code_suffix":
        return f"{value:,.2f} {currency}"
    if style == "code_plain":
        return f"{currency} {value:.2f}"
    if style == "decimal_comma":
        return f"{value:.2f}".replace(".", ",")
    raise ValueError(style)


def _fmt_amounts(values: pd.Series, currency: np.ndarray, styles: np.ndarray) -> np.ndarray:
    names = np.array(AMOUNT_STYLES, dtype=object)[styles]
    return np.array(
        [
            "" if np.isnan(v) else _fmt_amount(v, c, s)
            for v, c, s in zip(values.to_numpy(), currency, names, strict=True)
        ],
        dtype=object,
    )


def render(frame: pd.DataFrame, rng: np.random.Generator, clean: bool = False) -> pd.DataFrame:
    """The rows as an export holds them: all text, spellings and formats varying row by row.

    ``clean`` renders canonical forms (slugs, ISO dates, plain amounts, a currency column); it is
    used for the public-record cases and as the base of the deliberately bad rows.
    """
    n = len(frame)
    out = pd.DataFrame(index=range(n))
    for column in ["case_id", "order_id", "buyer_ref", "supplier_id", "supplier_name",
                   "supplier_country", "coverage", "decided_by", "description"]:  # fmt: skip
        out[column] = frame[column].to_numpy()
    rand = rng.random((n, 3))  # per row: title case, trailing space, blank currency column
    zeros = np.zeros(n, dtype=int)
    date_style = zeros if clean else _weighted(rng, DATE_STYLE_SHARE, n)
    amount_style = zeros if clean else _weighted(rng, AMOUNT_STYLE_SHARE, n)
    currency = frame["currency"].to_numpy().astype(object)

    # Category: slug, display name, other case, stray whitespace; unmapped raw text as received.
    slug = frame["category"].to_numpy().astype(object)
    display = np.array([display_name(s) for s in slug], dtype=object)
    form = zeros if clean else frame["category_form"].to_numpy()
    display_text, slug_text = display.astype(str), slug.astype(str)
    forms = [
        slug,
        display,
        np.char.upper(display_text),
        np.char.lower(display_text),
        np.char.upper(slug_text),
        "  " + display_text + " ",
        slug_text + "  ",
    ]
    category = _choose(form, forms)
    raw = frame["category_raw"].to_numpy().astype(str)
    category = np.where(raw != "", np.where(form >= 5, raw + " ", raw), category)
    out["product_category"] = category

    claim = frame["claim_type"].to_numpy().astype(str)
    synonym = np.array([CLAIM_SYNONYMS.get(c, c) for c in claim])
    claim_form = zeros if clean else _weighted(rng, [70, 8, 7, 8, 7], n)
    out["claim_type"] = _choose(
        claim_form, [claim, np.char.upper(claim), np.char.title(claim), " " + claim + " ", synonym]
    )

    outcome = frame["outcome"].to_numpy().astype(object)
    spelled = outcome.copy()
    if not clean:
        for slug_value, spellings in OUTCOME_SPELLINGS.items():
            rows = outcome == slug_value
            words = np.array([w for w, _ in spellings], dtype=object)
            spelled[rows] = words[_weighted(rng, [k for _, k in spellings], int(rows.sum()))]
        spelled = np.where(rand[:, 0] < 0.06, np.char.title(spelled.astype(str)), spelled)
        spelled = np.where(rand[:, 1] < 0.04, np.char.add(spelled.astype(str), " "), spelled)
    out["outcome"] = spelled

    # Currency: an ISO code column; left empty now and then when every amount carries its code.
    carries = np.isin(
        np.array(AMOUNT_STYLES)[amount_style], ["code_prefix", "code_suffix", "code_plain"]
    )
    carries |= (np.array(AMOUNT_STYLES)[amount_style] == "symbol") & np.isin(
        currency, ["EUR", "GBP"]
    )
    blank_currency = carries & (rand[:, 2] < 0.15)
    out["currency"] = np.where(blank_currency, "", currency)
    for column in AMOUNT_COLUMNS:
        out[column] = _fmt_amounts(frame[column], currency, amount_style)
    for column in DATE_COLUMNS:
        out[column] = _fmt_dates(frame[column], date_style)
    # the tracker's "Escalated?" column beside the date (the date wins where both are given)
    out["escalated"] = np.where(frame["escalated_date"].notna(), "Yes", "No").astype(object)

    inspection = frame["inspection"].to_numpy().astype(str)
    if not clean:
        spelling = frame["inspection_form"].to_numpy()
        inspection = np.where(
            inspection == "none",
            # trackers spell "no inspection" several ways, but they do write it: a blank would
            # be "not recorded" (unknown), which is not what the demo means
            np.where(spelling < 0.2, "no inspection", np.where(spelling < 0.3, "None", "none")),
            np.where(spelling < 0.1, np.char.lower(inspection), inspection),
        )
    out["inspection"] = inspection.astype(object)

    # Evidence: the items in a fixed order joined by ';' or ',' (with or without a space).
    separators = ["; ", ";", ", ", ","]
    mask = frame["evidence_mask"].to_numpy().astype(int)
    table = np.array(
        [[sep.join(item for i, item in enumerate(EVIDENCE_ITEMS) if m >> i & 1) for m in range(64)]
         for sep in separators],
        dtype=object,
    )  # fmt: skip
    sep_idx = zeros if clean else _weighted(rng, [40, 20, 25, 15], n)
    out["evidence"] = table[sep_idx, mask]
    # the platform's reason as trackers write it (the slug, or a synonym the case keeps), and
    # what the buyer did after it (slugs)
    reason = frame["platform_reason"].to_numpy().astype(object)
    if not clean:
        form = frame["reason_form"].to_numpy()
        for slug_value, spellings in REASON_SPELLINGS.items():
            rows = (reason == slug_value) & (form >= 0.4)
            pick = (form[rows] * 100).astype(int) % len(spellings)
            reason[rows] = np.array(spellings, dtype=object)[pick]
    out["platform_reason"] = reason
    out["after_route"] = frame["after_route"].to_numpy()
    out["after_outcome"] = frame["after_outcome"].to_numpy()
    return out[COLUMNS]


def _bad_rows(
    source: pd.DataFrame, rng: np.random.Generator, count: int, first_kind: int,
    first_number: int, today: date,
) -> pd.DataFrame:  # fmt: skip
    """``count`` deliberately bad rows, each with exactly one problem, kinds taken in turn.

    Each is a copy of a closed case under a new case id, rendered cleanly, then broken; its
    description names the problem so the quarantine can be checked against it.
    """
    closed = source[source["outcome"] != "open"]
    base = (closed if len(closed) else source).sample(n=count, replace=True, random_state=rng)
    base = base.reset_index(drop=True)
    records = render(base, rng, clean=True).to_dict("records")
    opened = base["opened_date"].dt.date
    for i, row in enumerate(records):
        kind = BAD_KINDS[(first_kind + i) % len(BAD_KINDS)]
        row["case_id"] = f"TA-SYN-B{first_number + i:05d}"
        row["description"] = f"[synthetic] Deliberately bad row for the demo: {kind}."
        claim = float(base.loc[i, "claim_amount"])
        open_state = {"outcome": "open", "refund_amount": "", "closed_date": "", "decided_by": "",
                      "platform_reason": "", "after_route": "", "after_outcome": "",
                      "after_refund_amount": "", "after_closed_date": ""}  # fmt: skip
        if kind == "missing required field":
            row[_REQUIRED_FIELDS[(first_kind + i) // len(BAD_KINDS) % len(_REQUIRED_FIELDS)]] = ""
        elif kind == "unreadable amount":
            row["order_value"] = ["TBD", "approx 3k", "1O,250.00"][i % 3]
        elif kind == "unreadable date":
            row["opened_date"] = [f"{opened[i].year}-02-30", "next Tuesday", "31 Foo 2025"][i % 3]
        elif kind == "negative amount":
            row.update(open_state)
            row["claim_amount"] = f"-{claim:.2f}"
        elif kind == "zero claim":
            row.update(open_state)
            row["claim_amount"] = "0.00"
        elif kind == "refund above claim":
            row["outcome"] = "partial_refund"
            row["refund_amount"] = f"{claim * 1.5:.2f}"
        elif kind == "final outcome without closed_date":
            row["outcome"] = "full_refund"
            row["refund_amount"] = f"{claim:.2f}"
            row["closed_date"] = ""
        elif kind == "closed before opened":
            row["closed_date"] = (opened[i] - timedelta(days=9)).isoformat()
            row["escalated_date"] = ""
        elif kind == "opened in the future":
            row.update(open_state)
            row["opened_date"] = (today + timedelta(days=int(rng.integers(200, 400)))).isoformat()
            row["escalated_date"] = ""
        elif kind == "unknown outcome":
            row["outcome"] = "settled maybe"
        elif kind == "unknown claim type":
            row["claim_type"] = "price_gouging"
        elif kind == "unknown currency":
            row["currency"] = "ZZZ"
        elif kind == "ambiguous date":
            d = opened[i]
            day_of_month = (d.day - 1) % 12 + 1
            if day_of_month == d.month:
                day_of_month = day_of_month % 12 + 1
            row["opened_date"] = f"{d.month:02d}/{day_of_month:02d}/{d.year}"
    return pd.DataFrame(records, columns=COLUMNS)


def _assemble(good: pd.DataFrame, bad: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Good rows in case-id order, a few repeated right after themselves, bad rows scattered."""
    n = len(good)
    n_repeat = max(1, round(REPEAT_SHARE * n)) if n >= 20 else 0
    repeated = rng.choice(n, size=n_repeat, replace=False) if n_repeat else np.array([], dtype=int)
    position = np.concatenate(
        [np.arange(n, dtype=float), repeated + 0.5, rng.uniform(0, n, len(bad))]
    )
    rows = pd.concat([good, good.iloc[repeated], bad], ignore_index=True)
    return rows.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)


def _write_xlsx(rows: pd.DataFrame, path: Path, as_of: date) -> None:
    """An .xlsx of text cells, byte-for-byte reproducible (fixed document and zip timestamps)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("cases")
    sheet.append(COLUMNS)
    for record in rows.itertuples(index=False):
        sheet.append([None if v == "" else v for v in record])
    stamp = datetime(as_of.year, as_of.month, as_of.day)
    workbook.properties.creator = "ta-outcomes demo (synthetic data)"
    workbook.properties.created = stamp
    buffer = io.BytesIO()
    workbook.save(buffer)
    # openpyxl stamps the save time into docProps/core.xml and every zip entry: pin both.
    fixed = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + fixed.encode(), data)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)


def _write(rows: pd.DataFrame, path: Path, snapshot: Snapshot) -> None:
    if snapshot.fmt == "csv":
        rows.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    elif snapshot.fmt == "json":
        # An array, one record per line (json's C encoder; indent= would use the slow one).
        body = ",\n".join(
            json.dumps({k: (None if v == "" else v) for k, v in r.items()}, ensure_ascii=False)
            for r in rows.to_dict("records")
        )
        path.write_text("[\n" + body + "\n]\n", encoding="utf-8")
    else:
        _write_xlsx(rows, path, snapshot.as_of)


def _readme(plan: list[Snapshot], counts: list[int], n_cases: int, seed: int) -> str:
    lines = [
        README_MARKER,
        "",
        "Every case, supplier, buyer and amount in this folder is invented. Regenerate with",
        f"    ta-outcomes demo --cases {n_cases} --seed {seed}",
        "(which also loads the files into the demo store). Three cases (TA-PUBLIC-001..003) are",
        "modelled on cases a sourcing agency published; their parties are invented too.",
        "",
        "Files, oldest first (the order to load them in):",
    ]
    for snapshot, count in zip(plan, counts, strict=True):
        kind = "full snapshot" if snapshot.since is None else f"changes since {snapshot.since}"
        lines.append(f"  {snapshot.name}: {kind} as of {snapshot.as_of}, {count} rows")
    lines += [
        "",
        "The files are deliberately messy (mixed amount, date and outcome spellings, repeated",
        "rows) and about 1% of their rows are bad on purpose; see docs/demo-data.md.",
    ]
    return "\n".join(lines) + "\n"
