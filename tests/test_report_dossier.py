"""analysis.report.dossier: the case dossier's sentences and tables, on a store built by hand."""

from __future__ import annotations

import json

import pytest

from analysis.report import dossier
from tests.casefactory import build_store, make_case


@pytest.fixture
def money_store(tmp_path):
    # R1: goods replaced, 0.00 refunded of 10,865.68 USD claimed; P1: 150 back of 10,000;
    # W1: withdrawn by the buyer. All closed in March 2026.
    cases = [
        make_case(case_id="R1", outcome="replacement", claim_amount=10865.68, refund_amount=0,
                  opened_date="2026-03-01", closed_date="2026-03-20"),
        make_case(case_id="P1", outcome="partial_refund", claim_amount=10000, refund_amount=150,
                  opened_date="2026-03-01", closed_date="2026-03-20"),
        make_case(case_id="W1", outcome="withdrawn", claim_amount=500, refund_amount=0,
                  opened_date="2026-03-01", closed_date="2026-03-20"),
    ]  # fmt: skip
    return build_store(tmp_path / "m.duckdb", cases)


def _money_rows(table) -> dict:
    return dict(zip(table.frame["Amount"], table.frame["Value"], strict=True))


def test_a_replacement_is_said_to_be_one_not_a_share_of_the_claim(money_store):
    # issue 24.8: "0.0% of the claim came back (0.00 of 10,865.68 USD)" for goods replaced
    dc = dossier.open_dossier(db=money_store, case_id="R1", min_n=0)
    sentences = dossier.dossier_findings(dc).sentences
    assert "The goods were replaced (claimed 10,865.68 USD)." in sentences
    assert not [s for s in sentences if "came back" in s]
    rows = _money_rows(dossier.dossier_money(dc))
    assert rows["Refunded"] == "0.00 USD" and rows["Claimed"] == "10,865.68 USD"
    assert rows["Refund / claim"] == "not applicable: the goods were replaced"
    assert (
        rows["Lowball (above 0, below the lowball share)"]
        == "not applicable: the goods were replaced"
    )


def test_a_withdrawn_case_and_a_refund_are_each_said_as_they_are(money_store):
    withdrawn = dossier.open_dossier(db=money_store, case_id="W1", min_n=0)
    assert (
        "No refund was decided: the case ended as withdrawn (claimed 500.00 USD)."
        in dossier.dossier_findings(withdrawn).sentences
    )
    refund = dossier.open_dossier(db=money_store, case_id="P1", min_n=0)
    # 150 / 10,000 = 1.5%, below the lowball share 0.05
    assert "1.5% of the claim came back (150.00 of 10,000.00 USD): a lowball." in (
        dossier.dossier_findings(refund).sentences
    )
    rows = _money_rows(dossier.dossier_money(refund))
    assert rows["Refund / claim"] == "1.5%"
    assert rows["Supplier-sided (below the threshold share)"] == "yes"


def test_the_timeline_says_not_recorded_for_an_export_without_escalation_dates(tmp_path):
    # issue 24.8: the export had no escalation column; the buyer did escalate
    db = build_store(
        tmp_path / "e.duckdb",
        [make_case(case_id="E1", opened_date="2026-03-01", closed_date="2026-03-20")],
        loads=[dict(load_id=1, inserted=1,
                    field_coverage=json.dumps({"received_date": 1, "claim_amount": 1}))],
    )  # fmt: skip
    dc = dossier.open_dossier(db=db, case_id="E1", min_n=0)
    table = dossier.dossier_timeline(dc)
    escalation = table.frame.set_index("Rule").loc["escalation"]
    assert escalation["Status"] == "not recorded"
    assert "settled between buyer and supplier" not in json.dumps(table.record)
    assert dossier.dossier_findings(dc).sentences[0] == (
        "Against Trade Assurance's rules: no rule was missed (not recorded, so not checked: "
        "claim window, escalation, inspection)."
    )


# --- issue 29: the dossier as an escalation document -----------------------------------------

DEMO_TODAY = __import__("datetime").date(2026, 11, 30)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """The demo with 300 cases (the seed's three public-record cases among them)."""
    from contextlib import redirect_stdout
    from io import StringIO

    from analysis import demo

    base = tmp_path_factory.mktemp("dossier_demo")
    with redirect_stdout(StringIO()):
        demo.run_demo(base / "cases.duckdb", base / "raw", n_cases=300, today=DEMO_TODAY)
    return base / "cases.duckdb"


def test_the_seed_machine_case_names_the_operational_reason_beside_its_evidence(demo_db):
    # Issue 29.4: page one of the $17,000 machine's dossier sets the platform's reason against
    # the inspection report and the lab test the buyer submitted
    dc = dossier.open_dossier(db=demo_db, case_id="TA-PUBLIC-001")
    summary = dossier.dossier_summary(dc)
    items = dict(summary.items)
    assert list(items)[:5] == ["Bought and paid", "What went wrong", "Claimed",
                               "The platform decided", "Its reason, against the evidence"]  # fmt: skip
    assert items["Its reason, against the evidence"].startswith(
        "The platform's reason: \u201cproduct is operational\u201d, although the buyer had "
        "submitted an inspection report (SGS) and a lab test."
    )
    assert "17,000.00 USD" in items["Bought and paid"] and "17,000.00 USD" in items["Claimed"]
    assert items["Trade Assurance's rules"].startswith("Met: ")
    assert summary.record["platform_reason"] == "product_operational"
    assert summary.record["contrary_evidence"] == ["inspection_report", "lab_test"]
    # what comparable cases of other suppliers got, and the routes beyond the platform
    assert items["Comparable cases (other suppliers)"].startswith("Of ")
    assert (
        "decision(s) of the platform for other suppliers"
        in (items["Beyond the platform in comparable cases"])
    )
    html = summary.to_html()
    assert "<dt>Its reason, against the evidence</dt>" in html and "operational" in html


def test_a_dossier_is_titled_by_its_case(demo_db):
    from analysis.metrics import dossier as metrics_dossier

    subject = metrics_dossier.case_subject(demo_db, "TA-PUBLIC-001")
    title = dossier.case_title(subject)
    assert title.startswith("case TA-PUBLIC-001: Synthetic Supplier ")
    assert title.endswith(f"({subject['supplier_id']}), compliance claim")


def test_an_old_export_says_the_reason_and_route_are_not_recorded(tmp_path):
    # an export without the issue-29 columns: the reason and the route are "not recorded",
    # never "none"
    from analysis.ingest import load
    from tests.conftest import HEADER, TODAY, good_row, write_csv

    db = tmp_path / "cases.duckdb"
    load.ingest_paths([write_csv(tmp_path / "o.csv", [good_row("O1")], HEADER)], db, today=TODAY)
    dc = dossier.open_dossier(db=db, case_id="O1")
    items = dict(dossier.dossier_summary(dc).items)
    assert items["Its reason, against the evidence"].startswith(
        "The platform's reason: not recorded (the export this case came from has no "
        "platform_reason column)."
    )
    assert items["This buyer after the platform"].startswith("not recorded")
    assert items["Beyond the platform in comparable cases"].startswith("not recorded")


@pytest.mark.browser
def test_the_seed_machine_dossier_prints_on_at_most_three_a4_pages(demo_db, tmp_path):
    # Issue 29.4: the PDF a buyer takes further, titled by the case, at most three A4 pages
    import shutil
    import subprocess
    from contextlib import redirect_stdout
    from io import StringIO

    from analysis.publish import command
    from tests.chromium import require_chromium

    require_chromium()
    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (poppler-utils) is not installed")
    out = tmp_path / "reports"
    with redirect_stdout(StringIO()):
        code = command.main("case_dossier", last="12-months", db=demo_db, out=out, pdf=True,
                           progress=False, params=["case_id=TA-PUBLIC-001"], today=DEMO_TODAY)  # fmt: skip
    assert code == 0
    (pdf,) = out.glob("case_dossier/*/*.pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    fields = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    assert int(fields["Pages"]) <= 3
    assert fields["Page size"].strip().endswith("(A4)")
    # no heading left alone at a page's foot: no page's last line is a section heading
    headings = {"Summary", "1. Timeline against the rules", "2. Evidence", "3. The money",
                "4. How comparable cases ended", "5. The supplier's record", "6. Reproducibility"}  # fmt: skip
    for page in range(1, int(fields["Pages"]) + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[-1] not in headings, (page, lines[-1])
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "product is operational" in first and "lab test" in first
    (html,) = out.glob("case_dossier/*/*.html")
    text = html.read_text(encoding="utf-8")
    assert "Case dossier \u2014 case TA-PUBLIC-001: Synthetic Supplier" in text
