-- The cases a window's metrics look at, one row each, with the per-case flags that every
-- metric in analysis/metrics/ is built from (the definitions live here, once).
--
-- Parameters (bound, never formatted in; analysis.metrics.cases.bind gives them):
--   $start, $end   DATE, the window, both days included
--   $category      VARCHAR, one category slug, or NULL for all
--   $threshold     VARCHAR decimal text, e.g. '0.10' (supplier-sided below threshold x claim)
--   $lowball       VARCHAR decimal text, e.g. '0.05' (lowball below lowball x claim)
--   $final_outcomes, $decided_outcomes, $monetary_outcomes, $lapsed_outcomes
--                  VARCHAR[], the outcome classes of data/reference/outcomes.csv (analysis.vocab)
--
-- The refund tests compare the ORIGINAL amounts of the case, in exact DECIMAL arithmetic:
-- refund and claim share one currency and one FX rate (the ECB rate of opened_date), so
-- "refund_usd < threshold x claim_usd" is the same test without floating-point doubt at the
-- boundary. DECIMAL(20,12) x DECIMAL(20,2) = DECIMAL(38,14): no overflow for any stored claim.
SELECT
    c.case_id,
    c.supplier_id,
    c.supplier_name,
    c.supplier_country,
    c.category,
    c.claim_type,
    c.outcome,
    c.order_value_usd,
    c.claim_usd,
    c.refund_usd,
    c.opened_date,
    c.closed_date,
    c.escalated_date,
    c.decided_by,
    c.inspection,
    c.evidence,
    c.is_synthetic,
    c.opened_date BETWEEN $start AND $end AS opened_in,
    coalesce(list_contains($final_outcomes, c.outcome) AND c.closed_date BETWEEN $start AND $end, false) AS closed_in,
    list_contains($final_outcomes, c.outcome) AS is_final,
    list_contains($decided_outcomes, c.outcome) AS is_decided,
    list_contains($monetary_outcomes, c.outcome) AS is_monetary,
    list_contains($lapsed_outcomes, c.outcome) AS is_lapsed,
    coalesce(
        list_contains($monetary_outcomes, c.outcome)
        AND CAST(c.refund_amount AS DECIMAL(20, 2))
            < CAST($threshold AS DECIMAL(20, 12)) * CAST(c.claim_amount AS DECIMAL(20, 2)),
        false
    ) AS is_supplier_sided,
    coalesce(
        list_contains($monetary_outcomes, c.outcome)
        AND c.refund_amount > 0
        AND CAST(c.refund_amount AS DECIMAL(20, 2))
            < CAST($lowball AS DECIMAL(20, 12)) * CAST(c.claim_amount AS DECIMAL(20, 2)),
        false
    ) AS is_lowball,
    c.escalated_date IS NOT NULL AS is_escalated,
    c.closed_date - c.opened_date AS days_to_close,
    CAST(c.refund_amount AS DOUBLE) / CAST(c.claim_amount AS DOUBLE) AS refund_ratio
FROM cases AS c
WHERE (
        c.opened_date BETWEEN $start AND $end
        OR (list_contains($final_outcomes, c.outcome) AND c.closed_date BETWEEN $start AND $end)
    )
    AND ($category IS NULL OR c.category = $category)
