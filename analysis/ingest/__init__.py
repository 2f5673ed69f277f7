"""Ingest: raw intake files -> staged rows -> cases, quarantine and loads in the store.

The layers, each a small step: :mod:`~analysis.ingest.readers` (the file as text columns),
:mod:`~analysis.ingest.mapping` (a foreign export's renames and value maps),
:mod:`~analysis.ingest.reference` (the vocabularies as lookup tables), ``sql/staged.sql`` (parse,
map, list every problem), ``sql/clean.sql`` (repeats, conflicts, USD conversion with
:mod:`~analysis.ingest.fx`, the action per case), :mod:`~analysis.ingest.pseudonym` (buyer keys)
and :mod:`~analysis.ingest.load` (one transaction per file).
"""

from analysis.ingest.load import (
    LoadResult,
    expand_paths,
    format_result,
    ingest_file,
    ingest_paths,
    main,
    prepare_connection,
)

__all__ = [
    "LoadResult",
    "expand_paths",
    "format_result",
    "ingest_file",
    "ingest_paths",
    "main",
    "prepare_connection",
]
