"""The YAML mapping: what it accepts and the one-line errors for what it does not."""

import pytest

from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping


def test_load_canonicalises_names(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(
        "columns:\n  'Dispute No.': Case ID\nvalues:\n  Outcome:\n    Won: full_refund\n"
        "date_format: '%d/%m/%Y'\ncurrency: usd\nsheet: Cases\n"
    )
    m = Mapping.load(p)
    assert m.columns == {"dispute_no": "case_id"}
    assert m.values == {"outcome": {"Won": "full_refund"}}
    assert (m.date_format, m.currency, m.sheet) == ("%d/%m/%Y", "USD", "Cases")
    assert m.rename("dispute_no") == "case_id" and m.rename("other") == "other"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "must be a YAML object"),
        ("colums: {}\n", "unknown mapping key(s) ['colums']"),
        ("columns:\n  A: not_a_column\n", "not an intake column"),
        ("date_format: dd/mm/yyyy\n", "strftime pattern"),
        ("columns: [\n", "cannot read the mapping file"),
    ],
)
def test_bad_mapping_files(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(BadFile, match="bad.yaml") as err:
        Mapping.load(p)
    assert message in str(err.value)
