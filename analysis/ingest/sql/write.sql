-- The load's writes, in its one transaction: the quarantine, the cases and the suppliers' names
-- (record.sql then adds the load's row). Input: the temp tables of clean.sql.
--
-- Rendered per file over the column registry and the load's plan (analysis.ingest.load._write),
-- identifiers and flags only:
--   buyer       the raw columns that fill buyer_ref: replaced by their key in a raw record
--   masked      the raw columns a case stores with contact details masked and holding a text
--               that may hold some (contacts.sql): masked there too; the others hold none
--   dropped     the raw columns naming a person or a contact: left out of a raw record
--   rejects     whether the reader rejected lines (bound as lists, one entry per line)
--   name_suppliers  whether any supplier's name may change (touched_suppliers is not empty)
--   latest_name the SQL of a supplier's name on its latest case (analysis.store.schema)
-- Parameters: $load_id, $source_file, $file_sha256, $now, $synthetic, $secret (with buyer
-- columns), and with rejects $reject_rows,
-- $reject_case_ids, $reject_reasons, $reject_lines.

-- Quarantine rows, keyed by file content and row: reloading a file adds none twice. A raw record
-- keeps of a buyer's identity what the case keeps.
INSERT INTO quarantine
SELECT $load_id, $source_file, $file_sha256, j._row, j.case_id, j.reason, to_json(t)::VARCHAR, $now
FROM rejected j
JOIN (
    SELECT r._row AS __row, r.* EXCLUDE (_row{% for c in dropped %}, {{ c | ident }}{% endfor %})
{% if buyer or masked %}
        REPLACE (
{% for c in buyer %}
            'buyer_key:' || ta_buyer_key($secret, r.{{ c | ident }}) AS {{ c | ident }}{{ "," if masked or not loop.last }}
{% endfor %}
{% for c in masked %}
            coalesce(m{{ loop.index0 }}.masked, r.{{ c | ident }}) AS {{ c | ident }}{{ "," if not loop.last }}
{% endfor %}
        )
{% endif %}
    FROM raw_input r
{% for c in masked %}
    LEFT JOIN contact_masks m{{ loop.index0 }} ON m{{ loop.index0 }}.text = r.{{ c | ident }}
{% endfor %}
) t ON t.__row = j._row
WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file_sha256 = $file_sha256 AND q.row_number = j._row);

{% if rejects %}
-- The lines the reader could not split, as cleaned by analysis.ingest.load._clean_rejected_lines.
INSERT INTO quarantine
SELECT $load_id, $source_file, $file_sha256, j.row_number, j.case_id, j.reason,
    to_json({'raw_line': j.raw_line})::VARCHAR, $now
FROM (
    SELECT unnest($reject_rows::BIGINT[]) AS row_number,
        unnest($reject_case_ids::VARCHAR[]) AS case_id,
        unnest($reject_reasons::VARCHAR[]) AS reason,
        unnest($reject_lines::VARCHAR[]) AS raw_line
) j
WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file_sha256 = $file_sha256 AND q.row_number = j.row_number);
{% endif %}

DELETE FROM cases WHERE case_id IN (SELECT case_id FROM actions WHERE action = 'updated');

-- The columns of cases the cleaning gives (the registry's staged, fx and usd columns), and the
-- provenance the load sets.
INSERT INTO cases ({% for name in written_columns %}{{ name }}, {% endfor %}is_synthetic, content_hash, source_file, source_row, load_id, first_loaded_at, updated_at)
SELECT {% for name in written_columns %}{{ name }}, {% endfor %}$synthetic, content_hash, $source_file, _row, $load_id, first_loaded_at, $now
FROM case_rows WHERE action IN ('inserted', 'updated')
-- stored in the order the reports filter on, so that DuckDB's per-row-group min/max of
-- closed_date and opened_date skip the row groups outside a report's window
-- (docs/performance.md); later loads append later cases, which keeps the order. Cases with the
-- same dates keep the file's order (_row): the stored order must not depend on how the rows
-- reached the sort (an arg_max over tied dates reads it)
ORDER BY closed_date NULLS LAST, opened_date, _row;

{% if name_suppliers %}
-- suppliers.name of the touched suppliers: the alias file's name, else the name on the
-- supplier's latest case
DELETE FROM suppliers WHERE supplier_id IN (SELECT supplier_id FROM touched_suppliers);
INSERT INTO suppliers
SELECT supplier_id, coalesce(any_value(r.name), {{ latest_name }}) AS name
FROM cases LEFT JOIN supplier_name_ref r USING (supplier_id)
WHERE supplier_id IN (SELECT supplier_id FROM touched_suppliers)
GROUP BY supplier_id;
{% endif %}
