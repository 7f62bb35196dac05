"""The pure KPI arithmetic: histograms keep their error bound, one order's events land on the right day and person,
periods split into month and day rows, and the status colour follows the target's direction."""

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wuye.kpis import rules
from wuye.kpis.choices import Direction, KpiCode
from wuye.kpis.models import DailyOrderStats

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 18, 9, 0, tzinfo=TZ)


def at(minutes: float, days: int = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, minutes=minutes)


def exact(values, q):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@given(
    st.lists(st.floats(min_value=0, max_value=130_000, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from([0.5, 0.9, 0.99, 1.0]),
)
def test_a_percentile_from_the_histogram_is_within_the_documented_bound(values, q):
    histogram = {}
    for value in values:
        rules.hist_add(histogram, value)
    got = rules.hist_quantile(histogram, q)
    expected = exact(values, q)
    if expected < 1:
        assert abs(got - expected) <= 0.5
    else:
        assert abs(got - expected) <= expected * rules.RELATIVE_ERROR_BOUND + 1e-9


def test_the_error_bound_is_under_five_percent_up_to_91_days():
    assert 0.04 < rules.RELATIVE_ERROR_BOUND < 0.045
    # Beyond 2^17 minutes (about 91 days) everything shares the last bucket.
    assert rules.bucket_of(2**17) == rules.bucket_of(10**7) == rules.MAX_BUCKET


def test_merged_histograms_give_the_percentile_of_all_durations():
    first, second = {}, {}
    for value in (1, 2, 3):
        rules.hist_add(first, value)
    for value in (100, 200, 300, 400):
        rules.hist_add(second, value)
    merged = {}
    rules.hist_merge(merged, first)
    rules.hist_merge(merged, second)
    assert rules.hist_count(merged) == 7
    assert rules.hist_quantile(merged, 0.5) == pytest.approx(100, rel=rules.RELATIVE_ERROR_BOUND)
    assert rules.hist_quantile({}, 0.5) is None


def test_every_bucket_value_lies_inside_its_bucket():
    for index in range(rules.MAX_BUCKET + 1):
        low, high = rules.bucket_bounds(index)
        assert low <= rules.bucket_value(index) < high
        assert rules.bucket_of(low) == index or index == rules.MAX_BUCKET


def test_the_model_holds_exactly_the_counters_the_rules_add_up():
    fields = {f.name for f in DailyOrderStats._meta.get_fields()}
    assert set(rules.COUNTERS) | set(rules.HISTOGRAMS) <= fields


ORDER = rules.OrderFacts(id=1, estate_id=10, grid_id=20, kind="repair_home", channel="portal", submitted_at=at(0))


def event(action, minutes, days=0, to_status="", **payload):
    return rules.EventFacts(id=0, action=action, at=at(minutes, days), to_status=to_status, payload=payload)


def step(name, met=None, due=None, state="pending"):
    return rules.StepFacts(name, met, due, state)


def counts_by_person(result):
    out = {}
    for key, tally in result.items():
        for name, value in tally.counts.items():
            if value:
                out[(key[0], key[4], name)] = out.get((key[0], key[4], name), 0) + value
    return out


def test_a_reopened_order_is_not_fixed_first_time_and_the_reopen_counts_against_whoever_fixed_it():
    events = [
        event("submit", 0, to_status="submitted"),
        event("accept", 10, to_status="accepted"),
        event("dispatch", 20, to_status="dispatched", assignee_id=7),
        event("transfer", 25, to_status="dispatched", assignee_id=8),
        event("arrive", 60, to_status="arrived"),
        event("resolve", 120, to_status="resolved"),
        event("rate", 0, days=1, to_status="rated", verdict="returned", score=1),
        event("reopen", 0, days=1, to_status="accepted"),
        event("dispatch", 30, days=1, to_status="dispatched", assignee_id=7),
        event("arrive", 90, days=1, to_status="arrived"),
        event("resolve", 150, days=1, to_status="resolved"),
    ]
    steps = [step("arrive", met=at(90, 1), due=at(60, 1)), step("accept", met=at(10), due=at(30))]
    counts = counts_by_person(rules.order_contributions(ORDER, events, steps, TZ))
    day0, day1 = T0.date(), T0.date() + dt.timedelta(days=1)
    assert counts[(day0, None, "reported")] == 1 and counts[(day0, None, "reported_online")] == 1
    assert counts[(day0, 7, "dispatched")] == 1  # dispatch counts for the person sent
    assert counts[(day0, 8, "arrived")] == 1 and counts[(day0, 8, "resolved")] == 1  # after the transfer
    assert counts[(day0, 8, "first_resolved")] == 1
    assert (day0, 8, "first_time_fixed") not in counts  # it was reopened later
    assert counts[(day1, 8, "rated_bad")] == 1 and counts[(day1, 8, "reopened")] == 1
    assert counts[(day1, 7, "resolved")] == 1 and (day1, 7, "first_resolved") not in counts
    assert counts[(day1, 7, "sla_arrive_breached")] == 1  # met 30 minutes late, by the person holding it then
    assert counts[(day0, None, "sla_accept_met")] == 1  # the desk's clock
    result = rules.order_contributions(ORDER, events, steps, TZ)
    arrivals = [t.hists["arrival_hist"] for t in result.values() if t.hists["arrival_hist"]]
    assert arrivals == [{str(rules.bucket_of(60)): 1}]  # the first arrival only


def test_a_step_left_late_when_the_order_was_closed_counts_as_breached_on_the_closing_day():
    events = [
        event("submit", 0, to_status="submitted"),
        event("accept", 10, to_status="accepted"),
        event("force_close", 0, days=2, to_status="closed", reason="重复"),
    ]
    steps = [step("dispatch", due=at(70), state="breached"), step("arrive", due=at(600), state="pending")]
    counts = counts_by_person(rules.order_contributions(ORDER, events, steps, TZ))
    day2 = T0.date() + dt.timedelta(days=2)
    assert counts[(day2, None, "sla_dispatch_breached")] == 1
    assert counts[(day2, None, "closed")] == 1
    assert not any(name.startswith("sla_arrive") for _d, _p, name in counts)


def test_a_running_late_step_of_an_open_order_is_not_counted_yet():
    events = [event("submit", 0, to_status="submitted")]
    steps = [step("accept", due=at(30), state="breached")]
    counts = counts_by_person(rules.order_contributions(ORDER, events, steps, TZ))
    assert not any(name.startswith("sla_") for _d, _p, name in counts)


def test_counts_land_on_the_local_day_not_the_utc_day():
    late_evening = rules.OrderFacts(1, 10, None, "complaint", "phone", dt.datetime(2026, 11, 18, 16, 30, tzinfo=dt.UTC))
    events = [rules.EventFacts(1, "submit", late_evening.submitted_at, "submitted")]
    (key,) = rules.order_contributions(late_evening, events, [], TZ)
    assert key[0] == dt.date(2026, 11, 19)  # 00:30 in Shanghai


def test_kpi_values_use_the_survey_index_once_there_is_one():
    tally = rules.Tally()
    tally.counts.update(rated_good=3, rated_bad=1, complaints=2, reported=4, reported_online=1)
    proxy = rules.kpi_values(tally, rules.Context(days=365, households=500))
    assert proxy[KpiCode.SATISFACTION] == 75.0
    assert proxy[KpiCode.COMPLAINT_RATE] == pytest.approx(4.0)  # 2 per 500 households a year = 4 per 1,000
    assert proxy[KpiCode.ONLINE_SHARE] == 25.0
    assert proxy[KpiCode.PATROL_COMPLETION] is None
    surveyed = rules.kpi_values(tally, rules.Context(days=365, households=500, survey_satisfaction=88.0))
    assert surveyed[KpiCode.SATISFACTION] == 88.0


def test_the_complaint_rate_of_a_month_is_scaled_to_a_year():
    assert rules.complaint_rate(1, 1000, 30) == pytest.approx(365 / 30)
    assert rules.complaint_rate(1, 0, 30) is None


@pytest.mark.parametrize(
    ("start", "end", "months", "days"),
    [
        ("2026-11-01", "2026-11-20", ["2026-11-01"], []),  # this month so far: the month row
        ("2026-11-01", "2026-11-30", ["2026-11-01"], []),  # beyond today: still the month row
        ("2026-11-01", "2026-11-19", [], [f"2026-11-{d:02d}" for d in range(1, 20)]),  # stops before today
        ("2026-09-30", "2026-11-02", ["2026-10-01"], ["2026-09-30", "2026-11-01", "2026-11-02"]),
        ("2025-11-01", "2025-11-30", ["2025-11-01"], []),
    ],
)
def test_a_period_splits_into_month_rows_and_edge_days(start, end, months, days):
    got = rules.split_period(dt.date.fromisoformat(start), dt.date.fromisoformat(end), dt.date(2026, 11, 20))
    assert got == ([dt.date.fromisoformat(m) for m in months], [dt.date.fromisoformat(d) for d in days])


def test_last_year_of_29_february_is_28_february():
    assert rules.shift_year(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
    assert rules.trend_months(dt.date(2026, 3, 5))[0] == dt.date(2025, 4, 1)


@pytest.mark.parametrize(
    ("value", "target", "direction", "expected"),
    [
        (95, 90, Direction.HIGHER, "good"),
        (85, 90, Direction.HIGHER, "warn"),
        (70, 90, Direction.HIGHER, "bad"),
        (30, 40, Direction.LOWER, "good"),
        (43, 40, Direction.LOWER, "warn"),
        (60, 40, Direction.LOWER, "bad"),
        (1, 0, Direction.LOWER, "bad"),
        (None, 40, Direction.LOWER, "none"),
        (50, None, Direction.HIGHER, "none"),
    ],
)
def test_status_colour_follows_the_direction_of_the_target(value, target, direction, expected):
    assert rules.status(value, target, direction) == expected
