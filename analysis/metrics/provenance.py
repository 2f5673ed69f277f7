"""Where a report's figures come from: a fingerprint of the store, its facts, the code and
library versions."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from importlib import metadata

from analysis import settings
from analysis.store import Source, connect

#: Library versions printed in the reproducibility stamp.
STAMP_LIBRARIES = (
    "duckdb",
    "pandas",
    "numpy",
    "statsmodels",
    "scipy",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "ipykernel",
)

# A deterministic digest of the cases table: every case id with the hash of its cleaned business
# fields. Same cases, same snapshot -> same fingerprint, on any machine.
_FINGERPRINT_SQL = """
SELECT
    count(*) AS cases,
    -- an order-free digest of every (case_id, content_hash): one pass, no sort, no 300 MB string
    -- at 10M cases; the sum and the xor of the 64-bit line hashes together change with any case
    sha256(count(*)::VARCHAR || ':' || coalesce(sum(hash(case_id || ':' || content_hash)::HUGEINT), 0)::VARCHAR
           || ':' || coalesce(bit_xor(hash(case_id || ':' || content_hash)), 0)::VARCHAR) AS digest,
    (SELECT count(*) FROM loads) AS loads,
    (SELECT count(*) FROM quarantine) AS quarantined_rows,
    count_if(is_synthetic) AS synthetic_cases,
    (SELECT value FROM store_meta WHERE key = 'schema_version') AS schema_version
FROM cases
"""
_FINGERPRINT_FIELDS = (
    "cases",
    "digest",
    "loads",
    "quarantined_rows",
    "synthetic_cases",
    "schema_version",
)

_STORE_FACTS_SQL = """
SELECT
    (SELECT coalesce(bool_or(is_synthetic), false) FROM cases) AS any_synthetic,
    (SELECT coalesce(bool_or(NOT is_synthetic), false) FROM cases) AS any_real,
    (SELECT list(DISTINCT category ORDER BY category) FROM cases) AS categories,
    (SELECT map_from_entries(list((key, value))) FROM store_meta) AS meta
"""


def data_fingerprint(db: Source) -> dict:
    """``{cases, digest, loads, quarantined_rows, synthetic_cases, schema_version}`` of a store.

    ``digest`` is the SHA-256 of the count, the sum and the xor of the 64-bit hashes of every
    ``case_id:content_hash`` line: it changes when any case is added, removed or changed, and not
    when the store is merely re-opened or rewritten in another order.
    """
    with connect(db) as con:
        row = con.execute(_FINGERPRINT_SQL).fetchone()
    return dict(zip(_FINGERPRINT_FIELDS, row, strict=True))


def store_facts(db: Source) -> dict:
    """``{synthetic, mixed, categories, meta}``: whether the store holds demo cases (and real ones
    beside them), the categories its cases have, and its store_meta."""
    with connect(db) as con:
        row = con.execute(_STORE_FACTS_SQL).fetchone()
    meta = dict(row[3] or {})
    truthy = ("true", "1", "yes")
    synthetic = bool(row[0]) or str(meta.get("contains_synthetic", "")).lower() in truthy
    real = bool(row[1]) or str(meta.get("contains_real_data", "")).lower() in truthy
    return {
        "synthetic": synthetic,
        "mixed": synthetic and real,
        "categories": list(row[2] or []),
        "meta": meta,
    }


def as_of(db: Source) -> date | None:
    """The day the store's data describe: the newest of the exports' own dates (``ingest
    --as-of``, ``export_date`` in a mapping, a date in the file's name) and the days of the
    loads without one that changed the store (inserted or updated a case). Re-loading an
    unchanged undated export moves it nowhere: stale data must not look fresh. Falls back to
    the latest load's day when no load changed anything; None for a store without loads."""
    with connect(db) as con:
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'loads'"
        ).fetchall()}  # fmt: skip
        day = (
            "coalesce(as_of, CAST(finished_at AS DATE))"
            if "as_of" in columns
            else "CAST(finished_at AS DATE)"
        )
        dated = "as_of IS NOT NULL OR " if "as_of" in columns else ""
        return con.execute(
            f"SELECT coalesce(max({day}) FILTER (WHERE {dated}inserted + updated > 0), "  # noqa: S608 (fixed text)
            f"max({day})) FROM loads"
        ).fetchone()[0]


def last_loaded(db: Source):
    """When the latest export was loaded (a timestamp, whether or not it changed anything), or
    None for a store without loads."""
    with connect(db) as con:
        return con.execute("SELECT max(finished_at) FROM loads").fetchone()[0]


def git_describe() -> str:
    """``git describe --always --dirty --tags`` of the checkout, or 'unavailable'."""
    try:
        result = subprocess.run(
            ["git", "-C", str(settings.PROJECT_ROOT), "describe", "--always", "--dirty", "--tags"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unavailable"
    return (
        result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unavailable"
    )


def library_versions() -> dict[str, str]:
    """Python's and the key libraries' versions."""
    versions = {"python": sys.version.split()[0]}
    for name in STAMP_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
