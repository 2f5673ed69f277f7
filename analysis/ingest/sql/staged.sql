-- raw -> staged: blanks to NULL, parse amounts and dates, map vocabularies, and list every
-- problem of the row as '<field>: <problem>'. One row per raw record; nothing is dropped here.
-- Input: temp view raw_canonical (every intake column as VARCHAR, plus _row).
-- Parameters: $date_format (NULL = detect), $default_currency (NULL = none), $today,
-- $secret (the buyer-key secret), $synthetic. Temp tables from the load: date_orders (field,
-- dayfirst: the d/m order each date column showed), vocab_defaults (field, slug: the mapping's
-- defaults).
-- Rendered over the column registry (analysis/columns.py): each {% raw %}{% for %}{% endraw %} loop writes the
-- same SQL once per column of a kind (amounts, dates, vocabularies).
-- Dates and vocabulary values repeat heavily in an export: each distinct text is blanked and
-- parsed once here and joined back on the text as it came (`text`), rather than per row.
-- `raw` is the text after ta_blank (NULL for a blank or a null marker).
CREATE OR REPLACE TEMP TABLE date_values AS
WITH v AS (
    SELECT DISTINCT field, x AS text FROM (
{% for d in dates %}
        SELECT '{{ d }}' AS field, {{ d }} AS x FROM raw_canonical{{ " UNION ALL" if not loop.last else ")" }}
{% endfor %}
    WHERE x IS NOT NULL
), b AS (
    SELECT v.field, v.text, ta_blank(v.text) AS raw, o.dayfirst
    FROM v LEFT JOIN date_orders o ON o.field = v.field
)
SELECT field, text, raw, ta_date(raw, $date_format, dayfirst) AS d,
    ta_date_problem(raw, $date_format, dayfirst) AS problem
FROM b;

CREATE OR REPLACE TEMP TABLE vocab_values AS
WITH v AS (
    SELECT DISTINCT field, x AS text FROM (
{% for v in vocabs %}
        SELECT '{{ v.vocabulary }}' AS field, {{ v.name }} AS x FROM raw_canonical{{ " UNION ALL" if not loop.last else ")" }}
{% endfor %}
    WHERE x IS NOT NULL
), b AS (SELECT field, text, ta_blank(text) AS raw FROM v)
-- a text that matches nothing takes the mapping's default for its field, if it has one
SELECT b.field, b.text, b.raw,
    coalesce(r.slug, CASE WHEN b.raw IS NOT NULL THEN d.slug END) AS slug,
    r.slug IS NULL AND b.raw IS NOT NULL AND d.slug IS NOT NULL AS defaulted
FROM b LEFT JOIN ref_lookup r ON r.field = b.field AND r.key = ta_key(b.raw) AND b.raw IS NOT NULL
LEFT JOIN vocab_defaults d ON d.field = b.field;

-- The currency column: a code, a symbol or 'RMB' (few distinct texts).
CREATE OR REPLACE TEMP TABLE currency_values AS
WITH b AS (
    SELECT text, ta_blank(text) AS raw
    FROM (SELECT DISTINCT currency AS text FROM raw_canonical WHERE currency IS NOT NULL)
)
SELECT text, raw,
    CASE WHEN upper(raw) = 'RMB' THEN 'CNY'
         WHEN regexp_full_match(raw, '[A-Za-z]{3}') THEN upper(raw)
         ELSE coalesce(ta_amount_currency(raw), upper(raw)) END AS currency_column
FROM b;

CREATE OR REPLACE TEMP TABLE evidence_values AS
WITH b AS (
    SELECT text, ta_blank(text) AS raw
    FROM (SELECT DISTINCT evidence AS text FROM raw_canonical WHERE evidence IS NOT NULL)
)
SELECT text, raw,
    CASE WHEN raw IS NOT NULL THEN list_sort(list_distinct(list_transform(
        list_filter(string_split_regex(raw, '\s*[;,|]\s*'), lambda x: ta_key(x) <> ''),
        lambda x: coalesce(ev.evidence_map[ta_key(x)], 'other')))) END AS evidence
FROM b CROSS JOIN evidence_lookup ev;

-- An intake column's text after ta_blank, as the CTE b below gives it (NULL: blank, or not
-- in the file).
{% macro blanked(col) %}{% if col.kind == "vocab" %}{{ col.vocabulary }}_raw{% elif col.kind in ("amount", "date", "currency", "evidence", "flag") %}{{ col.name }}_raw{% else %}{{ col.name }}{% endif %}{% endmacro %}
CREATE OR REPLACE TEMP TABLE staged AS
WITH b AS (
    -- blanks to NULL: per row for the free-form columns, through the lookups for the rest
    SELECT
        r._row,
        r._raw_hash,
{% for col in intake if col.kind in ("id", "text", "buyer") %}
{% if col.masked %}
        -- free text: contact details masked, from the load's contact_masks (a text absent
        -- there holds none)
        ta_blank(coalesce(cm_{{ col.name }}.masked, r.{{ col.name }})) AS {{ col.name }},
{% else %}
        {{ "upper(" if col.upper }}ta_blank(r.{{ col.name }}){{ ")" if col.upper }} AS {{ col.name }},
{% endif %}
{% endfor %}
        cur.raw AS currency_raw,
        cur.currency_column,
        ev.raw AS evidence_raw,
        ev.evidence,
        -- yes/no columns: the text, and what it says (NULL: neither a yes nor a no spelling);
        -- the evidence_flags of a mapping reached the evidence text in raw_canonical, their
        -- unreadable cells _flag_problem
{% for f in intake if f.kind == "flag" %}
        ta_blank(r.{{ f.name }}) AS {{ f.name }}_raw,
        yn_{{ f.name }}.yes AS {{ f.name }}_yes,
{% endfor %}
        r._flag_problem,
{% for a in amounts %}
        ta_blank(r.{{ a }}) AS {{ a }}_raw,
{% endfor %}
{% for d in dates %}
        dv_{{ d }}.raw AS {{ d }}_raw,
        dv_{{ d }}.d AS {{ d }},
        dv_{{ d }}.problem AS dv_{{ d }}_problem,
{% endfor %}
{% for v in vocabs %}
        vv_{{ v.vocabulary }}.raw AS {{ v.vocabulary }}_raw,
{% if v.unknown == "other" %}
        -- a text that matched nothing counts as 'other'
        coalesce(vv_{{ v.vocabulary }}.slug, CASE WHEN vv_{{ v.vocabulary }}.raw IS NOT NULL THEN 'other' END) AS {{ v.vocabulary }},
{% else %}
        vv_{{ v.vocabulary }}.slug AS {{ v.vocabulary }},
{% endif %}
{% endfor %}
        -- the category text as received is kept (category_raw), with whether it matched (a
        -- category the mapping's default gave matched nothing)
        vv_category.slug IS NOT NULL AND NOT coalesce(vv_category.defaulted, false) AS category_mapped,
        r.extra
    FROM raw_canonical r
{% for v in vocabs %}
    LEFT JOIN vocab_values vv_{{ v.vocabulary }} ON vv_{{ v.vocabulary }}.field = '{{ v.vocabulary }}' AND vv_{{ v.vocabulary }}.text = r.{{ v.name }}
{% endfor %}
    LEFT JOIN evidence_values ev ON ev.text = r.evidence
{% for f in intake if f.kind == "flag" %}
    LEFT JOIN yes_no yn_{{ f.name }} ON yn_{{ f.name }}.key = lower(trim(r.{{ f.name }}))
{% endfor %}
    LEFT JOIN currency_values cur ON cur.text = r.currency
{% for col in intake if col.masked %}
    LEFT JOIN contact_masks cm_{{ col.name }} ON cm_{{ col.name }}.text = r.{{ col.name }}
{% endfor %}
{% for d in dates %}
    LEFT JOIN date_values dv_{{ d }} ON dv_{{ d }}.field = '{{ d }}' AND dv_{{ d }}.text = r.{{ d }}
{% endfor %}
),
a AS (
    -- amounts: most of an export's spellings ('12500.50', '12,500.00', '$12,500.00',
    -- 'USD 12,500.5', '€1.234,56', '400,50') are read by one regex (ta_amount_parts), exactly as
    -- the full parser reads them; the rest lose their currency marks in the next step and go
    -- through the full parser
    SELECT b.*,
        -- bit i: the record has a value for intake column i (the load's field coverage is
        -- counted from this, not by blanking every raw text a second time)
        ({% for col in intake %}(({{ blanked(col) }} IS NOT NULL)::UBIGINT << {{ loop.index0 }}){{ " | " if not loop.last }}{% endfor %}) AS _present,
{% for a in amounts %}
        ta_amount_parts({{ a }}_raw) AS {{ a }}_parts{{ "," if not loop.last }}
{% endfor %}
    FROM b
),
bs AS (
    SELECT a.*,
{% for a in amounts %}
        ta_amount_parts_text({{ a }}_parts) AS {{ a }}_fast{{ "," if not loop.last }}
{% endfor %}
    FROM a
),
bt AS (
    SELECT bs.*,
{% for a in amounts %}
        CASE WHEN {{ a }}_fast IS NULL THEN ta_amount_stripped({{ a }}_raw) END AS {{ a }}_str{{ "," if not loop.last }}
{% endfor %}
    FROM bs
),
p AS (
    SELECT
        b.* EXCLUDE ({% for a in amounts %}{{ a }}_str{{ ", " if not loop.last }}{% endfor %}),
{% for a in amounts %}
        CASE WHEN {{ a }}_fast IS NOT NULL THEN try_cast({{ a }}_fast AS {{ amount_type }})
             ELSE ta_amount_of_stripped({{ a }}_str) END AS {{ a }}{{ "," if not loop.last }}
{% endfor %}
    FROM bt b
),
p2 AS (
    -- currencies carried by the amounts that could be read (an unreadable amount is reported as such)
    SELECT p.* EXCLUDE ({% for a in amounts %}{{ a }}_parts, {{ a }}_fast{{ ", " if not loop.last }}{% endfor %}),
        list_filter([
{% for a in amounts %}
            CASE WHEN {{ a }} IS NULL THEN NULL
                 WHEN {{ a }}_fast IS NOT NULL THEN ta_amount_parts_currency({{ a }}_parts)
                 ELSE ta_amount_currency({{ a }}_raw) END{{ "," if not loop.last }}
{% endfor %}
        ], lambda x: x IS NOT NULL) AS amount_currencies
    FROM p
),
c AS (
    -- a refusal recorded with a blank refund refunded nothing
    SELECT p2.*
        REPLACE (CASE WHEN p2.outcome = 'no_refund' AND p2.refund_amount IS NULL
                              THEN 0::{{ amount_type }} ELSE p2.refund_amount END AS refund_amount),
        coalesce(currency_column, amount_currencies[1], $default_currency) AS currency,
        -- escalated: a date wins; else the yes/no (a yes: escalated, its date not recorded)
        p2.escalated_date IS NOT NULL OR coalesce(p2.escalated_yes, false) AS escalated,
        ta_buyer_key($secret, buyer_ref) AS buyer_key,
        $synthetic AS is_synthetic,
        o.is_final, o.is_decided, o.is_monetary
    FROM p2 LEFT JOIN ref_outcomes o ON o.slug = p2.outcome
),
-- Each rule once, as a column of its own ('<field>: <problem>' or NULL); the list of a row's
-- problems is built only for the rows where a rule fired (about 1% of an export): building and
-- filtering a list of every rule for every row cost more than the rules themselves.
{% set checks = [] %}
{% macro check(name) %}{{ checks.append(name) or "" }} AS check_{{ name }}{% endmacro %}
checks AS (
    SELECT c.*,
        -- required fields
{% for col in intake if col.required %}
        CASE WHEN {{ blanked(col) }} IS NULL THEN '{{ col.name }}: missing' END{{ check(col.name ~ '_missing') }},
{% endfor %}
        -- a case without amounts needs no currency
        CASE WHEN currency IS NULL AND ({% for a in amounts %}{{ a }}_raw IS NOT NULL{{ " OR " if not loop.last }}{% endfor %})
             THEN 'currency: missing (no currency column, and the amounts carry none)' END{{ check('currency_missing') }},
        -- unknown vocabulary
{% for v in vocabs if v.unknown == "problem" %}
        CASE WHEN {{ v.vocabulary }}_raw IS NOT NULL AND {{ v.vocabulary }} IS NULL
             THEN '{{ v.name }}: unknown value ''' || left({{ v.vocabulary }}_raw, 60) || '''' END{{ check(v.vocabulary ~ '_unknown') }},
{% endfor %}
{% for f in intake if f.kind == "flag" %}
        CASE WHEN {{ f.name }}_raw IS NOT NULL AND {{ f.name }}_yes IS NULL
             THEN '{{ f.name }}: not a yes or no ''' || left({{ f.name }}_raw, 60) || '''' END{{ check(f.name ~ '_unreadable') }},
{% endfor %}
        _flag_problem{{ check('evidence_flag_unreadable') }},
        CASE WHEN currency IS NOT NULL AND currency NOT IN (SELECT code FROM fx_known)
             THEN 'currency: unknown currency ''' || left(coalesce(currency_raw, currency), 60) || '''' END{{ check('currency_unknown') }},
        CASE WHEN currency IS NOT NULL AND len(list_filter(amount_currencies, lambda x: x <> currency)) > 0
             THEN 'currency: amounts written in ' || list_filter(amount_currencies, lambda x: x <> currency)[1]
                  || ' but the case''s currency is ' || currency END{{ check('currency_conflict') }},
        -- unreadable amounts and dates
{% for a in amounts %}
        CASE WHEN {{ a }}_raw IS NOT NULL AND {{ a }} IS NULL THEN '{{ a }}: cannot read amount ''' || left({{ a }}_raw, 60) || '''' END{{ check(a ~ '_unreadable') }},
{% endfor %}
{% for d in dates %}
        CASE WHEN {{ d }}_raw IS NOT NULL AND {{ d }} IS NULL THEN '{{ d }}: ' || dv_{{ d }}_problem || ' ''' || left({{ d }}_raw, 60) || '''' END{{ check(d ~ '_unreadable') }},
{% endfor %}
        -- business rules
{% for a in amounts %}
        CASE WHEN {{ a }} < 0 THEN '{{ a }}: negative' END{{ check(a ~ '_negative') }},
{% endfor %}
        CASE WHEN order_value = 0 THEN 'order_value: zero' END{{ check('order_value_zero') }},
        CASE WHEN claim_amount = 0 THEN 'claim_amount: zero' END{{ check('claim_amount_zero') }},
        CASE WHEN refund_amount > claim_amount AND claim_amount > 0
             THEN 'refund_amount: greater than claim_amount (' || ta_amount_shown(refund_amount) || ' > ' || ta_amount_shown(claim_amount) || ')' END{{ check('refund_above_claim') }},
        CASE WHEN is_final AND closed_date_raw IS NULL
             THEN 'closed_date: missing for final outcome ''' || outcome || '''' END{{ check('closed_date_missing_final') }},
        CASE WHEN closed_date < opened_date
             THEN 'closed_date: before opened_date (' || closed_date || ' < ' || opened_date || ')' END{{ check('closed_before_opened') }},
        -- what the buyer did after the platform ended after the platform's decision (issue 29)
        CASE WHEN after_closed_date < closed_date
             THEN 'after_closed_date: before closed_date (' || after_closed_date || ' < ' || closed_date || ')' END{{ check('after_closed_before_closed') }},
        -- dates the export cannot hold: before the platform's time (a year misread, '25' as the
        -- year 25, is caught here too: the store holds no year before 2000), or a dispute's
        -- opening, escalation or closure after the day the export describes (--as-of, else today)
{% for d in dates %}
        CASE WHEN {{ d }} < DATE '{{ earliest_date }}' THEN '{{ d }}: before {{ earliest_date }} (' || {{ d }} || ')' END{{ check(d ~ '_too_early') }},
{% endfor %}
{% for d in not_after_as_of %}
        CASE WHEN {{ d }} > $today THEN '{{ d }}: after the as-of date ' || $today || ' (' || {{ d }} || ')' END{{ check(d ~ '_after_as_of') }},
{% endfor %}
        -- in a file that records amounts (the case has a claim), a refund must say how much
        CASE WHEN outcome IN ('full_refund', 'partial_refund') AND refund_amount_raw IS NULL
                  AND claim_amount_raw IS NOT NULL
             THEN 'refund_amount: missing for outcome ''' || outcome || '''' END{{ check('refund_missing') }}
    FROM c
),
listed AS (
    SELECT checks.*,
        coalesce({% for n in checks %}check_{{ n }}{{ ", " if not loop.last }}{% endfor %}) IS NOT NULL AS has_problem
    FROM checks
)
-- Only what the next steps use is kept: the raw texts served the problem list above them.
SELECT listed.* EXCLUDE (has_problem, {% for n in checks %}check_{{ n }}, {% endfor %}
                    buyer_ref, currency_raw, evidence_raw, currency_column, amount_currencies,
                    is_final, is_decided, is_monetary, _flag_problem,
{% for f in intake if f.kind == "flag" %}
                    {{ f.name }}_raw, {{ f.name }}_yes,
{% endfor %}
{% for v in vocabs if v.vocabulary != "category" %}
                    {{ v.vocabulary }}_raw,
{% endfor %}
{% for a in amounts %}
                    {{ a }}_raw,
{% endfor %}
{% for d in dates %}
                    {{ d }}_raw, dv_{{ d }}_problem{{ "," if not loop.last }}
{% endfor %}
                    ),
    -- what a case says, for telling an unchanged snapshot from an update (the registry's hashed
    -- columns); the USD rate follows from currency and opened_date
    hash({% for h in hashed %}{{ h }}{{ ", " if not loop.last }}{% endfor %})::VARCHAR AS content_hash,
    CASE WHEN has_problem THEN list_filter([{% for n in checks %}check_{{ n }}{{ ", " if not loop.last }}{% endfor %}],
                                           lambda x: x IS NOT NULL)
         ELSE []::VARCHAR[] END AS problems
FROM listed;
