"""The YAML mapping: every key, and the one-line errors for what it does not accept."""

import time
from pathlib import Path

import pytest

from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping


def _mapping(tmp_path, text: str) -> Mapping:
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return Mapping.load(p)


def test_load_canonicalises_names(tmp_path):
    m = _mapping(
        tmp_path,
        "columns:\n  'Dispute No.': Case ID\nvalues:\n  Outcome:\n    Won: full_refund\n"
        "date_format: '%d/%m/%Y'\ncurrency: usd\nsheet: Cases\n",
    )
    assert m.columns == {"dispute_no": ("case_id",)}
    assert m.values == {"outcome": {"Won": "full_refund"}}
    assert (m.date_format, m.currency, m.sheet) == ("%d/%m/%Y", "USD", "Cases")
    assert m.rename("dispute_no") == "case_id" and m.rename("other") == "other"


def test_every_key(tmp_path):
    m = _mapping(
        tmp_path,
        "columns:\n"
        "  Complaint ID: case_id\n"
        "  Company: [supplier_id, supplier_name]\n"
        "constants:\n"
        "  product_category: Machinery\n"
        "  currency: usd\n"
        "fallbacks:\n"
        "  closed_date: Date sent to company\n"
        "values:\n"
        "  outcome:\n"
        "    Yes: Refunded\n"  # a YAML boolean, kept as the word
        "    No: rejected\n"
        "defaults:\n"
        "  claim_type: other\n",
    )
    assert m.columns == {"complaint_id": ("case_id",), "company": ("supplier_id", "supplier_name")}
    assert m.copies() == {"supplier_name": "supplier_id"}
    # constants are resolved to slugs; a currency constant is the mapping's currency
    assert m.constants == {"product_category": "machinery"} and m.currency == "USD"
    assert m.fallbacks == {"closed_date": "date_sent_to_company"}
    assert m.values == {"outcome": {"Yes": "full_refund", "No": "no_refund"}}
    assert m.defaults == {"claim_type": "other"}
    # what the mapping supplies need not be in the file
    assert "product_category" not in m.required_columns()
    assert {"case_id", "supplier_id", "claim_type"} <= m.required_columns()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "must be a YAML object"),
        ("colums: {}\n", "unknown mapping key(s) ['colums']"),
        ("columns:\n  A: not_a_column\n", "columns.A: 'not_a_column' is not an intake column"),
        ("columns:\n  A: supplier_idd\n", "(did you mean supplier_id?)"),
        ("columns:\n  A: [case_id]\n  B: case_id\n", "columns: case_id filled from more than one"),
        ("date_format: dd/mm/yyyy\n", "strftime pattern"),
        ("columns: [\n", "line 2, column 1: "),
        ("values:\n  outcome:\n    Won: victory\n",
         "values.outcome.Won: 'victory' is not a known outcome (known: open, full_refund"),
        ("defaults:\n  claim_type: zzz\n", "defaults.claim_type: 'zzz' is not a known claim_type"),
        ("defaults:\n  supplier_name: x\n", "defaults.supplier_name: defaults are for vocabulary"),
        ("constants:\n  outcome: won\n", "constants.outcome: 'won' is not a known outcome"),
        ("constants:\n  nothing: x\n", "constants.nothing: 'nothing' is not an intake column"),
        ("fallbacks:\n  closed_date: [A, B]\n", "fallbacks.closed_date: must name one column"),
        ("values: [1]\n", "values: must be an object"),
        # issue 24.13: duplicate keys, wrong types, YAML errors with line, column and a hint
        ("currency: USD\ncurrency: EUR\n",
         "bad.yaml: line 2, column 1: the key 'currency' is given twice in one object (first on "
         "line 1); give it once"),
        ("values:\n  outcome:\n    Won: full_refund\n    Won: no_refund\n",
         "line 4, column 5: the key 'Won' is given twice in one object (first on line 3)"),
        ("currency: {a: b}\n", "bad.yaml: currency: must be one value (a text), not a list or an object"),
        ("date_format: ['%d/%m/%Y']\n", "bad.yaml: date_format: must be one value (a text)"),
        ("sheet: {name: Cases}\n", "bad.yaml: sheet: must be one value (a text)"),
        ("encoding: [utf-8]\n", "bad.yaml: encoding: must be one value (a text)"),
        ("values:\n  supplier_id:\n    Acme: [A, B]\n",
         "values.supplier_id.Acme: must be one text mapped to one value"),
        ("defaults:\n  claim_type: [other]\n", "defaults.claim_type: must be one value"),
        ("columns:\n  Order #: case_id\n  Company: supplier_id\n",
         "bad.yaml: line 2, column 3: the name 'Order #' holds ' #', which YAML reads as the start "
         "of a comment; a name holding ' #' or ': ' must be in quotes, e.g. 'Order #': case_id"),
        ("values:\n  outcome:\n    Status: Open: open\n",
         "bad.yaml: line 3, column 17: mapping values are not allowed"),
        ("values:\n  outcome:\n    Status: Open: open\n",
         "; a name holding ' #' or ': ' must be in quotes, e.g. 'Order #': case_id"),
        ("columns:" + " {a:" * 3000 + "}" * 3000 + "\n",
         "bad.yaml: line 1, column 22: nested deeper than 4 levels"),
        ("encoding: rot13\n", "encoding 'rot13' is not a known text encoding"),
        ("columns:\n  Order No: case_id\n  order-no.: supplier_id\n",
         "columns: 'Order No' and 'order-no.' are the same column name once case and punctuation "
         "are ignored; give it once"),
        # issue 24.2/24.3: value-map keys that match a blank, or one another
        ("values:\n  outcome:\n    '-': no_refund\n",
         "values.outcome.-: '-' has no letter or digit, so it would match a blank cell"),
        ("values:\n  claim_type:\n    '?': other\n", "values.claim_type.?: '?' has no letter"),
        ("values:\n  outcome:\n    Won: full_refund\n    WON!: no_refund\n",
         "values.outcome: 'Won' and 'WON!' are the same text once case and punctuation are ignored"),
    ],
)  # fmt: skip
def test_bad_mapping_files(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(BadFile, match="bad.yaml") as err:
        Mapping.load(p)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_checked_against_the_file(tmp_path):
    m = _mapping(
        tmp_path, "columns:\n  Compnay: supplier_id\nfallbacks:\n  closed_date: Date closed\n"
    )
    headers = ["Complaint ID", "Company", "Date received", "Date sent to company"]
    with pytest.raises(BadFile) as err:
        m.check_against(tmp_path / "export.csv", headers)
    assert str(err.value) == (
        f"{tmp_path / 'm.yaml'}: columns: 'Compnay' is not a column of export.csv (its columns: "
        "Complaint ID, Company, Date received, Date sent to company); closest: 'Company'"
    )
    m = _mapping(tmp_path, "fallbacks:\n  closed_date: Date closed\n")
    with pytest.raises(BadFile, match="fallbacks.closed_date: 'Date closed' is not a column"):
        m.check_against(tmp_path / "export.csv", headers)
    m = _mapping(tmp_path, "constants:\n  currency: USD\n  supplier_id: S1\n")
    with pytest.raises(BadFile, match="constants.supplier_id: export.csv has a supplier_id column"):
        m.check_against(tmp_path / "export.csv", ["supplier_id", "x"])
    Mapping().check_against(tmp_path / "export.csv", ["anything"])  # no mapping: nothing to check


def test_mapping_file_size_and_value_map_limits(tmp_path, monkeypatch):
    from analysis.ingest import mapping

    # /dev/zero never ends: only the limit's worth is read
    with pytest.raises(BadFile, match="/dev/zero: a mapping file is at most 8 MB"):
        Mapping.load(Path("/dev/zero"))
    monkeypatch.setattr(mapping, "MAX_VALUE_MAP_ENTRIES", 3)
    text = "values:\n  outcome:\n    A: full_refund\n    B: no_refund\n  claim_type:\n"
    assert len(_mapping(tmp_path, text + "    C: other\n").values) == 2
    with pytest.raises(BadFile, match="values: more than 3 entries in all"):
        _mapping(tmp_path, text + "    C: other\n    D: other\n")


def test_a_large_values_map_is_read_quickly(tmp_path, monkeypatch):
    # 40,000 entries: each distinct replacement is resolved against the vocabulary once (it was
    # once per entry, each a scan of every spelling), and the file is read in about a second
    from analysis import vocab

    resolved = []
    real = vocab.Vocabulary.resolve
    monkeypatch.setattr(
        vocab.Vocabulary, "resolve", lambda self, f, t: resolved.append(t) or real(self, f, t)
    )
    lines = "".join(f"    Closed, reason {i}: full_refund\n" for i in range(40_000))
    t0 = time.monotonic()
    m = _mapping(tmp_path, "values:\n  outcome:\n" + lines + "    Refused: No refund\n")
    assert time.monotonic() - t0 < 10
    assert resolved == ["full_refund", "No refund"]
    assert len(m.values["outcome"]) == 40_001
    assert m.values["outcome"]["Closed, reason 39999"] == "full_refund"
    assert m.values["outcome"]["Refused"] == "no_refund"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # the buyer column also sent into a stored column: its raw e-mail would be stored
        ("columns:\n  Buyer Email: [buyer_ref, description]\n", "columns.Buyer Email"),
        ("columns:\n  Buyer Email: [supplier_name, buyer_ref]\n", "columns.Buyer Email"),
        ("columns:\n  Buyer Email: buyer_ref\nfallbacks:\n  description: Buyer Email\n",
         "fallbacks.description"),
        # a column named as the buyer column (literally, or by the common alias 'Buyer')
        ("fallbacks:\n  supplier_name: buyer_ref\n", "fallbacks.supplier_name"),
        ("fallbacks:\n  order_id: Buyer\n", "fallbacks.order_id"),
    ],
)  # fmt: skip
def test_the_buyer_column_goes_to_buyer_ref_only(tmp_path, text, key):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    with pytest.raises(BadFile) as err:
        Mapping.load(p)
    assert str(err.value).startswith(f"{p}: {key}: the buyer column goes to buyer_ref only")
    assert "\n" not in str(err.value)


def test_the_buyer_column_may_fill_buyer_ref_and_its_fallback(tmp_path):
    m = _mapping(
        tmp_path,
        "columns:\n  Customer: buyer_ref\n  Vendor: [supplier_id, supplier_name]\n"
        "fallbacks:\n  buyer_ref: Customer Email\n  supplier_name: Vendor\n",
    )
    assert m.columns["customer"] == ("buyer_ref",)
    assert m.fallbacks == {"buyer_ref": "customer_email", "supplier_name": "vendor"}
