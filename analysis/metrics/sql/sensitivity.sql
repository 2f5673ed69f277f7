-- The supplier-sided rate at other thresholds: the window's cases (cases.sql, bound as for any
-- metric) against each threshold of $thresholds (VARCHAR decimal texts), with the very refund
-- test of the headline's flag (flags.sql), so the row at the report's own threshold is the
-- headline's count.
{% import "metrics/sql/flags.sql" as flags with context %}
WITH period_cases AS ({period_cases})
SELECT t.threshold,
    count_if(closed_in AND {{ flags.supplier_sided("t.threshold") }}) AS supplier_sided,
    count_if(closed_in AND is_decided) AS decided,
    count_if(closed_in AND is_buyer_loss_lapse) AS buyer_loss_lapsed
FROM period_cases, unnest($thresholds) AS t(threshold)
GROUP BY t.threshold ORDER BY CAST(t.threshold AS DOUBLE)
