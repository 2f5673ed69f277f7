"""The YAML mapping that lets a foreign tracker's export be loaded without editing it.

Example (``docs/data-dictionary.md`` has the full reference and a worked example)::

    columns:            # the export's column -> the intake column, or a list of intake columns
      Complaint ID: case_id
      Company: [supplier_id, supplier_name]
      Issue: claim_type
    constants:          # intake column -> one value for every row
      product_category: other
    fallbacks:          # intake column -> an export column used where the intake column is blank
      closed_date: Date sent to company
    values:             # per intake column: the export's text -> an accepted value
      outcome:
        Closed with monetary relief: full_refund
        Closed with explanation: no_refund
    defaults:           # vocabulary column -> the slug of any text that matches nothing
      claim_type: other
    date_format: "%m/%d/%Y"   # declares the order of numeric dates such as 03/05/2026
    currency: USD             # currency of amounts that carry none (the same as constants: currency)
    sheet: Cases              # Excel: the sheet to read
    encoding: cp1252          # CSV: force an encoding instead of detecting it
    delimiter: ";"            # CSV: force a delimiter instead of detecting it
    header_row: 3             # the header's row (1 = the first); detected when not given
    evidence_flags:           # yes/no columns of the export -> the evidence they add when yes
      Inspection report?: inspection_report
    export_date: 2026-12-01   # the day the export was taken (else a date in the file's name)

The file is read with every scalar as text (YAML's ``Yes``, ``No``, ``On`` and ``1.0`` stay the
words the export has), and validated twice, each error one line naming the mapping file and the
key: when it is loaded (keys, intake columns, slugs, value types, duplicate keys, the limits
below) and against each file's header (every export column it names must be there; the error
lists the file's columns and the closest match). A YAML error names its line and column.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis import columns as registry
from analysis import vocab
from analysis.errors import BadFile

KNOWN_KEYS = {
    "columns", "constants", "fallbacks", "values", "defaults", "date_format", "currency",
    "sheet", "encoding", "delimiter", "header_row", "evidence_flags", "export_date",
}  # fmt: skip
#: The keys that take one text value (not a list, not an object).
SCALAR_KEYS = ("date_format", "currency", "sheet", "encoding", "delimiter")

# Limits (docs/data-dictionary.md, "Mapping files"): a mapping file is a few lines written by
# hand, or a values map generated from a lookup table; these bound what reading one may cost.
#: The largest mapping file read (a values map of 100,000 entries is about 5 MB).
MAX_MAPPING_BYTES = 8 * 1024 * 1024
#: The most entries of all value maps together.
MAX_VALUE_MAP_ENTRIES = 100_000
#: The deepest nesting of lists and objects (``values: {outcome: {Won: full_refund}}`` is 3).
MAX_NESTING = 4
#: header_row may not be beyond this row (the header detection looks at fewer rows, see
#: analysis.ingest.readers.common.HEADER_SEARCH_ROWS)
MAX_HEADER_ROW = 1000


def _canonical(name: str) -> str:
    return re.sub(r"[\W_]+", "_", str(name).strip().lower()).strip("_")


def _vocabulary_of(column: str) -> str | None:
    """The vocabulary of an intake column of kind 'vocab', else None."""
    col = next((c for c in registry.INTAKE if c.name == column), None)
    return col.vocabulary if col is not None and col.kind == "vocab" else None


@dataclass
class Mapping:
    """A parsed mapping file; the empty Mapping() means "the file is already in intake format"."""

    #: canonical(export column) -> the intake columns it fills (the first is its name in raw_input)
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)  # intake column -> value
    fallbacks: dict[str, str] = field(default_factory=dict)  # intake column -> canonical(export)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # intake column -> {raw: value}
    defaults: dict[str, str] = field(default_factory=dict)  # intake column -> slug
    date_format: str | None = None
    currency: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    #: the header's row in the file or sheet, from 1 (None: detected)
    header_row: int | None = None
    #: canonical(export column) -> the evidence slug its yes adds to the case's evidence
    evidence_flags: dict[str, str] = field(default_factory=dict)
    #: the day the export was taken, when the mapping gives it
    export_date: dt.date | None = None
    source: Path | None = None
    #: canonical(export column) -> the name the mapping file gave it (for error messages)
    named: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Mapping(columns={"vendor": "supplier_id"}) in code means one target
        self.columns = {
            k: (v,) if isinstance(v, str) else tuple(v) for k, v in self.columns.items()
        }

    @classmethod
    def load(cls, path: Path | None) -> Mapping:
        """Read and validate a mapping file; ``None`` gives the empty mapping."""
        if path is None:
            return cls()
        data = _read_yaml(Path(path))
        if not isinstance(data, dict):
            raise BadFile(f"{path}: a mapping file must be a YAML object (columns:, values:, ...)")
        unknown = set(data) - KNOWN_KEYS
        if unknown:
            raise BadFile(
                f"{path}: unknown mapping key(s) {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}"
            )
        return _parse(Path(path), data)

    def rename(self, canonical_name: str) -> str:
        """The name a (canonicalised) export column takes in raw_input."""
        targets = self.columns.get(canonical_name)
        return targets[0] if targets else canonical_name

    def copies(self) -> dict[str, str]:
        """Intake columns filled from an export column that another intake column is named by
        (``Company: [supplier_id, supplier_name]``: supplier_name -> supplier_id)."""
        return {t: targets[0] for targets in self.columns.values() for t in targets[1:]}

    def supplied(self) -> set[str]:
        """Intake columns the mapping itself provides (constants, copies, fallbacks)."""
        return set(self.constants) | set(self.copies()) | set(self.fallbacks)

    def required_columns(self) -> set[str]:
        """Intake columns a file must have (those the mapping does not supply)."""
        return set(registry.required_names()) - self.supplied()

    def check_against(self, path: Path, headers: list[str]) -> None:
        """Refuse, in one line, a mapping that names an export column ``path`` lacks."""
        if self.source is None:
            return
        present = {_canonical(h): h for h in headers}
        wanted = (
            [("columns", c) for c in self.columns]
            + [(f"fallbacks.{target}", c) for target, c in self.fallbacks.items()]
            + [("evidence_flags", c) for c in self.evidence_flags]
        )
        for key, canon in wanted:
            if canon in present:
                continue
            name = self.named.get(canon, canon)
            close = difflib.get_close_matches(name, list(present.values()), n=1, cutoff=0.5)
            shown = ", ".join(headers[:20]) + (" ..." if len(headers) > 20 else "")
            hint = f"; closest: '{close[0]}'" if close else ""
            raise BadFile(
                f"{self.source}: {key}: '{name}' is not a column of {path.name} "
                f"(its columns: {shown}){hint}"
            )
        for target in self.constants:
            if target in {self.rename(_canonical(h)) for h in headers}:
                raise BadFile(
                    f"{self.source}: constants.{target}: {path.name} has a {target} column too; "
                    "give the column or the constant, not both"
                )


class _TooDeep(yaml.MarkedYAMLError):
    """Nesting past MAX_NESTING."""


class _Loader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # libyaml when installed: 10x faster
    """YAML's BaseLoader (every scalar is text, so a value map's key `Yes` is the word "Yes":
    safe_load would make it the boolean true, which no export text ever equals; no tag builds an
    object), refusing a key given twice in one object instead of keeping the last."""

    def construct_mapping(self, node, deep=False):
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"the key '{key}' is given twice in one object (first on line {seen[key]}); "
                    "give it once",
                    key_node.start_mark,
                )  # fmt: skip
            if key is not None:
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


#: A line whose name (the text before its first ': ') holds ' #': YAML reads the rest as a
#: comment (``Order #: case_id`` is the name "Order" and no value), so it must be quoted.
_COMMENT_IN_NAME = re.compile(r"^(?P<indent>\s*(?:-\s+)?)(?P<name>[^'\"#\s][^:]*?\s#[^:]*):(\s|$)")
_QUOTE_HINT = "; a name holding ' #' or ': ' must be in quotes, e.g. 'Order #': case_id"


def _read_yaml(path: Path) -> object:
    """The YAML document of a mapping file, or one line saying why not (size, encoding, a YAML
    error with its line and column, nesting, a duplicate key)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MAPPING_BYTES + 1)  # never more: `--mapping /dev/zero` is refused
        if len(raw) > MAX_MAPPING_BYTES:
            raise BadFile(
                f"{path}: a mapping file is at most {MAX_MAPPING_BYTES // (1024 * 1024)} MB; "
                "this one is larger (is it the right file?)"
            )
        text = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFile(
            f"{path}: cannot read the mapping file ({str(exc).splitlines()[0]})"
        ) from None
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        match = _COMMENT_IN_NAME.match(line)
        if match:
            raise BadFile(
                f"{path}: line {number}, column {len(match['indent']) + 1}: the name "
                f"'{match['name'].strip()}' holds ' #', which YAML reads as the start of a "
                f"comment{_QUOTE_HINT}"
            )
    try:
        _check_nesting(text)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (BaseLoader builds no objects)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = " ".join(str(exc.problem or exc.context or "not YAML").split())
        line = lines[mark.line] if mark and mark.line < len(lines) else ""
        # a second ': ' on the line: a name holding ': ' (``Status: Open: open``)
        hint = (
            _QUOTE_HINT if ": " in line.partition(": ")[2] and not isinstance(exc, _TooDeep) else ""
        )
        raise BadFile(f"{path}: {where}{problem}{hint}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise BadFile(
            f"{path}: cannot read the mapping file ({str(exc).splitlines()[0]})"
        ) from None


def _check_nesting(text: str) -> None:
    """Refuse nesting deeper than MAX_NESTING before a structure is built (building one
    thousands of levels deep recurses past Python's limit)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise _TooDeep(
                    problem=f"nested deeper than {MAX_NESTING} levels (a mapping file is at most "
                    "key: column: text: value)",
                    problem_mark=event.start_mark,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _error(path: Path, key: str, message: str) -> BadFile:
    return BadFile(f"{path}: {key}: {message}")


def _object(path: Path, data: dict, key: str) -> dict:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise _error(path, key, "must be an object (name: value lines)")
    return value


def _intake_column(path: Path, key: str, name: str) -> str:
    canon = _canonical(name)
    if canon not in registry.intake_names():
        close = difflib.get_close_matches(canon, registry.intake_names(), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise _error(path, key, f"'{name}' is not an intake column{hint}")
    return canon


def _slug(path: Path, key: str, column: str, text: str) -> str:
    """``text`` as a known value of ``column``'s vocabulary, or the one-line error."""
    vocabulary = _vocabulary_of(column)
    if vocabulary is None:
        return text
    slug = vocab.vocabulary().resolve(vocabulary, text)
    if slug is None:
        known = ", ".join(vocab.vocabulary().slugs(vocabulary))
        raise _error(path, key, f"'{text}' is not a known {vocabulary} (known: {known})")
    return slug


#: Why a mapping may not copy the buyer column: its text is a buyer's identity.
_BUYER_ONLY = (
    "the buyer column goes to buyer_ref only (it is keyed there; a buyer's name, e-mail or "
    "account never enters the store): map it to buyer_ref alone"
)


def _is_buyer_column(canon: str, columns: dict[str, tuple[str, ...]]) -> bool:
    """Whether the export column ``canon`` is the one loaded as ``buyer_ref``: mapped there, or
    named so (``buyer_ref``, or a common alias such as ``Buyer``) and not mapped elsewhere."""
    from analysis.ingest.readers.common import COLUMN_ALIASES

    if canon in columns:
        return "buyer_ref" in columns[canon]
    return "buyer_ref" in (canon, COLUMN_ALIASES.get(canon))


def _parse(path: Path, data: dict) -> Mapping:
    for key in SCALAR_KEYS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise _error(path, key, "must be one value (a text), not a list or an object")
    columns: dict[str, tuple[str, ...]] = {}
    named: dict[str, str] = {}
    for source, targets in _object(path, data, "columns").items():
        targets = targets if isinstance(targets, list) else [targets]
        if not targets or not all(isinstance(t, str) for t in targets):
            raise _error(path, f"columns.{source}", "must name an intake column or a list of them")
        canon = _canonical(source)
        if canon in columns:
            # the file's header is matched by the normalised name: both would claim one column
            raise _error(
                path, "columns", f"'{named[canon]}' and '{source}' are the same column name once "
                "case and punctuation are ignored; give it once",
            )  # fmt: skip
        columns[canon] = tuple(_intake_column(path, f"columns.{source}", t) for t in targets)
        named[canon] = str(source)
    filled = [t for targets in columns.values() for t in targets]
    twice = sorted({t for t in filled if filled.count(t) > 1})
    if twice:
        raise _error(path, "columns", f"{', '.join(twice)} filled from more than one column")
    for canon, targets in columns.items():
        if "buyer_ref" in targets and len(targets) > 1:
            raise _error(path, f"columns.{named[canon]}", _BUYER_ONLY)
    constants = {}
    for target, value in _object(path, data, "constants").items():
        column = _intake_column(path, f"constants.{target}", target)
        if not isinstance(value, str):
            raise _error(path, f"constants.{target}", "must be one value")
        constants[column] = _slug(path, f"constants.{target}", column, value)
    fallbacks = {}
    for target, source in _object(path, data, "fallbacks").items():
        column = _intake_column(path, f"fallbacks.{target}", target)
        if not isinstance(source, str):
            raise _error(path, f"fallbacks.{target}", "must name one column of the export")
        fallbacks[column] = _canonical(source)
        named.setdefault(_canonical(source), source)
        if column != "buyer_ref" and _is_buyer_column(_canonical(source), columns):
            raise _error(path, f"fallbacks.{target}", _BUYER_ONLY)
    values = _value_maps(path, data)
    defaults = {}
    for target, slug in _object(path, data, "defaults").items():
        column = _intake_column(path, f"defaults.{target}", target)
        if _vocabulary_of(column) is None:
            raise _error(path, f"defaults.{target}", "defaults are for vocabulary columns only")
        if not isinstance(slug, str):
            raise _error(path, f"defaults.{target}", "must be one value")
        defaults[column] = _slug(path, f"defaults.{target}", column, slug)
    if data.get("date_format") and "%" not in data["date_format"]:
        raise _error(path, "date_format", "must be a strftime pattern such as '%d/%m/%Y'")
    _check_readers_settings(path, data)
    evidence_flags = _evidence_flags(path, data, named)
    currency = data.get("currency") or constants.pop("currency", None)
    return Mapping(
        columns=columns,
        constants=constants,
        fallbacks=fallbacks,
        values=values,
        defaults=defaults,
        date_format=data.get("date_format") or None,
        currency=str(currency).strip().upper() if currency else None,
        sheet=data.get("sheet") or None,
        encoding=data.get("encoding") or None,
        delimiter=data.get("delimiter") or None,
        header_row=_header_row(path, data.get("header_row")),
        evidence_flags=evidence_flags,
        export_date=_export_date(path, data.get("export_date")),
        source=path,
        named=named,
    )


def _value_maps(path: Path, data: dict) -> dict[str, dict[str, str]]:
    """``values:``, checked: text keys and values, at most MAX_VALUE_MAP_ENTRIES, no key without
    a letter or digit (its lookup key would be that of a blank cell), no two keys of one column
    with the same lookup key (a cell would match both), replacements known to the vocabulary."""
    values: dict[str, dict[str, str]] = {}
    entries = 0
    for target, vmap in _object(path, data, "values").items():
        column = _intake_column(path, f"values.{target}", target)
        if not isinstance(vmap, dict):
            raise _error(path, f"values.{target}", "must be an object (export text: value)")
        entries += len(vmap)
        if entries > MAX_VALUE_MAP_ENTRIES:
            raise _error(
                path, "values", f"more than {MAX_VALUE_MAP_ENTRIES:,} entries in all (the limit)"
            )
        resolved: dict[str, str] = {}  # a replacement is resolved once, however many keys share it
        keys: dict[str, str] = {}  # lookup key -> the text that gave it
        out: dict[str, str] = {}
        for raw, new in vmap.items():
            where = f"values.{target}.{raw}"
            if not isinstance(raw, str) or not isinstance(new, str):
                raise _error(path, where, "must be one text mapped to one value")
            lookup = vocab.key(raw)  # the rule of the SQL macro ta_key, which matches the cells
            if not lookup:
                raise _error(
                    path, where, f"'{raw}' has no letter or digit, so it would match a blank "
                    "cell; a blank is never mapped (it is not recorded)",
                )  # fmt: skip
            if lookup in keys:
                raise _error(
                    path, f"values.{target}", f"'{keys[lookup]}' and '{raw}' are the same text "
                    "once case and punctuation are ignored; give it once",
                )  # fmt: skip
            keys[lookup] = raw
            if new not in resolved:
                resolved[new] = _slug(path, where, column, new)
            out[raw] = resolved[new]
        values[column] = out
    return values


def _header_row(path: Path, given) -> int | None:
    if given is None:
        return None
    if not str(given).strip().isdigit() or not 1 <= int(given) <= MAX_HEADER_ROW:
        raise _error(
            path, "header_row", f"must be a row number from 1 to {MAX_HEADER_ROW}, got {given!r}"
        )
    return int(given)


def _export_date(path: Path, given) -> dt.date | None:
    if given is None:
        return None
    try:
        return dt.date.fromisoformat(str(given).strip())
    except ValueError:
        raise _error(path, "export_date", f"must be a date as 2026-12-01, got {given!r}") from None


def _evidence_flags(path: Path, data: dict, named: dict[str, str]) -> dict[str, str]:
    """``evidence_flags``: {export column: evidence slug}, each column a yes/no of one kind."""
    flags = {}
    for source, slug in _object(path, data, "evidence_flags").items():
        key = f"evidence_flags.{source}"
        known = vocab.vocabulary().resolve("evidence", slug) if isinstance(slug, str) else None
        if known is None:
            shown = ", ".join(vocab.vocabulary().slugs("evidence"))
            raise _error(path, key, f"'{slug}' is not a kind of evidence (known: {shown})")
        canon = _canonical(source)
        flags[canon] = known
        named.setdefault(canon, str(source))
    return flags


def _check_readers_settings(path: Path | str, data: dict) -> None:
    """Refuse, with one line, settings the readers would otherwise fail on mid-load."""
    import duckdb

    from analysis.store import open_duckdb

    if data.get("encoding"):
        try:
            # a text codec: rot13 or base64 are codecs too, but they turn bytes into no text
            "".encode(data["encoding"])
        except LookupError:
            raise BadFile(
                f"{path}: encoding {data['encoding']!r} is not a known text encoding "
                "(e.g. utf-8, cp1252, utf-16)"
            ) from None
    if data.get("delimiter") and len(data["delimiter"]) != 1:
        raise BadFile(f"{path}: delimiter must be one character, got {data['delimiter']!r}")
    if data.get("date_format"):
        try:  # DuckDB parses the pattern itself; a pattern it rejects would fail the load later
            open_duckdb().execute(
                "SELECT try_strptime('2026-01-02', ?)", [str(data["date_format"])]
            )
        except duckdb.Error:
            raise BadFile(
                f"{path}: date_format {data['date_format']!r} is not a valid strftime "
                "pattern (e.g. '%d/%m/%Y')"
            ) from None
