"""The report notebooks, executed with papermill against the fixture store (tests/fixture_store.py).

Each notebook runs once per session (kernel ``python3``: the .venv's own ipykernel when pytest runs
from .venv/bin). The tests then read what the notebook produced: the records it writes under
:data:`analysis.sections.RECORD_MIME`, its HTML outputs, and the HTML export.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from analysis import metrics
from analysis.metrics import periods, provenance
from analysis.report import display, fmt, sections
from tests.fixture_store import (
    EMAIL,
    HOSTILE_SUPPLIER,
    PHONE,
    TEST_MIN_N,
    TEST_PERIOD,
    build_fixture_store,
)

#: make test-fast leaves these out (make test runs them)
pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("outcome_report", "data_quality", "supplier_scorecard", "case_dossier", "client_summary")
#: The notebooks that report on a period (the case dossier reports on one case).
PERIODIC = ("outcome_report", "data_quality", "supplier_scorecard", "client_summary")
PAPERMILL = Path(sys.executable).parent / "papermill"


def execute(name: str, output: Path, **parameters) -> nbformat.NotebookNode:
    """Run notebooks/NAME.ipynb with papermill into ``output`` (kernel started in its folder)."""
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(output.parent),
        progress_bar=False,
    )
    return nbformat.read(output, as_version=4)


def outputs(nb) -> list:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def records(nb) -> dict:
    found = {}
    for output in outputs(nb):
        record = output.get("data", {}).get(sections.RECORD_MIME)
        if record is not None:
            found[record["name"]] = record["data"]
    return found


def html_outputs(nb) -> list[str]:
    return [o["data"]["text/html"] for o in outputs(nb) if "text/html" in o.get("data", {})]


def errors(nb) -> list:
    return [o for o in outputs(nb) if o.get("output_type") == "error"]


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory) -> Path:
    return build_fixture_store(tmp_path_factory.mktemp("store") / "cases.duckdb", synthetic=True)


@pytest.fixture(scope="session")
def report_path(fixture_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "outcome_report.ipynb"
    # min_n_named 2: the hostile supplier is named, so its name must come out escaped
    execute("outcome_report", path, db=str(fixture_db), period=TEST_PERIOD, min_n=TEST_MIN_N,
            min_n_named=2)  # fmt: skip
    return path


@pytest.fixture(scope="session")
def report(report_path):
    return nbformat.read(report_path, as_version=4)


@pytest.fixture(scope="session")
def audit(fixture_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("audit") / "data_quality.ipynb"
    return execute("data_quality", path, db=str(fixture_db))


# -- the outcome report ----------------------------------------------------------------------


def test_report_runs_every_section(report):
    assert errors(report) == []
    headings = [
        line
        for cell in report.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("## ")
    ]
    assert [h.split(".")[0] for h in headings] == ["## Findings"] + [
        f"## {n}" for n in range(1, 13)
    ]
    # every code cell after the parameters shows something
    code = [c for c in report.cells if c.cell_type == "code"]
    shown = [c for c in code if "parameters" not in c.metadata.get("tags", [])
             and "injected-parameters" not in c.metadata.get("tags", [])]  # fmt: skip
    assert shown and all(c.outputs for c in shown)


def test_headline_figures_equal_the_metrics_module(report, fixture_db):
    period = periods.parse_period(TEST_PERIOD)
    previous = periods.previous_period(period)
    params = metrics.Params(min_n=TEST_MIN_N)
    headline = records(report)["headline"]
    current = metrics.outcome_metrics(fixture_db, period.start, period.end, params)
    before = metrics.outcome_metrics(fixture_db, previous.start, previous.end, params)["overall"]
    # the block's fields (the JSON's overall adds its detectable change)
    assert headline["current"] == {name: current["overall"][name] for name in metrics.BLOCK_FIELDS}
    assert headline["previous"] == {name: before[name] for name in metrics.BLOCK_FIELDS}
    change = metrics.change_vs_previous(fixture_db, period, params)
    # (NaN written as null, numpy numbers as plain ones; nothing rounded)
    assert headline["change"] == display.json_ready(change)
    # ... and the table a reader sees shows those numbers
    overall = headline["current"]
    table = next(
        h for h in html_outputs(report) if "Headline" in h or "Supplier-sided rate (95%" in h
    )
    rate = fmt.rate_ci(
        overall["supplier_sided_rate"],
        overall["supplier_sided_ci_low"],
        overall["supplier_sided_ci_high"],
        overall["suppressed"],
        params.min_n_rate,
        overall["few_cases"],
    )
    assert not overall["suppressed"] and rate in table
    assert f"<td>{overall['cases_closed']}</td>" in table


def test_findings_come_first_and_answer_in_figures(report, fixture_db):
    found = records(report)
    period = periods.parse_period(TEST_PERIOD)
    overall = metrics.outcome_metrics(
        fixture_db, period.start, period.end, metrics.Params(min_n=TEST_MIN_N)
    )["overall"]
    findings = found["findings"]
    assert (findings["supplier_sided"], findings["decided"]) == (
        overall["supplier_sided"], overall["decided"],
    )  # fmt: skip
    # the period's facts lead (issue 26.3), then its rate
    first = findings["sentences"][0]
    assert first.startswith(f"In {period.title}, {overall['cases_closed']} cases closed")
    assert any(
        s.startswith(f"{overall['supplier_sided']} of {overall['decided']} claims decided")
        for s in findings["sentences"][1:4]
    )
    # the findings are the first thing after the banner
    shown = [o for o in outputs(report) if sections.RECORD_MIME in o.get("data", {})]
    assert [o["data"][sections.RECORD_MIME]["name"] for o in shown[:2]] == ["banner", "findings"]


def test_notebook_prose_restates_no_parameter_value():
    # Captions and findings are written from the parameters; the notebook's own prose must not
    # say "a tenth" or "30 cases", which would be wrong the day someone runs it with others.
    nb = nbformat.read(NOTEBOOKS / "outcome_report.ipynb", as_version=4)
    prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for literal in ("0.1", "10%", "0.05", "5%", " 30 ", " 10 ", "95%", "99.8", "tenth",
                    "twentieth", "3-sigma"):  # fmt: skip
        assert literal not in prose, literal


def test_notebook_only_instructions_are_not_exported(report_path, tmp_path):
    from analysis.publish.htmlexport import export_html

    nb = nbformat.read(NOTEBOOKS / "outcome_report.ipynb", as_version=4)
    (instructions,) = [c for c in nb.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert "JupyterLab" in instructions.source
    page = export_html(report_path, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "JupyterLab" not in page and "Run All Cells" not in page


def test_synthetic_banner_at_the_top(report):
    first = outputs(report)[0]
    assert "SYNTHETIC DATA" in first["data"]["text/html"]
    assert records(report)["banner"]["synthetic"] is True


def test_hostile_text_is_escaped(report):
    pages = html_outputs(report)
    joined = "\n".join(pages)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined  # the hostile supplier, as text
    assert "<script" not in joined.lower()
    # the description's <img onerror=...> is text too: the only images are the charts' own
    images = re.findall(r"<img [^>]*>", joined, flags=re.I)
    assert images and all(re.match(r'<img src="data:image/svg\+xml;base64,', i) for i in images)
    assert "onerror" not in joined.replace("onerror=alert(1)&gt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined
    kinds = {mime for o in outputs(report) for mime in o.get("data", {})}
    # nothing a front end would render as Markdown, LaTeX or script
    # (a chart's SVG: matplotlib's drawing, shown as an image, which runs nothing)
    assert kinds <= {"text/html", "text/plain", "image/svg+xml", sections.RECORD_MIME}
    assert HOSTILE_SUPPLIER in json.dumps(
        [o.get("data", {}).get("text/plain") for o in outputs(report)]
    )


def test_contact_details_are_masked(report):
    everything = json.dumps([o.get("data", {}) for o in outputs(report)])
    assert EMAIL not in everything
    assert PHONE not in everything and "138 0013" not in everything
    assert "[email hidden]" in everything and "[phone hidden]" in everything


def test_exported_html_is_safe_and_small(report_path, tmp_path):
    from analysis.publish.htmlexport import export_html

    page = export_html(report_path, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page and EMAIL not in page
    assert "SYNTHETIC DATA" in page
    assert len(page.encode()) < 5_000_000


def test_stamp_record(report, fixture_db):
    stamp = records(report)["stamp"]["stamp"]
    assert stamp["fingerprint"]["digest"] == provenance.data_fingerprint(fixture_db)["digest"]
    assert stamp["fingerprint"]["cases"] == 200
    assert stamp["period"] == {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}
    assert stamp["parameters"]["min_n"] == TEST_MIN_N
    assert stamp["parameters"]["db"] == "cases.duckdb"  # no folder layout in a report
    assert stamp["synthetic"] is True


def test_missing_store_stops_with_what_to_do(tmp_path):
    with pytest.raises(PapermillExecutionError) as caught:
        execute("outcome_report", tmp_path / "out.ipynb", db=str(tmp_path / "none.duckdb"))
    assert caught.value.ename == "StoreMissing"
    assert "make demo" in caught.value.evalue and "ta-outcomes ingest" in caught.value.evalue
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    (error,) = errors(nb)
    # one plain line, not a traceback wall
    assert error["traceback"] == [f"StoreMissing: {caught.value.evalue}"]
    failed = next(c for c in nb.cells if c.cell_type == "code" and c.outputs)
    assert "sections.open_report(" in failed.source  # the first cell after the parameters


# -- the data-quality audit ------------------------------------------------------------------


def test_audit_runs_and_shows_the_loads(audit):
    assert errors(audit) == []
    joined = "\n".join(html_outputs(audit))
    assert "SYNTHETIC DATA" in joined
    assert "cases_2026-06.csv" in joined and "cases_2026-10.xlsx" in joined
    assert "/srv/exports" not in joined  # file names only
    assert "<td>claim_amount: not a number</td>" in joined
    assert "Gizmos &amp; &lt;b&gt;Gadgets&lt;/b&gt;" in joined
    assert ">NO<" not in joined  # both fixture loads add up
    assert records(audit)["stamp"]["stamp"]["fingerprint"]["cases"] == 200


# -- the notebooks as committed --------------------------------------------------------------


def parameter_lines(name: str) -> list[tuple[str, str, str, str]]:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    pattern = re.compile(r"^(\w+): (\w+) = (.+?)  # (.+)$")
    lines = [pattern.match(line) for line in cell.source.splitlines() if line.strip()]
    assert all(lines), "every parameter line reads `name: type = value  # help`"
    return [m.groups() for m in lines]


@pytest.mark.parametrize("name", NAMES)
def test_help_notebook_explains_every_parameter(name):
    result = subprocess.run(
        [str(PAPERMILL), "--help-notebook", str(NOTEBOOKS / f"{name}.ipynb")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    text = " ".join(result.stdout.split())
    declared = parameter_lines(name)
    assert {n for n, *_ in declared} >= (
        {"db", "period", "start", "end"} if name in PERIODIC else {"db", "case_id"}
    )
    for param, type_name, default, help_text in declared:
        assert f"{param}: {type_name} (default {default})" in text
        assert " ".join(help_text.split()) in text


def test_outcome_report_parameters():
    declared = {n: (t, d) for n, t, d, _ in parameter_lines("outcome_report")}
    assert declared == {
        "db": ("str", '"data/cases.duckdb"'),
        "period": ("str", '""'),
        "start": ("str", '""'),
        "end": ("str", '""'),
        "category": ("str", '""'),
        "threshold": ("float", "0.10"),
        "lowball": ("float", "0.05"),
        "min_n": ("int", "30"),
        "min_n_rate": ("int", "10"),
        "min_n_named": ("int", "30"),
        "buyer_key": ("str", '""'),
        "title": ("str", '""'),
    }


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_are_clean_and_thin(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and code[0] is tagged[0]
    assert nb.cells[0].cell_type == "markdown" and "question" in nb.cells[0].source.lower()
    for cell in code[1:]:
        # one call into analysis and its display: no SQL, no data wrangling, no imports beyond
        # the analysis package
        assert re.search(r"\b(sections|audit|scorecard|dossier|summary)\.", cell.source)
        assert not re.search(r"\b(SELECT|FROM|duckdb|query_df|pandas|pd\.|groupby)\b", cell.source)
        imports = re.findall(r"^(?:from|import) (\S+)", cell.source, flags=re.M)
        assert all(module == "analysis.report" for module in imports)


def test_committed_notebooks_pass_nbstripout():
    nbstripout = Path(sys.executable).parent / "nbstripout"
    if not nbstripout.exists():
        pytest.skip("nbstripout is not installed (pip install -e '.[dev]')")
    result = subprocess.run(
        [str(nbstripout), "--verify", *(str(NOTEBOOKS / f"{n}.ipynb") for n in NAMES)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the supplier scorecard and the case dossier -------------------------------------------------


@pytest.fixture(scope="session")
def scorecard_nb(fixture_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("scorecard") / "supplier_scorecard.ipynb"
    return execute("supplier_scorecard", path, db=str(fixture_db), supplier_id="S07",
                   start="2025-09-01", end="2026-10-31", min_n=10, min_n_named=5)  # fmt: skip


def test_the_scorecard_shows_the_supplier_against_its_mix(scorecard_nb, fixture_db):
    from analysis.metrics import Params
    from analysis.metrics.suppliers import observed_expected

    assert errors(scorecard_nb) == []
    found = records(scorecard_nb)
    mix = found["scorecard_against_mix"]
    frame = observed_expected(
        fixture_db, "2025-09-01", "2026-10-31", Params(min_n=10, min_n_named=5)
    )
    row = frame.set_index("supplier_id").loc["S07"]
    assert (mix["decided"], mix["supplier_sided"]) == (
        int(row["decided"]),
        int(row["supplier_sided"]),
    )
    assert mix["expected"] == pytest.approx(row["expected"])
    findings = found["findings"]
    assert findings["supplier_id"] == "S07" and findings["decided"] == int(row["decided"])
    joined = "\n".join(html_outputs(scorecard_nb))
    # the hostile supplier name is text, its contact-laden description masked
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (S07)" in joined and "<script" not in joined
    assert EMAIL not in json.dumps([o.get("data", {}) for o in outputs(scorecard_nb)])
    shown = [c for c in scorecard_nb.cells if c.cell_type == "code"
             and not {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))]  # fmt: skip
    assert shown and all(c.outputs for c in shown)


def test_the_scorecard_without_a_supplier_says_what_to_set(fixture_db, tmp_path):
    nb = execute("supplier_scorecard", tmp_path / "s.ipynb", db=str(fixture_db),
                 start="2025-09-01", end="2026-10-31", min_n=10, min_n_named=5)  # fmt: skip
    assert errors(nb) == []
    banner = next(h for h in html_outputs(nb) if "No supplier chosen" in h)
    assert "Suppliers with at least 5 decided cases" in banner and "S07" in banner


def test_the_dossier_lays_out_the_case(fixture_db, tmp_path):
    nb = execute("case_dossier", tmp_path / "d.ipynb", db=str(fixture_db), case_id="FX-HOSTILE")
    assert errors(nb) == []
    found = records(nb)
    # FX-HOSTILE: opened 10 July, escalated 16 July (day 7), a compliance claim without an
    # inspection report; 150 of 10,000 came back
    checks = {c["rule"]: c["status"] for c in found["dossier_timeline"]}
    assert checks == {"claim window": "not recorded", "negotiation": "met", "escalation": "met",
                      "inspection": "not recorded"}  # fmt: skip
    assert found["dossier_money"]["refund_ratio"] == pytest.approx(0.015)
    assert found["dossier_money"]["lowball"] is True
    everything = json.dumps([o.get("data", {}) for o in outputs(nb)])
    assert EMAIL not in everything and "[email hidden]" in everything
    assert "buyer_key" not in everything
    assert "&lt;img src=x onerror=alert(1)&gt;" in "\n".join(html_outputs(nb))


def test_the_dossier_without_a_case_says_what_to_set(fixture_db, tmp_path):
    nb = execute("case_dossier", tmp_path / "d.ipynb", db=str(fixture_db))
    assert errors(nb) == []
    assert any("No case chosen" in h for h in html_outputs(nb))


def test_client_summary_answers_for_one_client_on_the_agency_store(tmp_path):
    # Issue 26.9: the one-page summary of one client, executed as the runner does, against the
    # held-out agency store; its first sentence by hand from the tracker's rows
    from analysis.ingest.pseudonym import client_key
    from tests.small_agency import rows, small_agency_store

    db = small_agency_store(tmp_path / "agency")
    name = "Client Granite Supply"
    nb = execute("client_summary", tmp_path / "summary.ipynb", db=str(db), period="2026-11",
                 buyer_key=client_key(db, name))  # fmt: skip
    mine = [r for r in rows() if r["buyer_ref"] == name]
    closed = [r for r in mine if r["closed_date"].startswith("2026-11")]
    opened = [r for r in mine if r["opened_date"].startswith("2026-11")]
    decided = [r for r in closed if r["outcome"] in ("full_refund", "partial_refund", "no_refund")]
    sided = [r for r in decided if r["refund_amount"] < 0.1 * r["claim_amount"]]
    sentences = records(nb)["summary"]["sentences"]
    assert sentences[0] == (
        f"In 2026-11, {len(closed)} of your cases closed and {len(opened)} opened; {len(sided)} "
        f"of {len(decided)} decided claims ended on the supplier's side (the buyer got back less "
        "than 10% of the claim)."
    )
    assert sentences[-1].startswith("Across all our clients in the same months, 82 of 202")
    cases = next(h for h in html_outputs(nb) if "client_cases" in h or "Claimed (USD)" in h)
    for r in closed:
        assert r["case_id"] in cases
    assert name.lower() not in json.dumps(nb).lower()  # the name is nowhere in the notebook
