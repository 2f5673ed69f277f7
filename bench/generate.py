"""Messy intake exports of any size, generated in DuckDB SQL (10M rows in well under a minute).

The rows carry the same mess as the demo exports (docs/demo-data.md): amounts as ``12500``,
``12,500.00``, ``$12,500.00``, ``USD 12,500.5``, ``12,500.00 USD``, ``€1.234,56``, ``EUR 1234.56``,
``£99.00`` and ``400,50``; dates as ``2026-03-05``, ``2026/03/05``, ``5 Mar 2026``, ``05 Mar 2026``
and ``Mar 5, 2026``; categories as slug, display name, synonym, odd case or padded; outcome and
claim-type spellings and synonyms; evidence lists split by ``;`` or ``,``; nine currencies;
identical repeated rows (0.3%) and about 1% bad rows of the demo's thirteen kinds. Amounts with
cents are mostly distinct and opened dates spread over the two years up to ``today``, so the
distinct-value counts are realistic (the ingest cannot get away with parsing a handful of texts).

Every value is a deterministic function of the row number (``hash(i, salt)``), so the same
``rows`` and ``today`` give the same file on every run; nothing is random across runs. The rows
stream to the file in case order without being held in memory or sorted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from analysis.demo import COLUMNS  # the demo's export layout, column for column

# One statement; each CTE one step. u(k) is a uniform in [0, 1) drawn from the row number.
_SQL = r"""
CREATE OR REPLACE MACRO u(i, k) AS (hash(i, k) % 1000003) / 1000003.0;
CREATE OR REPLACE MACRO pick(xs, x) AS xs[1 + least(floor(x * len(xs))::BIGINT, len(xs) - 1)];
-- a date in one of the five accepted spellings
CREATE OR REPLACE MACRO spell_date(d, style) AS CASE
    WHEN d IS NULL THEN NULL
    WHEN style < 0.50 THEN strftime(d, '%Y-%m-%d')
    WHEN style < 0.65 THEN strftime(d, '%Y/%m/%d')
    WHEN style < 0.77 THEN strftime(d, '%-d %b %Y')
    WHEN style < 0.87 THEN strftime(d, '%d %b %Y')
    ELSE strftime(d, '%b %-d, %Y') END;
-- the demo's shares of the seven amount styles (plain, thousands, symbol, code prefix,
-- code suffix, code without separators, decimal comma)
CREATE OR REPLACE MACRO amount_style(x) AS CASE WHEN x < 0.30 THEN 0 WHEN x < 0.50 THEN 1
    WHEN x < 0.62 THEN 2 WHEN x < 0.72 THEN 3 WHEN x < 0.80 THEN 4 WHEN x < 0.88 THEN 5 ELSE 6 END;
-- '12,500.00' (thousands separators, two decimals)
CREATE OR REPLACE MACRO thousands(v) AS format('{:,.2f}', v::DOUBLE);
-- an amount in the row's style (all amounts of a row share it, as in the demo)
CREATE OR REPLACE MACRO spell_amount(v, cur, style) AS CASE
    WHEN v IS NULL THEN NULL
    WHEN style = 0 THEN regexp_replace(format('{:.2f}', v::DOUBLE), '\.00$', '')
    WHEN style = 1 THEN thousands(v)
    WHEN style = 2 AND cur = 'USD' THEN '$' || thousands(v)
    WHEN style = 2 AND cur = 'GBP' THEN '£' || thousands(v)
    WHEN style = 2 AND cur = 'EUR'
        THEN '€' || translate(thousands(v), ',.', '.,')
    WHEN style IN (2, 3) THEN cur || ' ' || regexp_replace(thousands(v), '(\.[1-9])0$', '\1')
    WHEN style = 4 THEN thousands(v) || ' ' || cur
    WHEN style = 5 THEN cur || ' ' || format('{:.2f}', v::DOUBLE)
    ELSE replace(format('{:.2f}', v::DOUBLE), '.', ',') END;

CREATE OR REPLACE VIEW gen AS
WITH base AS (
    SELECT i,
        u(i, 1) AS u_cat, u(i, 2) AS u_claim, u(i, 3) AS u_cur, u(i, 4) AS u_val,
        u(i, 5) AS u_val2, u(i, 6) AS u_share, u(i, 7) AS u_open, u(i, 8) AS u_out,
        u(i, 9) AS u_style, u(i, 10) AS u_dstyle, u(i, 11) AS u_spell, u(i, 12) AS u_ev,
        u(i, 13) AS u_sup, u(i, 14) AS u_buy, u(i, 15) AS u_days, u(i, 16) AS u_bad,
        u(i, 17) AS u_insp
    FROM range(getvariable('rows')) t(i)
),
facts AS (
    -- what happened in the case, before any spelling
    SELECT *,
        pick(['machinery', 'electronics', 'electronics', 'apparel_textiles', 'apparel_textiles',
              'home_garden', 'packaging', 'auto_parts', 'health_medical', 'beauty_personal_care',
              'toys_sports', 'building_materials', 'other'], u_cat) AS category,
        pick(['quality', 'quality', 'quality', 'quantity', 'damaged', 'late_shipment',
              'non_delivery', 'compliance', 'other'], u_claim) AS claim_type,
        CASE WHEN u_cur < 0.70 THEN 'USD' WHEN u_cur < 0.79 THEN 'EUR' WHEN u_cur < 0.84 THEN 'GBP'
             WHEN u_cur < 0.90 THEN 'CNY' WHEN u_cur < 0.93 THEN 'AUD' WHEN u_cur < 0.96 THEN 'CAD'
             WHEN u_cur < 0.98 THEN 'JPY' WHEN u_cur < 0.99 THEN 'CHF' ELSE 'SGD' END AS cur,
        -- log-normal order value around $6,000, cents mostly distinct
        round(exp(ln(6000) + 1.1 * sqrt(-2 * ln(u_val + 1e-9)) * cos(2 * pi() * u_val2)), 2)
            AS order_value,
        getvariable('today') - 3 - floor(u_open * 727)::INT AS opened,
        floor(u_days * 60)::INT AS days_to_close
    FROM base
),
outcomes AS (
    SELECT *,
        round(order_value * (0.3 + 0.7 * u_share), 2) AS claim,
        opened + days_to_close AS closed_at,
        CASE WHEN opened + days_to_close > getvariable('today') THEN 'open'
             ELSE pick(['full_refund', 'full_refund', 'partial_refund', 'partial_refund',
                        'no_refund', 'no_refund', 'no_refund', 'replacement', 'withdrawn',
                        'cancelled', 'out_of_coverage'], u_out) END AS outcome
    FROM facts
),
typed AS (
    -- the clean case, typed
    SELECT i, category, claim_type, cur, order_value, claim, outcome, opened,
        CASE WHEN outcome = 'open' THEN NULL ELSE closed_at END AS closed,
        CASE WHEN outcome = 'full_refund' THEN claim
             WHEN outcome = 'partial_refund' THEN round(claim * (0.05 + 0.9 * u_share), 2)
             WHEN outcome = 'no_refund' THEN 0 END AS refund,
        opened - 5 - floor(u_days * 25)::INT AS received,
        opened - 40 - floor(u_days * 50)::INT AS ordered,
        CASE WHEN days_to_close > 5 OR outcome = 'open' AND u_days > 0.1 THEN opened + 4 END AS escalated,
        CASE WHEN u_insp < 0.15 THEN pick(['SGS', 'sgs', 'TUV', 'BV', 'Intertek'], u_insp / 0.15) END
            AS inspection,
        CASE WHEN u_insp < 0.15 THEN round(180 + 340 * u_share, 2) END AS inspection_fee,
        u_style, u_dstyle, u_spell, u_ev, u_sup, u_buy, u_bad, u_insp
    FROM outcomes
),
spelled AS (
    -- the export's text: every column spelled one of the ways trackers do
    SELECT i,
        'TA-' || lpad(i::VARCHAR, 9, '0') AS case_id,
        'ORD-' || (1000000 + i)::VARCHAR AS order_id,
        CASE WHEN u_buy < 0.5 THEN 'BUYER-' || lpad(floor(u_buy * getvariable('rows') / 1.5)::BIGINT::VARCHAR, 7, '0')
             ELSE 'buyer.' || lpad(floor(u_buy * getvariable('rows') / 1.5)::BIGINT::VARCHAR, 7, '0') || '@example.com' END
            AS buyer_ref,
        'SUP-' || lpad(floor(u_sup * u_sup * getvariable('rows') / 6)::BIGINT::VARCHAR, 7, '0') AS supplier_id,
        'Synthetic Supplier ' || lpad(floor(u_sup * u_sup * getvariable('rows') / 6)::BIGINT::VARCHAR, 7, '0') || ' Co.'
            AS supplier_name,
        pick(['CN', 'CN', 'CN', 'CN', 'CN', 'CN', 'CN', 'VN', 'IN', 'TR'], u_sup) AS supplier_country,
        CASE WHEN u_spell < 0.005 THEN 'Industrial Lasers'
             WHEN u_spell < 0.40 THEN category
             WHEN u_spell < 0.70 THEN display_name(category)
             WHEN u_spell < 0.75 THEN upper(display_name(category))
             WHEN u_spell < 0.80 THEN lower(display_name(category))
             WHEN u_spell < 0.85 THEN upper(category)
             WHEN u_spell < 0.93 THEN ' ' || display_name(category) || ' '
             ELSE category || '  ' END AS product_category,
        CASE WHEN u_spell < 0.75 THEN claim_type
             WHEN u_spell < 0.85 THEN upper(claim_type)
             WHEN u_spell < 0.90 THEN ' ' || claim_type || ' '
             ELSE coalesce(map {'late_shipment': 'late delivery', 'non_delivery': 'not received',
                                'damaged': 'damaged in transit', 'quantity': 'short shipment'}
                           [claim_type], claim_type) END AS claim_type,
        spell_date(opened, u_dstyle) AS opened_date,
        CASE WHEN u_ev < 0.06 THEN upper(spell_outcome(outcome, u_spell)[1]) || spell_outcome(outcome, u_spell)[2:]
             WHEN u_ev > 0.96 THEN spell_outcome(outcome, u_spell) || ' '
             ELSE spell_outcome(outcome, u_spell) END AS outcome,
        -- amounts that carry a code or symbol sometimes leave the currency column empty
        CASE WHEN amount_style(u_style) IN (2, 3, 4, 5) AND u_spell < 0.3 THEN NULL ELSE cur END
            AS currency,
        spell_amount(order_value, cur, amount_style(u_style)) AS order_value,
        spell_amount(claim, cur, amount_style(u_style)) AS claim_amount,
        spell_amount(refund, cur, amount_style(u_style)) AS refund_amount,
        spell_date(ordered, u_dstyle) AS order_date,
        spell_date(received, u_dstyle) AS received_date,
        spell_date(escalated, u_dstyle) AS escalated_date,
        -- the tracker's yes/no column beside the date, as the demo writes it
        CASE WHEN escalated IS NULL THEN 'No' ELSE 'Yes' END AS escalated,
        -- the columns of what the platform said and what came after it, blank as in most
        -- trackers (the demo fills them for its stories)
        NULL::VARCHAR AS platform_reason,
        NULL::VARCHAR AS after_route,
        NULL::VARCHAR AS after_outcome,
        NULL::VARCHAR AS after_refund_amount,
        NULL::VARCHAR AS after_closed_date,
        spell_date(closed, u_dstyle) AS closed_date,
        CASE WHEN outcome IN ('open', 'withdrawn') THEN NULL
             WHEN u_ev < 0.45 THEN 'agreement' WHEN u_ev < 0.96 THEN 'platform' ELSE 'external' END
            AS decided_by,
        coalesce(inspection, CASE WHEN u_insp < 0.5 THEN NULL WHEN u_insp < 0.6 THEN 'None' ELSE 'none' END)
            AS inspection,
        spell_amount(inspection_fee, cur, amount_style(u_style)) AS inspection_fee,
        pick(['photos', 'photos; chat_log', 'photos;chat_log;video', 'photos, video, contract',
              'chat_log', 'photos; inspection_report', 'photos,lab_test,chat_log',
              'photos; video; inspection_report; lab_test', 'contract; chat_log', NULL], u_ev)
            AS evidence,
        CASE WHEN claim_type IN ('late_shipment', 'non_delivery') THEN 'pre_shipment'
             ELSE 'post_delivery' END AS coverage,
        pick(['[synthetic] colours differ clearly from the approved sample',
              '[synthetic] material is thinner than specified in the contract',
              '[synthetic] a share of the units arrived with defects (cracks, loose parts)',
              '[synthetic] goods damaged in transit, packaging crushed',
              '[synthetic] supplier missed the agreed shipping date',
              '[synthetic] CE certificate appears to be falsified',
              '[synthetic] buyer says: "wrong size, wrong colour", asks for a refund',
              NULL], u_dstyle) AS description,
        u_bad
    FROM typed t
),
broken AS (
    -- about 1% bad rows, one problem each, of the demo's thirteen kinds
    SELECT * REPLACE (
        CASE WHEN u_bad < 0.0008 THEN NULL ELSE supplier_id END AS supplier_id,
        CASE WHEN u_bad >= 0.0008 AND u_bad < 0.0016 THEN 'TBD'
             WHEN u_bad >= 0.0016 AND u_bad < 0.0024 THEN '1O,250.00' ELSE order_value END AS order_value,
        CASE WHEN u_bad >= 0.0024 AND u_bad < 0.0032 THEN 'next Tuesday'
             WHEN u_bad >= 0.0032 AND u_bad < 0.0040 THEN '03/05/2026'
             WHEN u_bad >= 0.0040 AND u_bad < 0.0048 THEN strftime(getvariable('today') + 300, '%Y-%m-%d')
             ELSE opened_date END AS opened_date,
        CASE WHEN u_bad >= 0.0048 AND u_bad < 0.0056 THEN '-1234.56'
             WHEN u_bad >= 0.0056 AND u_bad < 0.0064 THEN '0.00' ELSE claim_amount END AS claim_amount,
        CASE WHEN u_bad >= 0.0064 AND u_bad < 0.0072 THEN 'settled maybe' ELSE outcome END AS outcome,
        CASE WHEN u_bad >= 0.0072 AND u_bad < 0.0080 THEN 'price_gouging' ELSE claim_type END AS claim_type,
        CASE WHEN u_bad >= 0.0080 AND u_bad < 0.0088 THEN 'ZZZ' ELSE currency END AS currency,
        CASE WHEN u_bad >= 0.0088 AND u_bad < 0.0096 THEN '1999-01-01'
             WHEN u_bad >= 0.0096 AND u_bad < 0.0104 THEN NULL ELSE closed_date END AS closed_date,
        CASE WHEN u_bad >= 0.0104 AND u_bad < 0.0112 THEN '99,999,999.00' ELSE refund_amount END
            AS refund_amount
    )
    FROM spelled
)
SELECT i, * EXCLUDE (i, u_bad) FROM broken;
"""

_LOOKUPS = r"""
-- lookups as expressions, not joins: the plan stays a pure projection, so the rows stream to
-- the file in order
CREATE OR REPLACE MACRO display_name(slug) AS (MAP {
    'machinery': 'Machinery', 'electronics': 'Electronics',
    'apparel_textiles': 'Apparel & Textiles', 'home_garden': 'Home & Garden',
    'packaging': 'Packaging & Printing', 'auto_parts': 'Auto Parts',
    'health_medical': 'Health & Medical', 'beauty_personal_care': 'Beauty & Personal Care',
    'toys_sports': 'Toys & Sports', 'building_materials': 'Building Materials',
    'other': 'Other'})[slug];
CREATE OR REPLACE MACRO outcome_spellings(slug) AS (MAP {
    'open': ['open', 'pending', 'in progress'],
    'full_refund': ['full_refund', 'full refund', 'refunded in full'],
    'partial_refund': ['partial_refund', 'partial refund'],
    'no_refund': ['no_refund', 'no refund', 'rejected', 'denied'],
    'replacement': ['replacement'], 'withdrawn': ['withdrawn'], 'cancelled': ['cancelled'],
    'out_of_coverage': ['out_of_coverage', 'out of coverage']})[slug];
CREATE OR REPLACE MACRO spell_outcome(slug, x) AS
    outcome_spellings(slug)[1 + floor(x * 4)::INT % len(outcome_spellings(slug))];
"""


def generate(
    path: Path, rows: int, today: dt.date | None = None, threads: int | None = None
) -> dict:
    """Write a messy intake CSV of ``rows`` cases (plus ~0.3% identical repeats) to ``path``.

    Returns ``{"rows": data records written, "cases": distinct case ids, "bytes": file size}``.
    """
    today = today or dt.date.today()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = true")
        # the view reads its size and date from variables (a view cannot take parameters)
        con.execute("SET VARIABLE rows = ?", [rows])
        con.execute("SET VARIABLE today = ?::DATE", [today])
        for statement in (_LOOKUPS + _SQL).split(";\n"):
            if statement.strip():
                con.execute(statement)
        # 0.3% of the rows appear twice in a row: identical repeats, as a re-export makes them.
        # Streamed straight to the file in row order (preserve_insertion_order): no sort, and
        # the rows are never held in memory.
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        con.execute(
            f"""
            COPY (
                SELECT {cols} FROM (
                    SELECT *, unnest(CASE WHEN hash(i, 99) % 1000 < 3 THEN [0, 1] ELSE [0] END)
                    FROM gen
                )
            ) TO '{_sql_path(path)}' (HEADER, DELIMITER ',')
            """  # noqa: S608 (a path and fixed column names, no user values)
        )
        written = con.execute(
            "SELECT ? + count(*) FROM range(?) t(i) WHERE hash(i, 99) % 1000 < 3", [rows, rows]
        ).fetchone()[0]
    finally:
        con.close()
    return {"rows": int(written), "cases": rows, "bytes": path.stat().st_size}


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


if __name__ == "__main__":
    import sys
    import time

    t0 = time.perf_counter()
    info = generate(Path(sys.argv[1]), int(sys.argv[2]))
    print(info, f"{time.perf_counter() - t0:.1f} s")
