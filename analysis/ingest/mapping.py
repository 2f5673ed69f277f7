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

The file is read with every scalar as text (YAML's ``Yes``, ``No``, ``On`` and ``1.0`` stay the
words the export has), and validated twice, each error one line naming the mapping file and the
key: when it is loaded (keys, intake columns, slugs) and against each file's header (every export
column it names must be there; the error lists the file's columns and the closest match).
"""

from __future__ import annotations

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
    "sheet", "encoding", "delimiter",
}  # fmt: skip


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
        try:
            # BaseLoader: every scalar is text, so a value map's key `Yes` is the word "Yes"
            # (safe_load would make it the boolean true, which no export text ever equals).
            data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)  # noqa: S506 (BaseLoader builds no objects)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise BadFile(
                f"{path}: cannot read the mapping file ({str(exc).splitlines()[0]})"
            ) from None
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
        wanted = [("columns", c) for c in self.columns] + [
            (f"fallbacks.{target}", c) for target, c in self.fallbacks.items()
        ]
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
    columns: dict[str, tuple[str, ...]] = {}
    named: dict[str, str] = {}
    for source, targets in _object(path, data, "columns").items():
        targets = targets if isinstance(targets, list) else [targets]
        if not targets or not all(isinstance(t, str) for t in targets):
            raise _error(path, f"columns.{source}", "must name an intake column or a list of them")
        canon = _canonical(source)
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
    values = {}
    for target, vmap in _object(path, data, "values").items():
        column = _intake_column(path, f"values.{target}", target)
        if not isinstance(vmap, dict):
            raise _error(path, f"values.{target}", "must be an object (export text: value)")
        values[column] = {
            str(raw): _slug(path, f"values.{target}.{raw}", column, str(new))
            for raw, new in vmap.items()
        }
    defaults = {}
    for target, slug in _object(path, data, "defaults").items():
        column = _intake_column(path, f"defaults.{target}", target)
        if _vocabulary_of(column) is None:
            raise _error(path, f"defaults.{target}", "defaults are for vocabulary columns only")
        defaults[column] = _slug(path, f"defaults.{target}", column, str(slug))
    if data.get("date_format") is not None and "%" not in str(data["date_format"]):
        raise _error(path, "date_format", "must be a strftime pattern such as '%d/%m/%Y'")
    _check_readers_settings(path, data)
    currency = data.get("currency") or constants.pop("currency", None)
    return Mapping(
        columns=columns,
        constants=constants,
        fallbacks=fallbacks,
        values=values,
        defaults=defaults,
        date_format=data.get("date_format"),
        currency=str(currency).strip().upper() if currency else None,
        sheet=data.get("sheet"),
        encoding=data.get("encoding"),
        delimiter=data.get("delimiter"),
        source=path,
        named=named,
    )


def _check_readers_settings(path: Path | str, data: dict) -> None:
    """Refuse, with one line, settings the readers would otherwise fail on mid-load."""
    import codecs

    import duckdb

    from analysis.store import open_duckdb

    if data.get("encoding") is not None:
        try:
            codecs.lookup(str(data["encoding"]))
        except LookupError:
            raise BadFile(
                f"{path}: encoding {data['encoding']!r} is not a known text encoding "
                "(e.g. utf-8, cp1252, utf-16)"
            ) from None
    if data.get("delimiter") is not None and len(str(data["delimiter"])) != 1:
        raise BadFile(f"{path}: delimiter must be one character, got {data['delimiter']!r}")
    if data.get("date_format") is not None:
        try:  # DuckDB parses the pattern itself; a pattern it rejects would fail the load later
            open_duckdb().execute(
                "SELECT try_strptime('2026-01-02', ?)", [str(data["date_format"])]
            )
        except duckdb.Error:
            raise BadFile(
                f"{path}: date_format {data['date_format']!r} is not a valid strftime "
                "pattern (e.g. '%d/%m/%Y')"
            ) from None
