-- raw -> staged: blanks to NULL, parse amounts and dates, map vocabularies, and list every
-- problem of the row as '<field>: <problem>'. One row per raw record; nothing is dropped here.
-- Input: temp view raw_canonical (every intake column as VARCHAR, plus _row).
-- Parameters: $date_format (NULL = detect), $default_currency (NULL = none), $today.
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
p AS (
    SELECT
        b.*,
        ta_amount(order_value_raw) AS order_value,
        ta_amount(claim_amount_raw) AS claim_amount,
        ta_amount(refund_amount_raw) AS refund_amount,
        ta_amount(inspection_fee_raw) AS inspection_fee,
        ta_date(order_date_raw, $date_format) AS order_date,
        ta_date(received_date_raw, $date_format) AS received_date,
        ta_date(opened_date_raw, $date_format) AS opened_date,
        ta_date(escalated_date_raw, $date_format) AS escalated_date,
        ta_date(closed_date_raw, $date_format) AS closed_date,
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
        CASE WHEN evidence_raw IS NOT NULL THEN
            list_sort(list_distinct(list_transform(
                list_filter(string_split_regex(evidence_raw, '\s*[;,|]\s*'), lambda x: ta_key(x) <> ''),
                lambda x: coalesce(ev.evidence_map[ta_key(x)], 'other'))))
        END AS evidence
    FROM b
    CROSS JOIN evidence_lookup ev
    LEFT JOIN ref_lookup cat ON cat.field = 'category' AND cat.key = ta_key(b.category_raw)
    LEFT JOIN ref_lookup ct ON ct.field = 'claim_type' AND ct.key = ta_key(b.claim_type_raw)
    LEFT JOIN ref_lookup oc ON oc.field = 'outcome' AND oc.key = ta_key(b.outcome_raw)
    LEFT JOIN ref_lookup db ON db.field = 'decided_by' AND db.key = ta_key(b.decided_by_raw)
    LEFT JOIN ref_lookup ins ON ins.field = 'inspection' AND ins.key = ta_key(b.inspection_raw)
    LEFT JOIN ref_lookup cov ON cov.field = 'coverage' AND cov.key = ta_key(b.coverage_raw)
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
    SELECT p2.*,
        coalesce(currency_column, amount_currencies[1], $default_currency) AS currency,
        o.is_final, o.is_decided, o.is_monetary
    FROM p2 LEFT JOIN ref_outcomes o ON o.slug = p2.outcome
)
SELECT c.*,
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
        CASE WHEN order_date_raw IS NOT NULL AND order_date IS NULL THEN 'order_date: ' || ta_date_problem(order_date_raw, $date_format) || ' ''' || left(order_date_raw, 60) || '''' END,
        CASE WHEN received_date_raw IS NOT NULL AND received_date IS NULL THEN 'received_date: ' || ta_date_problem(received_date_raw, $date_format) || ' ''' || left(received_date_raw, 60) || '''' END,
        CASE WHEN opened_date_raw IS NOT NULL AND opened_date IS NULL THEN 'opened_date: ' || ta_date_problem(opened_date_raw, $date_format) || ' ''' || left(opened_date_raw, 60) || '''' END,
        CASE WHEN escalated_date_raw IS NOT NULL AND escalated_date IS NULL THEN 'escalated_date: ' || ta_date_problem(escalated_date_raw, $date_format) || ' ''' || left(escalated_date_raw, 60) || '''' END,
        CASE WHEN closed_date_raw IS NOT NULL AND closed_date IS NULL THEN 'closed_date: ' || ta_date_problem(closed_date_raw, $date_format) || ' ''' || left(closed_date_raw, 60) || '''' END,
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
