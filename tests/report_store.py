"""The small store most report tests use (period 2026-03, previous period 2026-02)."""

from __future__ import annotations

from pathlib import Path

from analysis.report import sections
from tests.casefactory import build_store

HOSTILE = "<script>alert(1)</script>"
DESCRIPTION = "Call me: +86 138 0013 8000 or li@example.com <b>now</b>"

# The small store most tests use. Report period 2026-03, previous period 2026-02.
#
#   id  category     outcome         claim   refund  opened      closed      notes
#   A   machinery    no_refund        1000        0  2026-02-20  2026-03-05  escalated, supplier S9
#   B   machinery    full_refund      2000     2000  2026-03-01  2026-03-11
#   C   electronics  partial_refund  10000      150  2026-03-02  2026-03-22  lowball, compliance,
#                                                                            hostile supplier S7
#   D   electronics  replacement       500        -  2026-03-03  2026-03-13
#   E   machinery    withdrawn        1000        -  2026-03-05  2026-03-15
#   F   machinery    open             1000        -  2026-03-10  -
#   G   machinery    no_refund        1000        0  2026-01-10  2026-02-10  supplier S9
#   H   machinery    full_refund      1000     1000  2026-01-15  2026-02-15
CASES = [
    dict(case_id="A", category="machinery", outcome="no_refund", claim_amount=1000,
         opened_date="2026-02-20", closed_date="2026-03-05", escalated_date="2026-02-27",
         supplier_id="S9", supplier_name="Nine Ltd", decided_by="platform"),
    dict(case_id="B", category="machinery", outcome="full_refund", claim_amount=2000,
         opened_date="2026-03-01", closed_date="2026-03-11", supplier_id="S1",
         decided_by="agreement"),
    dict(case_id="C", category="electronics", outcome="partial_refund", claim_amount=10000,
         refund_amount=150, opened_date="2026-03-02", closed_date="2026-03-22",
         claim_type="compliance", supplier_id="S7", supplier_name=HOSTILE,
         description=DESCRIPTION, decided_by="platform"),
    dict(case_id="D", category="electronics", outcome="replacement", claim_amount=500,
         opened_date="2026-03-03", closed_date="2026-03-13", supplier_id="S2",
         decided_by="agreement"),
    dict(case_id="E", category="machinery", outcome="withdrawn", claim_amount=1000,
         opened_date="2026-03-05", closed_date="2026-03-15", supplier_id="S2"),
    dict(case_id="F", category="machinery", outcome="open", claim_amount=1000,
         opened_date="2026-03-10", supplier_id="S2"),
    dict(case_id="G", category="machinery", outcome="no_refund", claim_amount=1000,
         opened_date="2026-01-10", closed_date="2026-02-10", supplier_id="S9",
         supplier_name="Nine Ltd"),
    dict(case_id="H", category="machinery", outcome="full_refund", claim_amount=1000,
         opened_date="2026-01-15", closed_date="2026-02-15", supplier_id="S1"),
]  # fmt: skip


def report_store(tmp_path: Path) -> Path:
    """The store of :data:`CASES` (the ``store`` fixture of tests/conftest.py)."""
    return build_store(tmp_path / "cases.duckdb", CASES)


def context(db: Path, min_n: int = 2, **kwargs) -> sections.ReportContext:
    return sections.open_report(
        db=db, period=kwargs.pop("period", "2026-03"), min_n=min_n, **kwargs
    )
