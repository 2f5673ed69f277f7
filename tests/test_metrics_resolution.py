"""analysis.metrics.resolution: time to resolution censored at the as-of date, and the cohorts."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import settings
from analysis.metrics import Params, time_to_resolution
from analysis.metrics.resolution import cohorts
from tests.casefactory import build_store, make_load

MARCH = ("2026-03-01", "2026-03-31")
SMALL = Params(min_n=3, min_n_rate=2)


def _march_cases() -> list[dict]:
    machinery = dict(category="machinery", outcome="no_refund")
    return [
        # six close on day 2, three on day 5, two on day 20 (all inside March)
        *[dict(machinery, opened_date="2026-03-01", closed_date="2026-03-03") for _ in range(6)],
        *[dict(machinery, opened_date="2026-03-01", closed_date="2026-03-06") for _ in range(3)],
        *[dict(machinery, opened_date="2026-03-01", closed_date="2026-03-21", outcome="withdrawn")
          for _ in range(2)],
        # closed after March but before the as-of date: resolved after 18 days
        dict(machinery, case_id="LATE", opened_date="2026-03-23", closed_date="2026-04-10"),
        # still open: followed to the as-of date (33 days), not to the period's end (3)
        dict(machinery, case_id="OPEN", outcome="open", opened_date="2026-03-28"),
        # closed after the as-of date: as of that date it was open (59 days)
        dict(machinery, case_id="AFTER", opened_date="2026-03-02", closed_date="2026-05-10"),
        # electronics: two cases, one closed in a day, one open; and a case opened in February
        dict(category="electronics", opened_date="2026-03-10", closed_date="2026-03-11"),
        dict(category="electronics", outcome="open", opened_date="2026-03-15"),
        dict(category="machinery", opened_date="2026-02-20", closed_date="2026-03-05"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def km_db(tmp_path_factory) -> Path:
    # The one load says its export describes 30 April: that is the store's as-of date.
    return build_store(
        tmp_path_factory.mktemp("km") / "cases.duckdb",
        _march_cases(),
        loads=[make_load(inserted=17, as_of="2026-04-30")],
    )


def test_open_cases_are_censored_at_the_as_of_date(km_db, monkeypatch):
    monkeypatch.setattr(settings, "KM_MIN_AT_RISK", 0)
    result = time_to_resolution(km_db, *MARCH, params=SMALL)
    assert result["as_of"] == "2026-04-30"
    machinery = result["groups"]["machinery"]
    # 2 x6, 5 x3, 18, 20 x2 resolved; 33+ and 59+ open on 30 April: 14 cases, 12 closures.
    # S: 8/14 at 2, x 5/8 = 5/14 at 5, x 4/5 = 4/14 at 18, x 2/4 = 2/14 at 20.
    assert (machinery["n"], machinery["events"], machinery["censored"]) == (14, 12, 2)
    assert machinery["curve"]["days"].tolist() == [0, 2, 5, 18, 20]
    assert machinery["curve"]["survival"].tolist() == pytest.approx(
        [1, 8 / 14, 5 / 14, 4 / 14, 2 / 14]
    )
    assert machinery["median"] == 5
    # electronics (1, 46+) and the overall (16 cases: the 14 and those two)
    electronics = result["groups"]["electronics"]
    assert (electronics["n"], electronics["events"], electronics["median"]) == (2, 1, 1)
    overall = result["overall"]
    assert (overall["n"], overall["events"], overall["censored"]) == (16, 13, 3)
    summary = result["summary"].set_index("group")
    assert summary.loc["all", "n"] == 16 and summary.loc["machinery", "censored"] == 2


def test_an_earlier_as_of_date_censors_more(km_db, monkeypatch):
    # As of 31 March, LATE (closed 10 April) is open: censored at 8; OPEN at 3; AFTER at 29.
    monkeypatch.setattr(settings, "KM_MIN_AT_RISK", 0)
    result = time_to_resolution(km_db, *MARCH, by=None, params=SMALL, as_of="2026-03-31")
    overall = result["overall"]
    assert result["as_of"] == "2026-03-31"
    # machinery 11 closed + electronics 1; open: LATE, OPEN, AFTER, the electronics one
    assert (overall["n"], overall["events"], overall["censored"]) == (16, 12, 4)
    # a case opened after the as-of date does not exist yet
    early = time_to_resolution(km_db, *MARCH, by=None, params=SMALL, as_of="2026-03-01")
    assert early["overall"]["n"] == 11  # the eleven opened on 1 March; all still open then
    assert early["overall"]["events"] == 0


def test_the_curve_stops_where_fewer_than_the_minimum_are_at_risk(km_db):
    # With the shipped minimum of 10 at risk, machinery's curve stops before day 5 (8 at risk)
    assert settings.KM_MIN_AT_RISK == 10
    result = time_to_resolution(km_db, *MARCH, params=SMALL)
    machinery = result["groups"]["machinery"]
    assert machinery["curve"]["days"].tolist() == [0, 2]
    assert machinery["stopped_at"] == 5 and machinery["median"] is None


def test_groups_below_min_n_rate_get_no_curve(km_db):
    result = time_to_resolution(km_db, *MARCH, params=Params(min_n=14, min_n_rate=3))
    electronics = result["groups"]["electronics"]
    assert electronics["suppressed"] and electronics["curve"] is None
    assert (electronics["n"], electronics["events"]) == (2, 1)
    machinery = result["groups"]["machinery"]
    assert not machinery["suppressed"] and not machinery["few_cases"]  # 14 = min_n


def test_without_an_as_of_date_the_load_day_is_used(tmp_path):
    # A load recorded without --as-of describes the day it finished.
    db = build_store(
        tmp_path / "day.duckdb",
        [dict(outcome="open", opened_date="2026-03-28")],
        loads=[make_load(inserted=1, finished_at="2026-04-02 10:00:00")],
    )
    result = time_to_resolution(db, *MARCH, by=None, params=Params(min_n=1, min_n_rate=1))
    assert result["as_of"] == "2026-04-02"
    assert result["overall"]["censored"] == 1


def test_cohorts_by_hand(km_db):
    frame = cohorts(km_db, "2026-03-31", months=2, params=SMALL).set_index("month")
    assert frame.index.tolist() == ["2026-02", "2026-03"]
    assert frame.attrs["as_of"] == "2026-04-30"
    # February: one case, supplier-sided (a no_refund), closed in March.
    assert frame.loc["2026-02", ["opened", "for_supplier", "still_open"]].tolist() == [1, 1, 0]
    # March, as of 30 April: 16 opened; open OPEN, AFTER and electronics' open one (3);
    # withdrawn 2 (lapsed); for the supplier the other no_refunds: 6 + 3 + LATE + electronics 1
    march = frame.loc["2026-03"]
    assert march[["opened", "still_open", "for_buyer", "for_supplier", "lapsed"]].tolist() == [
        16, 3, 0, 11, 2,
    ]  # fmt: skip
    assert march["still_open_share"] == pytest.approx(3 / 16)
    assert march[["still_open", "for_buyer", "for_supplier", "lapsed"]].sum() == march["opened"]
