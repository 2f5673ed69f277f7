"""analysis.publish.catalogue: OUT/index.html from the run.json files the runner leaves (no kernel)."""

from __future__ import annotations

import json
from pathlib import Path

from bs4 import BeautifulSoup

from analysis.publish import catalogue
from analysis.publish.htmlexport import content_security_policy


def _run(out: Path, name: str, period: str, folder: str | None = None, **fields) -> Path:
    folder = out / name / (folder or period)
    folder.mkdir(parents=True, exist_ok=True)
    record = {"name": name, "period": period, **fields}
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


def _rows(index: Path) -> list[list[str]]:
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    return [
        [td.get_text(" ", strip=True) for td in tr.find_all("td")]
        for tr in soup.select("table.ta-catalogue tbody tr")
    ]


HEADLINE = {
    "decided": 1234,
    "supplier_sided_rate": 0.4125,
    "supplier_sided_ci_low": 0.3851,
    "supplier_sided_ci_high": 0.4404,
    "refund_ratio_pooled": 0.2349,
    "suppressed": False,
    "few_cases": False,
    "min_n": 30,
    "min_n_rate": 10,
}


def _groups(index: Path) -> list[tuple[str, list[list[str]]]]:
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    return [
        (
            section.h2.get_text(strip=True),
            [
                [td.get_text(" ", strip=True) for td in tr.find_all("td")]
                for tr in section.select("table.ta-catalogue tbody tr")
            ],
        )
        for section in soup.select("section.ta-catalogue-group")
    ]


OUTCOMES = "Trade Assurance dispute outcomes"


def test_grouped_by_report_newest_period_first_with_category_data_status_and_figures(tmp_path):
    common = {"title": OUTCOMES}
    _run(tmp_path, "outcome_report", "2026-10", **common, status="ok", end="2026-10-31",
         generated_at="2026-11-02T06:00:00+00:00", html="outcome_report_2026-10.html",
         headline=HEADLINE, synthetic=False, as_of="2026-11-01")  # fmt: skip
    # the same period restricted to one category: a row of its own, after the all-categories one
    _run(tmp_path, "outcome_report", "2026-10", "2026-10_Machinery", **common, status="ok", end="2026-10-31", category="machinery", category_label="Machinery",
         generated_at="2026-11-02T07:00:00+00:00", html="outcome_report_2026-10_Machinery.html",
         headline=HEADLINE, synthetic=False)  # fmt: skip
    _run(tmp_path, "outcome_report", "2026-11", **common, status="failed", end="2026-11-30",
         generated_at="2026-12-01T06:00:00+00:00",
         error="outcome_report 2026-11 failed in cell 7: KeyError: 'x'",
         failed_ipynb="outcome_report_2026-11.failed.ipynb", last_good=None)  # fmt: skip
    # generated last, but of an older period: listed after the newer periods
    _run(tmp_path, "outcome_report", "2026-09", **common, status="no data", end="2026-09-30",
         generated_at="2026-12-01T09:00:00+00:00", html="outcome_report_2026-09.html",
         synthetic=True,
         headline={"decided": 0, "supplier_sided_rate": None, "supplier_sided_ci_low": None,
                   "supplier_sided_ci_high": None, "refund_ratio_pooled": None,
                   "suppressed": True, "min_n": 30, "min_n_rate": 10})  # fmt: skip
    _run(tmp_path, "data_quality", "2026-Q3", title="Data quality: the ingest audit",
         status="ok", end="2026-09-30", generated_at="2026-10-01T06:00:00+02:00",
         html="data_quality_2026-Q3.html", synthetic=True)  # fmt: skip

    index = catalogue.build_index(tmp_path)

    assert index == tmp_path / "index.html"
    # One decimal: 41.25% -> 41.2% (Python rounds the tie to even), 38.51% -> 38.5%,
    # 44.04% -> 44.0%, 23.49% -> 23.5%.
    assert _groups(index) == [
        ("Data quality: the ingest audit", [
            ["Data quality: the ingest audit, 2026-Q3 generated 2026-10-01 06:00 UTC+02:00",
             "2026-Q3", "all", "SYNTHETIC", "ok", "", "", ""],
        ]),
        (OUTCOMES, [
            [f"{OUTCOMES}, 2026-11 generated 2026-12-01 06:00 UTC", "2026-11", "all", "real",
             "failed outcome_report 2026-11 failed in cell 7: KeyError: 'x' partial notebook",
             "", "", ""],
            [f"{OUTCOMES}, 2026-10 generated 2026-11-02 06:00 UTC", "2026-10", "all",
             "real as of 2026-11-01", "ok", "1,234", "41.2% (38.5%\u201344.0%)", "23.5%"],
            [f"{OUTCOMES}, 2026-10, Machinery generated 2026-11-02 07:00 UTC", "2026-10",
             "Machinery", "real", "ok", "1,234", "41.2% (38.5%\u201344.0%)", "23.5%"],
            [f"{OUTCOMES}, 2026-09 generated 2026-12-01 09:00 UTC", "2026-09", "all",
             "SYNTHETIC", "no data", "0", "count only (n<10)", "\u2013"],
        ]),
    ]  # fmt: skip
    soup = BeautifulSoup(index.read_text(), "html.parser")
    hrefs = [a["href"] for a in soup.select("table.ta-catalogue a")]
    assert hrefs == [
        "data_quality/2026-Q3/data_quality_2026-Q3.html",
        "outcome_report/2026-11/outcome_report_2026-11.failed.ipynb",
        "outcome_report/2026-10/outcome_report_2026-10.html",
        "outcome_report/2026-10_Machinery/outcome_report_2026-10_Machinery.html",
        "outcome_report/2026-09/outcome_report_2026-09.html",
    ]
    # synthetic rows are marked for the eye too, not only in words
    assert len(soup.select("tr.ta-synthetic-row")) == 2


def test_failed_run_links_to_the_last_good_report(tmp_path):
    _run(tmp_path, "outcome_report", "2026-10", title=OUTCOMES, status="failed", end="2026-10-31",
         generated_at="2026-11-03T06:00:00+00:00", error="outcome_report 2026-10 failed in cell 3: X: y",
         failed_ipynb=None,
         last_good={"generated_at": "2026-11-02T06:00:00+00:00", "html": "outcome_report_2026-10.html",
                    "headline": HEADLINE})  # fmt: skip
    index = catalogue.build_index(tmp_path)
    assert _rows(index) == [[
        f"{OUTCOMES}, 2026-10 generated 2026-11-03 06:00 UTC", "2026-10", "all", "real",
        "failed outcome_report 2026-10 failed in cell 3: X: y "
        "last good report of 2026-11-02 06:00 UTC, figures below",
        "1,234", "41.2% (38.5%\u201344.0%)", "23.5%",
    ]]  # fmt: skip
    # The report's name and the note both open the last good report.
    soup = BeautifulSoup(index.read_text(), "html.parser")
    assert {a.get_text(): a["href"] for a in soup.select("table.ta-catalogue a")} == {
        f"{OUTCOMES}, 2026-10": "outcome_report/2026-10/outcome_report_2026-10.html",
        "last good report": "outcome_report/2026-10/outcome_report_2026-10.html",
    }


def test_everything_escaped_and_nothing_fetched(tmp_path):
    hostile = "<script>alert('catalogue')</script>"
    _run(tmp_path, "q&a", "2026-10", status="failed", generated_at="2026-11-03T06:00:00",
         error=f"q&a 2026-10 failed in cell 2: ValueError: supplier {hostile}",
         failed_ipynb='x"><img src=x onerror=alert(1)>.ipynb')  # fmt: skip
    text = catalogue.build_index(tmp_path).read_text()
    soup = BeautifulSoup(text, "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert hostile in soup.select_one(".error-line").get_text()
    link = soup.select_one("table.ta-catalogue a")
    # quote() percent-encodes the file name; escape() the attribute: no way out of href="...".
    assert link["href"] == "q%26a/2026-10/x%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.ipynb"
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert csp == content_security_policy(None) and "script-src 'none'" in csp
    assert "http://" not in text and "https://" not in text


def test_unreadable_run_json_is_listed_not_fatal(tmp_path):
    folder = tmp_path / "outcome_report" / "2026-09"
    folder.mkdir(parents=True)
    (folder / "run.json").write_text("{ truncated")
    assert _rows(catalogue.build_index(tmp_path)) == [[
        "Outcome report, 2026-09 generated", "2026-09", "all", "real",
        "unreadable run.json could not be read (JSONDecodeError)", "", "", "",
    ]]  # fmt: skip


def test_empty_folder_says_how_to_make_a_report(tmp_path):
    soup = BeautifulSoup(catalogue.build_index(tmp_path / "reports").read_text(), "html.parser")
    assert soup.find("table") is None
    assert "ta-outcomes report outcome_report --last month" in soup.main.get_text()
    assert not list((tmp_path / "reports").glob(".*partial"))


def test_headline_takes_the_overall_block():
    figures = {
        "params": {
            "threshold": 0.1,
            "lowball": 0.05,
            "min_n": 30,
            "confidence": 0.95,
            "min_n_rate": 10,
            "min_n_named": 30,
        },
        "overall": {
            **{k: v for k, v in HEADLINE.items() if not k.startswith("min_n")},
            "lapsed": 5,
        },
        "by_category": {"machinery": {"decided": 1}},
    }
    assert catalogue.headline(figures) == HEADLINE


def test_a_range_is_listed_as_its_days_not_its_folder_name(tmp_path):
    _run(tmp_path, "supplier_scorecard", "2025-12-01_2026-11-30", status="ok",
         period_kind="range", start="2025-12-01", end="2026-11-30", html="s.html")  # fmt: skip
    (rows,) = [r for r in _rows(catalogue.build_index(tmp_path))]
    assert "2025-12-01 to 2026-11-30" in rows
    assert not any("2025-12-01_2026-11-30" in cell for cell in rows)


def test_each_subjects_row_names_it_and_shows_its_own_figures(tmp_path):
    # issue 24.9: every scorecard row read "Supplier scorecard, 2025-12-01 to 2026-11-30" with
    # the store's figures. Two suppliers' scorecards (one failed, shown with its last good
    # figures), a scorecard from before subjects were recorded (its figures were the store's:
    # not shown), and two dossiers.
    card = {"title": "Supplier scorecard", "period_kind": "range", "start": "2025-12-01",
            "end": "2026-11-30"}  # fmt: skip
    span = "2025-12-01_2026-11-30"
    own = dict(HEADLINE, decided=42, supplier_sided_rate=0.5, supplier_sided_ci_low=0.35,
               supplier_sided_ci_high=0.65, refund_ratio_pooled=0.125)  # fmt: skip
    _run(tmp_path, "supplier_scorecard", span, "a", **card, status="ok", html="a.html",
         subject={"key": "supplier_id", "id": "SUP-1", "name": "Acme <Ltd>"}, headline=own)  # fmt: skip
    _run(tmp_path, "supplier_scorecard", span, "b", **card, status="failed", error="boom",
         subject={"key": "supplier_id", "id": "SUP-2", "name": None},
         last_good={"html": "b.html", "generated_at": "2026-12-01T06:00:00+00:00",
                    "headline": dict(own, decided=7, suppressed=True)})  # fmt: skip
    (tmp_path / "supplier_scorecard" / "b" / "b.html").write_text("")  # the last good page
    _run(tmp_path, "supplier_scorecard", span, "c", **card, status="ok", html="c.html",
         params={"supplier_id": "SUP-0"}, headline=HEADLINE)  # fmt: skip
    dossier = {"title": "Case dossier", "end": "2026-11-30"}
    _run(tmp_path, "case_dossier", "2026-11", "d", **dossier, status="ok", html="d.html",
         subject={"key": "case_id", "id": "TA-1", "supplier_id": "SUP-1", "supplier_name": "Acme"},
         headline={"outcome": "replacement", "monetary": False, "final": True, "currency": "USD",
                   "claimed": 10865.68, "refunded": 0.0, "refund_ratio": 0.0})  # fmt: skip
    _run(tmp_path, "case_dossier", "2026-11", "e", **dossier, status="ok", html="e.html",
         subject={"key": "case_id", "id": "TA-2", "supplier_id": "SUP-2", "supplier_name": None},
         headline={"outcome": "partial_refund", "monetary": True, "final": True, "currency": "EUR",
                   "claimed": 1000.0, "refunded": None, "refund_ratio": None})  # fmt: skip

    index = catalogue.build_index(tmp_path)

    soup = BeautifulSoup(index.read_text(), "html.parser")
    headers = {
        s.h2.get_text(strip=True): [th.get_text(" ", strip=True) for th in s.select("thead th")]
        for s in soup.select("section.ta-catalogue-group")
    }
    assert headers["Case dossier"] == ["Report", "Subject", "Period", "Category", "Data",
                                       "Status", "Outcome", "Claimed", "Refunded"]  # fmt: skip
    assert headers["Supplier scorecard"][-3:] == [
        "Decided", "Supplier-sided rate (95% interval)", "Refund ratio (pooled)",
    ]  # fmt: skip
    rows = {
        title: [[c for i, c in enumerate(r) if i not in (2, 3, 4, 5)] for r in found]
        for title, found in _groups(index)
    }  # (period, category, data and status left out)
    span = "2025-12-01 to 2026-11-30"
    assert rows == {
        "Case dossier": [
            ["Case dossier, 2026-11, case TA-1 generated", "case TA-1, "
             "supplier Acme (SUP-1)", "Replacement", "10,865.68 USD", "0.00 USD"],
            ["Case dossier, 2026-11, case TA-2 generated", "case TA-2, supplier "
             "SUP-2", "Partial refund", "1,000.00 EUR", "not recorded"],
        ],
        "Supplier scorecard": [
            [f"Supplier scorecard, {span}, supplier SUP-0 generated", "supplier SUP-0", "", "", ""],
            [f"Supplier scorecard, {span}, supplier SUP-1 generated",
             "supplier SUP-1 (Acme <Ltd>)", "42", "50.0% (35.0%\u201365.0%)", "12.5%"],
            [f"Supplier scorecard, {span}, supplier SUP-2 generated", "supplier SUP-2", "7",
             "count only (n<10)", "12.5%"],
        ],
    }  # fmt: skip
    assert "Acme &lt;Ltd&gt;" in index.read_text()
