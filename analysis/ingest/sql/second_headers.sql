-- The records of the file whose key column holds a header name: the only ones that can repeat
-- the header line (two exports glued together; analysis.ingest.readers.common.second_headers
-- decides from their texts). Rendered with the file's columns (raw_columns, key).
-- Parameter: $names, the header's names, lower-cased.
SELECT _row, {% for c in raw_columns %}{{ c | ident }}{{ ", " if not loop.last }}{% endfor %}
FROM raw_input WHERE lower(trim({{ key | ident }})) IN (SELECT unnest($names))
ORDER BY _row LIMIT 100
