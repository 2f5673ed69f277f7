-- The contact details of the load's texts, masked once per distinct text (before canonical.sql).
--
-- Rendered per file (analysis.ingest.load._contact_masks), identifiers only:
--   mask_columns the raw columns whose texts a case or a raw record stores with contact details
--                masked (the kept extras and the sources of the masked intake columns)
-- Parameters: $literals (the constants and value-map replacements of the masked intake columns).
--
-- contact_masks: each distinct text of those columns (and each literal) that may hold an e-mail
-- address or a phone number, with them masked (ta_mask_contacts); a text absent from it holds
-- none. Masking distinct candidates only, gathered first, keeps the macro's lambdas off the
-- batches of rows that need nothing (most texts): 0.4 s instead of 3 s per million texts of which
-- 2% hold a phone number. contact_candidates.col (the column's place in mask_columns; NULL for a
-- literal) tells the load which columns have such a text: only those are looked up (a column
-- without one is kept as it is, and 300 extra columns make no 300 joins).
CREATE OR REPLACE TEMP TABLE contact_candidates AS
-- a text as in the file, and trimmed (as a fallback column's value reaches the view)
SELECT DISTINCT col, unnest([text, ta_blank(text)]) AS text
FROM (
{% for c in mask_columns %}
    SELECT {{ loop.index0 }} AS col, {{ c | ident }} AS text FROM raw_input UNION ALL
{% endfor %}
    SELECT NULL AS col, unnest($literals::VARCHAR[]) AS text
) t
WHERE ta_may_hold_contacts(text);

CREATE OR REPLACE TEMP TABLE contact_masks AS
SELECT text, ta_mask_contacts(text) AS masked FROM (SELECT DISTINCT text FROM contact_candidates);
