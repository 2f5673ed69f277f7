"""The column registry: every intake column, every column of ``cases`` and of ``loads``, once.

Everything that lists columns derives from here: the mapping's column set and the required
columns (:mod:`analysis.ingest.mapping`), the ingest's SQL (``analysis/ingest/sql/``, rendered
from this registry: the canonical view, the staging's per-column parsing and problem list, the
content hash, the field coverage, the clean step's select list, the insert and the load's row),
the ``cases`` and ``loads`` tables of the schema (:func:`cases_ddl`, :func:`loads_ddl`), the
columns of each period case the metrics read (``metrics/sql/cases.sql``), the blanks the
data-quality report counts (``metrics/sql/missing_fields.sql``), the fields reported "not
recorded" (:mod:`analysis.metrics.coverage`), the column tables of ``docs/data-dictionary.md``
(:func:`data_dictionary_markdown`), the demo's export layout and the tests' case factory.

Adding a field: add an :class:`IntakeColumn` (what files carry) and, when it is stored, a
:class:`CaseColumn`; mark ``hashed=True`` when a change in it makes a snapshot an update.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kinds of intake columns; each kind is parsed one way in the staging SQL.
KINDS = ("id", "text", "vocab", "amount", "date", "currency", "evidence", "buyer", "flag")

#: The spellings of a yes/no cell (kind 'flag', and a mapping's evidence_flags), compared in
#: lower case after trimming; a blank is a no. Anything else is quarantined with its reason.
YES = ("yes", "y", "true", "1", "x")
NO = ("no", "n", "false", "0")
_YES_NO = (
    f"yes/no: {', '.join(f'`{w}`' for w in YES)} (any case) for yes; "
    f"{', '.join(f'`{w}`' for w in NO)} or blank for no; anything else is quarantined"
)


@dataclass(frozen=True)
class IntakeColumn:
    """A column an intake file may carry (after the mapping's renames)."""

    name: str
    kind: str  # one of KINDS
    required: bool
    meaning: str
    accepted: str
    #: kind 'vocab': the vocabulary (data/reference) its values come from, and what a text that
    #: matches none of it becomes: 'problem' (quarantined), 'other' (the slug other) or 'null'
    vocabulary: str | None = None
    unknown: str | None = None
    #: kind 'text': stored upper-cased (country codes)
    upper: bool = False
    #: kind 'text': free text, stored with e-mail addresses and phone numbers masked
    #: (``ta_mask_contacts``, analysis/ingest/personal.py); never an identifier
    masked: bool = False
    #: another intake column whose absence this one makes up for: the field is recorded when
    #: either carries a value (a yes/no ``escalated`` records the escalation of ``escalated_date``)
    records: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.kind == "vocab" and (self.vocabulary is None or self.unknown is None):
            raise ValueError(f"{self.name}: a vocabulary column names its vocabulary and policy")


@dataclass(frozen=True)
class CaseColumn:
    """A column of the ``cases`` table.

    ``origin``: ``staged`` (the cleaned intake value, copied from the staging layer), ``fx`` (the
    exchange rate used), ``usd`` (``source`` x usd_per_unit) or ``load`` (set by the load itself:
    provenance). ``hashed``: part of ``content_hash``, the fingerprint of what the case says, which
    tells an unchanged snapshot from an update.
    """

    name: str
    sql_type: str
    not_null: bool
    origin: str
    hashed: bool
    meaning: str
    source: str | None = None  # for origin 'usd': the amount converted
    #: read by the metrics: a column of each period case (``metrics/sql/cases.sql``), beside
    #: the per-case flags computed there
    metrics: bool = False
    #: an optional field whose blanks the data-quality report counts, under this name; among
    #: the decided cases only when ``blank_among_decided`` (who settled an open case is no gap)
    blank_label: str | None = None
    blank_among_decided: bool = False

    def __post_init__(self) -> None:
        if self.origin not in ("staged", "fx", "usd", "load"):
            raise ValueError(f"{self.name}: unknown origin {self.origin!r}")


#: The earliest date any intake date may hold: an earlier one is quarantined (a misread year:
#: '25' taken as the year 25; Trade Assurance disputes are all from this century).
EARLIEST_DATE = "2000-01-01"
#: The dates of a dispute's own course, none of which can come after the day the export
#: describes (the load's as-of date, else today): a later one is quarantined.
NOT_AFTER_AS_OF = ("opened_date", "escalated_date", "closed_date", "after_closed_date")
#: The intake fields whose absence changes what the reports can say, in the order they are
#: listed as "not recorded" (analysis.metrics.coverage; a figure of the metric catalogue, a
#: breakdown or a model factor that needs a field names one of these).
NOT_RECORDED_FIELDS = (
    "escalated_date", "evidence", "inspection", "decided_by", "received_date", "claim_amount",
)  # fmt: skip
#: The SQL type of a stored amount: three decimals, the most any currency's minor unit has
#: (KWD, BHD, OMR, JOD, TND), so a typed 12.345 is stored as 12.345, not rounded to the cent.
AMOUNT_TYPE = "DECIMAL(18, 3)"

_AMOUNT = (
    "an amount: `12500`, `12,500.00`, `$12,500.00`, `USD 12,500.5`, `€1.234,56`, `400,50` "
    "(see Amounts)"
)
_DATE = (
    "a date: `2026-03-05`, `5 Mar 2026`, `Mar 5, 2026`, `05/03/2026` with a declared order, a "
    f"two-digit year as 20yy (see Dates); not before {EARLIEST_DATE}"
)

#: Intake columns, in the order the demo's exports carry them.
INTAKE: tuple[IntakeColumn, ...] = (
    IntakeColumn("case_id", "id", True, "the tracker's identifier of the dispute; one case per id",
                 "any text"),
    IntakeColumn("order_id", "text", False, "the platform's order number", "text"),
    IntakeColumn("buyer_ref", "buyer", False, "the buyer (name, e-mail, account)",
                 "text; **pseudonymised at ingest** into `buyer_key`, never stored"),
    IntakeColumn("supplier_id", "id", True, "the supplier's identifier", "any text"),
    IntakeColumn("supplier_name", "text", False, "the supplier's name", "text"),
    IntakeColumn("supplier_country", "text", False, "the supplier's country",
                 "text, upper-cased (ISO 3166 alpha-2 expected)", upper=True),
    IntakeColumn("product_category", "vocab", True, "the product category of the order",
                 "a slug, display name or synonym from `data/reference/categories.csv`; anything "
                 "else is kept as `category_raw`, stored as `other` and listed as unmapped",
                 vocabulary="category", unknown="other"),
    IntakeColumn("claim_type", "vocab", True, "what the buyer claimed",
                 "a slug or synonym from `data/reference/claim_types.csv`",
                 vocabulary="claim_type", unknown="problem"),
    IntakeColumn("opened_date", "date", True,
                 "the day the buyer opened the dispute (\"Apply for refund\")",
                 _DATE + "; not after the as-of date (`--as-of`, else today)"),
    IntakeColumn("outcome", "vocab", True, "the case's state or result",
                 "a slug or synonym from `data/reference/outcomes.csv`",
                 vocabulary="outcome", unknown="problem"),
    IntakeColumn("currency", "currency", False, "ISO 4217 code of the amounts",
                 "a code, or `$`, `€`, `£`, `RMB`; needed for a case with amounts unless they "
                 "carry their currency or the mapping sets `currency:`"),
    IntakeColumn("order_value", "amount", False,
                 "the amount of the order (what was paid on the platform)",
                 _AMOUNT + ", > 0; a file without amounts loads, its money figures \"not recorded\""),
    IntakeColumn("claim_amount", "amount", False, "the refund the buyer asked for",
                 _AMOUNT + ", > 0; without it a partial refund is \"undetermined\" (see Amounts)"),
    IntakeColumn("refund_amount", "amount", False, "what the buyer got back",
                 _AMOUNT + ", ≥ 0, ≤ `claim_amount`; empty while open; empty on `no_refund` means "
                 "0; required for `full_refund` and `partial_refund` when the case has a claim amount"),
    IntakeColumn("order_date", "date", False, "the day the order was placed", _DATE),
    IntakeColumn("received_date", "date", False, "the day the buyer confirmed receipt", _DATE),
    IntakeColumn("escalated_date", "date", False, "the day the dispute was escalated to the platform",
                 _DATE + "; not after the as-of date"),
    IntakeColumn("escalated", "flag", False,
                 "whether the dispute was escalated to the platform (a tracker's \"Escalated?\" "
                 "column)",
                 _YES_NO + "; a yes without an `escalated_date` is escalated on a date \"not "
                 "recorded\"; an `escalated_date`, when given, wins over a no",
                 records="escalated_date"),
    IntakeColumn("closed_date", "date", False, "the day the dispute closed",
                 _DATE + "; required for every outcome except `open`, not before `opened_date`, not after "
                 "the as-of date"),
    IntakeColumn("decided_by", "vocab", False, "who settled it",
                 "`agreement`, `platform`, `external` (synonyms in `data/reference/vocabularies.csv`)",
                 vocabulary="decided_by", unknown="null"),
    IntakeColumn("inspection", "vocab", False, "the inspection company",
                 "`none`, `sgs`, `tuv`, `bv` (Bureau Veritas), `other` (any other named company)",
                 vocabulary="inspection", unknown="other"),
    IntakeColumn("inspection_fee", "amount", False,
                 "the inspection fee the buyer paid up front", _AMOUNT + ", ≥ 0"),
    IntakeColumn("evidence", "evidence", False, "the evidence the buyer submitted",
                 "a list separated by `;`, `,` or `|` of `photos`, `video`, `inspection_report`, "
                 "`lab_test`, `contract`, `chat_log` (anything else becomes `other`)"),
    IntakeColumn("coverage", "vocab", False, "Trade Assurance coverage",
                 "`pre_shipment`, `post_delivery`", vocabulary="coverage", unknown="null"),
    IntakeColumn("description", "text", False, "free text",
                 "any text (e-mail addresses and phone numbers masked at ingest; escaped in "
                 "reports)", masked=True),
    # issue 29: the platform's stated reason and what the buyer did after its decision
    IntakeColumn("platform_reason", "vocab", False,
                 "the reason the platform gave for its decision",
                 "a slug or synonym from `data/reference/vocabularies.csv` (field "
                 "`platform_reason`): `product_operational` (\"operational\", \"machine works\"), "
                 "`normal_variation` (\"dye variation\", \"size variation within tolerance\"), "
                 "`insufficient_evidence`, `outside_claim_window`, `not_covered`, "
                 "`unofficial_channel` (agreement or evidence outside the platform's chat), "
                 "`shipped_on_time`, `buyer_fault`, `other`; any other text is quarantined (add a "
                 "synonym, or give the mapping a `defaults:` entry)",
                 vocabulary="platform_reason", unknown="problem"),
    IntakeColumn("after_route", "vocab", False,
                 "what the buyer did after the platform's decision",
                 "`none`, `chargeback`, `paypal`, `legal`, `arbitration` (e.g. HKIAC), "
                 "`supplier_settlement`, `other` (synonyms in `data/reference/vocabularies.csv`); "
                 "any other text is quarantined",
                 vocabulary="after_route", unknown="problem"),
    IntakeColumn("after_outcome", "vocab", False, "what that route brought",
                 "`recovered_full`, `recovered_partial`, `nothing`, `pending` (synonyms in "
                 "`data/reference/vocabularies.csv`); any other text is quarantined",
                 vocabulary="after_outcome", unknown="problem"),
    IntakeColumn("after_refund_amount", "amount", False,
                 "what the buyer recovered after the platform (chargeback, settlement, ...), in "
                 "the case's currency", _AMOUNT + ", ≥ 0; converted to USD at the case's rate"),
    IntakeColumn("after_closed_date", "date", False, "the day the route after the platform ended",
                 _DATE + "; not before `closed_date`, not after the as-of date"),
)  # fmt: skip
if set(NOT_RECORDED_FIELDS) - {c.name for c in INTAKE}:
    raise ValueError(f"NOT_RECORDED_FIELDS names a column not in INTAKE: {NOT_RECORDED_FIELDS}")
if len(INTAKE) > 64:  # staged.sql marks the columns a record has in one 64-bit mask (_present)
    raise ValueError(f"{len(INTAKE)} intake columns: staged.sql's _present mask holds 64")

#: The columns of ``cases``, in table order.
CASES: tuple[CaseColumn, ...] = (
    CaseColumn("case_id", "VARCHAR", True, "staged", False, "the tracker's id of the dispute", metrics=True),
    CaseColumn("order_id", "VARCHAR", False, "staged", True, "the platform's order number", blank_label="Order id"),
    CaseColumn("buyer_key", "VARCHAR", False, "staged", True,
               "keyed hash of buyer_ref; the raw reference is never stored"),
    CaseColumn("supplier_id", "VARCHAR", True, "staged", True, "the supplier's identifier", metrics=True),
    CaseColumn("supplier_name", "VARCHAR", False, "staged", True, "as received", metrics=True, blank_label="Supplier name"),
    CaseColumn("supplier_country", "VARCHAR", False, "staged", True, "upper-cased", metrics=True, blank_label="Supplier country"),
    CaseColumn("category", "VARCHAR", True, "staged", True,
               "slug from data/reference/categories.csv ('other' if unmapped)", metrics=True),
    CaseColumn("category_raw", "VARCHAR", False, "staged", True, "the category text as received"),
    CaseColumn("category_mapped", "BOOLEAN", True, "staged", False,
               "false when category_raw matched no slug, name or synonym"),
    CaseColumn("claim_type", "VARCHAR", True, "staged", True,
               "slug from data/reference/claim_types.csv", metrics=True),
    CaseColumn("outcome", "VARCHAR", True, "staged", True, "slug from data/reference/outcomes.csv", metrics=True),
    CaseColumn("currency", "VARCHAR", False, "staged", True,
               "ISO 4217 code of the original amounts; NULL for a case without amounts"),
    CaseColumn("order_value", AMOUNT_TYPE, False, "staged", True,
               "original amount; NULL when not recorded"),
    CaseColumn("claim_amount", AMOUNT_TYPE, False, "staged", True,
               "original amount; NULL when not recorded", metrics=True),
    CaseColumn("refund_amount", AMOUNT_TYPE, False, "staged", True,
               "original amount; NULL while open", metrics=True),
    CaseColumn("inspection_fee", AMOUNT_TYPE, False, "staged", True, "original amount"),
    CaseColumn("usd_per_unit", "DOUBLE", False, "fx", False,
               "ECB reference rate for opened_date, as USD per 1 unit of currency (NULL without "
               "a currency)"),
    CaseColumn("fx_rate_date", "DATE", False, "fx", False,
               "the date the rate is for (opened_date, or the nearest shipped date)"),
    CaseColumn("fx_fallback", "BOOLEAN", True, "fx", False,
               "true when opened_date lies outside the shipped rates"),
    CaseColumn("order_value_usd", "DOUBLE", False, "usd", False, "order_value x usd_per_unit",
               source="order_value", metrics=True),
    CaseColumn("claim_usd", "DOUBLE", False, "usd", False, "claim_amount x usd_per_unit",
               source="claim_amount", metrics=True),
    CaseColumn("refund_usd", "DOUBLE", False, "usd", False, "refund_amount x usd_per_unit",
               source="refund_amount", metrics=True),
    CaseColumn("inspection_fee_usd", "DOUBLE", False, "usd", False,
               "inspection_fee x usd_per_unit", source="inspection_fee"),
    CaseColumn("order_date", "DATE", False, "staged", True, "", blank_label="Order date"),
    CaseColumn("received_date", "DATE", False, "staged", True, "", metrics=True, blank_label="Date goods received"),
    CaseColumn("opened_date", "DATE", True, "staged", True, "", metrics=True),
    CaseColumn("escalated_date", "DATE", False, "staged", True,
               "NULL when not escalated, or escalated on a day not recorded (see escalated)", metrics=True),
    CaseColumn("escalated", "BOOLEAN", True, "staged", True,
               "escalated to the platform: an escalated_date, or a yes in the export's "
               "escalated column"),
    CaseColumn("closed_date", "DATE", False, "staged", True, "", metrics=True),
    CaseColumn("decided_by", "VARCHAR", False, "staged", True, "agreement | platform | external", metrics=True, blank_label="Decided by (decided cases only)", blank_among_decided=True),
    CaseColumn("inspection", "VARCHAR", False, "staged", True, "none | sgs | tuv | bv | other", metrics=True, blank_label="Inspection"),
    CaseColumn("evidence", "VARCHAR[]", False, "staged", True, "sorted, distinct evidence slugs", metrics=True, blank_label="Evidence"),
    CaseColumn("coverage", "VARCHAR", False, "staged", True, "pre_shipment | post_delivery", blank_label="Coverage"),
    CaseColumn("description", "VARCHAR", False, "staged", True,
               "free text as received, e-mail addresses and phone numbers masked", blank_label="Description"),
    CaseColumn("extra", "VARCHAR", False, "staged", True,
               "the export's columns outside the intake format, as a JSON object {normalised "
               "header: text} (the load's extra_columns gives each header as written); a "
               "column whose header names a person or a contact is not kept, e-mail addresses "
               "and phone numbers are masked"),
    CaseColumn("platform_reason", "VARCHAR", False, "staged", True,
               "slug of the platform's stated reason (vocabularies.csv); NULL when not recorded", metrics=True),
    CaseColumn("after_route", "VARCHAR", False, "staged", True,
               "none | chargeback | paypal | legal | arbitration | supplier_settlement | other", metrics=True),
    CaseColumn("after_outcome", "VARCHAR", False, "staged", True,
               "recovered_full | recovered_partial | nothing | pending", metrics=True),
    CaseColumn("after_refund_amount", AMOUNT_TYPE, False, "staged", True,
               "original amount recovered after the platform; NULL when not recorded"),
    CaseColumn("after_refund_usd", "DOUBLE", False, "usd", False,
               "after_refund_amount x usd_per_unit", source="after_refund_amount", metrics=True),
    CaseColumn("after_closed_date", "DATE", False, "staged", True,
               "the day the route after the platform ended", metrics=True),
    CaseColumn("is_synthetic", "BOOLEAN", True, "load", True, "generated by `ta-outcomes demo`", metrics=True),
    CaseColumn("content_hash", "VARCHAR", True, "load", False,
               "hash of the hashed columns: tells an unchanged snapshot from an update"),
    CaseColumn("source_file", "VARCHAR", True, "load", False, "the file that last wrote the case"),
    CaseColumn("source_row", "BIGINT", True, "load", False, "its data record in that file", metrics=True),
    CaseColumn("load_id", "BIGINT", True, "load", False, "the load that last wrote this case", metrics=True),
    CaseColumn("first_loaded_at", "TIMESTAMP", True, "load", False, "when the case was first stored"),
    CaseColumn("updated_at", "TIMESTAMP", True, "load", False, "when the case last changed"),
)  # fmt: skip


@dataclass(frozen=True)
class LoadColumn:
    """A column of the ``loads`` table (one row per ingest of a file).

    ``result``: the load's :class:`analysis.ingest.load.LoadResult` carries it under the same
    name (the counts, the file's identity); the others the load sets itself.
    """

    name: str
    sql_type: str  # the type with its constraints, as in CREATE TABLE
    result: bool
    meaning: str


#: The columns of ``loads``, in table order: the table (``store/sql/schema.sql``), the load's
#: INSERT (``ingest/sql/write.sql``) and the data dictionary's table come from here.
LOADS: tuple[LoadColumn, ...] = (
    LoadColumn("load_id", "BIGINT PRIMARY KEY", True, "the load's number, in load order"),
    LoadColumn("source_file", "VARCHAR NOT NULL", True, "the file's path as given, resolved to absolute"),
    LoadColumn("file_sha256", "VARCHAR NOT NULL", True, "the SHA-256 of the file's content"),
    LoadColumn("file_bytes", "BIGINT", False, "the file's size"),
    LoadColumn("file_format", "VARCHAR", True, "csv | tsv | xlsx | json | parquet"),
    LoadColumn("mapping_file", "VARCHAR", False, "the `--mapping` file, if any"),
    LoadColumn("started_at", "TIMESTAMP NOT NULL", False, "when the load started"),
    LoadColumn("finished_at", "TIMESTAMP NOT NULL", False, "when it wrote its last row"),
    LoadColumn("rows_read", "BIGINT NOT NULL", True,
               "data records read = inserted + updated + unchanged + repeats + quarantined"),
    LoadColumn("inserted", "BIGINT NOT NULL", True, "cases new to the store"),
    LoadColumn("updated", "BIGINT NOT NULL", True, "cases whose content changed"),
    LoadColumn("unchanged", "BIGINT NOT NULL", True, "cases stored as they were"),
    LoadColumn("repeats", "BIGINT NOT NULL", True, "records repeating another of the file"),
    LoadColumn("quarantined", "BIGINT NOT NULL", True, "records quarantined, with their reason"),
    LoadColumn("unmapped_categories", "BIGINT NOT NULL DEFAULT 0", True,
               "cases written whose category matched no slug, name or synonym"),
    LoadColumn("fx_fallbacks", "BIGINT NOT NULL DEFAULT 0", True,
               "cases written at the latest FX rate (opened after the shipped history)"),
    LoadColumn("tool_version", "VARCHAR", False, "the version of ta-outcomes that loaded it"),
    LoadColumn("as_of", "DATE", False,
               "the day the export describes: `--as-of`, the mapping's `export_date` or a date in "
               "the file's name; NULL when none gives it"),
    LoadColumn("field_coverage", "VARCHAR", False,
               "JSON {intake field: rows with a value} of the fields the file carried (a field "
               "not listed was not recorded)"),
    LoadColumn("extra_columns", "VARCHAR", False,
               "JSON {normalised name: header as written} of the file's columns outside the "
               "intake format (`cases.extra`)"),
)  # fmt: skip


def intake(kind: str | None = None) -> tuple[IntakeColumn, ...]:
    """The intake columns, or those of one ``kind``."""
    return tuple(c for c in INTAKE if kind is None or c.kind == kind)


def intake_names(kind: str | None = None) -> tuple[str, ...]:
    """The names of :func:`intake`."""
    return tuple(c.name for c in intake(kind))


def recorders(field_name: str) -> tuple[str, ...]:
    """The intake columns whose values record ``field_name``: itself, and any column that
    ``records`` it."""
    return (field_name, *(c.name for c in INTAKE if c.records == field_name))


def required_names() -> tuple[str, ...]:
    """The intake columns every file must carry."""
    return tuple(c.name for c in INTAKE if c.required)


def case_names(*origins: str) -> tuple[str, ...]:
    """The ``cases`` columns of the given origins (all when none is given), in table order."""
    return tuple(c.name for c in CASES if not origins or c.origin in origins)


def hashed_names() -> tuple[str, ...]:
    """The columns ``content_hash`` is computed over, in table order."""
    return tuple(c.name for c in CASES if c.hashed)


def cases_ddl() -> str:
    """``CREATE TABLE IF NOT EXISTS cases (...)`` from :data:`CASES`."""
    lines = [
        f"    {c.name:<18} {c.sql_type}{' NOT NULL' if c.not_null else ''}"
        + (" DEFAULT false" if c.name == "is_synthetic" else "")
        for c in CASES
    ]
    return "CREATE TABLE IF NOT EXISTS cases (\n" + ",\n".join(lines) + "\n)"


def loads_ddl() -> str:
    """``CREATE TABLE IF NOT EXISTS loads (...)`` from :data:`LOADS`."""
    lines = [f"    {c.name:<19} {c.sql_type}" for c in LOADS]
    return "CREATE TABLE IF NOT EXISTS loads (\n" + ",\n".join(lines) + "\n)"


def load_names(result: bool | None = None) -> tuple[str, ...]:
    """The ``loads`` columns, or those a load's result carries (``result=True``) or not."""
    return tuple(c.name for c in LOADS if result is None or c.result == result)


def sql_context() -> dict:
    """What the project's SQL templates may loop over (identifiers only, never values)."""
    return {
        "intake": INTAKE,
        "amounts": intake_names("amount"),
        "dates": intake_names("date"),
        "vocabs": intake("vocab"),
        "required": required_names(),
        "staged_columns": case_names("staged"),
        "fx_columns": case_names("fx"),
        # what the load writes of a case from the cleaning, in table order
        "written_columns": case_names("staged", "fx", "usd"),
        "usd_columns": tuple((c.name, c.source) for c in CASES if c.origin == "usd"),
        "hashed": hashed_names(),
        "metrics_columns": tuple(c.name for c in CASES if c.metrics),
        "blank_counted": tuple(c for c in CASES if c.blank_label),
        "free_text": tuple(c.name for c in INTAKE if c.masked),
        "cases_table": cases_ddl(),
        "loads_table": loads_ddl(),
        "loads": load_names(),
        "earliest_date": EARLIEST_DATE,
        "not_after_as_of": NOT_AFTER_AS_OF,
        "amount_type": AMOUNT_TYPE,
        "yes": YES,
        "no": NO,
    }


_DOC_START = "<!-- {table}:start (generated from analysis.columns) -->"
_DOC_END = "<!-- {table}:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def data_dictionary_tables() -> dict[str, str]:
    """The column tables of docs/data-dictionary.md, by marker name."""
    required = ["| column | meaning | accepted values |", "|---|---|---|"] + [
        f"| `{c.name}` | {_cell(c.meaning)} | {_cell(c.accepted)} |" for c in INTAKE if c.required
    ]
    optional = ["| column | meaning | accepted values |", "|---|---|---|"] + [
        f"| `{c.name}` | {_cell(c.meaning)} | {_cell(c.accepted)} |"
        for c in INTAKE
        if not c.required
    ]
    store = ["| column | type | meaning |", "|---|---|---|"] + [
        f"| `{c.name}` | {c.sql_type}{' NOT NULL' if c.not_null else ''} | "
        f"{_cell(c.meaning)}{' (in the content hash)' if c.hashed else ''} |"
        for c in CASES
    ]
    loads = ["| column | type | meaning |", "|---|---|---|"] + [
        f"| `{c.name}` | {c.sql_type} | {_cell(c.meaning)} |" for c in LOADS
    ]
    return {
        "required-columns": "\n".join(required),
        "optional-columns": "\n".join(optional),
        "cases-columns": "\n".join(store),
        "loads-columns": "\n".join(loads),
    }


def write_data_dictionary(doc) -> None:
    """Rewrite the generated tables of ``doc`` (docs/data-dictionary.md) in place."""
    from pathlib import Path

    doc = Path(doc)
    doc.write_text(render_data_dictionary(doc.read_text(encoding="utf-8")), encoding="utf-8")


def render_data_dictionary(text: str) -> str:
    """``text`` with each generated table between its markers replaced by the current one."""
    for table, body in data_dictionary_tables().items():
        start, end = _DOC_START.format(table=table), _DOC_END.format(table=table)
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + start + "\n" + body + "\n" + end + tail
    return text
