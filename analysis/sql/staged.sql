-- raw -> staged: blanks to NULL, parse amounts and dates, map vocabularies, and list every
-- problem of the row as '<field>: <problem>'. One row per raw record; nothing is dropped here.
-- Input: temp view raw_canonical (every intake column as VARCHAR, plus _row).
-- Parameters: $date_format (NULL = detect), $default_currency (NULL = none), $today,
-- $secret (the buyer-key secret), $synthetic.
-- Dates and vocabulary values repeat heavily in an export: each distinct text is blanked and
-- parsed once here and joined back on the text as it came (`text`), rather than per row.
-- `raw` is the text after ta_blank (NULL for a blank or a null marker).
CREATE OR REPLACE TEMP TABLE date_values AS
WITH v AS (
    SELECT DISTINCT x AS text FROM (
        SELECT order_date AS x FROM raw_canonical UNION ALL
        SELECT received_date FROM raw_canonical UNION ALL
        SELECT opened_date FROM raw_canonical UNION ALL
        SELECT escalated_date FROM raw_canonical UNION ALL
        SELECT closed_date FROM raw_canonical)
    WHERE x IS NOT NULL
), b AS (SELECT text, ta_blank(text) AS raw FROM v)
SELECT text, raw, ta_date(raw, $date_format) AS d, ta_date_problem(raw, $date_format) AS problem FROM b;

CREATE OR REPLACE TEMP TABLE vocab_values AS
WITH v AS (
    SELECT DISTINCT field, x AS text FROM (
        SELECT 'category' AS field, product_category AS x FROM raw_canonical UNION ALL
        SELECT 'claim_type', claim_type FROM raw_canonical UNION ALL
        SELECT 'outcome', outcome FROM raw_canonical UNION ALL
        SELECT 'decided_by', decided_by FROM raw_canonical UNION ALL
        SELECT 'inspection', inspection FROM raw_canonical UNION ALL
        SELECT 'coverage', coverage FROM raw_canonical)
    WHERE x IS NOT NULL
), b AS (SELECT field, text, ta_blank(text) AS raw FROM v)
SELECT b.field, b.text, b.raw, r.slug
FROM b LEFT JOIN ref_lookup r ON r.field = b.field AND r.key = ta_key(b.raw) AND b.raw IS NOT NULL;

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

CREATE OR REPLACE TEMP TABLE staged AS
WITH b AS (
    -- blanks to NULL: per row for the free-form columns, through the lookups for the rest
    SELECT
        r._row,
        r._raw_hash,
        ta_blank(r.case_id) AS case_id,
        ta_blank(r.order_id) AS order_id,
        ta_blank(r.buyer_ref) AS buyer_ref,
        ta_blank(r.supplier_id) AS supplier_id,
        ta_blank(r.supplier_name) AS supplier_name,
        upper(ta_blank(r.supplier_country)) AS supplier_country,
        cat.raw AS category_raw,
        ct.raw AS claim_type_raw,
        oc.raw AS outcome_raw,
        cur.raw AS currency_raw,
        cur.currency_column,
        ta_blank(r.order_value) AS order_value_raw,
        ta_blank(r.claim_amount) AS claim_amount_raw,
        ta_blank(r.refund_amount) AS refund_amount_raw,
        ta_blank(r.inspection_fee) AS inspection_fee_raw,
        dv_order_date.raw AS order_date_raw,
        dv_received_date.raw AS received_date_raw,
        dv_opened_date.raw AS opened_date_raw,
        dv_escalated_date.raw AS escalated_date_raw,
        dv_closed_date.raw AS closed_date_raw,
        db.raw AS decided_by_raw,
        ins.raw AS inspection_raw,
        ev.raw AS evidence_raw,
        cov.raw AS coverage_raw,
        ta_blank(r.description) AS description,
        -- what the lookups parsed
        dv_order_date.d AS order_date,
        dv_received_date.d AS received_date,
        dv_opened_date.d AS opened_date,
        dv_escalated_date.d AS escalated_date,
        dv_closed_date.d AS closed_date,
        coalesce(cat.slug, 'other') AS category,
        cat.slug IS NOT NULL AS category_mapped,
        ct.slug AS claim_type,
        oc.slug AS outcome,
        db.slug AS decided_by,
        coalesce(ins.slug, CASE WHEN ins.raw IS NOT NULL THEN 'other' END) AS inspection,
        cov.slug AS coverage,
        ev.evidence,
        dv_order_date.problem AS dv_order_date_problem,
        dv_received_date.problem AS dv_received_date_problem,
        dv_opened_date.problem AS dv_opened_date_problem,
        dv_escalated_date.problem AS dv_escalated_date_problem,
        dv_closed_date.problem AS dv_closed_date_problem
    FROM raw_canonical r
    LEFT JOIN vocab_values cat ON cat.field = 'category' AND cat.text = r.product_category
    LEFT JOIN vocab_values ct ON ct.field = 'claim_type' AND ct.text = r.claim_type
    LEFT JOIN vocab_values oc ON oc.field = 'outcome' AND oc.text = r.outcome
    LEFT JOIN vocab_values db ON db.field = 'decided_by' AND db.text = r.decided_by
    LEFT JOIN vocab_values ins ON ins.field = 'inspection' AND ins.text = r.inspection
    LEFT JOIN vocab_values cov ON cov.field = 'coverage' AND cov.text = r.coverage
    LEFT JOIN evidence_values ev ON ev.text = r.evidence
    LEFT JOIN currency_values cur ON cur.text = r.currency
    LEFT JOIN date_values dv_order_date ON dv_order_date.text = r.order_date
    LEFT JOIN date_values dv_received_date ON dv_received_date.text = r.received_date
    LEFT JOIN date_values dv_opened_date ON dv_opened_date.text = r.opened_date
    LEFT JOIN date_values dv_escalated_date ON dv_escalated_date.text = r.escalated_date
    LEFT JOIN date_values dv_closed_date ON dv_closed_date.text = r.closed_date
),
a AS (
    -- amounts: plain numbers ('12500.50') and US-style thousands ('12,500.00'), most of an
    -- export, take a one- or two-regex fast path (the value the full parser gives them); the
    -- rest lose their currency marks in the next step and go through the full parser
    SELECT b.*,
        CASE WHEN regexp_full_match(order_value_raw, '\d+(\.\d{1,2})?') THEN order_value_raw
             WHEN regexp_full_match(order_value_raw, '[1-9]\d{0,2}(,\d{3})+(\.\d+)?')
             THEN replace(order_value_raw, ',', '') END AS order_value_fast,
        CASE WHEN regexp_full_match(claim_amount_raw, '\d+(\.\d{1,2})?') THEN claim_amount_raw
             WHEN regexp_full_match(claim_amount_raw, '[1-9]\d{0,2}(,\d{3})+(\.\d+)?')
             THEN replace(claim_amount_raw, ',', '') END AS claim_amount_fast,
        CASE WHEN regexp_full_match(refund_amount_raw, '\d+(\.\d{1,2})?') THEN refund_amount_raw
             WHEN regexp_full_match(refund_amount_raw, '[1-9]\d{0,2}(,\d{3})+(\.\d+)?')
             THEN replace(refund_amount_raw, ',', '') END AS refund_amount_fast,
        CASE WHEN regexp_full_match(inspection_fee_raw, '\d+(\.\d{1,2})?') THEN inspection_fee_raw
             WHEN regexp_full_match(inspection_fee_raw, '[1-9]\d{0,2}(,\d{3})+(\.\d+)?')
             THEN replace(inspection_fee_raw, ',', '') END AS inspection_fee_fast
    FROM b
),
bs AS (
    SELECT a.*,
        CASE WHEN order_value_fast IS NULL THEN ta_amount_stripped(order_value_raw) END AS order_value_str,
        CASE WHEN claim_amount_fast IS NULL THEN ta_amount_stripped(claim_amount_raw) END AS claim_amount_str,
        CASE WHEN refund_amount_fast IS NULL THEN ta_amount_stripped(refund_amount_raw) END AS refund_amount_str,
        CASE WHEN inspection_fee_fast IS NULL THEN ta_amount_stripped(inspection_fee_raw) END AS inspection_fee_str
    FROM a
),
p AS (
    SELECT
        b.* EXCLUDE (order_value_str, claim_amount_str, refund_amount_str, inspection_fee_str,
                     order_value_fast, claim_amount_fast, refund_amount_fast, inspection_fee_fast),
        CASE WHEN order_value_fast IS NOT NULL THEN try_cast(order_value_fast AS DECIMAL(18, 2))
             ELSE ta_amount_of_stripped(order_value_str) END AS order_value,
        CASE WHEN claim_amount_fast IS NOT NULL THEN try_cast(claim_amount_fast AS DECIMAL(18, 2))
             ELSE ta_amount_of_stripped(claim_amount_str) END AS claim_amount,
        CASE WHEN refund_amount_fast IS NOT NULL THEN try_cast(refund_amount_fast AS DECIMAL(18, 2))
             ELSE ta_amount_of_stripped(refund_amount_str) END AS refund_amount,
        CASE WHEN inspection_fee_fast IS NOT NULL THEN try_cast(inspection_fee_fast AS DECIMAL(18, 2))
             ELSE ta_amount_of_stripped(inspection_fee_str) END AS inspection_fee,
        -- a number on the fast path carries no currency
        order_value_fast IS NULL AS order_value_marked,
        claim_amount_fast IS NULL AS claim_amount_marked,
        refund_amount_fast IS NULL AS refund_amount_marked,
        inspection_fee_fast IS NULL AS inspection_fee_marked
    FROM bs b
),
p2 AS (
    -- currencies carried by the amounts that could be read (an unreadable amount is reported as such)
    SELECT p.*,
        list_filter([CASE WHEN order_value_marked AND order_value IS NOT NULL THEN ta_amount_currency(order_value_raw) END,
                     CASE WHEN claim_amount_marked AND claim_amount IS NOT NULL THEN ta_amount_currency(claim_amount_raw) END,
                     CASE WHEN refund_amount_marked AND refund_amount IS NOT NULL THEN ta_amount_currency(refund_amount_raw) END,
                     CASE WHEN inspection_fee_marked AND inspection_fee IS NOT NULL THEN ta_amount_currency(inspection_fee_raw) END],
                    lambda x: x IS NOT NULL) AS amount_currencies
    FROM p
),
c AS (
    -- a refusal recorded with a blank refund refunded nothing
    SELECT p2.* EXCLUDE (order_value_marked, claim_amount_marked, refund_amount_marked,
                         inspection_fee_marked)
        REPLACE (CASE WHEN p2.outcome = 'no_refund' AND p2.refund_amount IS NULL
                              THEN 0::DECIMAL(18, 2) ELSE p2.refund_amount END AS refund_amount),
        coalesce(currency_column, amount_currencies[1], $default_currency) AS currency,
        o.is_final, o.is_decided, o.is_monetary
    FROM p2 LEFT JOIN ref_outcomes o ON o.slug = p2.outcome
)
-- Only what the next steps use is kept: the raw texts served the problem list above them.
SELECT c.* EXCLUDE (buyer_ref, claim_type_raw, outcome_raw, currency_raw, order_value_raw,
                    claim_amount_raw, refund_amount_raw, inspection_fee_raw, order_date_raw,
                    received_date_raw, opened_date_raw, escalated_date_raw, closed_date_raw,
                    decided_by_raw, inspection_raw, evidence_raw, coverage_raw,
                    dv_order_date_problem, dv_received_date_problem, dv_opened_date_problem,
                    dv_escalated_date_problem, dv_closed_date_problem, currency_column,
                    amount_currencies, is_final, is_decided, is_monetary),
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
