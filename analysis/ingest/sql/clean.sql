-- staged -> cases: repeats, conflicts, USD conversion, and the action for each case against
-- the store. Parameter: $now.

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
