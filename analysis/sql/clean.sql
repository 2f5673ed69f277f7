-- staged -> cases: business rules on the rows without problems, repeats, and the action for
-- each case against the store. Parameters: $secret (buyer key), $load_id, $source_file, $now,
-- $synthetic.

-- Rows that are the same raw record again (same case_id, same text in every column) are repeats.
CREATE OR REPLACE TEMP TABLE staged_marked AS
SELECT *, row_number() OVER (PARTITION BY case_id, _raw_hash ORDER BY _row) > 1 AS raw_repeat
FROM staged;

-- Valid rows, typed and converted: one candidate version of a case each.
CREATE OR REPLACE TEMP TABLE valid AS
WITH v AS (
    SELECT
        s._row, s.case_id, s.order_id,
        CASE WHEN s.buyer_ref IS NOT NULL
             THEN substr(sha256($secret || ':' || lower(s.buyer_ref)), 1, 20) END AS buyer_key,
        s.supplier_id, s.supplier_name, s.supplier_country,
        s.category, s.category_raw, s.category_mapped, s.claim_type, s.outcome, s.currency,
        s.order_value, s.claim_amount,
        -- a refusal recorded with a blank refund refunded nothing
        CASE WHEN s.outcome = 'no_refund' AND s.refund_amount IS NULL THEN 0::DECIMAL(18, 2)
             ELSE s.refund_amount END AS refund_amount,
        s.inspection_fee,
        fx.usd_per_unit, fx.fx_rate_date, fx.fx_fallback,
        s.order_date, s.received_date, s.opened_date, s.escalated_date, s.closed_date,
        s.decided_by, s.inspection, s.evidence, s.coverage, s.description
    FROM staged_marked s
    JOIN fx_pairs fx ON fx.currency = s.currency AND fx.rate_date = s.opened_date
    WHERE NOT s.raw_repeat AND len(s.problems) = 0
)
SELECT v.*,
    order_value * usd_per_unit AS order_value_usd,
    claim_amount * usd_per_unit AS claim_usd,
    refund_amount * usd_per_unit AS refund_usd,
    inspection_fee * usd_per_unit AS inspection_fee_usd,
    md5(to_json(struct_pack(order_id, buyer_key, supplier_id, supplier_name, supplier_country,
        category, category_raw, claim_type, outcome, currency, order_value, claim_amount,
        refund_amount, inspection_fee, usd_per_unit, order_date, received_date, opened_date,
        escalated_date, closed_date, decided_by, inspection, evidence, coverage, description,
        synthetic := $synthetic))::VARCHAR) AS content_hash
FROM v;

-- A case_id whose valid rows in this file disagree cannot be resolved without guessing.
CREATE OR REPLACE TEMP TABLE conflicts AS
SELECT case_id, string_agg(_row::VARCHAR, ', ' ORDER BY _row) AS row_list
FROM valid GROUP BY case_id HAVING count(DISTINCT content_hash) > 1;

-- One version per case (the first row; later rows with the same content are repeats),
-- and what it does to the store.
CREATE OR REPLACE TEMP TABLE actions AS
WITH firsts AS (
    SELECT v.* FROM valid v
    WHERE v.case_id NOT IN (SELECT case_id FROM conflicts)
    QUALIFY row_number() OVER (PARTITION BY v.case_id ORDER BY v._row) = 1
)
SELECT f.*,
    CASE WHEN c.case_id IS NULL THEN 'inserted'
         WHEN c.content_hash = f.content_hash THEN 'unchanged'
         ELSE 'updated' END AS action,
    coalesce(c.first_loaded_at, $now::TIMESTAMP) AS first_loaded_at
FROM firsts f LEFT JOIN cases c ON c.case_id = f.case_id;

-- Every row the file gave that is quarantined, with its reason.
CREATE OR REPLACE TEMP TABLE rejected AS
SELECT _row, case_id, array_to_string(problems, '; ') AS reason
FROM staged_marked WHERE NOT raw_repeat AND len(problems) > 0
UNION ALL
SELECT v._row, v.case_id,
       'case_id: ''' || left(v.case_id, 60) || ''' appears on rows ' || c.row_list
       || ' of this file with different values' AS reason
FROM valid v JOIN conflicts c USING (case_id);
