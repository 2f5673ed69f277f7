-- The day/month order each date column of the file shows: per column, how many of its numeric
-- d/m/y date texts can be read only with the day first, only with the month first, or either
-- way (analysis.ingest.load._date_orders decides from these counts). Input: raw_canonical.
WITH texts AS (
    -- distinct texts first: trimming and matching run once per text, not per row
    SELECT DISTINCT field, x FROM (
{% for d in dates %}
        SELECT '{{ d }}' AS field, {{ d }} AS x FROM raw_canonical{{ " UNION ALL" if not loop.last }}
{% endfor %}
    ) t WHERE x IS NOT NULL
), v AS (
    -- (a two-digit year written out, as ta_date reads it)
    SELECT DISTINCT field, ta_date_text(trim(x)) AS x FROM texts
    WHERE regexp_full_match(ta_date_text(trim(x)), '\d{1,2}[/.-]\d{1,2}[/.-]\d{4}')
), p AS (
    SELECT field, regexp_extract(x, '^(\d{1,2})', 1)::INT AS a,
           regexp_extract(x, '^\d{1,2}[/.-](\d{1,2})', 1)::INT AS b FROM v
)
SELECT field, count_if(a > 12 AND b <= 12) AS day_first, count_if(b > 12 AND a <= 12)
    AS month_first, count_if(a <= 12 AND b <= 12 AND a <> b) AS ambiguous
FROM p GROUP BY field ORDER BY field
