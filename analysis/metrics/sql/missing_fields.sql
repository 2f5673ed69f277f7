-- The optional fields left blank in the scope's cases, one count each (after the scope CTEs of
-- analysis.metrics.quality.SCOPE_SQL). The fields and their rules come from the column registry
-- (analysis/columns.py, CaseColumn.blank_label): a list is blank when empty, free text when only
-- spaces, and a field counted among the decided cases is blank only on a decided case.
SELECT
    count(*) AS cases,
{% for c in blank_counted %}
    count_if(({{ c.name }} IS NULL{% if c.sql_type.endswith("[]") %} OR len({{ c.name }}) = 0{% elif c.name in free_text %} OR trim({{ c.name }}) = ''{% endif %}){% if c.blank_among_decided %} AND is_decided{% endif %}) AS {{ c.name }},
{% endfor %}
    count_if(is_decided) AS decided
FROM scope_cases
