import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wuye.workorders.rules import (
    DEFAULT_CALENDAR_SPEC,
    DEFAULT_ESCALATION,
    BusinessCalendar,
    EscalationLevel,
    Pause,
    add_business_time,
    appointment_window_valid,
    arrival_due_for_appointment,
    business_time_between,
    due_at,
    escalation_from_spec,
    escalation_levels_due,
    step_clock,
    warning_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)

WEEKDAYS_9_TO_18 = {"weekly_hours": {str(day): [["09:00", "18:00"]] for day in range(1, 6)}}
EVERY_DAY = BusinessCalendar.from_spec(DEFAULT_CALENDAR_SPEC, SHANGHAI)
OFFICE = BusinessCalendar.from_spec(WEEKDAYS_9_TO_18, SHANGHAI)
WITH_LUNCH = BusinessCalendar.from_spec(
    {"weekly_hours": {str(day): [["08:30", "12:00"], ["13:30", "18:00"]] for day in range(1, 6)}}, SHANGHAI
)
# Golden Week 2026: 1–7 October closed; Sunday 27 September and Saturday 10 October are worked (调休).
GOLDEN_WEEK = BusinessCalendar.from_spec(
    {
        **WEEKDAYS_9_TO_18,
        "holidays": [f"2026-10-0{day}" for day in range(1, 8)],
        "makeup_workdays": ["2026-09-27", "2026-10-10"],
    },
    SHANGHAI,
)
ALWAYS = BusinessCalendar.always(SHANGHAI)
LONDON_DAYS = BusinessCalendar.from_spec(
    {"weekly_hours": {str(day): [["09:00", "18:00"]] for day in range(1, 8)}}, LONDON
)


def at(month: int, day: int, hour: int = 0, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=tz)


# 2026-11-20 is a Friday, 2026-11-23 a Monday.
FRI, SAT, SUN, MON, TUE = 20, 21, 22, 23, 24


# --- business calendars ----------------------------------------------------------------------------------------------


def test_a_limit_running_past_closing_time_continues_at_next_mornings_opening():
    assert add_business_time(EVERY_DAY, at(11, FRI, 19), 2 * H) == at(11, SAT, 9)


def test_the_lunch_break_does_not_count():
    assert add_business_time(WITH_LUNCH, at(11, MON, 11), 2 * H) == at(11, MON, 14, 30)
    assert business_time_between(WITH_LUNCH, at(11, MON, 11), at(11, MON, 14, 30)) == 2 * H


def test_weekends_are_skipped_on_an_office_calendar():
    assert add_business_time(OFFICE, at(11, FRI, 17), 2 * H) == at(11, MON, 10)
    assert business_time_between(OFFICE, at(11, FRI, 17), at(11, MON, 10)) == 2 * H


def test_golden_week_holidays_push_the_due_date_past_the_holiday():
    # Wednesday 30 September 17:00: one hour that day, the next one after the holiday (Thursday 8 October).
    assert add_business_time(OFFICE, at(9, 30, 17), 2 * H) == at(10, 1, 10)
    assert add_business_time(GOLDEN_WEEK, at(9, 30, 17), 2 * H) == at(10, 8, 10)


def test_a_make_up_sunday_is_counted_as_a_working_day_with_mondays_hours():
    # Saturday 26 September is closed; Sunday 27 September is a make-up working day.
    assert add_business_time(GOLDEN_WEEK, at(9, 26, 10), 2 * H) == at(9, 27, 11)
    assert add_business_time(OFFICE, at(9, 26, 10), 2 * H) == at(9, 28, 11)


def test_make_up_days_use_the_hours_of_the_configured_weekday():
    calendar = BusinessCalendar(
        tz=SHANGHAI,
        weekly_hours={1: ((dt.time(9), dt.time(18)),), 6: ((dt.time(10), dt.time(12)),)},
        makeup_workdays=frozenset({dt.date(2026, 9, 27)}),
        makeup_weekday=6,
    )
    assert add_business_time(calendar, at(9, 27, 7), 3 * H) == at(9, 28, 10)


def test_counting_begins_at_the_next_opening_when_started_outside_working_hours():
    assert add_business_time(OFFICE, at(11, MON, 7), H) == at(11, MON, 10)
    assert add_business_time(OFFICE, at(11, SAT, 3), H) == at(11, MON, 10)
    assert add_business_time(WITH_LUNCH, at(11, MON, 12, 15), H) == at(11, MON, 14, 30)


def test_zero_duration_is_the_start_inside_working_hours_and_the_next_opening_outside():
    assert add_business_time(OFFICE, at(11, MON, 11, 7), dt.timedelta(0)) == at(11, MON, 11, 7)
    assert add_business_time(OFFICE, at(11, FRI, 20), dt.timedelta(0)) == at(11, MON, 9)
    # Working hours are half-open: closing time itself is already closed.
    assert add_business_time(OFFICE, at(11, FRI, 18), dt.timedelta(0)) == at(11, MON, 9)


def test_a_limit_that_runs_out_exactly_at_closing_time_is_due_at_closing_time():
    assert add_business_time(OFFICE, at(11, MON, 9), 9 * H) == at(11, MON, 18)


def test_an_always_open_calendar_is_plain_addition():
    assert add_business_time(ALWAYS, at(11, FRI, 19), 30 * H) == at(11, SUN, 1)
    assert business_time_between(ALWAYS, at(11, FRI, 19), at(11, SUN, 1)) == 30 * H


def test_a_day_can_be_open_until_midnight():
    evenings = BusinessCalendar.from_spec(
        {"weekly_hours": {str(d): [["20:00", "24:00"]] for d in range(1, 8)}}, SHANGHAI
    )
    assert add_business_time(evenings, at(11, MON, 23), 2 * H) == at(11, TUE, 21)
    assert evenings.to_spec()["weekly_hours"]["1"] == [["20:00", "24:00"]]


def test_the_result_is_in_the_time_zone_of_the_start():
    start = at(11, FRI, 17).astimezone(dt.UTC)
    due = add_business_time(OFFICE, start, 2 * H)
    assert due.tzinfo is dt.UTC
    assert due == at(11, MON, 10)


def test_working_hours_stay_on_the_wall_clock_across_a_dst_change():
    # London springs forward on Sunday 29 March 2026: Sunday's 09:00 opening is 08:00 UTC, Saturday's was 09:00 UTC.
    due = add_business_time(LONDON_DAYS, at(3, 28, 17, tz=LONDON), 2 * H)
    assert due == at(3, 29, 10, tz=LONDON)
    assert due.astimezone(dt.UTC).hour == 9
    assert business_time_between(LONDON_DAYS, at(3, 28, 17, tz=LONDON), due) == 2 * H


def test_no_working_time_between_an_end_before_the_start():
    assert business_time_between(OFFICE, at(11, MON, 12), at(11, MON, 10)) == dt.timedelta(0)


def test_a_calendar_without_working_time_gives_up_with_a_clear_error():
    closed = BusinessCalendar.from_spec({}, SHANGHAI)
    with pytest.raises(ValueError, match="calendar has no working time"):
        add_business_time(closed, at(11, MON, 9), H)


def test_naive_datetimes_and_negative_durations_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(OFFICE, dt.datetime(2026, 11, 23, 9), H)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(OFFICE, at(11, MON, 9), -H)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"weekly_hours": {"1": [["12:00", "08:00"]]}},
            r"weekly_hours\[1\]\[0\]: end 08:00 is not after start 12:00",
        ),
        ({"weekly_hours": {"2": [["08:00", "12:00"], ["11:00", "14:00"]]}}, r"weekly_hours\[2\]: .* overlap"),
        ({"weekly_hours": {"8": [["08:00", "12:00"]]}}, r"weekly_hours\[8\]: .* not an ISO weekday"),
        ({"weekly_hours": {"1": [["8am", "12:00"]]}}, r"weekly_hours\[1\]\[0\] start: '8am' is not a time"),
        ({"weekly_hours": {"1": [["08:00"]]}}, r"weekly_hours\[1\]\[0\]: must be a \[start, end\] pair"),
        ({"holidays": ["2026-10-01", "2026-13-01"]}, r"holidays\[1\]: '2026-13-01' is not a date"),
        ({"makeup_workdays": "2026-09-27"}, r"makeup_workdays: must be a list"),
        (
            {**WEEKDAYS_9_TO_18, "holidays": ["2026-10-01"], "makeup_workdays": ["2026-10-01"]},
            "also listed in holidays",
        ),
        ({"makeup_workdays": ["2026-09-27"]}, r"makeup_weekday: .* weekday 1, which has none"),
        ({"weekly_hours": {}, "timezone": "UTC"}, "timezone: unknown key"),
    ],
)
def test_a_bad_calendar_spec_is_refused_with_a_message_naming_the_key(spec, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_spec(spec, SHANGHAI)


def test_a_calendar_survives_a_round_trip_through_its_json_form():
    assert BusinessCalendar.from_spec(GOLDEN_WEEK.to_spec(), SHANGHAI) == GOLDEN_WEEK
    assert BusinessCalendar.from_spec(DEFAULT_CALENDAR_SPEC, SHANGHAI).to_spec() == DEFAULT_CALENDAR_SPEC


def test_the_default_calendar_opens_eight_to_eight_every_day_of_the_week():
    for day in range(16, 23):
        assert business_time_between(EVERY_DAY, at(11, day), at(11, day + 1)) == 12 * H


# --- pauses --------------------------------------------------------------------------------------------------------


def test_an_hour_on_hold_in_working_time_moves_the_due_time_by_an_hour():
    assert due_at(OFFICE, started_at=at(11, MON, 9), limit=4 * H, pauses=[]) == at(11, MON, 13)
    paused = [Pause(at(11, MON, 10), at(11, MON, 11))]
    assert due_at(OFFICE, started_at=at(11, MON, 9), limit=4 * H, pauses=paused) == at(11, MON, 14)


def test_a_hold_entirely_outside_working_time_moves_nothing():
    paused = [Pause(at(11, SAT, 10), at(11, SUN, 10))]
    assert due_at(OFFICE, started_at=at(11, FRI, 17), limit=2 * H, pauses=paused) == at(11, MON, 10)


def test_an_overnight_hold_only_counts_its_working_hours():
    # Held Monday 17:00 to Tuesday 10:00: two working hours stopped, so due Tuesday 15:00 instead of 13:00.
    paused = [Pause(at(11, MON, 17), at(11, TUE, 10))]
    assert due_at(OFFICE, started_at=at(11, MON, 13), limit=9 * H, pauses=paused) == at(11, TUE, 15)


def test_overlapping_and_duplicated_holds_are_counted_once():
    paused = [
        Pause(at(11, MON, 10), at(11, MON, 11)),
        Pause(at(11, MON, 10, 30), at(11, MON, 11, 30)),
        Pause(at(11, MON, 10), at(11, MON, 11)),
    ]
    assert due_at(OFFICE, started_at=at(11, MON, 9), limit=4 * H, pauses=paused) == at(11, MON, 14, 30)


def test_a_hold_that_began_before_the_step_only_counts_from_the_steps_start():
    paused = [Pause(at(11, MON, 8), at(11, MON, 10)), Pause(at(11, FRI, 9), at(11, FRI, 18))]
    assert due_at(OFFICE, started_at=at(11, MON, 9), limit=4 * H, pauses=paused) == at(11, MON, 14)


def test_an_order_still_on_hold_has_no_due_time():
    paused = [Pause(at(11, MON, 10))]
    assert due_at(OFFICE, started_at=at(11, MON, 9), limit=4 * H, pauses=paused) is None
    assert due_at(OFFICE, started_at=at(11, MON, 11), limit=4 * H, pauses=paused) is None


def test_a_hold_that_began_after_the_due_time_does_not_change_it():
    paused = [Pause(at(11, MON, 15))]
    assert due_at(OFFICE, started_at=at(11, MON, 9), limit=4 * H, pauses=paused) == at(11, MON, 13)


def test_a_hold_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="before Pause.start"):
        Pause(at(11, MON, 11), at(11, MON, 10))


def test_the_warning_comes_at_eighty_percent_of_the_limit():
    assert warning_at(EVERY_DAY, started_at=at(11, MON, 9), limit=5 * H, warn_ratio=0.8, pauses=[]) == at(11, MON, 13)
    # 8 of 10 working hours: the whole of Monday after 09:00 is 9 hours, so the warning is the same day at 17:00.
    assert warning_at(OFFICE, started_at=at(11, MON, 9), limit=10 * H, warn_ratio=0.8, pauses=[]) == at(11, MON, 17)
    paused = [Pause(at(11, MON, 10), at(11, MON, 11))]
    assert warning_at(EVERY_DAY, started_at=at(11, MON, 9), limit=5 * H, warn_ratio=0.8, pauses=paused) == at(
        11, MON, 14
    )
    with pytest.raises(ValueError, match="warn_ratio"):
        warning_at(EVERY_DAY, started_at=at(11, MON, 9), limit=5 * H, warn_ratio=1.0, pauses=[])


# --- step clocks ------------------------------------------------------------------------------------------------------


def clock(calendar=OFFICE, *, pauses=(), met_at=None, now):
    # Started Monday 09:00 with a 4-hour limit: due Monday 13:00, warned 12:12 when nothing is paused.
    return step_clock(
        calendar, started_at=at(11, MON, 9), limit=4 * H, warn_ratio=0.8, pauses=list(pauses), met_at=met_at, now=now
    )


def test_a_step_before_its_due_time_is_pending():
    result = clock(now=at(11, MON, 12))
    assert (result.state, result.due_at, result.warn_at, result.overdue_by) == (
        "pending",
        at(11, MON, 13),
        at(11, MON, 12, 12),
        None,
    )
    assert clock(now=at(11, MON, 13)).state == "pending"


def test_a_step_met_exactly_at_its_due_time_is_met():
    result = clock(met_at=at(11, MON, 13), now=at(11, TUE, 9))
    assert (result.state, result.met_at, result.overdue_by) == ("met", at(11, MON, 13), None)


def test_a_step_met_late_is_breached_by_the_working_time_it_was_late():
    result = clock(met_at=at(11, TUE, 10), now=at(11, TUE, 12))
    # 13:00–18:00 on Monday and 09:00–10:00 on Tuesday.
    assert (result.state, result.overdue_by) == ("breached", 6 * H)


def test_an_open_step_past_its_due_time_is_breached_by_the_working_time_so_far():
    result = clock(now=at(11, TUE, 10))
    assert (result.state, result.met_at, result.overdue_by) == ("breached", None, 6 * H)


def test_a_round_the_clock_step_is_late_by_wall_time():
    result = clock(ALWAYS, met_at=at(11, TUE, 10), now=at(11, TUE, 12))
    assert (result.state, result.overdue_by) == ("breached", 21 * H)


def test_a_step_missed_only_outside_working_hours_is_breached_by_zero():
    result = clock(met_at=at(11, MON, 19), now=at(11, TUE, 9), pauses=[Pause(at(11, MON, 9), at(11, MON, 14))])
    assert result.due_at == at(11, MON, 18)
    assert (result.state, result.overdue_by) == ("breached", dt.timedelta(0))


def test_time_on_hold_after_the_due_time_does_not_count_as_late():
    result = clock(now=at(11, MON, 16), pauses=[Pause(at(11, MON, 14), at(11, MON, 15))])
    assert (result.state, result.overdue_by) == ("breached", 2 * H)
    still_held = clock(now=at(11, MON, 16), pauses=[Pause(at(11, MON, 14))])
    assert (still_held.state, still_held.overdue_by) == ("breached", H)


def test_a_step_on_hold_is_paused_without_a_due_time_and_resumes_where_it_stopped():
    held = clock(now=at(11, TUE, 17), pauses=[Pause(at(11, MON, 12, 30))])
    assert (held.state, held.due_at, held.overdue_by) == ("paused", None, None)
    assert held.warn_at == at(11, MON, 12, 12)  # reached before the hold began
    # Resumed Wednesday 10:00 with the half hour that was left: due Wednesday 10:30.
    resumed = clock(now=at(11, TUE + 1, 10, 15), pauses=[Pause(at(11, MON, 12, 30), at(11, TUE + 1, 10))])
    assert (resumed.state, resumed.due_at) == ("pending", at(11, TUE + 1, 10, 30))


def test_a_step_met_while_on_hold_is_met():
    result = clock(met_at=at(11, TUE, 10), now=at(11, TUE, 11), pauses=[Pause(at(11, MON, 12))])
    assert result.state == "met"
    assert result.due_at is not None and result.due_at > at(11, TUE, 10)


# --- appointments -----------------------------------------------------------------------------------------------------


def test_an_appointment_moves_the_arrival_target_to_the_end_of_its_window():
    assert arrival_due_for_appointment(window_start=at(11, TUE, 14), window_end=at(11, TUE, 16)) == at(11, TUE, 16)
    with pytest.raises(ValueError):
        arrival_due_for_appointment(window_start=at(11, TUE, 16), window_end=at(11, TUE, 14))


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (at(11, TUE, 14), at(11, TUE, 16), None),
        (at(11, TUE, 14), at(11, TUE, 18), None),
        (at(11, TUE, 16), at(11, TUE, 14), "end_before_start"),
        (at(11, TUE, 14), at(11, TUE, 14), "end_before_start"),
        (at(11, TUE, 14), at(11, TUE, 18, 1), "too_long"),
        (at(11, MON, 9), at(11, MON, 11), "in_the_past"),
        (at(12, 23, 10, 1), at(12, 23, 12), "too_far_ahead"),
        (at(12, 23, 10), at(12, 23, 12), None),
    ],
)
def test_appointment_windows_are_checked(start, end, code):
    # Now is Monday 23 November 10:00; 30 days ahead is 23 December 10:00.
    assert appointment_window_valid(start, end, at(11, MON, 10)) == code


# --- escalation -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "levels"),
    [
        (at(11, MON, 13), []),
        (at(11, MON, 13) + MIN, [1]),
        (at(11, MON, 13, 30), [1]),
        (at(11, MON, 13, 31), [1, 2]),
        (at(11, MON, 15, 1), [1, 2, 3]),
        (at(11, MON, 21), [1, 2, 3]),
        (at(11, MON, 21, 1), [1, 2, 3, 4]),
    ],
)
def test_the_default_chain_escalates_to_each_role_after_its_delay(now, levels):
    assert escalation_levels_due(DEFAULT_ESCALATION, due_at=at(11, MON, 13), now=now) == levels


def test_escalation_delays_run_on_the_wall_clock_through_the_night():
    # Due at Friday's closing time; the manager is told at 02:00 on Saturday although nobody works then.
    assert escalation_levels_due(DEFAULT_ESCALATION, due_at=at(11, FRI, 18), now=at(11, SAT, 2, 1)) == [1, 2, 3, 4]


def test_a_paused_step_escalates_nothing():
    assert escalation_levels_due(DEFAULT_ESCALATION, due_at=None, now=at(11, TUE, 9)) == []


def test_the_default_chain_runs_from_assignee_to_manager():
    assert [(level.level, level.role, level.after) for level in DEFAULT_ESCALATION] == [
        (1, "assignee", dt.timedelta(0)),
        (2, "grid_leader", 30 * MIN),
        (3, "supervisor", 2 * H),
        (4, "manager", 8 * H),
    ]


def test_a_policys_escalation_chain_is_read_from_json_and_numbered_in_order():
    levels = escalation_from_spec(
        [{"role": "grid_leader", "after_minutes": 15}, {"role": "manager", "after_minutes": 60}]
    )
    assert levels == (EscalationLevel(1, "grid_leader", 15 * MIN), EscalationLevel(2, "manager", 60 * MIN))
    assert escalation_from_spec([]) == DEFAULT_ESCALATION


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([{"role": "janitor", "after_minutes": 0}], r"escalation\[0\]\.role"),
        ([{"role": "manager", "after_minutes": -5}], r"escalation\[0\]\.after_minutes"),
        ([{"role": "manager"}], r"escalation\[0\]: must be an object"),
        (
            [{"role": "supervisor", "after_minutes": 60}, {"role": "manager", "after_minutes": 30}],
            r"escalation\[1\]\.after_minutes: 30 is earlier",
        ),
    ],
)
def test_a_bad_escalation_chain_is_refused_naming_the_entry(spec, message):
    with pytest.raises(ValueError, match=message):
        escalation_from_spec(spec)


# --- properties -------------------------------------------------------------------------------------------------------

calendars = st.sampled_from([EVERY_DAY, OFFICE, WITH_LUNCH, GOLDEN_WEEK, ALWAYS, LONDON_DAYS])
starts = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.sampled_from([SHANGHAI, LONDON]),
)
durations = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=30))


@given(calendars, starts, durations)
def test_the_working_time_up_to_the_due_time_is_the_duration(calendar, start, duration):
    due = add_business_time(calendar, start, duration)
    # Compare in UTC: aware datetimes sharing a tzinfo compare by wall clock, which is wrong across a DST change.
    assert due.astimezone(dt.UTC) >= start.astimezone(dt.UTC)
    assert business_time_between(calendar, start, due) == duration


@given(calendars, starts, durations, durations)
def test_a_longer_duration_is_never_due_earlier(calendar, start, first, second):
    shorter, longer = sorted([first, second])
    earlier = add_business_time(calendar, start, shorter).astimezone(dt.UTC)
    assert earlier <= add_business_time(calendar, start, longer).astimezone(dt.UTC)


@given(calendars, starts, durations)
def test_due_at_without_holds_is_plain_business_time(calendar, start, limit):
    assert due_at(calendar, started_at=start, limit=limit, pauses=[]) == add_business_time(calendar, start, limit)


@given(
    calendars,
    starts,
    durations,
    st.timedeltas(min_value=-dt.timedelta(days=2), max_value=dt.timedelta(days=20)),
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=5)),
)
def test_working_time_on_hold_is_added_back_exactly(calendar, start, limit, offset, length):
    # Absolute time arithmetic (in UTC): wall-clock addition on an aware datetime is wrong across a DST change.
    hold_start = start.astimezone(dt.UTC) + offset
    hold = Pause(hold_start, hold_start + length)
    due = due_at(calendar, started_at=start, limit=limit, pauses=[hold])
    assert due is not None
    utc = [moment.astimezone(dt.UTC) for moment in (start, hold.start, hold.end, due)]
    held = business_time_between(calendar, max(utc[1], utc[0]), min(utc[2], utc[3]))
    assert business_time_between(calendar, start, due) == limit + held
