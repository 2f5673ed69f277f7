-- raw -> canonical: every intake column present, from the file, a copy of another column, a
-- constant or a fallback column where it is blank; the mapping's value maps and the supplier
-- aliases applied; the export's other columns as one JSON `extra`; a hash of the raw record.
--
-- Rendered per file over the column registry and the load's plan (analysis.ingest.load:
-- _canonical_plan), which holds identifiers and flags only, never a value:
--   columns     one entry per intake column, in registry order: name; constant (the mapping
--               sets it); raw (the file's column that gives it, itself or a copy's source, or
--               none); fallback (the file's column read where it is blank); value_map (the
--               mapping maps its values); alias (supplier_aliases.csv applies)
--   constants   the names of mapping_constants' columns, bound in order as $k0, $k1, ...
--   flags       the file's yes/no columns of the mapping's evidence_flags (their slug and header
--               are the constants _flag_slug_<i> and _flag_header_<i>)
--   extra       the file's columns kept in `extra`, in name order (the JSON object's keys in
--               name order, not the file's: the same columns in another order are the same
--               case, extra being in the content hash; schema migration "4" sorts older stores')
--   raw_columns every column of raw_input, for the raw record's hash
--   looked_up   the kept columns with a text that may hold contact details (contacts.sql made
--               their masks): each is read through contact_masks, the others as they are
-- Parameters: $k0, $k1, ... (the constants).

-- Constants are values: they reach the view through a one-row table, never as SQL text.
CREATE OR REPLACE TEMP TABLE mapping_constants AS SELECT
{% for name in constants %}
    $k{{ loop.index0 }}::VARCHAR AS {{ name | ident }}{{ "," if not loop.last }}
{% else %}
    NULL AS _none
{% endfor %}
;

{# The text of an intake column, step by step: as the file (or the mapping) gives it; a fallback
   column where it is blank; the evidence flags that say yes added to the evidence text (the
   staging splits it on ';'); the value map; the supplier alias. #}
{% macro given(c) %}{% if c.constant %}k.{{ c.name | ident }}{% elif c.raw %}r.{{ c.raw | ident }}{% else %}NULL::VARCHAR{% endif %}{% endmacro %}
{% macro filled(c) %}{% if c.fallback %}coalesce(ta_blank({{ given(c) }}), r.{{ c.fallback | ident }}){% else %}{{ given(c) }}{% endif %}{% endmacro %}
{% macro read(c) %}{% if c.name == "evidence" and flags %}nullif(concat_ws('; ', {% if c.constant or c.raw or c.fallback %}ta_blank({{ filled(c) }}), {% endif %}{% for f in flags %}CASE WHEN yf{{ loop.index0 }}.yes THEN k.{{ ("_flag_slug_" ~ loop.index0) | ident }} END{{ ", " if not loop.last }}{% endfor %}), ''){% else %}{{ filled(c) }}{% endif %}{% endmacro %}
{% macro mapped(c) %}{% if c.value_map %}coalesce(vm_{{ c.name }}.replacement, {{ read(c) }}){% else %}{{ read(c) }}{% endif %}{% endmacro %}
{% macro canonical(c) %}{% if c.alias %}coalesce(sa.supplier_id, {{ mapped(c) }}){% else %}{{ mapped(c) }}{% endif %}{% endmacro %}
CREATE OR REPLACE TEMP VIEW raw_canonical AS
SELECT r._row,
    hash({% for c in raw_columns %}r.{{ c | ident }}{{ ", " if not loop.last }}{% else %}NULL{% endfor %}) AS _raw_hash,
{% for c in columns %}
    {{ canonical(c) }} AS {{ c.name | ident }},
{% endfor %}
{% if extra %}
    to_json(struct_pack({% for c in extra %}{{ c | ident }} := {% if c in looked_up %}coalesce(m{{ looked_up.index(c) }}.masked, r.{{ c | ident }}){% else %}r.{{ c | ident }}{% endif %}{{ ", " if not loop.last }}{% endfor %}))::VARCHAR AS extra,
{% else %}
    NULL::VARCHAR AS extra,
{% endif %}
    -- an evidence flag's cell that is neither a yes nor a no (the staging quarantines the row)
{% if flags %}
    nullif(concat_ws('; ', {% for f in flags %}CASE WHEN ta_blank(r.{{ f | ident }}) IS NOT NULL AND yf{{ loop.index0 }}.yes IS NULL THEN 'evidence: ''' || k.{{ ("_flag_header_" ~ loop.index0) | ident }} || ''' not a yes or no ''' || left(ta_blank(r.{{ f | ident }}), 60) || '''' END{{ ", " if not loop.last }}{% endfor %}), '') AS _flag_problem
{% else %}
    NULL::VARCHAR AS _flag_problem
{% endif %}
FROM raw_input r CROSS JOIN mapping_constants k
{% for f in flags %}
LEFT JOIN yes_no yf{{ loop.index0 }} ON yf{{ loop.index0 }}.key = lower(trim(r.{{ f | ident }}))
{% endfor %}
-- A blank cell (or a blank's marker: ta_blank) has no key, so it matches no value-map key and no
-- alias: it stays blank, to be quarantined as missing. (Every key has a letter or digit and the
-- keys of one column are unique: mapping.py, reference.py; no join adds a row.)
{% for c in columns if c.value_map %}
LEFT JOIN value_map vm_{{ c.name }} ON vm_{{ c.name }}.field = '{{ c.name }}' AND vm_{{ c.name }}.key = ta_key(ta_blank({{ read(c) }}))
{% endfor %}
-- data/reference/supplier_aliases.csv: several spellings of one supplier (the lookup key is a
-- regex per row: the plan leaves it out when the file lists no alias)
{% for c in columns if c.alias %}
LEFT JOIN supplier_alias sa ON sa.key = ta_key(ta_blank({{ mapped(c) }}))
{% endfor %}
{% for c in looked_up %}
LEFT JOIN contact_masks m{{ loop.index0 }} ON m{{ loop.index0 }}.text = r.{{ c | ident }}
{% endfor %}
;
