-- The load's field coverage: for each intake column, the records that gave it a value
-- (staged._present: bit i = intake column i had a value after ta_blank). The load keeps the
-- counts of the columns the file carried (loads.field_coverage).
SELECT
{% for col in intake %}
    count_if((_present >> {{ loop.index0 }}) & 1 = 1) AS {{ col.name }}{{ "," if not loop.last }}
{% endfor %}
FROM staged
