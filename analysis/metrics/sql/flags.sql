{#
  The refund tests of one case, written once. cases.sql applies them with the report's bound
  $threshold; the sensitivity table (sensitivity.sql) with each of its thresholds. They read the
  case's own columns (outcome, refund_amount, claim_amount, has_amounts) and the outcome classes
  bound by analysis.metrics.case_flags.bind.

  The tests compare the ORIGINAL amounts in exact DECIMAL arithmetic, in the stored amount type
  (three decimals: a KWD refund of 0.125 is not rounded to 0.13 before it is weighed against the
  claim): refund and claim share one currency and one FX rate, so "refund_usd < threshold x
  claim_usd" is the same test without floating-point doubt at the boundary. Imported "with
  context", for the registry's amount_type.
  A case without amounts (an export that records outcomes only) is decided by its outcome where
  the outcome says how much came back (no_refund: nothing, full_refund: everything).
#}
{% macro supplier_sided(threshold) -%}
coalesce(
        list_contains($monetary_outcomes, outcome) AND CASE
            WHEN has_amounts THEN CAST(refund_amount AS {{ amount_type }})
                < CAST({{ threshold }} AS DECIMAL(20, 12)) * CAST(claim_amount AS {{ amount_type }})
            -- no amounts: nothing came back (below any positive share), or everything
            WHEN list_contains($refund_none_outcomes, outcome) THEN CAST({{ threshold }} AS DECIMAL(20, 12)) > 0
            WHEN list_contains($refund_full_outcomes, outcome) THEN CAST({{ threshold }} AS DECIMAL(20, 12)) > 1
        END,
        false
    )
{%- endmacro %}
