"""The column registry: every intake column and every column of the ``cases`` table, once.

Everything that lists columns derives from here: the mapping's column set and the required
columns (:mod:`analysis.ingest.mapping`), the staging SQL's per-column parsing and problem list
and the content hash (``analysis/ingest/sql/staged.sql``, rendered from this registry), the clean
step's select list and the insert (``clean.sql``, :mod:`analysis.ingest.load`), the ``cases``
table of the schema (:func:`cases_ddl`), the column tables of ``docs/data-dictionary.md``
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

    def __post_init__(self) -> None:
        if self.origin not in ("staged", "fx", "usd", "load"):
            raise ValueError(f"{self.name}: unknown origin {self.origin!r}")


#: The earliest date any intake date may hold: an earlier one is quarantined (a misread year:
#: '25' taken as the year 25; Trade Assurance disputes are all from this century).
EARLIEST_DATE = "2000-01-01"
#: The dates of a dispute's own course, none of which can come after the day the export
#: describes (the load's as-of date, else today): a later one is quarantined.
NOT_AFTER_AS_OF = ("opened_date", "escalated_date", "closed_date", "after_closed_date")
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
                 "recorded\"; an `escalated_date`, when given, wins over a no"),
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
if len(INTAKE) > 64:  # staged.sql marks the columns a record has in one 64-bit mask (_present)
    raise ValueError(f"{len(INTAKE)} intake columns: staged.sql's _present mask holds 64")

#: The columns of ``cases``, in table order.
CASES: tuple[CaseColumn, ...] = (
    CaseColumn("case_id", "VARCHAR", True, "staged", False, "the tracker's id of the dispute"),
    CaseColumn("order_id", "VARCHAR", False, "staged", True, "the platform's order number"),
    CaseColumn("buyer_key", "VARCHAR", False, "staged", True,
               "keyed hash of buyer_ref; the raw reference is never stored"),
    CaseColumn("supplier_id", "VARCHAR", True, "staged", True, "the supplier's identifier"),
    CaseColumn("supplier_name", "VARCHAR", False, "staged", True, "as received"),
    CaseColumn("supplier_country", "VARCHAR", False, "staged", True, "upper-cased"),
    CaseColumn("category", "VARCHAR", True, "staged", True,
               "slug from data/reference/categories.csv ('other' if unmapped)"),
    CaseColumn("category_raw", "VARCHAR", False, "staged", True, "the category text as received"),
    CaseColumn("category_mapped", "BOOLEAN", True, "staged", False,
               "false when category_raw matched no slug, name or synonym"),
    CaseColumn("claim_type", "VARCHAR", True, "staged", True,
               "slug from data/reference/claim_types.csv"),
    CaseColumn("outcome", "VARCHAR", True, "staged", True, "slug from data/reference/outcomes.csv"),
    CaseColumn("currency", "VARCHAR", False, "staged", True,
               "ISO 4217 code of the original amounts; NULL for a case without amounts"),
    CaseColumn("order_value", AMOUNT_TYPE, False, "staged", True,
               "original amount; NULL when not recorded"),
    CaseColumn("claim_amount", AMOUNT_TYPE, False, "staged", True,
               "original amount; NULL when not recorded"),
    CaseColumn("refund_amount", AMOUNT_TYPE, False, "staged", True,
               "original amount; NULL while open"),
    CaseColumn("inspection_fee", AMOUNT_TYPE, False, "staged", True, "original amount"),
    CaseColumn("usd_per_unit", "DOUBLE", False, "fx", False,
               "ECB reference rate for opened_date, as USD per 1 unit of currency (NULL without "
               "a currency)"),
    CaseColumn("fx_rate_date", "DATE", False, "fx", False,
               "the date the rate is for (opened_date, or the nearest shipped date)"),
    CaseColumn("fx_fallback", "BOOLEAN", True, "fx", False,
               "true when opened_date lies outside the shipped rates"),
    CaseColumn("order_value_usd", "DOUBLE", False, "usd", False, "order_value x usd_per_unit",
               source="order_value"),
    CaseColumn("claim_usd", "DOUBLE", False, "usd", False, "claim_amount x usd_per_unit",
               source="claim_amount"),
    CaseColumn("refund_usd", "DOUBLE", False, "usd", False, "refund_amount x usd_per_unit",
               source="refund_amount"),
    CaseColumn("inspection_fee_usd", "DOUBLE", False, "usd", False,
               "inspection_fee x usd_per_unit", source="inspection_fee"),
    CaseColumn("order_date", "DATE", False, "staged", True, ""),
    CaseColumn("received_date", "DATE", False, "staged", True, ""),
    CaseColumn("opened_date", "DATE", True, "staged", True, ""),
    CaseColumn("escalated_date", "DATE", False, "staged", True,
               "NULL when not escalated, or escalated on a day not recorded (see escalated)"),
    CaseColumn("escalated", "BOOLEAN", True, "staged", True,
               "escalated to the platform: an escalated_date, or a yes in the export's "
               "escalated column"),
    CaseColumn("closed_date", "DATE", False, "staged", True, ""),
    CaseColumn("decided_by", "VARCHAR", False, "staged", True, "agreement | platform | external"),
    CaseColumn("inspection", "VARCHAR", False, "staged", True, "none | sgs | tuv | bv | other"),
    CaseColumn("evidence", "VARCHAR[]", False, "staged", True, "sorted, distinct evidence slugs"),
    CaseColumn("coverage", "VARCHAR", False, "staged", True, "pre_shipment | post_delivery"),
    CaseColumn("description", "VARCHAR", False, "staged", True,
               "free text as received, e-mail addresses and phone numbers masked"),
    CaseColumn("extra", "VARCHAR", False, "staged", True,
               "the export's columns outside the intake format, as a JSON object {normalised "
               "header: text} (the load's extra_columns gives each header as written); a "
               "column whose header names a person or a contact is not kept, e-mail addresses "
               "and phone numbers are masked"),
    CaseColumn("platform_reason", "VARCHAR", False, "staged", True,
               "slug of the platform's stated reason (vocabularies.csv); NULL when not recorded"),
    CaseColumn("after_route", "VARCHAR", False, "staged", True,
               "none | chargeback | paypal | legal | arbitration | supplier_settlement | other"),
    CaseColumn("after_outcome", "VARCHAR", False, "staged", True,
               "recovered_full | recovered_partial | nothing | pending"),
    CaseColumn("after_refund_amount", AMOUNT_TYPE, False, "staged", True,
               "original amount recovered after the platform; NULL when not recorded"),
    CaseColumn("after_refund_usd", "DOUBLE", False, "usd", False,
               "after_refund_amount x usd_per_unit", source="after_refund_amount"),
    CaseColumn("after_closed_date", "DATE", False, "staged", True,
               "the day the route after the platform ended"),
    CaseColumn("is_synthetic", "BOOLEAN", True, "load", True, "generated by `ta-outcomes demo`"),
    CaseColumn("content_hash", "VARCHAR", True, "load", False,
               "hash of the hashed columns: tells an unchanged snapshot from an update"),
    CaseColumn("source_file", "VARCHAR", True, "load", False, "the file that last wrote the case"),
    CaseColumn("source_row", "BIGINT", True, "load", False, "its data record in that file"),
    CaseColumn("load_id", "BIGINT", True, "load", False, "the load that last wrote this case"),
    CaseColumn("first_loaded_at", "TIMESTAMP", True, "load", False, "when the case was first stored"),
    CaseColumn("updated_at", "TIMESTAMP", True, "load", False, "when the case last changed"),
)  # fmt: skip


def intake(kind: str | None = None) -> tuple[IntakeColumn, ...]:
    """The intake columns, or those of one ``kind``."""
    return tuple(c for c in INTAKE if kind is None or c.kind == kind)


def intake_names(kind: str | None = None) -> tuple[str, ...]:
    """The names of :func:`intake`."""
    return tuple(c.name for c in intake(kind))


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
        "usd_columns": tuple((c.name, c.source) for c in CASES if c.origin == "usd"),
        "hashed": hashed_names(),
        "cases_table": cases_ddl(),
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
    return {
        "required-columns": "\n".join(required),
        "optional-columns": "\n".join(optional),
        "cases-columns": "\n".join(store),
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
