-- raw -> staged: blanks to NULL, parse amounts and dates, map vocabularies, and list every
-- problem of the row as '<field>: <problem>'. One row per raw record; nothing is dropped here.
-- Input: temp view raw_canonical (every intake column as VARCHAR, plus _row).
-- Parameters: $date_format (NULL = detect), $default_currency (NULL = none), $today,
-- $secret (the buyer-key secret), $synthetic.
-- Dates and vocabulary values repeat heavily in an export: each distinct text is parsed once
-- here and joined back, rather than parsed on every row.
CREATE OR REPLACE TEMP TABLE date_values AS
WITH v AS (
    SELECT DISTINCT ta_blank(x) AS raw FROM (
        SELECT order_date AS x FROM raw_canonical UNION ALL
        SELECT received_date FROM raw_canonical UNION ALL
        SELECT opened_date FROM raw_canonical UNION ALL
        SELECT escalated_date FROM raw_canonical UNION ALL
        SELECT closed_date FROM raw_canonical)
    WHERE ta_blank(x) IS NOT NULL
)
SELECT raw, ta_date(raw, $date_format) AS d, ta_date_problem(raw, $date_format) AS problem FROM v;

CREATE OR REPLACE TEMP TABLE vocab_values AS
WITH v AS (
    SELECT DISTINCT field, ta_blank(x) AS raw FROM (
        SELECT 'category' AS field, product_category AS x FROM raw_canonical UNION ALL
        SELECT 'claim_type', claim_type FROM raw_canonical UNION ALL
        SELECT 'outcome', outcome FROM raw_canonical UNION ALL
        SELECT 'decided_by', decided_by FROM raw_canonical UNION ALL
        SELECT 'inspection', inspection FROM raw_canonical UNION ALL
        SELECT 'coverage', coverage FROM raw_canonical)
    WHERE ta_blank(x) IS NOT NULL
)
SELECT v.field, v.raw, r.slug FROM v LEFT JOIN ref_lookup r ON r.field = v.field AND r.key = ta_key(v.raw);

CREATE OR REPLACE TEMP TABLE evidence_values AS
SELECT raw, list_sort(list_distinct(list_transform(
           list_filter(string_split_regex(raw, '\s*[;,|]\s*'), lambda x: ta_key(x) <> ''),
           lambda x: coalesce(ev.evidence_map[ta_key(x)], 'other')))) AS evidence
FROM (SELECT DISTINCT ta_blank(evidence) AS raw FROM raw_canonical WHERE ta_blank(evidence) IS NOT NULL)
CROSS JOIN evidence_lookup ev;

CREATE OR REPLACE TEMP TABLE staged AS
WITH b AS (
    SELECT
        _row,
        _raw_hash,
        ta_blank(case_id) AS case_id,
        ta_blank(order_id) AS order_id,
        ta_blank(buyer_ref) AS buyer_ref,
        ta_blank(supplier_id) AS supplier_id,
        ta_blank(supplier_name) AS supplier_name,
        upper(ta_blank(supplier_country)) AS supplier_country,
        ta_blank(product_category) AS category_raw,
        ta_blank(claim_type) AS claim_type_raw,
        ta_blank(outcome) AS outcome_raw,
        ta_blank(currency) AS currency_raw,
        ta_blank(order_value) AS order_value_raw,
        ta_blank(claim_amount) AS claim_amount_raw,
        ta_blank(refund_amount) AS refund_amount_raw,
        ta_blank(inspection_fee) AS inspection_fee_raw,
        ta_blank(order_date) AS order_date_raw,
        ta_blank(received_date) AS received_date_raw,
        ta_blank(opened_date) AS opened_date_raw,
        ta_blank(escalated_date) AS escalated_date_raw,
        ta_blank(closed_date) AS closed_date_raw,
        ta_blank(decided_by) AS decided_by_raw,
        ta_blank(inspection) AS inspection_raw,
        ta_blank(evidence) AS evidence_raw,
        ta_blank(coverage) AS coverage_raw,
        ta_blank(description) AS description
    FROM raw_canonical
),
bs AS (
    -- amounts without currency marks and spaces, computed once per value
    SELECT b.*,
        ta_amount_stripped(order_value_raw) AS order_value_str,
        ta_amount_stripped(claim_amount_raw) AS claim_amount_str,
        ta_amount_stripped(refund_amount_raw) AS refund_amount_str,
        ta_amount_stripped(inspection_fee_raw) AS inspection_fee_str
    FROM b
),
p AS (
    SELECT
        b.* EXCLUDE (order_value_str, claim_amount_str, refund_amount_str, inspection_fee_str),
        ta_amount_of_stripped(order_value_str) AS order_value,
        ta_amount_of_stripped(claim_amount_str) AS claim_amount,
        ta_amount_of_stripped(refund_amount_str) AS refund_amount,
        ta_amount_of_stripped(inspection_fee_str) AS inspection_fee,
        dv_order_date.d AS order_date,
        dv_received_date.d AS received_date,
        dv_opened_date.d AS opened_date,
        dv_escalated_date.d AS escalated_date,
        dv_closed_date.d AS closed_date,
        -- the currency column may hold a code, a symbol or 'RMB'
        CASE WHEN upper(currency_raw) = 'RMB' THEN 'CNY'
             WHEN regexp_full_match(currency_raw, '[A-Za-z]{3}') THEN upper(currency_raw)
             ELSE coalesce(ta_amount_currency(currency_raw), upper(currency_raw)) END AS currency_column,
        coalesce(cat.slug, 'other') AS category,
        cat.slug IS NOT NULL AS category_mapped,
        ct.slug AS claim_type,
        oc.slug AS outcome,
        db.slug AS decided_by,
        coalesce(ins.slug, CASE WHEN inspection_raw IS NOT NULL THEN 'other' END) AS inspection,
        cov.slug AS coverage,
        ev.evidence,
        dv_order_date.problem AS dv_order_date_problem,
        dv_received_date.problem AS dv_received_date_problem,
        dv_opened_date.problem AS dv_opened_date_problem,
        dv_escalated_date.problem AS dv_escalated_date_problem,
        dv_closed_date.problem AS dv_closed_date_problem
    FROM bs b
    LEFT JOIN vocab_values cat ON cat.field = 'category' AND cat.raw = b.category_raw
    LEFT JOIN vocab_values ct ON ct.field = 'claim_type' AND ct.raw = b.claim_type_raw
    LEFT JOIN vocab_values oc ON oc.field = 'outcome' AND oc.raw = b.outcome_raw
    LEFT JOIN vocab_values db ON db.field = 'decided_by' AND db.raw = b.decided_by_raw
    LEFT JOIN vocab_values ins ON ins.field = 'inspection' AND ins.raw = b.inspection_raw
    LEFT JOIN vocab_values cov ON cov.field = 'coverage' AND cov.raw = b.coverage_raw
    LEFT JOIN evidence_values ev ON ev.raw = b.evidence_raw
    LEFT JOIN date_values dv_order_date ON dv_order_date.raw = b.order_date_raw
    LEFT JOIN date_values dv_received_date ON dv_received_date.raw = b.received_date_raw
    LEFT JOIN date_values dv_opened_date ON dv_opened_date.raw = b.opened_date_raw
    LEFT JOIN date_values dv_escalated_date ON dv_escalated_date.raw = b.escalated_date_raw
    LEFT JOIN date_values dv_closed_date ON dv_closed_date.raw = b.closed_date_raw
),
p2 AS (
    -- currencies carried by the amounts that could be read (an unreadable amount is reported as such)
    SELECT p.*,
        list_filter([CASE WHEN order_value IS NOT NULL THEN ta_amount_currency(order_value_raw) END,
                     CASE WHEN claim_amount IS NOT NULL THEN ta_amount_currency(claim_amount_raw) END,
                     CASE WHEN refund_amount IS NOT NULL THEN ta_amount_currency(refund_amount_raw) END,
                     CASE WHEN inspection_fee IS NOT NULL THEN ta_amount_currency(inspection_fee_raw) END],
                    lambda x: x IS NOT NULL) AS amount_currencies
    FROM p
),
c AS (
    -- a refusal recorded with a blank refund refunded nothing
    SELECT p2.* REPLACE (CASE WHEN p2.outcome = 'no_refund' AND p2.refund_amount IS NULL
                              THEN 0::DECIMAL(18, 2) ELSE p2.refund_amount END AS refund_amount),
        coalesce(currency_column, amount_currencies[1], $default_currency) AS currency,
        o.is_final, o.is_decided, o.is_monetary
    FROM p2 LEFT JOIN ref_outcomes o ON o.slug = p2.outcome
)
SELECT c.*,
    CASE WHEN buyer_ref IS NOT NULL THEN substr(sha256($secret || ':' || lower(buyer_ref)), 1, 20) END AS buyer_key,
    -- what a case says, for telling an unchanged snapshot from an update; the USD rate follows
    -- from currency and opened_date
    hash(order_id, lower(buyer_ref), supplier_id, supplier_name, supplier_country, category,
         category_raw, claim_type, outcome, currency, order_value, claim_amount, refund_amount,
         inspection_fee, order_date, received_date, opened_date, escalated_date, closed_date,
         decided_by, inspection, evidence, coverage, description, $synthetic)::VARCHAR AS content_hash,
    list_filter([
        -- required fields
        CASE WHEN case_id IS NULL THEN 'case_id: missing' END,
        CASE WHEN supplier_id IS NULL THEN 'supplier_id: missing' END,
        CASE WHEN category_raw IS NULL THEN 'product_category: missing' END,
        CASE WHEN claim_type_raw IS NULL THEN 'claim_type: missing' END,
        CASE WHEN outcome_raw IS NULL THEN 'outcome: missing' END,
        CASE WHEN opened_date_raw IS NULL THEN 'opened_date: missing' END,
        CASE WHEN order_value_raw IS NULL THEN 'order_value: missing' END,
        CASE WHEN claim_amount_raw IS NULL THEN 'claim_amount: missing' END,
        CASE WHEN currency IS NULL THEN 'currency: missing (no currency column, and the amounts carry none)' END,
        -- unknown vocabulary
        CASE WHEN claim_type_raw IS NOT NULL AND claim_type IS NULL
             THEN 'claim_type: unknown value ''' || left(claim_type_raw, 60) || '''' END,
        CASE WHEN outcome_raw IS NOT NULL AND outcome IS NULL
             THEN 'outcome: unknown value ''' || left(outcome_raw, 60) || '''' END,
        CASE WHEN currency IS NOT NULL AND currency NOT IN (SELECT code FROM fx_known)
             THEN 'currency: unknown currency ''' || left(coalesce(currency_raw, currency), 60) || '''' END,
        CASE WHEN currency IS NOT NULL AND len(list_filter(amount_currencies, lambda x: x <> currency)) > 0
             THEN 'currency: amounts written in ' || list_filter(amount_currencies, lambda x: x <> currency)[1]
                  || ' but the case''s currency is ' || currency END,
        -- unreadable amounts and dates
        CASE WHEN order_value_raw IS NOT NULL AND order_value IS NULL THEN 'order_value: cannot read amount ''' || left(order_value_raw, 60) || '''' END,
        CASE WHEN claim_amount_raw IS NOT NULL AND claim_amount IS NULL THEN 'claim_amount: cannot read amount ''' || left(claim_amount_raw, 60) || '''' END,
        CASE WHEN refund_amount_raw IS NOT NULL AND refund_amount IS NULL THEN 'refund_amount: cannot read amount ''' || left(refund_amount_raw, 60) || '''' END,
        CASE WHEN inspection_fee_raw IS NOT NULL AND inspection_fee IS NULL THEN 'inspection_fee: cannot read amount ''' || left(inspection_fee_raw, 60) || '''' END,
        CASE WHEN order_date_raw IS NOT NULL AND order_date IS NULL THEN 'order_date: ' || dv_order_date_problem || ' ''' || left(order_date_raw, 60) || '''' END,
        CASE WHEN received_date_raw IS NOT NULL AND received_date IS NULL THEN 'received_date: ' || dv_received_date_problem || ' ''' || left(received_date_raw, 60) || '''' END,
        CASE WHEN opened_date_raw IS NOT NULL AND opened_date IS NULL THEN 'opened_date: ' || dv_opened_date_problem || ' ''' || left(opened_date_raw, 60) || '''' END,
        CASE WHEN escalated_date_raw IS NOT NULL AND escalated_date IS NULL THEN 'escalated_date: ' || dv_escalated_date_problem || ' ''' || left(escalated_date_raw, 60) || '''' END,
        CASE WHEN closed_date_raw IS NOT NULL AND closed_date IS NULL THEN 'closed_date: ' || dv_closed_date_problem || ' ''' || left(closed_date_raw, 60) || '''' END,
        -- business rules
        CASE WHEN order_value < 0 THEN 'order_value: negative' END,
        CASE WHEN claim_amount < 0 THEN 'claim_amount: negative' END,
        CASE WHEN refund_amount < 0 THEN 'refund_amount: negative' END,
        CASE WHEN inspection_fee < 0 THEN 'inspection_fee: negative' END,
        CASE WHEN order_value = 0 THEN 'order_value: zero' END,
        CASE WHEN claim_amount = 0 THEN 'claim_amount: zero' END,
        CASE WHEN refund_amount > claim_amount AND claim_amount > 0
             THEN 'refund_amount: greater than claim_amount (' || refund_amount || ' > ' || claim_amount || ')' END,
        CASE WHEN is_final AND closed_date_raw IS NULL
             THEN 'closed_date: missing for final outcome ''' || outcome || '''' END,
        CASE WHEN closed_date < opened_date
             THEN 'closed_date: before opened_date (' || closed_date || ' < ' || opened_date || ')' END,
        CASE WHEN opened_date > $today THEN 'opened_date: in the future (' || opened_date || ')' END,
        CASE WHEN outcome IN ('full_refund', 'partial_refund') AND refund_amount_raw IS NULL
             THEN 'refund_amount: missing for outcome ''' || outcome || '''' END
    ], lambda x: x IS NOT NULL) AS problems
FROM c;
