"""The pure rules, against examples computed by hand."""

import datetime as dt

import pytest

from wuye.equipment import rules
from wuye.equipment.rules import Span, StatusChange

TZ = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=TZ)


# ---------------------------------------------------------------- calendar


def test_month_steps_clamp_to_the_month_end_without_drifting():
    start = dt.datetime(2026, 1, 31, 9, tzinfo=TZ)
    dues = rules.fixed_due_dates(
        starts_at=start, interval=1, unit="month", after=None, until=dt.datetime(2026, 5, 1, tzinfo=TZ)
    )
    assert [due.date().isoformat() for due in dues] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]


def test_fixed_due_dates_after_a_point_far_from_the_start_are_the_same_as_walking():
    start = dt.datetime(2020, 5, 17, 8, tzinfo=TZ)
    for unit, interval in (("day", 15), ("week", 2), ("month", 3)):
        after = dt.datetime(2026, 3, 1, tzinfo=TZ)
        until = dt.datetime(2026, 9, 1, tzinfo=TZ)
        walked = [
            due
            for due in rules.fixed_due_dates(starts_at=start, interval=interval, unit=unit, after=None, until=until)
            if due > after
        ]
        jumped = rules.fixed_due_dates(starts_at=start, interval=interval, unit=unit, after=after, until=until)
        assert jumped == walked and jumped, unit


def test_a_plan_opens_orders_up_to_its_lead_time_ahead():
    start = at(1, 9)
    dues = rules.fixed_dues_to_open(
        starts_at=start, interval=15, unit="day", last_due=None, now=at(1, 8), lead=dt.timedelta(days=20)
    )
    assert dues == [at(1, 9), at(16, 9)]


def test_missed_due_dates_open_one_catch_up_order_not_one_each():
    start = at(1, 9, month=1)
    dues = rules.fixed_dues_to_open(
        starts_at=start, interval=7, unit="day", last_due=None, now=at(1, 12), lead=dt.timedelta(days=3)
    )
    # 1 Jan + 8 weeks = 26 Feb is the last one before 1 Mar noon; 5 Mar is beyond the 3-day lead.
    assert dues == [dt.datetime(2026, 2, 26, 9, tzinfo=TZ)]


def test_due_dates_already_opened_are_not_opened_again():
    start = at(1, 9)
    dues = rules.fixed_dues_to_open(
        starts_at=start, interval=1, unit="week", last_due=at(15, 9), now=at(14), lead=dt.timedelta(days=10)
    )
    assert dues == [at(22, 9)]


def test_a_floating_plan_counts_from_the_last_completion():
    assert rules.floating_next_due(starts_at=at(1), interval=2, unit="week", counted_from=None) == at(1)
    assert rules.floating_next_due(starts_at=at(1), interval=2, unit="week", counted_from=at(5, 16)) == at(19, 16)


# ---------------------------------------------------------------- meter


def decide(reading, **overrides):
    arguments = {
        "condition": ">=",
        "value": 2000.0,
        "every": 500.0,
        "next_value": None,
        "reading": reading,
        "last_triggered_at": None,
        "min_wait": dt.timedelta(0),
        "now": at(10),
        "has_open_order": False,
    }
    arguments.update(overrides)
    return rules.meter_decide(**arguments)


def test_a_meter_below_the_value_does_not_fire():
    assert decide(1999.9) == rules.MeterDecision(fire=False, next_value=None)


def test_a_meter_passing_the_value_fires_and_moves_to_the_next_interval():
    assert decide(2003.0) == rules.MeterDecision(fire=True, next_value=2500.0)
    assert decide(2499.0, next_value=2500.0).fire is False
    assert decide(2500.0, next_value=2500.0) == rules.MeterDecision(fire=True, next_value=3000.0)


def test_a_meter_that_jumped_several_intervals_fires_once_and_lands_beyond_the_reading():
    assert decide(3720.0, next_value=2500.0) == rules.MeterDecision(fire=True, next_value=4000.0)


def test_the_minimum_wait_holds_the_next_order_back():
    waiting = decide(2600.0, next_value=2500.0, last_triggered_at=at(9), min_wait=dt.timedelta(days=2))
    assert waiting == rules.MeterDecision(fire=False, next_value=2500.0, waiting=True)
    assert decide(2600.0, next_value=2500.0, last_triggered_at=at(8), min_wait=dt.timedelta(days=2)).fire


def test_a_falling_meter_fires_at_or_below_the_value():
    assert decide(24.0, condition="<=", value=25.0, every=None).fire
    assert not decide(25.1, condition="<=", value=25.0, every=None).fire
    assert decide(14.0, condition="<=", value=25.0, every=5.0) == rules.MeterDecision(fire=True, next_value=10.0)


def test_a_level_trigger_waits_for_the_open_order_to_be_done():
    assert not decide(60.0, value=50.0, every=None, has_open_order=True).fire
    assert decide(60.0, value=50.0, every=None) == rules.MeterDecision(fire=True, next_value=None)


# ---------------------------------------------------------------- reliability

START, END = at(1), at(31)  # 30 days = 720 hours


def test_no_failures_means_no_mtbf_and_no_mttr_and_full_availability():
    result = rules.reliability(failures=[], start=START, end=END)
    assert result.failures == 0 and result.repairs == 0
    assert result.mtbf_hours is None and result.mttr_hours is None
    assert result.availability == 1.0
    assert result.uptime_hours == 720.0


def test_two_repairs_give_mtbf_and_mttr_by_hand():
    # 4 h on the 5th and 8 h on the 20th: downtime 12 h, uptime 708 h, MTBF 708 / 2 = 354 h, MTTR (4 + 8) / 2 = 6 h.
    failures = [Span(at(5, 10), at(5, 14)), Span(at(20, 0), at(20, 8))]
    result = rules.reliability(failures=failures, start=START, end=END)
    assert (result.failures, result.repairs, result.open_failures) == (2, 2, 0)
    assert result.downtime_hours == 12.0
    assert result.mtbf_hours == 354.0
    assert result.mttr_hours == 6.0
    assert result.availability == pytest.approx(708 / 720)


def test_an_open_failure_counts_as_failure_and_downtime_but_not_as_a_repair():
    # Open since the 30th 0:00: 24 h down to the end; one closed 6 h repair. Uptime 720 - 30 = 690, MTBF 345.
    failures = [Span(at(10, 6), at(10, 12)), Span(at(30, 0), None)]
    result = rules.reliability(failures=failures, start=START, end=END)
    assert (result.failures, result.repairs, result.open_failures) == (2, 1, 1)
    assert result.downtime_hours == 30.0
    assert result.mttr_hours == 6.0
    assert result.mtbf_hours == 345.0


def test_overlapping_orders_about_one_stoppage_are_one_failure():
    # An alarm order 8:00-12:00 and a fault report 9:00-14:00: one episode of 6 h.
    failures = [Span(at(5, 8), at(5, 12)), Span(at(5, 9), at(5, 14))]
    result = rules.reliability(failures=failures, start=START, end=END)
    assert result.failures == 1 and result.mttr_hours == 6.0 and result.downtime_hours == 6.0


def test_a_failure_that_began_before_the_period_counts_its_downtime_inside_only():
    # 28 Feb 20:00 → 1 Mar 4:00: 4 h inside; it did not begin in the period, it ended in it (MTTR 8 h).
    failures = [Span(dt.datetime(2026, 2, 28, 20, tzinfo=TZ), at(1, 4))]
    result = rules.reliability(failures=failures, start=START, end=END)
    assert result.failures == 0 and result.repairs == 1
    assert result.downtime_hours == 4.0 and result.mttr_hours == 8.0 and result.mtbf_hours is None


def test_faulty_status_is_a_failure_and_maintenance_is_planned_downtime():
    changes = [
        StatusChange(at(1), "in_service"),
        StatusChange(at(3, 0), "faulty"),
        StatusChange(at(3, 10), "in_service"),  # 10 h faulty
        StatusChange(at(12, 8), "under_maintenance"),
        StatusChange(at(12, 12), "in_service"),  # 4 h planned
    ]
    # A repair order 3rd 2:00 → 3rd 12:00 overlaps the faulty spell: one episode 0:00-12:00 = 12 h.
    failures = [Span(at(3, 2), at(3, 12))]
    result = rules.reliability(failures=failures, status_changes=changes, start=START, end=END)
    assert result.failures == 1 and result.mttr_hours == 12.0
    assert result.downtime_hours == 12.0 and result.planned_downtime_hours == 4.0
    assert result.uptime_hours == 704.0 and result.mtbf_hours == 704.0


def test_an_item_still_faulty_has_an_open_failure():
    changes = [StatusChange(at(29, 0), "faulty")]
    result = rules.reliability(failures=[], status_changes=changes, start=START, end=END)
    assert result.open_failures == 1 and result.failures == 1
    assert result.downtime_hours == 48.0 and result.mttr_hours is None


def test_an_empty_period_has_no_figures():
    result = rules.reliability(failures=[Span(at(2), at(3))], start=END, end=START)
    assert result.availability is None and result.mtbf_hours is None


# ---------------------------------------------------------------- devices and charts


def test_a_device_is_online_only_within_its_expected_interval():
    every = dt.timedelta(minutes=5)
    assert rules.device_state(last_seen_at=None, now=at(2), expected_every=every) == "never"
    assert rules.device_state(last_seen_at=at(2) - every, now=at(2), expected_every=every) == "online"
    last = at(2) - every - dt.timedelta(seconds=1)
    assert rules.device_state(last_seen_at=last, now=at(2), expected_every=every) == "offline"


def test_thinning_keeps_short_series_and_averages_long_ones():
    short = [(float(i), float(i)) for i in range(5)]
    assert rules.thin(short, max_points=10) == short
    long = [(float(i), float(i % 2)) for i in range(100)]
    thinned = rules.thin(long, max_points=10)
    assert len(thinned) == 10
    assert all(value == 0.5 for _x, value in thinned)
