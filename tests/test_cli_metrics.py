"""`ta-outcomes metrics` end to end through analysis.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.cli import main
from tests.casefactory import build_store, make_case


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    cases = [
        # March 2026, machinery: 3 refusals and 1 full refund of 1,000 USD each.
        *[make_case(outcome="no_refund", claim_amount=1000, opened_date="2026-02-20",
                    closed_date="2026-03-10") for _ in range(3)],
        make_case(outcome="full_refund", claim_amount=1000, opened_date="2026-02-20",
                  closed_date="2026-03-10", escalated_date="2026-02-25"),
        # apparel: 200 EUR of 1,000 EUR back, at 1.1 USD per EUR (claim 1100, refund 220 USD).
        make_case(category="apparel_textiles", claim_type="damaged", outcome="partial_refund",
                  currency="EUR", usd_per_unit=1.1, claim_amount=1000, refund_amount=200,
                  opened_date="2026-03-01", closed_date="2026-03-20"),
        # still open: intake only
        make_case(outcome="open", opened_date="2026-03-25"),
    ]  # fmt: skip
    return build_store(tmp_path_factory.mktemp("cli") / "cases.duckdb", cases)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["metrics", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_output(store, capsys):
    code, out, err = run(
        capsys, "--db", str(store), "--start", "2026-03-01", "--end", "2026-03-31",
        "--format", "json", "--min-n", "2",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert (result["start"], result["end"]) == ("2026-03-01", "2026-03-31")
    assert result["params"] == {
        "threshold": 0.1, "lowball": 0.05, "min_n": 2, "confidence": 0.95, "min_n_rate": 2,
        "min_n_named": 30,
    }  # fmt: skip
    o = result["overall"]
    # Opened in March: apparel (1st) and the open case (25th) = 2. Closed: all 5, all decided.
    # Supplier-sided: the 3 refusals (the 20% partial refund and the full refund are not) -> 3/5.
    # claimed 4 x 1000 + 1100 = 5100 USD; refunded 1000 + 220 = 1220 USD -> 1220/5100.
    assert (o["cases_opened"], o["cases_closed"], o["decided"], o["supplier_sided"]) == (2, 5, 5, 3)
    assert o["supplier_sided_rate"] == pytest.approx(0.6)
    assert (o["claimed_usd"], o["refunded_usd"]) == pytest.approx((5100, 1220))
    assert o["refund_ratio_pooled"] == pytest.approx(1220 / 5100)
    # Ratios 0, 0, 0, 0.2, 1 -> median 0; escalated 1 of 5 closed.
    assert (o["refund_ratio_median"], o["escalation_rate"]) == (0.0, 0.2)
    assert o["suppressed"] is False
    # apparel has 1 decided case < 2: suppressed, its counts kept.
    apparel = result["by_category"]["apparel_textiles"]
    assert apparel["suppressed"] is True and apparel["supplier_sided_rate"] is None
    assert apparel["claimed_usd"] == pytest.approx(1100)
    assert list(result["by_claim_type"]) == ["damaged", "quality"]


def test_thresholds_from_the_command_line(store, capsys):
    # At a 25% threshold the 20% partial refund becomes supplier-sided too: 4/5.
    code, out, _ = run(
        capsys, "--db", str(store), "--start", "2026-03-01", "--end", "2026-03-31",
        "--threshold", "0.25", "--min-n", "0",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["overall"]["supplier_sided"] == 4


def test_table_output(store, capsys):
    code, out, _ = run(
        capsys, "--db", str(store), "--start", "2026-03-01", "--end", "2026-03-31",
        "--format", "table", "--min-n", "2",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Trade Assurance dispute outcomes, 2026-03-01 to 2026-03-31"
    # 3 of 5: p = 0.6, 1 + z^2/n = 1.768292, centre (0.6 + 0.384146) / 1.768292 = 0.556552,
    # half 1.959964 * sqrt(0.048 + 0.038415) / 1.768292 = 0.325828 -> [0.230724, 0.882379]
    assert "  supplier-sided 3 of 5 decided: 60.0% (23.1%–88.2%)" in lines
    assert any(
        line.strip().startswith("apparel_textiles") and "count only (n<2)" in line for line in lines
    )


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


def test_missing_store(tmp_path, capsys):
    missing = tmp_path / "nowhere.duckdb"
    code, out, err = run(
        capsys, "--db", str(missing), "--start", "2026-03-01", "--end", "2026-03-31"
    )
    message = _one_line_error(code, out, err)
    assert message.startswith("ta-outcomes metrics: ")
    assert "no case store here yet" in message
    assert not missing.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--start", "2026-02-30", "--end", "2026-03-31"],
            "--start: '2026-02-30' is not a valid date",
        ),
        (["--start", "03/01/2026", "--end", "2026-03-31"], "--start: '03/01/2026' is not a date"),
        (
            ["--start", "2026-03-31", "--end", "2026-03-01"],
            "end 2026-03-01 is before start 2026-03-31",
        ),
        (
            ["--start", "2026-03-01", "--end", "2026-03-31", "--threshold", "1.5"],
            "threshold must be",
        ),
        (
            ["--start", "2026-03-01", "--end", "2026-03-31", "--min-n", "-3"],
            "min_n must be 0 or more",
        ),
        (
            ["--start", "2026-03-01", "--end", "2026-03-31", "--category", "toys"],
            "category 'toys_sports'",
        ),
    ],
)
def test_bad_parameters(store, capsys, args, needle):
    code, out, err = run(capsys, "--db", str(store), *args)
    assert needle in _one_line_error(code, out, err)


# -- --client: one buyer's figures (issue 26.8) -------------------------------------------------


@pytest.fixture(scope="module")
def agency(tmp_path_factory) -> Path:
    from tests.small_agency import small_agency_store

    return small_agency_store(tmp_path_factory.mktemp("agency"))


def test_client_restricts_every_figure_to_one_buyer(agency, capsys):
    from tests.small_agency import CLIENT_NAMES, rows

    window = ("--start", "2026-06-01", "--end", "2026-11-30")
    name = "Client Delta Tools"
    # by hand from the tracker's rows: this client's cases closed in the window, and how they ended
    mine = [r for r in rows() if r["buyer_ref"] == name and "2026-06-01" <= r["closed_date"]]
    decided = [r for r in mine if r["outcome"] in ("full_refund", "partial_refund", "no_refund")]
    sided = [r for r in decided if r["refund_amount"] < 0.1 * r["claim_amount"]]
    claimed = sum(r["claim_amount"] for r in mine)
    code, out, _ = run(capsys, "--db", str(agency), *window, "--client", "  client DELTA tools ")
    assert code == 0
    figures = json.loads(out)
    overall = figures["overall"]
    assert (overall["cases_closed"], overall["decided"], overall["supplier_sided"]) == (
        len(mine), len(decided), len(sided),
    )  # fmt: skip
    assert overall["claimed_usd_closed"] == pytest.approx(claimed)
    assert sum(g["decided"] for g in figures["by_category"].values()) == len(decided)
    assert len(figures["params"]["buyer_key"]) == 20
    assert "delta" not in out.lower()  # the name is never printed
    # every case has one client: the clients' figures add up to the whole
    totals = {"cases_closed": 0, "decided": 0, "supplier_sided": 0, "cases_opened": 0}
    for client in CLIENT_NAMES:
        code, out, _ = run(capsys, "--db", str(agency), *window, "--client", client)
        for field in totals:
            totals[field] += json.loads(out)["overall"][field]
    code, out, _ = run(capsys, "--db", str(agency), *window)
    assert totals == {f: json.loads(out)["overall"][f] for f in totals}


def test_an_unknown_client_is_one_line_without_the_name(agency, capsys):
    code, out, err = run(capsys, "--db", str(agency), "--start", "2026-11-01", "--end",
                         "2026-11-30", "--client", "Client Nobody Ltd")  # fmt: skip
    assert code == 2 and out == ""
    assert err == (
        "ta-outcomes metrics: --client: no case in the store has this client (its name is "
        "matched as the tracker writes the buyer reference, case and surrounding spaces "
        "ignored)\n"
    )
