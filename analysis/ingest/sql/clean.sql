-- staged -> cases: repeats, conflicts, USD conversion, and the action for each case against
-- the store; the load's counts and the suppliers it touches. Parameter: $now. Run under the
-- store's lock, before the load's transaction (write.sql) writes anything.

-- Of raw_input only the rows that may be quarantined are kept (a problem, or a case_id seen
-- twice: a conflict), for their raw record; the rest are parsed into staged by now, and at 10M
-- rows their gigabytes must not be held (or spilled to <db>.tmp) while the cases are inserted.
CREATE OR REPLACE TEMP TABLE raw_kept AS
SELECT r.* FROM raw_input r SEMI JOIN (
    SELECT _row FROM staged WHERE len(problems) > 0
    UNION ALL
    SELECT _row FROM staged WHERE case_id IN (
        SELECT case_id FROM staged GROUP BY case_id HAVING count(*) > 1)
) k ON k._row = r._row;
DROP TABLE raw_input;
ALTER TABLE raw_kept RENAME TO raw_input;

-- case_ids that occur more than once in this file (usually none): only their rows need sorting out.
CREATE OR REPLACE TEMP TABLE repeated_rows AS
WITH ids AS (
    SELECT case_id FROM staged WHERE case_id IS NOT NULL GROUP BY case_id HAVING count(*) > 1
), r AS (
    SELECT s._row, s.case_id, s._raw_hash, s.content_hash, len(s.problems) = 0 AS ok,
           -- the same raw record again (the same text in every column)
           row_number() OVER (PARTITION BY s.case_id, s._raw_hash ORDER BY s._row) > 1 AS raw_repeat
    FROM staged s SEMI JOIN ids USING (case_id)
), v AS (
    -- among the valid, non-repeated rows: do they agree on the case's content?
    SELECT r.*,
        CASE WHEN ok AND NOT raw_repeat THEN
            min(content_hash) FILTER (WHERE ok AND NOT raw_repeat) OVER w
            <> max(content_hash) FILTER (WHERE ok AND NOT raw_repeat) OVER w END AS conflict,
        CASE WHEN ok AND NOT raw_repeat THEN
            string_agg(_row::VARCHAR, ', ' ORDER BY _row) FILTER (WHERE ok AND NOT raw_repeat) OVER w END AS row_list,
        row_number() OVER (PARTITION BY case_id, ok AND NOT raw_repeat ORDER BY _row) AS valid_rank
    FROM r WINDOW w AS (PARTITION BY case_id)
)
SELECT _row, case_id, raw_repeat, ok, coalesce(conflict, false) AS conflict, row_list,
    -- what the row is: kept (first valid row), a repeat, quarantined for a conflict, or left to
    -- the ordinary problem rules
    CASE WHEN raw_repeat THEN 'repeat'
         WHEN NOT ok THEN 'problem'
         WHEN conflict THEN 'conflict'
         WHEN valid_rank = 1 THEN 'keep'
         ELSE 'repeat' END AS role
FROM v;

-- One version per case and what it does to the store, with its USD rate: narrow (the case's
-- own columns stay in staged until the insert reads them through case_rows; copied here into a
-- table as wide as `cases`, they cost 10 s at 10M rows, spilled past the memory limit).
CREATE OR REPLACE TEMP TABLE actions AS
SELECT s._row, s.case_id, s.category_mapped,
{% for name in fx_columns %}
{% if name == "fx_fallback" %}
    coalesce(fx.fx_fallback, false) AS fx_fallback,
{% else %}
    fx.{{ name }},
{% endif %}
{% endfor %}
    CASE WHEN c.case_id IS NULL THEN 'inserted'
         WHEN c.content_hash = s.content_hash THEN 'unchanged'
         ELSE 'updated' END AS action,
    coalesce(c.first_loaded_at, $now::TIMESTAMP) AS first_loaded_at
FROM staged s
-- a case without amounts has no currency, and no rate
LEFT JOIN fx_pairs fx ON fx.currency = s.currency AND fx.rate_date = s.opened_date
LEFT JOIN repeated_rows d ON d._row = s._row
LEFT JOIN cases c ON c.case_id = s.case_id
WHERE len(s.problems) = 0 AND (d._row IS NULL OR d.role = 'keep');

-- What the insert writes of each case: the columns of `cases` that the cleaning gives (the
-- registry's staged, fx and usd columns), nothing more, and the action.
CREATE OR REPLACE TEMP VIEW case_rows AS
SELECT a._row, a.action, a.first_loaded_at, s.content_hash,
{% for name in staged_columns %}
    s.{{ name }},
{% endfor %}
{% for name in fx_columns %}
    a.{{ name }},
{% endfor %}
{% for name, amount in usd_columns %}
    s.{{ amount }} * a.usd_per_unit AS {{ name }}{{ "," if not loop.last }}
{% endfor %}
FROM actions a JOIN staged s ON s._row = a._row;

-- Every row the file gave that is quarantined, with its reason (and its problems one by one,
-- for the load line's summary).
CREATE OR REPLACE TEMP TABLE rejected AS
SELECT s._row, s.case_id, array_to_string(s.problems, '; ') AS reason, s.problems
FROM staged s LEFT JOIN repeated_rows d ON d._row = s._row
WHERE len(s.problems) > 0 AND (d._row IS NULL OR NOT d.raw_repeat)
UNION ALL
SELECT _row, case_id,
       'case_id: ''' || left(case_id, 60) || ''' appears on rows ' || row_list
       || ' of this file with different values' AS reason,
       ['case_id: appears on several rows of this file with different values'] AS problems
FROM repeated_rows WHERE role = 'conflict';

-- What the load did, counted once (repeats = staged - the rest, and the reader's rejects join
-- the quarantined in analysis.ingest.load): checked to add up before anything is written.
CREATE OR REPLACE TEMP TABLE load_counts AS
SELECT
    (SELECT count(*) FROM staged) AS staged,
    (SELECT count(*) FILTER (WHERE action = 'inserted') FROM actions) AS inserted,
    (SELECT count(*) FILTER (WHERE action = 'updated') FROM actions) AS updated,
    (SELECT count(*) FILTER (WHERE action = 'unchanged') FROM actions) AS unchanged,
    (SELECT count(*) FROM rejected) AS rejected,
    (SELECT count(*) FILTER (WHERE NOT category_mapped) FROM actions WHERE action <> 'unchanged')
        AS unmapped_categories,
    (SELECT count(*) FILTER (WHERE fx_fallback) FROM actions WHERE action <> 'unchanged')
        AS fx_fallbacks;

-- The suppliers whose one name (suppliers.name) this load may change: those of the cases it
-- writes, those its updated cases had, and those whose name in supplier_aliases.csv differs
-- from the stored one.
CREATE OR REPLACE TEMP TABLE touched_suppliers AS
SELECT supplier_id FROM case_rows WHERE action IN ('inserted', 'updated')
UNION SELECT c.supplier_id FROM cases c JOIN actions a USING (case_id)
    WHERE a.action = 'updated'
UNION SELECT r.supplier_id FROM supplier_name_ref r LEFT JOIN suppliers s USING (supplier_id)
    WHERE s.name IS DISTINCT FROM r.name;

-- The kinds of problem among the quarantined rows (their values left out), for the load line's
-- "quarantined for" (analysis.ingest.load._top_reasons adds the reader's rejects).
CREATE OR REPLACE TEMP TABLE problem_kinds AS
WITH p AS (
    SELECT regexp_replace(regexp_replace(unnest(problems), ' ''[^'']*''$', ''),
                          ' \(.*\)$', '') AS kind
    FROM rejected
)
SELECT kind, count(*) AS n FROM p GROUP BY kind;
