"""Tests for analysis.demo: the synthetic exports (read back with pandas) and the demo load."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import demo
from analysis.demo import exports as demo_exports
from analysis.demo import simulate
from analysis.errors import BadParameter, UserError
from tests.casefactory import build_store, make_case

#: A fixed "today" so that the files (and the checks on them) never depend on the calendar.
TODAY = date(2026, 6, 30)
SEED = 20261127

#: Every outcome spelling the issue lists, normalised to its slug (written out here, not taken
#: from analysis.demo, so the test checks the generator against the issue).
OUTCOME_SLUG = {
    "open": "open", "pending": "open", "in progress": "open",
    "full_refund": "full_refund", "full refund": "full_refund", "refunded in full": "full_refund",
    "partial_refund": "partial_refund", "partial refund": "partial_refund",
    "no_refund": "no_refund", "no refund": "no_refund", "rejected": "no_refund",
    "denied": "no_refund", "replacement": "replacement", "withdrawn": "withdrawn",
    "cancelled": "cancelled", "out_of_coverage": "out_of_coverage",
    "out of coverage": "out_of_coverage",
}  # fmt: skip
DISPLAY_TO_SLUG = {
    "machinery": "machinery", "electronics": "electronics",
    "apparel & textiles": "apparel_textiles", "home & garden": "home_garden",
    "packaging & printing": "packaging", "auto parts": "auto_parts",
    "health & medical": "health_medical", "beauty & personal care": "beauty_personal_care",
    "toys & sports": "toys_sports", "building materials": "building_materials", "other": "other",
}  # fmt: skip
BAD_ROW_PREFIX = "[synthetic] Deliberately bad row for the demo: "

# The amount forms the issue lists, as regular expressions (any ISO code where one is carried).
AMOUNT_FORMS = {
    "12500": r"\d+",
    "12,500.00": r"\d{1,3}(,\d{3})+\.\d{2}",
    "$12,500.00": r"\$\d{1,3}(,\d{3})*\.\d{2}",
    "USD 12,500.5": r"[A-Z]{3} \d{1,3}(,\d{3})*\.\d",
    "12,500.00 USD": r"\d{1,3}(,\d{3})*\.\d{2} [A-Z]{3}",
    "€1.234,56": r"€\d{1,3}(\.\d{3})+,\d{2}",
    "EUR 1234.56": r"[A-Z]{3} \d+\.\d{2}",
    "£99.00": r"£\d{1,3}(,\d{3})*\.\d{2}",
    "400,50": r"\d+,\d{2}",
}
#: Other shapes the same renderer produces (plain with cents, a code before a thousands form,
#: small euro and decimal-comma values without a thousands dot).
AMOUNT_OTHER = [r"\d+\.\d{2}", r"[A-Z]{3} \d{1,3}(,\d{3})*\.\d{2}", r"€\d{1,3},\d{2}"]
DATE_FORMS = {
    "2026-03-05": r"\d{4}-\d{2}-\d{2}",
    "2026/03/05": r"\d{4}/\d{2}/\d{2}",
    "5 Mar 2026": r"[1-9] [A-Z][a-z]{2} \d{4}",
    "05 Mar 2026": r"\d{2} [A-Z][a-z]{2} \d{4}",
    "Mar 5, 2026": r"[A-Z][a-z]{2} \d{1,2}, \d{4}",
}


def read_export(path: Path) -> pd.DataFrame:
    """One generated file as all-text columns, missing values as ''."""
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str, engine="calamine").fillna("")
    return pd.DataFrame(json.loads(path.read_text(encoding="utf-8"))).fillna("")


def parse_amount(text: str) -> float:
    """Test-side reading of the amount forms above (enough to compare refunds with claims)."""
    value = re.sub(r"^[A-Z]{3} | [A-Z]{3}$", "", text.strip()).lstrip("$£")
    if value.startswith("€"):
        return float(value[1:].replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d+,\d{2}", value):
        return float(value.replace(",", "."))
    return float(value.replace(",", ""))


def parse_date(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%d %b %Y", "%b %d, %Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(text)


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """2,000 cases generated once for the module: file name -> its rows."""
    raw_dir = tmp_path_factory.mktemp("demo_raw")
    paths = demo.generate(raw_dir, n_cases=2000, seed=SEED, today=TODAY)
    return {p.name: read_export(p) for p in paths}


@pytest.fixture(scope="module")
def final(exports) -> pd.DataFrame:
    """The latest full snapshot's good rows, with outcome slugs and parsed dates and amounts."""
    rows = exports[f"cases_snapshot_{TODAY.isoformat()}.csv"]
    rows = rows[~rows["description"].str.startswith(BAD_ROW_PREFIX)].drop_duplicates()
    rows = rows.assign(
        outcome_slug=rows["outcome"].str.strip().str.lower().map(OUTCOME_SLUG),
        opened=rows["opened_date"].map(parse_date),
        claim=rows["claim_amount"].map(parse_amount),
    )
    return rows


def all_rows(exports) -> pd.DataFrame:
    return pd.concat(exports.values(), ignore_index=True)


# --- pieces, on hand-made values -------------------------------------------------------------


def test_snapshot_plan_for_a_known_day():
    # today 2026-11-27: the older snapshot is the end of the month 7 months back (2026-04-30),
    # Excel changes 14 days later (2026-05-14), JSON changes at the end of the month 3 months
    # back (2026-08-31), then the full snapshot of today.
    plan = demo.snapshot_plan(date(2026, 11, 27))
    assert [(s.name, s.since) for s in plan] == [
        ("cases_snapshot_2026-04-30.csv", None),
        ("cases_changes_2026-05-14.xlsx", date(2026, 4, 30)),
        ("cases_changes_2026-08-31.json", date(2026, 5, 14)),
        ("cases_snapshot_2026-11-27.csv", None),
    ]


@pytest.mark.parametrize(
    ("value", "currency", "style", "expected"),
    [
        (12500.0, "USD", "plain", "12500"),
        (400.5, "USD", "plain", "400.50"),
        (12500.0, "USD", "thousands", "12,500.00"),
        (12500.0, "USD", "symbol", "$12,500.00"),
        (1234.56, "EUR", "symbol", "€1.234,56"),
        (99.0, "GBP", "symbol", "£99.00"),
        (5000.0, "CNY", "symbol", "CNY 5,000.00"),  # no symbol of its own: the code instead
        (12500.5, "USD", "code_prefix", "USD 12,500.5"),
        (12500.0, "USD", "code_suffix", "12,500.00 USD"),
        (1234.56, "EUR", "code_plain", "EUR 1234.56"),
        (400.5, "EUR", "decimal_comma", "400,50"),
    ],
)
def test_amount_styles(value, currency, style, expected):
    assert demo_exports._fmt_amount(value, currency, style) == expected


def test_date_styles_and_missing_dates():
    values = pd.Series(pd.to_datetime(["2026-03-05"] * 5 + [None]))
    styles = np.array([0, 1, 2, 3, 4, 0])
    assert list(demo_exports._fmt_dates(values, styles)) == [
        "2026-03-05", "2026/03/05", "5 Mar 2026", "05 Mar 2026", "Mar 5, 2026", "",
    ]  # fmt: skip


def test_state_at_reopens_cases_closed_after_the_snapshot():
    cases = pd.DataFrame(
        {
            "case_id": ["A", "B", "C"],
            "opened_date": pd.to_datetime(["2026-01-10", "2026-01-20", "2026-03-01"]),
            "escalated_date": pd.to_datetime(["2026-01-15", "2026-02-10", None]),
            "closed_date": pd.to_datetime(["2026-01-30", "2026-02-20", "2026-03-05"]),
            "outcome": ["full_refund", "no_refund", "withdrawn"],
            "refund_amount": [100.0, 0.0, np.nan],
            "decided_by": ["platform", "platform", ""],
            "platform_reason": ["", "product_operational", ""],
            "after_route": ["", "chargeback", ""],
            "after_outcome": ["", "recovered_full", ""],
            "after_refund_amount": [np.nan, 50.0, np.nan],
            "after_closed_date": pd.to_datetime([None, "2026-04-01", None]),
        }
    )
    # As of 2026-02-01: A closed (kept as is); B open (closed 02-20 and escalated 02-10 are
    # both still in the future: blank); C not opened yet (left out).
    snap = demo.state_at(cases, simulate.Snapshot("x.csv", date(2026, 2, 1), None, "csv"))
    assert list(snap["case_id"]) == ["A", "B"]
    assert list(snap["outcome"]) == ["full_refund", "open"]
    assert snap.loc[1, "refund_amount"] != snap.loc[1, "refund_amount"]  # NaN
    assert pd.isna(snap.loc[1, "closed_date"]) and pd.isna(snap.loc[1, "escalated_date"])
    assert list(snap["decided_by"]) == ["platform", ""]
    # Changes since 2026-02-01 as of 2026-03-02: B (escalated and closed since) and C (opened
    # since); A did not change.
    delta = demo.state_at(
        cases, simulate.Snapshot("y.csv", date(2026, 3, 2), date(2026, 2, 1), "csv")
    )
    assert list(delta["case_id"]) == ["B", "C"]
    assert list(delta["outcome"]) == ["no_refund", "open"]
    # issue 29: no reason or route while open (B as of 02-01); a chargeback still under way on
    # the snapshot's day is pending, its amount and end not yet known (B as of 03-02)
    assert list(snap[["platform_reason", "after_route", "after_outcome"]].iloc[1]) == ["", "", ""]
    assert list(delta[["platform_reason", "after_route", "after_outcome"]].iloc[0]) == [
        "product_operational", "chargeback", "pending"]  # fmt: skip
    assert pd.isna(delta.loc[0, "after_refund_amount"]) and pd.isna(
        delta.loc[0, "after_closed_date"]
    )


def test_too_few_cases_or_a_negative_seed_are_refused(tmp_path):
    with pytest.raises(BadParameter, match="at least 10"):
        demo.generate(tmp_path, n_cases=5, today=TODAY)
    with pytest.raises(BadParameter, match="seed"):
        demo.generate(tmp_path, n_cases=50, seed=-1, today=TODAY)


# --- the generated files ---------------------------------------------------------------------


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path):
    first = demo.generate(tmp_path / "a", n_cases=400, seed=7, today=TODAY)
    second = demo.generate(tmp_path / "b", n_cases=400, seed=7, today=TODAY)
    other = demo.generate(tmp_path / "c", n_cases=400, seed=8, today=TODAY)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(
        first + [tmp_path / "a" / "README.txt"],
        second + [tmp_path / "b" / "README.txt"],
        strict=True,
    ):
        assert a.read_bytes() == b.read_bytes(), a.name  # the .xlsx included
    assert first[-1].read_bytes() != other[-1].read_bytes()


def test_several_snapshots_in_three_formats_and_a_readme(tmp_path):
    paths = demo.generate(tmp_path, n_cases=400, seed=SEED, today=TODAY)
    assert [p.suffix for p in paths] == [".csv", ".xlsx", ".json", ".csv"]
    assert paths[-1].name == "cases_snapshot_2026-06-30.csv"
    readme = (tmp_path / "README.txt").read_text(encoding="utf-8")
    assert readme.startswith(demo.README_MARKER)
    assert "ta-outcomes demo --cases 400 --seed 20261127" in readme
    assert "invented" in readme
    # The older full snapshot holds fewer cases than the latest; the latest holds all 400.
    frames = [read_export(p) for p in paths]
    good = [f[~f["description"].str.startswith(BAD_ROW_PREFIX)] for f in frames]
    assert good[0]["case_id"].nunique() < good[3]["case_id"].nunique() == 400


def test_every_description_and_supplier_is_labelled_synthetic(exports):
    rows = all_rows(exports)
    text = rows["description"]
    labelled = text.str.contains("[synthetic]", regex=False)
    # the one exception is the spreadsheet-formula case, which carries the label inside
    assert (labelled | text.str.startswith("=HYPERLINK")).all()
    assert text[~labelled].str.contains("synthetic").all()
    names = rows["supplier_name"].drop_duplicates()
    assert names.str.startswith("Synthetic Supplier ").sum() == len(names) - 1
    assert set(names[~names.str.startswith("Synthetic Supplier ")]) == {demo.HOSTILE_SUPPLIER_NAME}


def test_hostile_text_fake_contacts_and_buyer_refs_are_present(exports):
    rows = all_rows(exports)
    assert (rows["supplier_name"] == "<script>alert(1)</script> Trading Co").any()
    assert rows["description"].str.contains("<img src=x onerror=alert(1)>", regex=False).any()
    assert rows["description"].str.contains(r"lin\.\d{4}@example\.com").any()
    assert rows["description"].str.contains(r"\+44 20 7946 01\d\d").any()
    refs = rows["buyer_ref"]
    assert (
        refs.str.fullmatch(r"BUYER-\d{5}").any()
        and refs.str.fullmatch(r"buyer\.\d{5}@example\.com").any()
    )


def test_at_least_eight_categories_and_unmapped_raw_text(final):
    raw = final["product_category"].str.strip().str.lower()
    slugs = raw.map(lambda t: DISPLAY_TO_SLUG.get(t, t))
    known = set(slugs) & set(DISPLAY_TO_SLUG.values())
    assert len(known) >= 8
    assert (final["product_category"].str.strip() == "Industrial Lasers").sum() >= 3


def test_several_currencies_mostly_usd(final):
    codes = final["currency"][final["currency"] != ""]
    assert {"USD", "EUR", "GBP", "CNY"} <= set(codes)
    assert len(set(codes)) >= 6
    assert 0.5 < (codes == "USD").mean() < 0.9


def test_the_three_public_cases_by_name(final):
    pub = final[final["case_id"].str.startswith("TA-PUBLIC-")].set_index("case_id")
    assert list(pub.index) == ["TA-PUBLIC-001", "TA-PUBLIC-002", "TA-PUBLIC-003"]
    got = pub[
        ["product_category", "claim_type", "currency", "claim_amount", "refund_amount", "outcome"]
    ]
    assert got.loc["TA-PUBLIC-001"].tolist() == [
        "machinery",
        "compliance",
        "USD",
        "17000",
        "0",
        "no_refund",
    ]
    assert got.loc["TA-PUBLIC-002"].tolist() == [
        "apparel_textiles",
        "quality",
        "USD",
        "48000",
        "0",
        "no_refund",
    ]
    assert got.loc["TA-PUBLIC-003"].tolist() == [
        "home_garden",
        "quality",
        "USD",
        "10000",
        "150",
        "partial_refund",
    ]
    assert pub.loc["TA-PUBLIC-001", "order_value"] == "17000"
    assert pub.loc["TA-PUBLIC-003", "order_value"] == "10000"
    assert "falsified CE certificates" in pub.loc["TA-PUBLIC-001", "description"]
    assert "dye variation" in pub.loc["TA-PUBLIC-002", "description"]
    assert "$150 refund" in pub.loc["TA-PUBLIC-003", "description"]
    assert pub["description"].str.contains("sourcing agency").all()


def test_every_messy_form_appears(exports):
    rows = all_rows(exports)
    good = rows[~rows["description"].str.startswith(BAD_ROW_PREFIX)]
    amounts = pd.concat([good[c] for c in demo.AMOUNT_COLUMNS])
    amounts = amounts[amounts != ""]
    for example, pattern in AMOUNT_FORMS.items():
        assert re.fullmatch(pattern, example), example  # the pattern describes the example
        assert amounts.str.fullmatch(pattern).any(), example
    # ... and nothing else: every amount of a good row has one of the known shapes
    shapes = "|".join(f"(?:{p})" for p in [*AMOUNT_FORMS.values(), *AMOUNT_OTHER])
    assert amounts.str.fullmatch(shapes).all(), (
        amounts[~amounts.str.fullmatch(shapes)].head().tolist()
    )

    dates = pd.concat([good[c] for c in demo.DATE_COLUMNS])
    dates = dates[dates != ""]
    for example, pattern in DATE_FORMS.items():
        assert re.fullmatch(pattern, example), example
        assert dates.str.fullmatch(pattern).any(), example

    category = good["product_category"]
    assert (category == "apparel_textiles").any() and (category == "Apparel & Textiles").any()
    assert (category == "APPAREL & TEXTILES").any() or (category == "APPAREL_TEXTILES").any()
    assert (category != category.str.strip()).any()  # stray whitespace

    spellings = set(good["outcome"].str.strip().str.lower())
    assert set(OUTCOME_SLUG) <= spellings
    assert (good["currency"] == "").any()  # the amounts carry the currency on these rows

    evidence = good["evidence"]
    assert evidence.str.contains(";").any() and evidence.str.contains(",").any()

    # identical rows repeated inside one file
    for name, frame in exports.items():
        assert frame.duplicated().sum() >= 1, name


def test_about_one_percent_bad_rows_of_every_kind(exports):
    rows = all_rows(exports)
    bad = rows["description"].str.startswith(BAD_ROW_PREFIX)
    # 2,000 cases give about 3,900 rows; 1% of each file (at least one) is bad
    assert 0.008 <= bad.mean() <= 0.013
    kinds = set(rows.loc[bad, "description"].str.removeprefix(BAD_ROW_PREFIX).str.rstrip("."))
    assert kinds == set(demo.BAD_KINDS)
    ambiguous = rows.loc[bad & rows["description"].str.contains("ambiguous date"), "opened_date"]
    assert ambiguous.str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    # day and month both <= 12 and different: only a declared format can tell them apart
    parts = ambiguous.str.split("/", expand=True).astype(int)
    assert ((parts[0] <= 12) & (parts[1] <= 12) & (parts[0] != parts[1])).all()


def test_suppliers_repeat_with_a_long_tail(final):
    per_supplier = final["supplier_id"].value_counts()
    assert per_supplier.iloc[0] >= 40  # the busiest supplier has many disputes
    assert (per_supplier >= 2).sum() >= 50  # many repeat
    assert (per_supplier == 1).sum() >= 30  # and a long tail with one each
    # a supplier keeps one name and one country everywhere
    assert (
        final.groupby("supplier_id")[["supplier_name", "supplier_country"]].nunique().max().max()
        == 1
    )
    assert final["supplier_country"].value_counts().index[0] == "CN"


def test_open_cases_concentrate_at_the_end(final):
    is_open = final["outcome_slug"] == "open"
    recent = final["opened"] > date(2026, 5, 31)  # the current month (June 2026)
    old = final["opened"] < date(2025, 12, 1)
    assert is_open[recent].mean() > 0.4
    assert is_open[old].mean() < 0.03
    open_rows = final[is_open]
    assert (open_rows["closed_date"] == "").all() and (open_rows["refund_amount"] == "").all()
    assert final["opened"].min() >= date(2024, 7, 1) and final["opened"].max() <= TODAY


def test_money_rules_hold_on_good_rows(final):
    refunded = final[final["refund_amount"] != ""]
    refund = refunded["refund_amount"].map(parse_amount)
    assert (refund <= refunded["claim"] + 1e-9).all()
    assert (final["claim"] <= final["order_value"].map(parse_amount) + 1e-9).all()
    assert (final["claim"] > 0).all()
    closed = final["outcome_slug"] != "open"
    assert (final.loc[closed, "closed_date"] != "").all()


def test_process_dates_follow_trade_assurance(final):
    post = final[
        (final["coverage"] == "post_delivery") & (final["outcome_slug"] != "out_of_coverage")
    ]
    gap = post["opened"] - post["received_date"].map(parse_date)
    assert gap.map(lambda d: d.days).between(0, 30).all()  # opened within 30 days of receipt
    escalated = final[final["escalated_date"] != ""]
    wait = escalated["escalated_date"].map(parse_date) - escalated["opened"]
    assert wait.map(lambda d: d.days).between(3, 7).all()  # from day 4, automatically after day 7
    assert set(final["decided_by"]) == {"", "agreement", "platform", "external"}
    # "no inspection" is written out (a blank would mean "not recorded")
    assert set(final["inspection"].str.upper()) == {"NO INSPECTION", "NONE", "SGS", "TUV", "BV"}


def test_outcomes_depend_on_category_claim_evidence_and_inspection(final):
    decided = final[final["outcome_slug"].isin(["full_refund", "partial_refund", "no_refund"])]
    refused = decided["outcome_slug"] == "no_refund"
    category = decided["product_category"].str.strip().str.lower()
    apparel_colour = (
        category.isin(["apparel_textiles", "apparel & textiles"])
        & (decided["claim_type"].str.strip().str.lower() == "quality")
        & decided["description"].str.contains("colour", case=False)
    )
    assert apparel_colour.sum() >= 30
    assert refused[apparel_colour].mean() > refused.mean() + 0.15
    compliance = decided["claim_type"].str.strip().str.lower() == "compliance"
    assert refused[compliance].mean() > refused.mean() + 0.05
    report = decided["evidence"].str.contains("inspection_report")
    full = decided["outcome_slug"] == "full_refund"
    assert full[report].mean() > full[~report].mean() + 0.1
    thin = decided["evidence"].map(
        lambda e: len([x for x in re.split(r"[;,]", e) if x.strip()]) <= 1
    )
    assert refused[thin].mean() > refused[~thin].mean() + 0.1


# --- run_demo: generation + ingest -------------------------------------------------------------


def test_run_demo_refuses_a_store_with_real_data(tmp_path):
    db = build_store(tmp_path / "cases.duckdb", [make_case(is_synthetic=False)])
    before = db.read_bytes()
    with pytest.raises(UserError, match="real"):
        demo.run_demo(db, tmp_path / "raw", n_cases=50, today=TODAY)
    assert db.read_bytes() == before
    assert not (tmp_path / "raw").exists()


def test_run_demo_refuses_a_raw_folder_it_did_not_write(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "cases_snapshot_2026-01-01.csv").write_text("mine\n")
    with pytest.raises(UserError, match="not written by"):
        demo.run_demo(tmp_path / "cases.duckdb", raw, n_cases=50, today=TODAY)
    assert (raw / "cases_snapshot_2026-01-01.csv").read_text() == "mine\n"


#: The field a deliberately bad row's quarantine reason must name.
REASON_FIELD = {
    "unreadable amount": "order_value", "unreadable date": "opened_date",
    "negative amount": "claim_amount", "zero claim": "claim_amount",
    "refund above claim": "refund_amount", "final outcome without closed_date": "closed_date",
    "closed before opened": "closed_date", "opened in the future": "opened_date",
    "unknown outcome": "outcome", "unknown claim type": "claim_type",
    "unknown currency": "currency", "ambiguous date": "opened_date",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    """run_demo with 600 cases: (db, raw_dir, results, printed output)."""
    base = tmp_path_factory.mktemp("demo_store")
    db, raw = base / "cases.duckdb", base / "raw"
    capture = base / "out.txt"
    import contextlib

    with open(capture, "w") as fh, contextlib.redirect_stdout(fh):
        results = demo.run_demo(db, raw, n_cases=600, seed=SEED, today=TODAY)
    return db, raw, results, capture.read_text()


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_run_demo_loads_every_snapshot_and_the_counts_add_up(demo_store):
    db, raw, results, printed = demo_store
    assert len(results) == 4 and all(r.ok for r in results)
    lines = printed.strip().splitlines()
    assert len(lines) == 5 and lines[-1].startswith(
        f"demo store ready: {db} holds 600 SYNTHETIC cases"
    )
    ((read, parts, loads),) = query(
        db, "SELECT sum(rows_read), sum(inserted + updated + unchanged + repeats + quarantined), "
        "count(*) FROM loads"
    )  # fmt: skip
    assert loads == 4 and read == parts
    # each file's rows are all accounted for: the file's own row count is what the load read
    rows_in_files = sum(len(read_export(raw / Path(r.source_file).name)) for r in results)
    assert read == rows_in_files
    assert query(db, "SELECT count(*), count(*) FILTER (WHERE is_synthetic) FROM cases") == [
        (600, 600)
    ]
    # later snapshots updated cases that were open in earlier ones; unchanged ones stayed so
    assert sum(r.updated for r in results[1:]) > 0 and results[-1].unchanged > 0
    assert results[0].updated == 0 and results[0].unchanged == 0
    assert sum(r.repeats for r in results) >= 4  # at least one repeated row per file
    meta = dict(query(db, "SELECT key, value FROM store_meta"))
    assert meta.get("contains_real_data") != "true"


def test_run_demo_quarantines_exactly_the_bad_rows_for_the_right_reason(demo_store):
    db, raw, results, _ = demo_store
    rows = pd.concat([read_export(p) for p in sorted(raw.glob("cases_*"))], ignore_index=True)
    n_bad = rows["description"].str.startswith(BAD_ROW_PREFIX).sum()
    quarantined = query(db, "SELECT reason, raw_record FROM quarantine")
    assert 0 < len(quarantined) == n_bad == sum(r.quarantined for r in results)
    for reason, record in quarantined:
        kind = json.loads(record)["description"].removeprefix(BAD_ROW_PREFIX).rstrip(".")
        if kind == "missing required field":
            assert "missing" in reason, reason
        else:
            assert reason.startswith(REASON_FIELD[kind] + ":"), (kind, reason)
    # raw buyer references never reach the store, not even in quarantine (the bad rows'
    # descriptions carry no contact details, so any e-mail here would be a buyer_ref)
    assert not any("BUYER-" in record or "@example.com" in record for _, record in quarantined)


def test_run_demo_public_cases_and_outcome_dependence_in_the_store(demo_store):
    db = demo_store[0]
    public = query(
        db,
        "SELECT case_id, category, claim_type, outcome, order_value_usd, claim_usd, refund_usd "
        "FROM cases WHERE case_id LIKE 'TA-PUBLIC-%' ORDER BY case_id",
    )
    assert public == [
        ("TA-PUBLIC-001", "machinery", "compliance", "no_refund", 17000.0, 17000.0, 0.0),
        ("TA-PUBLIC-002", "apparel_textiles", "quality", "no_refund", 48000.0, 48000.0, 0.0),
        ("TA-PUBLIC-003", "home_garden", "quality", "partial_refund", 10000.0, 10000.0, 150.0),
    ]
    ((colour_share, overall_share, n_colour),) = query(
        db,
        """
        SELECT avg((outcome = 'no_refund')::INT) FILTER (WHERE category = 'apparel_textiles'
                   AND claim_type = 'quality' AND description ILIKE '%colour%'),
               avg((outcome = 'no_refund')::INT),
               count(*) FILTER (WHERE category = 'apparel_textiles' AND claim_type = 'quality'
                   AND description ILIKE '%colour%')
        FROM cases WHERE outcome IN ('full_refund', 'partial_refund', 'no_refund')
        """,
    )
    assert n_colour >= 10
    assert colour_share > overall_share + 0.15
    # several currencies, unmapped raw categories kept as 'other'
    assert query(db, "SELECT count(DISTINCT currency) >= 5 FROM cases") == [(True,)]
    assert query(
        db, "SELECT count(*) > 0 FROM cases WHERE category = 'other' AND NOT category_mapped "
        "AND trim(category_raw) = 'Industrial Lasers'"
    ) == [(True,)]  # fmt: skip


def test_run_demo_again_replaces_the_demo_store(demo_store, tmp_path):
    db, raw, _, _ = demo_store
    copy_db, copy_raw = tmp_path / "cases.duckdb", tmp_path / "raw"
    copy_db.write_bytes(db.read_bytes())
    copy_raw.mkdir()
    for p in raw.iterdir():
        (copy_raw / p.name).write_bytes(p.read_bytes())
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        demo.run_demo(copy_db, copy_raw, n_cases=50, seed=3, today=TODAY)
    assert query(copy_db, "SELECT count(*) FROM cases") == [(50,)]
    assert query(copy_db, "SELECT count(*) FROM loads") == [
        (4,)
    ]  # the old loads went with the store
    assert "--cases 50 --seed 3" in (copy_raw / "README.txt").read_text()
