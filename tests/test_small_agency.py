"""Issue 26, done means: the held-out small agency's store (tests/small_agency.py: 253 cases,
12 months, 15 to 25 closed a month) gets a monthly report that speaks at its size.

One run of ``ta-outcomes report outcome_report --period 2026-11 --pdf`` and the metrics of the
month: every group with a decided case has a pooled rate between its own and the overall rate,
the detectable change is in the JSON and in the findings, the findings lead on the first screen
(1400 and 390 px), every table offers its data as CSV equal to the table, the PDF is a fraction
of the 31 pages it was, and a second store's report does not replace the first's.
"""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup

from analysis import cli
from analysis.errors import BadParameter
from analysis.metrics import pooling
from analysis.publish import command, htmlexport
from analysis.report import sections
from tests.chromium import CHROMIUM, chromium_context
from tests.small_agency import PERIOD, small_agency_store

#: every test reads the report its fixture renders (make test-fast leaves them out)
pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def agency(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("agency")
    db = small_agency_store(folder)
    out = folder / "reports"
    with redirect_stdout(StringIO()):
        code = cli.main(["report", "outcome_report", "--period", PERIOD, "--db", str(db),
                         "--out", str(out), "--no-progress"]
                        + (["--pdf"] if CHROMIUM.exists() else []))  # fmt: skip
    assert code == 0
    report = out / "outcome_report" / PERIOD
    return {"db": db, "out": out, "dir": report, "html": report / f"outcome_report_{PERIOD}.html"}


def _metrics(capsys, db: Path) -> dict:
    assert (
        cli.main(["metrics", "--db", str(db), "--start", "2026-11-01", "--end", "2026-11-30"]) == 0
    )
    return json.loads(capsys.readouterr().out)


def test_every_group_with_a_decided_case_has_a_pooled_rate_between_its_own_and_the_whole(
    agency, capsys
):
    figures = _metrics(capsys, agency["db"])
    for by in ("by_category", "by_claim_type"):
        groups = figures[by]
        decided = sum(g["decided"] for g in groups.values())
        overall = sum(g["supplier_sided"] for g in groups.values()) / decided
        assert decided == figures["overall"]["decided"] == 18
        for name, g in groups.items():
            if not g["decided"]:
                assert g["pooled_rate"] is None, name
                continue
            raw = g["supplier_sided"] / g["decided"]
            low, high = sorted((raw, overall))
            assert low - 1e-9 <= g["pooled_rate"] <= high + 1e-9, (by, name)
            assert g["pooled_ci_low"] <= g["pooled_rate"] <= g["pooled_ci_high"], (by, name)


def test_the_detectable_change_is_in_the_json_and_in_the_findings(agency, capsys):
    overall = _metrics(capsys, agency["db"])["overall"]
    # 2026-11: 13 of 18 decided supplier-sided; 2026-10: 5 of 13
    expected = pooling.detectable_change(13, 18, 5, 13)
    assert overall["detectable_change"] == pytest.approx(expected)
    z = 1.959964 + 0.841621
    assert expected == pytest.approx(z * (18 / 31 * 13 / 31 * (1 / 18 + 1 / 13)) ** 0.5, abs=1e-5)
    findings = BeautifulSoup(agency["html"].read_text(), "html.parser").find(
        "ol", class_="ta-findings"
    )
    assert (
        f"With 18 decided claims in 2026-11 and 13 in 2026-10, only a change of more than "
        f"{round(100 * expected)} points could be told from chance"
    ) in findings.get_text()


def test_the_month_leads_and_every_table_offers_its_data_as_csv(agency):
    soup = BeautifulSoup(agency["html"].read_text(), "html.parser")
    first = soup.find("ol", class_="ta-findings").li.get_text()
    assert first.startswith("In 2026-11, 19 cases closed (18 with a decision")
    tables = soup.main.find_all("table")
    assert len(tables) > 20
    for table in tables:
        link = table.find_previous("a", class_="ta-csv")
        text = unquote(link["href"].partition(",")[2]).removeprefix("\ufeff")
        rows = list(csv.reader(io.StringIO(text)))
        shown = htmlexport.table_rows(table)
        assert [[c.removeprefix("'") for c in r] for r in rows] == shown
    # the by-category table's CSV has the section's own columns and cells
    ctx = sections.open_report(db=agency["db"], period=PERIOD)
    frame = sections.supplier_sided_by(ctx, "category").frame
    link = soup.find("a", download=re.compile(r"^by-category-\d+\.csv$"))
    rows = list(csv.reader(io.StringIO(unquote(link["href"].partition(",")[2])[1:])))
    assert rows[0] == [" ".join(str(c).split()) for c in frame.columns]
    assert rows[1:] == [[" ".join(str(v).split()) for v in r] for r in frame.values.tolist()]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_pdf_is_a_few_pages_and_the_findings_are_on_the_first_screen(agency, tmp_path):
    pdf = (agency["dir"] / f"outcome_report_{PERIOD}.pdf").read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages <= 10  # 31 before issue 26
    with chromium_context(tmp_path / "profile") as context:
        page = context.new_page()
        for width, height in ((1400, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(agency["html"].as_uri())
            top = page.evaluate(
                "document.querySelector('ol.ta-findings').getBoundingClientRect().top"
            )
            assert top < height, (width, top)
            page.screenshot(path=str(tmp_path / f"agency-{width}.png"))
        page.close()


def test_a_second_stores_report_does_not_replace_the_first(agency, tmp_path):
    other = small_agency_store(tmp_path / "other", seed=27)
    before = agency["html"].read_bytes()
    with pytest.raises(BadParameter, match="holds the outcome_report 2026-11 report of another"):
        command.main("outcome_report", period=PERIOD, db=other, out=agency["out"], progress=False)
    assert agency["html"].read_bytes() == before


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_client_summary_is_one_a4_page_with_the_users_title(agency):
    # Issue 26.9: one client's summary, titled by the user, prints on one page
    with redirect_stdout(StringIO()):
        code = cli.main(["report", "client_summary", "--period", PERIOD, "--db",
                         str(agency["db"]), "--out", str(agency["out"]), "--client",
                         "Client Granite Supply", "--title", "Granite Supply: November 2026",
                         "--pdf", "--no-progress"])  # fmt: skip
    assert code == 0
    (folder,) = (agency["out"] / "client_summary").iterdir()
    (html,) = folder.glob("*.html")
    soup = BeautifulSoup(html.read_text(), "html.parser")
    assert soup.title.get_text() == "Granite Supply: November 2026"
    assert len(soup.find("ol", class_="ta-findings").find_all("li")) in (4, 5)
    assert len(soup.main.find_all("img")) == 1  # one chart
    (pdf,) = folder.glob("*.pdf")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) == 1
