-- The cases a window's metrics look at, one row each, with the per-case flags that every
-- metric in analysis/metrics/ is built from (the definitions live here, once).
--
-- Parameters (bound, never formatted in; analysis.metrics.case_flags.bind gives them):
--   $start, $end   DATE, the window, both days included
--   $category      VARCHAR, one category slug, or NULL for all
--   $supplier_id   VARCHAR, one supplier, or NULL for all (the supplier scorecard)
--   $buyer_key     VARCHAR, one client's buyer key (--client), or NULL for every buyer
--   $threshold     VARCHAR decimal text, e.g. '0.10' (supplier-sided below threshold x claim)
--   $lowball       VARCHAR decimal text, e.g. '0.05' (lowball below lowball x claim)
--   $final_outcomes, $decided_outcomes, $monetary_outcomes, $lapsed_outcomes,
--   $buyer_loss_outcomes, $refund_none_outcomes, $refund_full_outcomes
--                  VARCHAR[], the outcome classes of data/reference/outcomes.csv (analysis.vocab)
--   $claim_window  INTEGER, days after confirmed receipt within which a dispute must be opened
--
-- The refund tests (supplier-sided below the threshold share of the claim) are written once, in
-- flags.sql, beside the reasons for their exact decimal arithmetic.
--
-- A case without amounts (an export that records outcomes only) is decided by its outcome
-- where the outcome says how much came back (no_refund: nothing, full_refund: everything;
-- refund_share in outcomes.csv); a partial refund without amounts is UNDETERMINED: counted as
-- such, and left out of `is_decided`, so of every rate's denominator.
{% import "metrics/sql/flags.sql" as flags with context %}
SELECT
    -- the stored columns the metrics read (the column registry's, analysis/columns.py)
{% for name in metrics_columns %}
    c.{{ name }},
{% endfor %}
    (c.claim_amount IS NOT NULL AND c.refund_amount IS NOT NULL) AS has_amounts,
    c.opened_date BETWEEN $start AND $end AS opened_in,
    coalesce(list_contains($final_outcomes, c.outcome) AND c.closed_date BETWEEN $start AND $end, false) AS closed_in,
    list_contains($final_outcomes, c.outcome) AS is_final,
    list_contains($monetary_outcomes, c.outcome) AND NOT has_amounts
        AND NOT list_contains($refund_none_outcomes, c.outcome)
        AND NOT list_contains($refund_full_outcomes, c.outcome) AS is_undetermined,
    list_contains($decided_outcomes, c.outcome) AND NOT is_undetermined AS is_decided,
    list_contains($monetary_outcomes, c.outcome) AS is_monetary,
    list_contains($lapsed_outcomes, c.outcome) AS is_lapsed,
    {{ flags.supplier_sided("$threshold") }} AS is_supplier_sided,
    -- everything claimed came back (a refund above the claim is quarantined at ingest)
    coalesce(
        list_contains($monetary_outcomes, c.outcome) AND CASE
            WHEN has_amounts THEN c.refund_amount >= c.claim_amount
            ELSE list_contains($refund_full_outcomes, c.outcome)
        END,
        false
    ) AS is_full_refund,
    coalesce(
        list_contains($monetary_outcomes, c.outcome)
        AND c.refund_amount > 0
        AND CAST(c.refund_amount AS {{ amount_type }})
            < CAST($lowball AS DECIMAL(20, 12)) * CAST(c.claim_amount AS {{ amount_type }}),
        false
    ) AS is_lowball,
    -- an escalated_date, or a yes in the export's escalated column (its date not recorded)
    c.escalated AS is_escalated,
    c.closed_date - c.opened_date AS days_to_close,
    CAST(c.refund_amount AS DOUBLE) / CAST(c.claim_amount AS DOUBLE) AS refund_ratio,
    -- a lapse that leaves the buyer with nothing they chose (not a withdrawal)
    list_contains($buyer_loss_outcomes, c.outcome) AS is_buyer_loss_lapse,
    -- what the buyer came away with, for every closed case: money back (refund of at least
    -- threshold x claim), a token (below that, above 0), nothing (a refund of 0, every no_refund),
    -- or, when no money was decided, the outcome itself (replacement, cancelled, ...)
    CASE WHEN NOT is_final THEN NULL
         WHEN is_undetermined THEN 'undetermined'
         WHEN is_monetary AND NOT is_supplier_sided THEN 'money_back'
         WHEN is_monetary AND c.refund_amount > 0 THEN 'token'
         WHEN is_monetary THEN 'nothing'
         ELSE c.outcome END AS buyer_outcome,
    -- evidence: an inspection report, and how many other kinds the buyer gave
    list_contains(coalesce(c.evidence, []), 'inspection_report') AS has_inspection_report,
    -- (the kinds less the inspection report. The store holds each case's evidence as sorted,
    -- distinct slugs (analysis/columns.py; the ingest makes them so), so its length is the number
    -- of kinds: list_distinct per case cost 2.4 s at 10M cases, a lambda filter 0.3-0.5 s)
    coalesce(len(c.evidence), 0)
        - list_contains(coalesce(c.evidence, []), 'inspection_report')::INTEGER
        AS other_evidence_kinds,
    -- opened more than the claim window after the buyer confirmed receipt
    c.opened_date - c.received_date > $claim_window AS opened_late,
    -- a decision for the supplier that the platform made: decided_by says so, or the export
    -- records the platform's reason for it (only the platform gives one)
    coalesce(is_decided AND is_supplier_sided
             AND (c.decided_by = 'platform' OR c.platform_reason IS NOT NULL), false)
        AS is_platform_supplier_sided,
    -- the buyer's evidence held what the platform's quality rules rest on: an inspection
    -- report or a lab test (against it, a reason like "the machine works" stands out)
    list_has_any(coalesce(c.evidence, []), ['inspection_report', 'lab_test']) AS has_contrary_evidence,
    -- the buyer went beyond the platform (a route other than none), and got something back
    coalesce(c.after_route <> 'none', false) AS is_taken_further,
    coalesce(c.after_route <> 'none' AND c.after_outcome IN ('recovered_full', 'recovered_partial'), false)
        AS is_recovered_after
FROM (
    -- the same rows as the WHERE below, in two branches DuckDB can prune: each is a plain range
    -- on one date, so its scan skips the row groups whose min/max (cases are stored sorted by
    -- closed_date, opened_date) lie outside the window; the second branch takes only what the
    -- first has not, so no case comes twice. The exact condition stays in the WHERE.
    SELECT * FROM cases WHERE opened_date BETWEEN $start AND $end
    UNION ALL
    SELECT * FROM cases
    WHERE closed_date BETWEEN $start AND $end
        AND NOT coalesce(opened_date BETWEEN $start AND $end, false)
) AS c
WHERE (
        c.opened_date BETWEEN $start AND $end
        OR (list_contains($final_outcomes, c.outcome) AND c.closed_date BETWEEN $start AND $end)
    )
    AND ($category IS NULL OR c.category = $category)
    AND ($supplier_id IS NULL OR c.supplier_id = $supplier_id)
    AND ($buyer_key IS NULL OR c.buyer_key = $buyer_key)
