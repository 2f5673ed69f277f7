-- The store's tables. Created in an empty database by analysis.store.schema.ensure_schema().
CREATE SEQUENCE IF NOT EXISTS load_id_seq START 1;

-- One row per ingest of one file. Its columns are the column registry's (analysis/columns.py,
-- LOADS); rows_read = inserted + updated + unchanged + repeats + quarantined.
{{ loads_table }};

-- One row per rejected raw row; one per (file_sha256, row_number), so loading the same file
-- again does not duplicate it (the ingest checks before it inserts).
CREATE TABLE IF NOT EXISTS quarantine (
    load_id      BIGINT NOT NULL,
    source_file  VARCHAR NOT NULL,
    file_sha256  VARCHAR NOT NULL,
    row_number   BIGINT NOT NULL,     -- data record number in the file, from 1 (header not counted)
    case_id      VARCHAR,             -- where readable
    reason       VARCHAR NOT NULL,    -- '<field>: <problem>'; several joined by '; '
    raw_record   VARCHAR NOT NULL,    -- the raw row as JSON (buyer_ref replaced by its keyed hash)
    quarantined_at TIMESTAMP NOT NULL
);

-- One row per case_id: the latest snapshot of the case, cleaned and typed. Its columns are the
-- column registry's (analysis/columns.py, CASES). One row per case_id: the ingest guarantees it
-- (tests/test_ingest.py); no index is kept, because maintaining one row by row costs a quarter of
-- a 10M-case load.
{{ cases_table }};

-- One row per supplier: the one name reports and explore show for it (the `name` of
-- data/reference/supplier_aliases.csv, else the name on its latest case), kept by each load for
-- the suppliers it touches.
-- No key is declared (as for cases, no index is maintained): the load replaces a supplier's
-- row by deleting it first, so there is one row per supplier_id.
CREATE TABLE IF NOT EXISTS suppliers (
    supplier_id   VARCHAR NOT NULL,
    name          VARCHAR
);

-- Key/value facts about the store (schema version, whether it holds synthetic data).
CREATE TABLE IF NOT EXISTS store_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
