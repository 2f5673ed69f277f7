"""The YAML mapping that lets a foreign tracker's export be loaded without editing it.

Example (``docs/data-dictionary.md`` has the full reference)::

    columns:            # the export's column -> the intake column
      Dispute No.: case_id
      Vendor: supplier_id
      Status: outcome
    values:             # per intake column: the export's value -> an accepted value
      outcome:
        Closed - buyer won: full_refund
        Closed - seller won: no_refund
    date_format: "%d/%m/%Y"   # declares the order of numeric dates such as 03/05/2026
    currency: USD             # currency of amounts that carry none, when there is no currency column
    sheet: Cases              # Excel: the sheet to read
    encoding: cp1252          # CSV: force an encoding instead of detecting it
    delimiter: ";"            # CSV: force a delimiter instead of detecting it
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis import columns as registry
from analysis.errors import BadFile

KNOWN_KEYS = {"columns", "values", "date_format", "currency", "sheet", "encoding", "delimiter"}


def _canonical(name: str) -> str:
    return re.sub(r"[\W_]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class Mapping:
    """A parsed mapping file; the empty Mapping() means "the file is already in intake format"."""

    columns: dict[str, str] = field(default_factory=dict)  # canonical(foreign) -> intake column
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # intake column -> {raw: value}
    date_format: str | None = None
    currency: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: Path | None = None

    @classmethod
    def load(cls, path: Path | None) -> Mapping:
        """Read and validate a mapping file; ``None`` gives the empty mapping."""
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
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
        columns = data.get("columns") or {}
        values = data.get("values") or {}
        if not isinstance(columns, dict) or not isinstance(values, dict):
            raise BadFile(f"{path}: 'columns' and 'values' must be objects")
        for target in columns.values():
            if _canonical(target) not in registry.intake_names():
                raise BadFile(
                    f"{path}: columns maps onto '{target}', which is not an intake column"
                )
        for col, vmap in values.items():
            if _canonical(col) not in registry.intake_names() or not isinstance(vmap, dict):
                raise BadFile(f"{path}: values.{col} must name an intake column and hold an object")
        if data.get("date_format") is not None and "%" not in str(data["date_format"]):
            raise BadFile(f"{path}: date_format must be a strftime pattern such as '%d/%m/%Y'")
        _check_readers_settings(path, data)
        return cls(
            columns={_canonical(k): _canonical(v) for k, v in columns.items()},
            values={
                _canonical(c): {str(k): str(v) for k, v in m.items()} for c, m in values.items()
            },
            date_format=data.get("date_format"),
            currency=str(data["currency"]).strip().upper() if data.get("currency") else None,
            sheet=data.get("sheet"),
            encoding=data.get("encoding"),
            delimiter=data.get("delimiter"),
            source=Path(path),
        )

    def rename(self, canonical_name: str) -> str:
        """The intake column a (canonicalised) source column maps onto."""
        return self.columns.get(canonical_name, canonical_name)

    def required_columns(self) -> set[str]:
        """Intake columns a file must have (currency may come from the mapping or the amounts)."""
        return set(registry.required_names())


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
