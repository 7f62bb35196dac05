"""Schedule specs and their occurrences in Asia/Shanghai, profile values and overrides, evidence, task moves and
closing windows — all pure, no database."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wuye.standards import rules
from wuye.standards.choices import TASK_TRANSITIONS, Dimension, TaskAction, TaskStatus

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def starts(schedule_spec, start, end):
    schedule = rules.parse_schedule(schedule_spec)
    return [slot.start for slot in rules.occurrences(schedule, start=start, end=end, tz=SH)]


def window(start="09:00", end="17:00"):
    return [{"start": start, "end": end}]


# ---------------------------------------------------------------- monthly: month ends and leap years


def test_the_31st_falls_on_the_last_day_of_every_short_month_in_2026():
    spec = {"kind": "monthly", "days": [31], "windows": window()}
    days = [s.date() for s in starts(spec, local(2026, 1, 1), local(2027, 1, 1))]
    assert days == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 31),
        dt.date(2026, 6, 30),
        dt.date(2026, 7, 31),
        dt.date(2026, 8, 31),
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 31),
    ]


def test_last_day_of_february_is_the_29th_in_a_leap_year_and_the_28th_otherwise():
    spec = {"kind": "monthly", "days": ["last"], "windows": window()}
    assert [s.date() for s in starts(spec, local(2028, 2, 1), local(2028, 3, 1))] == [dt.date(2028, 2, 29)]
    assert [s.date() for s in starts(spec, local(2027, 2, 1), local(2027, 3, 1))] == [dt.date(2027, 2, 28)]
    assert [s.date() for s in starts(spec, local(2100, 2, 1), local(2100, 3, 1))] == [dt.date(2100, 2, 28)]


def test_the_30th_and_the_last_day_happen_once_when_they_land_on_the_same_date():
    spec = {"kind": "monthly", "days": [29, 30, "last"], "windows": window()}
    february = [s.date() for s in starts(spec, local(2026, 2, 1), local(2026, 3, 1))]
    assert february == [dt.date(2026, 2, 28)]
    april = [s.date() for s in starts(spec, local(2026, 4, 1), local(2026, 5, 1))]
    assert april == [dt.date(2026, 4, 29), dt.date(2026, 4, 30)]


def test_quarterly_glass_cleaning_happens_only_in_the_named_months():
    spec = {"kind": "monthly", "days": [1], "months": [1, 4, 7, 10], "windows": window()}
    days = [s.date() for s in starts(spec, local(2026, 1, 1), local(2027, 1, 1))]
    assert days == [dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 7, 1), dt.date(2026, 10, 1)]


# ---------------------------------------------------------------- weekdays, every N days, times a day


def test_weekly_uses_iso_weekdays_in_shanghai_not_utc():
    # Monday 2026-11-23 00:30 in Shanghai is still Sunday 16:30 in UTC: the Monday slot must be there.
    spec = {"kind": "weekly", "weekdays": [1], "windows": window("00:30", "01:30")}
    found = starts(spec, local(2026, 11, 22), local(2026, 11, 30))
    assert found == [local(2026, 11, 23, 0, 30)]
    assert found[0].astimezone(UTC) == dt.datetime(2026, 11, 22, 16, 30, tzinfo=UTC)


def test_weekdays_monday_wednesday_friday_over_two_weeks():
    spec = {"kind": "weekly", "weekdays": [1, 3, 5], "windows": window()}
    days = [s.date() for s in starts(spec, local(2026, 11, 23), local(2026, 12, 7))]
    assert [d.isoweekday() for d in days] == [1, 3, 5, 1, 3, 5]
    assert days[0] == dt.date(2026, 11, 23)


def test_every_three_days_counts_from_the_anchor_across_a_year_end():
    spec = {"kind": "every_n_days", "every_days": 3, "anchor": "2026-12-30", "windows": window()}
    days = [s.date() for s in starts(spec, local(2026, 12, 25), local(2027, 1, 10))]
    assert days == [
        dt.date(2026, 12, 27),
        dt.date(2026, 12, 30),
        dt.date(2027, 1, 2),
        dt.date(2027, 1, 5),
        dt.date(2027, 1, 8),
    ]


def test_twice_a_day_gives_two_windows_with_their_ends():
    spec = {"kind": "daily", "windows": [{"start": "16:00", "end": "18:00"}, {"start": "07:00", "end": "09:00"}]}
    schedule = rules.parse_schedule(spec)
    slots = rules.occurrences(schedule, start=local(2026, 11, 27), end=local(2026, 11, 28), tz=SH)
    assert [(s.start, s.end) for s in slots] == [
        (local(2026, 11, 27, 7), local(2026, 11, 27, 9)),
        (local(2026, 11, 27, 16), local(2026, 11, 27, 18)),
    ]


def test_hourly_patrol_cuts_the_day_into_24_one_hour_slots():
    spec = {"kind": "daily", "windows": window("00:00", "24:00"), "every_minutes": 60}
    schedule = rules.parse_schedule(spec)
    slots = rules.occurrences(schedule, start=local(2026, 11, 27), end=local(2026, 11, 28), tz=SH)
    assert len(slots) == 24
    assert slots[-1] == rules.Slot(local(2026, 11, 27, 23), local(2026, 11, 28, 0))
    assert all(b.start == a.end for a, b in zip(slots, slots[1:], strict=False))


def test_a_window_past_midnight_ends_the_next_morning_and_belongs_to_the_day_it_starts():
    spec = {"kind": "weekly", "weekdays": [5], "windows": window("22:00", "06:00")}
    schedule = rules.parse_schedule(spec)
    slots = rules.occurrences(schedule, start=local(2026, 11, 27), end=local(2026, 11, 29), tz=SH)
    assert slots == [rules.Slot(local(2026, 11, 27, 22), local(2026, 11, 28, 6))]


def test_the_range_is_half_open_and_respects_time_of_day():
    spec = {"kind": "daily", "windows": window("09:00", "10:00")}
    assert starts(spec, local(2026, 11, 27, 9, 0), local(2026, 11, 28, 9, 0)) == [local(2026, 11, 27, 9)]
    assert starts(spec, local(2026, 11, 27, 9, 1), local(2026, 11, 28, 9, 1)) == [local(2026, 11, 28, 9)]


def test_a_range_given_in_utc_gives_the_same_local_slots():
    spec = {"kind": "daily", "windows": window("07:00", "09:00")}
    in_utc = starts(spec, dt.datetime(2026, 11, 26, 16, 0, tzinfo=UTC), dt.datetime(2026, 11, 27, 16, 0, tzinfo=UTC))
    assert in_utc == [local(2026, 11, 27, 7)]


def test_naive_datetimes_are_refused():
    schedule = rules.parse_schedule({"kind": "daily", "windows": window()})
    with pytest.raises(ValueError, match="aware"):
        rules.occurrences(schedule, start=dt.datetime(2026, 1, 1), end=local(2026, 1, 2), tz=SH)  # noqa: DTZ001


@given(
    day=st.integers(min_value=1, max_value=31),
    year=st.integers(min_value=2000, max_value=2100),
)
def test_any_day_of_month_happens_exactly_once_in_every_month(day, year):
    spec = {"kind": "monthly", "days": [day], "windows": window()}
    found = starts(spec, local(year, 1, 1), local(year + 1, 1, 1))
    assert [s.month for s in found] == list(range(1, 13))
    assert all(s.day == min(day, rules.month_length(year, s.month)) for s in found)


# ---------------------------------------------------------------- refusing bad specs


@pytest.mark.parametrize(
    ("spec", "field", "code"),
    [
        ({"kind": "hourly", "windows": window()}, "kind", "invalid_choice"),
        ({"kind": "daily"}, "windows", "required"),
        ({"kind": "daily", "windows": [{"start": "9:00", "end": "10:00"}]}, "windows[0].start", "invalid_time"),
        ({"kind": "daily", "windows": [{"start": "24:00", "end": "10:00"}]}, "windows[0].start", "invalid_time"),
        ({"kind": "daily", "windows": window("10:00", "10:00")}, "windows[0].end", "empty_window"),
        ({"kind": "daily", "windows": [*window("08:00", "10:00"), *window("09:00", "11:00")]}, "windows", "overlap"),
        ({"kind": "daily", "windows": [*window("08:00", "10:00"), *window("22:00", "09:00")]}, "windows", "overlap"),
        ({"kind": "weekly", "windows": window()}, "weekdays", "required"),
        ({"kind": "weekly", "weekdays": [0], "windows": window()}, "weekdays[0]", "out_of_range"),
        ({"kind": "every_n_days", "every_days": 3, "windows": window()}, "anchor", "invalid_date"),
        (
            {"kind": "every_n_days", "every_days": 0, "anchor": "2026-01-01", "windows": window()},
            "every_days",
            "out_of_range",
        ),
        ({"kind": "monthly", "days": [32], "windows": window()}, "days[0]", "out_of_range"),
        ({"kind": "monthly", "days": ["first"], "windows": window()}, "days[0]", "out_of_range"),
        ({"kind": "monthly", "days": [1], "months": [13], "windows": window()}, "months[0]", "out_of_range"),
        ({"kind": "daily", "weekdays": [1], "windows": window()}, "weekdays", "not_for_kind"),
        ({"kind": "daily", "windows": window(), "every_minutes": 1}, "every_minutes", "out_of_range"),
        ({"kind": "daily", "windows": window(), "colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_bad_specs_are_refused_naming_the_field_and_rule(spec, field, code):
    with pytest.raises(rules.ScheduleInvalid) as refusal:
        rules.parse_schedule(spec)
    assert (refusal.value.field, refusal.value.code) == (field, code)


# ---------------------------------------------------------------- profiles


def profile_values(**extra):
    values = {
        "emergency_arrival_minutes": 30,
        "repair_arrival_minutes": 240,
        "satisfaction_surveys_per_year": 1,
        "satisfaction_target_pct": 80,
        "lights_working_pct": 95,
        "lift_hours": "00:00-24:00",
        "frequencies": {"road_sweeping": {"kind": "daily", "windows": window("06:00", "08:00")}},
    }
    return {**values, **extra}


def test_a_complete_profile_has_no_problems_and_a_partial_override_may_name_one_value():
    assert rules.profile_value_problems(profile_values(), partial=False) == []
    assert rules.profile_value_problems({"emergency_arrival_minutes": 20}, partial=True) == []


def test_profile_problems_name_each_field():
    problems = rules.profile_value_problems(
        {
            "emergency_arrival_minutes": 0,
            "lift_hours": "25:00-26:00",
            "colour": "red",
            "frequencies": {"key_area_patrol": {"kind": "daily"}, "nonsense": None},
        },
        partial=True,
    )
    assert {(p.field, p.code) for p in problems} == {
        ("emergency_arrival_minutes", "out_of_range"),
        ("lift_hours", "invalid"),
        ("colour", "unknown_field"),
        ("frequencies.key_area_patrol.windows", "required"),
        ("frequencies.nonsense", "unknown_field"),
    }


def test_a_whole_profile_must_have_every_number():
    problems = rules.profile_value_problems({"frequencies": {}}, partial=False)
    assert {p.field for p in problems} == set(rules.PROFILE_NUMBERS)


def test_overrides_replace_values_and_single_frequencies():
    sweeping_three_times = {"kind": "daily", "windows": [*window("06:00", "07:00"), *window("12:00", "13:00")]}
    merged = rules.effective_profile(
        profile_values(),
        {
            "emergency_arrival_minutes": 20,
            "frequencies": {"road_sweeping": sweeping_three_times, "key_area_patrol": None},
        },
    )
    assert merged["emergency_arrival_minutes"] == 20
    assert merged["repair_arrival_minutes"] == 240
    assert merged["frequencies"] == {"road_sweeping": sweeping_three_times, "key_area_patrol": None}
    assert profile_values()["frequencies"]["road_sweeping"]["windows"] == window("06:00", "08:00")  # not mutated


def test_only_sla_overrides_that_differ_are_reported():
    assert rules.sla_overrides(profile_values(), {"emergency_arrival_minutes": 30, "lights_working_pct": 99}) == {}
    assert rules.sla_overrides(profile_values(), {"emergency_arrival_minutes": 20}) == {"emergency_arrival_minutes": 20}


def test_profile_segments_split_a_range_where_assignments_take_over():
    start, end = local(2026, 11, 1), local(2026, 12, 1)
    switch = local(2026, 11, 15, 12)
    segments = rules.profile_segments([(switch, "level_2"), (local(2026, 1, 1), "level_1")], start=start, end=end)
    assert segments == [
        rules.Segment(start, switch, "level_1"),
        rules.Segment(switch, end, "level_2"),
    ]
    assert rules.profile_segments([], start=start, end=end) == [rules.Segment(start, end, None)]


# ---------------------------------------------------------------- evidence


def test_evidence_needs_a_tick_a_number_and_a_stored_photo():
    required = [
        rules.RequiredEvidence("a", "tick"),
        rules.RequiredEvidence("b", "reading"),
        rules.RequiredEvidence("c", "photo"),
    ]
    missing = rules.evidence_problems(required, {"a": {"tick": False}, "b": {"reading": "high"}, "x": {}}, {})
    assert {(p.key, p.code) for p in missing} == {
        ("a", "tick_required"),
        ("b", "reading_required"),
        ("c", "photo_required"),
        ("x", "unknown_item"),
    }
    assert rules.evidence_problems(required, {"a": {"tick": True}, "b": {"reading": 0.35}}, {"c": 1}) == []


def test_a_reading_must_be_finite_and_not_a_boolean():
    required = [rules.RequiredEvidence("b", "reading")]
    assert rules.evidence_problems(required, {"b": {"reading": float("nan")}}, {})
    assert rules.evidence_problems(required, {"b": {"reading": True}}, {})


# ---------------------------------------------------------------- moves and windows


@pytest.mark.parametrize("status", TaskStatus.values)
@pytest.mark.parametrize("action", TaskAction.values)
def test_task_move_follows_the_table(status, action):
    sources, target = TASK_TRANSITIONS[action]
    assert rules.task_move(status, action) == (target if status in sources else None)


def test_done_and_missed_are_final():
    for action in TaskAction.values:
        assert rules.task_move(TaskStatus.DONE, action) is None
        assert rules.task_move(TaskStatus.MISSED, action) is None


def test_a_window_closes_late_then_missed_after_the_grace():
    end = local(2026, 11, 27, 9)
    grace = dt.timedelta(hours=2)

    def verdict(status, now):
        return rules.window_action(status=status, window_end=end, grace=grace, now=now)

    assert verdict(TaskStatus.PENDING, end - dt.timedelta(seconds=1)) is None
    assert verdict(TaskStatus.PENDING, end) == TaskAction.OVERDUE
    assert verdict(TaskStatus.IN_PROGRESS, end) == TaskAction.OVERDUE
    assert verdict(TaskStatus.LATE, end + dt.timedelta(hours=1)) is None
    assert verdict(TaskStatus.LATE, end + grace) == TaskAction.MISS
    # A scanner that was down through both goes straight to missed.
    assert verdict(TaskStatus.PENDING, end + grace) == TaskAction.MISS
    assert verdict(TaskStatus.DONE, end + grace) is None


def test_every_dimension_in_the_choices_is_accepted_as_a_frequency():
    for dimension in Dimension.values:
        assert rules.profile_value_problems({"frequencies": {dimension: None}}, partial=True) == []


def test_the_desk_timetable_form_reads_chinese_commas_short_hours_and_defaults_the_anchor_to_today():
    form = {"windows": "8:00-9:30， 20:00–06:00", "every_minutes": "60", "schedule_kind": "every_n_days"}
    spec, dimension, problems = rules.schedule_from_form(form, [], today=dt.date(2026, 11, 27))
    assert problems == [] and dimension == ""
    assert spec == {
        "kind": "every_n_days",
        "windows": [{"start": "08:00", "end": "09:30"}, {"start": "20:00", "end": "06:00"}],
        "every_minutes": 60,
        "every_days": None,
        "anchor": "2026-11-27",
    }
    rules.parse_schedule({**spec, "every_days": 2})  # what the form gives is what the scheduler takes


def test_the_desk_timetable_form_names_the_field_it_cannot_read():
    today = dt.date(2026, 11, 27)
    assert rules.schedule_from_form({"windows": ""}, [], today=today)[2] == [rules.FormProblem("windows", "required")]
    assert rules.schedule_from_form({"windows": "all night"}, [], today=today)[2][0].field == "windows"
    assert rules.schedule_from_form({"windows": "08:00-09:00", "every_minutes": "an hour"}, [], today=today)[2] == [
        rules.FormProblem("every_minutes", "not_a_number")
    ]
    assert rules.schedule_from_form({"timetable": "key_area_patrol"}, [], today=today) == (None, "key_area_patrol", [])
