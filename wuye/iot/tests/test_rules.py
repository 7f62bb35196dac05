"""The alarm-rule engine with explicit times: every kind of rule, hysteresis, schedules, de-duplication, persistence."""

import datetime as dt
import json
import math
import random
from zoneinfo import ZoneInfo

import pytest

from wuye.iot.rules import (
    REASON_MESSAGES,
    Engine,
    InvalidRule,
    Reading,
    RuleSpec,
    Schedule,
    format_number,
    parse_rule_spec,
    parse_schedule,
    reason_text,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = dt.datetime(2026, 6, 1, 8, 0, tzinfo=SHANGHAI)  # a Monday, 08:00 local


def at(minutes: float) -> dt.datetime:
    return MONDAY + dt.timedelta(minutes=minutes)


def rule(kind: str, rule_id: int = 1, severity: str = "major", metric: str = "temp", **params) -> RuleSpec:
    schedule = params.pop("schedule", None)
    device_ids = params.pop("device_ids", None)
    return RuleSpec(
        id=rule_id,
        metric=metric,
        kind=kind,
        severity=severity,
        params=params,
        device_ids=device_ids,
        schedule=schedule,
    )


def feed(engine: Engine, *points: tuple[float, float], device: int = 1, metric: str = "temp") -> list[tuple]:
    """Feed (minute, value) points; return (change, minute, reason_code) for every alarm change."""
    changes = []
    for minute, value in points:
        for change in engine.feed(Reading(device, metric, at(minute), value)):
            changes.append((change.change, (change.at - MONDAY) / dt.timedelta(minutes=1), change.reason_code))
    return changes


def tick(engine: Engine, minute: float) -> list[tuple]:
    return [
        (change.change, (change.at - MONDAY) / dt.timedelta(minutes=1), change.reason_code)
        for change in engine.tick(at(minute))
    ]


# ---------------------------------------------------------------------------------------------------------------------
# threshold


def test_threshold_raises_once_while_the_value_stays_above_the_limit():
    engine = Engine([rule("threshold", op=">", value=80)])
    assert feed(engine, (0, 79), (1, 81), (2, 85), (3, 90)) == [("raise", 1, "threshold_above")]


def test_threshold_with_hysteresis_stays_open_between_the_levels_and_clears_at_the_clear_level():
    engine = Engine([rule("threshold", op=">", value=80, clear=75)])
    changes = feed(engine, (0, 81), (1, 79), (2, 76), (3, 75.5), (4, 75), (5, 78), (6, 80.5))
    assert changes == [
        ("raise", 0, "threshold_above"),
        ("clear", 4, "threshold_cleared"),
        ("raise", 6, "threshold_above"),
    ]


def test_threshold_without_a_clear_level_clears_as_soon_as_the_condition_stops_holding():
    engine = Engine([rule("threshold", op=">", value=80)])
    assert feed(engine, (0, 81), (1, 80)) == [("raise", 0, "threshold_above"), ("clear", 1, "threshold_cleared")]


def test_greater_or_equal_raises_at_the_limit_and_greater_does_not():
    strict = Engine([rule("threshold", op=">", value=80)])
    inclusive = Engine([rule("threshold", op=">=", value=80)])
    assert feed(strict, (0, 80)) == []
    assert feed(inclusive, (0, 80)) == [("raise", 0, "threshold_above")]


def test_lower_limit_clears_at_or_above_its_clear_level():
    engine = Engine([rule("threshold", op="<", value=5, clear=8, unit="bar")])
    changes = feed(engine, (0, 6), (1, 4.5), (2, 7.9), (3, 8))
    assert changes == [("raise", 1, "threshold_below"), ("clear", 3, "threshold_cleared")]


def test_threshold_reason_explains_in_english_and_carries_its_code_and_params():
    engine = Engine([rule("threshold", severity="critical", op=">", value=80, unit="°C")])
    (change,) = engine.feed(Reading(7, "temp", at(0), 82.46))
    assert change.reason == "temp is 82.5 °C, above the limit of 80 °C"
    assert change.reason_code == "threshold_above"
    assert change.reason_params == {"metric": "temp", "unit": " °C", "value": "82.5", "limit": "80"}
    assert change.severity == "critical" and change.device_id == 7 and change.value == 82.46
    assert change.metric == "temp" and change.rule_id == 1


def test_reason_text_uses_the_translation_of_the_message_id():
    params = {"metric": "temp", "unit": "", "value": "82.5", "limit": "80"}
    translations = {REASON_MESSAGES["threshold_above"]: "%(metric)s 为 %(value)s%(unit)s，超过上限 %(limit)s%(unit)s"}
    assert reason_text("threshold_above", params, translations.get) == "temp 为 82.5，超过上限 80"


def test_devices_are_independent_and_rules_only_see_their_metric_and_devices():
    engine = Engine([rule("threshold", op=">", value=80, device_ids=frozenset({1, 2}))])
    assert feed(engine, (0, 90), device=1) == [("raise", 0, "threshold_above")]
    assert feed(engine, (0, 90), device=2) == [("raise", 0, "threshold_above")]
    assert feed(engine, (0, 90), device=3) == []
    assert feed(engine, (1, 90), device=1, metric="humidity") == []
    assert engine.open_alarms() == [(1, 1), (1, 2)]


# ---------------------------------------------------------------------------------------------------------------------
# duplicates, order, bad input


def test_a_duplicated_reading_never_raises_twice_or_clears():
    engine = Engine([rule("threshold", op=">", value=80, clear=75)])
    assert feed(engine, (0, 90)) == [("raise", 0, "threshold_above")]
    assert feed(engine, (0, 70)) == []  # same device, metric and time: a duplicate, even with another value
    assert feed(engine, (0, 90)) == []
    assert engine.open_alarms() == [(1, 1)]


def test_a_redelivered_batch_changes_nothing():
    engine = Engine([rule("threshold", op=">", value=80, clear=75)])
    batch = [Reading(1, "temp", at(minute), value) for minute, value in [(0, 70), (1, 90), (2, 70), (3, 91)]]
    first = engine.feed_many(batch)
    assert [change.change for change in first] == ["raise", "clear", "raise"]
    assert engine.feed_many(batch) == []


def test_an_out_of_order_reading_is_ignored():
    engine = Engine([rule("threshold", op=">", value=80, clear=75)])
    feed(engine, (0, 90), (10, 88))
    assert feed(engine, (5, 60)) == []  # older than the last accepted reading: would have cleared
    assert feed(engine, (11, 70)) == [("clear", 11, "threshold_cleared")]


def test_non_finite_values_are_ignored_and_naive_times_refused():
    engine = Engine([rule("threshold", op=">", value=80)])
    assert feed(engine, (0, math.nan), (1, math.inf)) == []
    assert feed(engine, (2, 81)) == [("raise", 2, "threshold_above")]
    with pytest.raises(ValueError, match="aware"):
        engine.feed(Reading(1, "temp", dt.datetime(2026, 6, 1, 9, 0), 90))
    with pytest.raises(ValueError, match="aware"):
        engine.tick(dt.datetime(2026, 6, 1, 9, 0))


# ---------------------------------------------------------------------------------------------------------------------
# duration


def test_duration_raises_only_after_the_condition_held_for_the_whole_period():
    engine = Engine([rule("duration", op=">", value=80, minutes=15)])
    changes = feed(engine, (0, 81), (5, 85), (10, 82), (14, 83), (15, 84), (20, 90))
    assert changes == [("raise", 15, "duration_above")]


def test_duration_restarts_when_the_condition_breaks():
    engine = Engine([rule("duration", op=">", value=80, minutes=15)])
    changes = feed(engine, (0, 81), (10, 82), (12, 79), (13, 81), (25, 81), (28, 81))
    assert changes == [("raise", 28, "duration_above")]


def test_duration_reason_says_how_long_and_clears_at_the_clear_level():
    engine = Engine([rule("duration", op="<", value=10, clear=12, minutes=30, unit="°C")])
    raised = engine.feed_many([Reading(1, "temp", at(minute), 8.0) for minute in (0, 10, 20, 31)])
    assert [change.reason for change in raised] == ["temp has been below 10 °C for 31 minutes (now 8 °C)"]
    assert feed(engine, (40, 11), (50, 12)) == [("clear", 50, "threshold_cleared")]


# ---------------------------------------------------------------------------------------------------------------------
# repeat


def test_repeat_raises_on_the_nth_crossing_within_the_window():
    engine = Engine([rule("repeat", op=">", value=80, count=3, within_minutes=60)])
    changes = feed(engine, (0, 81), (5, 70), (10, 81), (15, 70), (20, 70), (25, 82))
    assert changes == [("raise", 25, "repeat_above")]


def test_repeat_does_not_count_crossings_older_than_the_window():
    engine = Engine([rule("repeat", op=">", value=80, count=3, within_minutes=60)])
    assert feed(engine, (0, 81), (5, 70), (40, 81), (45, 70), (61, 81)) == []


def test_repeat_counts_a_long_excursion_once():
    engine = Engine([rule("repeat", op=">", value=80, count=2, within_minutes=60)])
    assert feed(engine, *[(minute, 85) for minute in range(0, 30, 5)]) == []


def test_repeat_with_a_clear_level_needs_the_value_to_come_back_before_a_new_crossing_counts():
    engine = Engine([rule("repeat", op=">", value=80, clear=70, count=3, within_minutes=60)])
    # Bouncing just under the limit is not a way back: one crossing so far.
    assert feed(engine, (0, 81), (5, 79), (10, 81), (15, 79), (20, 81)) == []
    assert feed(engine, (25, 69), (30, 81), (35, 69), (40, 81)) == [("raise", 40, "repeat_above")]


def test_repeat_clears_on_tick_when_the_window_has_passed_without_a_crossing():
    engine = Engine([rule("repeat", op=">", value=80, count=2, within_minutes=30)])
    assert feed(engine, (0, 81), (5, 70), (10, 81)) == [("raise", 10, "repeat_above")]
    assert engine.next_due() == at(40)
    assert tick(engine, 39) == []
    assert tick(engine, 40) == [("clear", 40, "repeat_cleared")]
    assert tick(engine, 41) == []


# ---------------------------------------------------------------------------------------------------------------------
# rate of change


def test_rate_raises_when_the_value_rises_by_the_change_within_the_span():
    engine = Engine([rule("rate", change=5, per_minutes=10)])
    assert feed(engine, (0, 20), (5, 22), (10, 25)) == [("raise", 10, "rate_rise")]


def test_a_slow_rise_is_not_a_rate_alarm():
    engine = Engine([rule("rate", change=5, per_minutes=10)])
    assert feed(engine, *[(minute, 20 + minute * 0.2) for minute in range(0, 120, 5)]) == []


def test_rate_fall_and_its_clear():
    engine = Engine([rule("rate", change=-3, per_minutes=10, unit="bar")])
    changes = feed(engine, (0, 10), (5, 9), (10, 6.5), (15, 5.9), (21, 5.9))
    assert changes == [("raise", 10, "rate_fall"), ("clear", 21, "rate_cleared")]


def test_rate_reason_names_the_change_and_span():
    engine = Engine([rule("rate", change=5, per_minutes=10, unit="°C")])
    engine.feed(Reading(1, "temp", at(0), 20))
    (change,) = engine.feed(Reading(1, "temp", at(8), 26.5))
    assert change.reason == "temp rose by 6.5 °C within 10 minutes (now 26.5 °C)"


# ---------------------------------------------------------------------------------------------------------------------
# no data


def test_no_data_raises_once_on_tick_after_the_silence_and_clears_on_the_next_reading():
    engine = Engine([rule("no_data", minutes=30)])
    feed(engine, (0, 20))
    assert engine.next_due() == at(30)
    assert tick(engine, 29) == []
    assert tick(engine, 30) == [("raise", 30, "no_data")]
    assert tick(engine, 45) == []
    assert feed(engine, (50, 21)) == [("clear", 50, "no_data_cleared")]


def test_no_data_reason_gives_the_last_reading_time_in_local_time():
    engine = Engine([rule("no_data", minutes=30)])
    feed(engine, (0, 20))
    (change,) = engine.tick(at(30))
    assert change.reason == "No temp reading for 30 minutes (last one at 2026-06-01T08:00+08:00)"
    assert change.value is None


def test_a_named_device_that_never_reports_raises_after_the_silence_from_the_first_tick():
    engine = Engine([rule("no_data", minutes=30, device_ids=frozenset({5}))])
    assert tick(engine, 0) == []
    assert engine.next_due() == at(30)
    assert tick(engine, 30) == [("raise", 30, "no_data_never")]


def test_no_data_watches_only_devices_that_send_the_metric_when_no_devices_are_named():
    engine = Engine([rule("no_data", minutes=30)])
    feed(engine, (0, 20), device=1)
    feed(engine, (0, 50), device=2, metric="humidity")
    assert [change.device_id for change in engine.tick(at(60))] == [1]


def test_a_late_backfilled_reading_clears_no_earlier_than_the_alarm_was_raised():
    engine = Engine([rule("no_data", minutes=30)])
    feed(engine, (0, 20))
    tick(engine, 40)
    assert feed(engine, (10, 21)) == [("clear", 40, "no_data_cleared")]


# ---------------------------------------------------------------------------------------------------------------------
# schedules


def test_daytime_schedule_is_active_between_start_and_end_on_its_weekdays():
    office = Schedule(frozenset({0, 1, 2, 3, 4}), dt.time(8, 0), dt.time(18, 0))
    assert office.active(dt.datetime(2026, 6, 1, 8, 0))  # Monday 08:00
    assert not office.active(dt.datetime(2026, 6, 1, 18, 0))
    assert not office.active(dt.datetime(2026, 6, 6, 10, 0))  # Saturday


def test_overnight_schedule_belongs_to_the_day_it_starts_on():
    nights = Schedule(frozenset({0, 1, 2, 3, 4}), dt.time(22, 0), dt.time(6, 0))  # weeknights
    assert nights.active(dt.datetime(2026, 6, 5, 23, 0))  # Friday 23:00
    assert nights.active(dt.datetime(2026, 6, 6, 5, 59))  # Saturday 05:59: Friday's night
    assert not nights.active(dt.datetime(2026, 6, 6, 23, 0))  # Saturday night is not a weeknight
    assert not nights.active(dt.datetime(2026, 6, 1, 2, 0))  # Monday 02:00 is Sunday's night
    assert nights.active(dt.datetime(2026, 6, 2, 2, 0))  # Tuesday 02:00 is Monday's night
    assert not nights.active(dt.datetime(2026, 6, 2, 12, 0))


def test_weekend_all_day_and_midnight_end():
    weekend = parse_schedule("sat+sun")
    assert weekend.active(dt.datetime(2026, 6, 6, 0, 0)) and weekend.active(dt.datetime(2026, 6, 7, 23, 59))
    assert not weekend.active(dt.datetime(2026, 6, 8, 0, 0))  # Monday
    evenings = parse_schedule("mon-fri/18:00-24:00")
    assert evenings.end == dt.time(0, 0)
    assert evenings.active(dt.datetime(2026, 6, 1, 23, 59)) and not evenings.active(dt.datetime(2026, 6, 2, 0, 0))


def test_schedule_accepts_none_for_every_day_and_the_whole_day():
    every_day = Schedule(None, None, None)
    assert every_day.weekdays == frozenset(range(7)) and every_day.active(dt.datetime(2026, 6, 7, 3, 0))
    with pytest.raises(InvalidRule) as error:
        Schedule(frozenset({7}), dt.time(8), dt.time(9))
    assert error.value.field == "schedule.weekdays"


def test_a_night_rule_does_not_raise_by_day_but_its_alarm_clears_by_day():
    nights = Schedule(frozenset(range(7)), dt.time(22, 0), dt.time(6, 0))
    engine = Engine([rule("threshold", op=">", value=80, clear=75, schedule=nights)])
    assert feed(engine, (6 * 60, 90)) == []  # Monday 14:00
    assert feed(engine, (15 * 60, 90)) == [("raise", 900, "threshold_above")]  # Monday 23:00
    assert feed(engine, (24 * 60, 70)) == [("clear", 1440, "threshold_cleared")]  # Tuesday 08:00


def test_the_schedule_is_read_in_the_rules_time_zone():
    nights = Schedule(frozenset(range(7)), dt.time(22, 0), dt.time(6, 0))
    engine = Engine([rule("threshold", op=">", value=80, schedule=nights)])
    # 15:00 UTC is 23:00 in Shanghai: inside the night.
    raised = engine.feed(Reading(1, "temp", dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC), 90))
    assert [change.change for change in raised] == ["raise"]


def test_duration_does_not_count_time_outside_the_schedule():
    evening = Schedule(frozenset(range(7)), dt.time(18, 0), dt.time(22, 0))
    engine = Engine([rule("duration", op=">", value=80, minutes=30, schedule=evening)])
    # High from 17:40 (before the schedule): the 30 minutes start at 18:00.
    changes = feed(engine, *[(minute, 90) for minute in range(580, 640, 5)])
    assert changes == [("raise", 630, "duration_above")]  # 18:30


def test_no_data_on_weekends_only():
    weekend = parse_schedule("sat+sun")
    engine = Engine([rule("no_data", minutes=60, schedule=weekend)])
    feed(engine, (0, 20))  # Monday 08:00
    assert tick(engine, 3 * 60) == []  # Monday 11:00: silent, but not a weekend
    saturday = (dt.datetime(2026, 6, 6, 0, 0, tzinfo=SHANGHAI) - MONDAY) / dt.timedelta(minutes=1)
    assert tick(engine, saturday) == [("raise", saturday, "no_data")]


# ---------------------------------------------------------------------------------------------------------------------
# anomaly rules


def daily_pattern(day: int, hour: int) -> float:
    """A room that is 20 °C at night and 30 °C in office hours, with a small wobble."""
    return (30.0 if 8 <= hour < 18 else 20.0) + (0.3 if (day + hour) % 2 else -0.3)


def test_anomaly_rule_raises_once_for_a_sustained_shift_and_explains_with_the_hours_expected_value():
    engine = Engine([rule("anomaly", detector="default", unit="°C")])
    start = dt.datetime(2026, 5, 1, 0, 0, tzinfo=SHANGHAI)
    changes = []
    for step in range(14 * 24 * 4):  # 14 days every 15 minutes
        moment = start + dt.timedelta(minutes=15 * step)
        changes += engine.feed(Reading(1, "temp", moment, daily_pattern(moment.day, moment.hour)))
    assert changes == []
    fault_start = start + dt.timedelta(days=14, hours=10)  # 10:00, when 30 °C is expected
    for step in range(6 * 4):  # six hours at 36 °C
        changes += engine.feed(Reading(1, "temp", fault_start + dt.timedelta(minutes=15 * step), 36.0))
    assert [change.change for change in changes] == ["raise"]
    (raised,) = changes
    assert raised.reason_code == "anomaly_above_hour"
    assert raised.reason == "20 % above the expected 30 °C for this hour (temp is 36 °C)"
    assert raised.reason_params["percent"] == "20" and raised.reason_params["expected"] == "30"


def test_anomaly_alarm_clears_after_the_calm_period():
    engine = Engine([rule("anomaly", detector="seasonal", sigma=4, clear_sigma=2, clear_minutes=60)])
    start = dt.datetime(2026, 5, 1, 0, 0, tzinfo=SHANGHAI)
    moment = start
    for step in range(8 * 24):
        moment = start + dt.timedelta(hours=step)
        engine.feed(Reading(1, "temp", moment, daily_pattern(moment.day, moment.hour)))
    later = [moment + dt.timedelta(minutes=10 * step) for step in range(1, 12)]
    values = [60.0] + [daily_pattern(m.day, m.hour) for m in later[1:]]
    changes = engine.feed_many(Reading(1, "temp", m, v) for m, v in zip(later, values, strict=True))
    assert [change.change for change in changes] == ["raise", "clear"]
    # Clears on the first reading at least 60 minutes after the value came back (10 minutes after the spike).
    assert changes[1].at == later[7]
    assert changes[1].reason_code == "anomaly_cleared"


def test_anomaly_reason_gives_an_absolute_difference_when_the_expected_value_is_near_zero():
    engine = Engine([rule("anomaly", detector="ewma", sigma=4, unit="kW")])
    for step in range(48):
        engine.feed(Reading(1, "temp", at(step * 30), 0.1 if step % 2 else -0.1))
    (change,) = engine.feed(Reading(1, "temp", at(48 * 30), 5.0))
    assert change.reason_code == "anomaly_above_recent_abs"
    assert change.reason.startswith("5 kW above the expected 0 kW from recent readings")


# ---------------------------------------------------------------------------------------------------------------------
# persistence


MIXED_RULES = [
    rule("threshold", 1, op=">", value=80, clear=75),
    rule("duration", 2, op=">", value=78, minutes=20),
    rule("repeat", 3, op=">", value=82, clear=76, count=2, within_minutes=90),
    rule("rate", 4, change=6, per_minutes=15),
    rule("no_data", 5, minutes=40),
    rule("anomaly", 6, detector="default"),
    rule("anomaly", 7, detector="windowed_gaussian", window=50, step=5),
]


def synthetic_stream(seed: int, count: int) -> list[tuple[int, float, float]]:
    """(device, minute, value) for three devices with drifts, spikes and silences."""
    rng = random.Random(seed)
    rows = []
    for device in (1, 2, 3):
        minute, level = 0.0, 70.0
        for _ in range(count):
            minute += rng.choice((5, 5, 5, 10, 60))
            level += rng.gauss(0, 1.5) + (70 - level) * 0.05
            if rng.random() < 0.02:
                level += rng.choice((-15, 15))
            rows.append((device, minute, level))
    rows.sort(key=lambda row: (row[1], row[0]))
    return rows


def run(engine: Engine, rows, ticks: bool = True) -> list[tuple]:
    out = []
    last_minute = None
    for device, minute, value in rows:
        if ticks and last_minute is not None and minute > last_minute:
            out += [(c.rule_id, c.device_id, c.change, c.at, c.reason) for c in engine.tick(at(minute))]
        out += [
            (c.rule_id, c.device_id, c.change, c.at, c.reason)
            for c in engine.feed(Reading(device, "temp", at(minute), value))
        ]
        last_minute = minute
    return out


def test_state_is_json_and_a_restored_engine_continues_exactly_like_an_uninterrupted_one():
    rows = synthetic_stream(seed=3, count=600)
    uninterrupted = run(Engine(MIXED_RULES), rows)
    assert {change[2] for change in uninterrupted} == {"raise", "clear"}
    assert len({change[0] for change in uninterrupted}) >= 5  # most rules had something to say

    first = Engine(MIXED_RULES)
    cut = len(rows) // 2
    before = run(first, rows[:cut])
    saved = json.loads(json.dumps(first.state()))
    after = run(Engine(MIXED_RULES, saved), rows[cut:])
    assert before + after == uninterrupted


def test_restored_state_still_refuses_duplicates_and_remembers_open_alarms():
    engine = Engine([rule("threshold", op=">", value=80, clear=75)])
    feed(engine, (0, 90))
    restored = Engine([rule("threshold", op=">", value=80, clear=75)], json.loads(json.dumps(engine.state())))
    assert feed(restored, (0, 90)) == []
    assert feed(restored, (1, 91)) == []
    assert feed(restored, (2, 70)) == [("clear", 2, "threshold_cleared")]


def test_a_changed_rule_keeps_its_open_alarm_but_forgets_what_it_had_counted():
    before = rule("duration", op=">", value=80, minutes=30)
    engine = Engine([before])
    feed(engine, (0, 90), (20, 90))
    changed = rule("duration", op=">", value=85, minutes=30)
    restored = Engine([changed], engine.state())
    assert feed(restored, (40, 90)) == []  # the 20 minutes counted under the old rule are gone
    assert feed(restored, (70, 90)) == [("raise", 70, "duration_above")]

    other = Engine([rule("threshold", op=">", value=80)])
    feed(other, (0, 90))
    restored = Engine([rule("threshold", op=">", value=95)], other.state())
    assert feed(restored, (1, 96)) == []  # still open: no second alarm
    assert feed(restored, (2, 50)) == [("clear", 2, "threshold_cleared")]


def test_an_unknown_state_version_is_refused():
    with pytest.raises(ValueError, match="version"):
        Engine([], {"version": 99})


# ---------------------------------------------------------------------------------------------------------------------
# rule validation and the SPEC grammar


@pytest.mark.parametrize(
    ("kind", "params", "field"),
    [
        ("threshold", {"value": 80}, "params.op"),
        ("threshold", {"op": "=>", "value": 80}, "params.op"),
        ("threshold", {"op": ">", "value": "hot"}, "params.value"),
        ("threshold", {"op": ">", "value": 80, "clear": 85}, "params.clear"),
        ("threshold", {"op": "<", "value": 5, "clear": 4}, "params.clear"),
        ("threshold", {"op": ">", "value": 80, "minutes": 5}, "params.minutes"),
        ("duration", {"op": ">", "value": 80, "minutes": 0}, "params.minutes"),
        ("repeat", {"op": ">", "value": 80, "count": 2.5, "within_minutes": 10}, "params.count"),
        ("rate", {"change": 0, "per_minutes": 10}, "params.change"),
        ("rate", {"change": 5, "per_minutes": 10, "clear": -1}, "params.clear"),
        ("no_data", {}, "params.minutes"),
        ("anomaly", {"detector": "crystal_ball"}, "params.detector"),
        ("anomaly", {"detector": "default", "sigma": 2, "clear_sigma": 3}, "params.clear_sigma"),
        ("anomaly", {"detector": "default", "sustain_hours": -1}, "params.sustain_hours"),
        ("anomaly", {"detector": "ewma", "sustain_hours": 6}, "params.sustain_hours"),
    ],
)
def test_invalid_rules_name_the_parameter(kind, params, field):
    with pytest.raises(InvalidRule) as error:
        RuleSpec(id=1, metric="temp", kind=kind, severity="major", params=params)
    assert error.value.field == field


def test_invalid_kind_severity_and_time_zone_are_named():
    for changes, field in [
        ({"kind": "vibes"}, "kind"),
        ({"severity": "urgent"}, "severity"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"metric": ""}, "metric"),
    ]:
        spec = {"id": 1, "metric": "temp", "kind": "no_data", "severity": "major", "params": {"minutes": 5}, **changes}
        with pytest.raises(InvalidRule) as error:
            RuleSpec(**spec)
        assert error.value.field == field
    with pytest.raises(InvalidRule):
        Engine([rule("no_data", 1, minutes=5), rule("no_data", 1, minutes=9)])


@pytest.mark.parametrize(
    ("spec", "kind", "severity", "params"),
    [
        ("threshold:>80,clear=75,severity=major", "threshold", "major", {"op": ">", "value": 80, "clear": 75}),
        ("threshold:<=5,severity=critical,unit=bar", "threshold", "critical", {"op": "<=", "value": 5, "unit": "bar"}),
        ("duration:>80,minutes=15", "duration", "major", {"op": ">", "value": 80, "minutes": 15}),
        (
            "repeat:>80,count=3,within_minutes=60",
            "repeat",
            "major",
            {"op": ">", "value": 80, "count": 3, "within_minutes": 60},
        ),
        ("rate:+5,per_minutes=10,severity=minor", "rate", "minor", {"change": 5, "per_minutes": 10}),
        ("rate:change=-2.5,per_minutes=30", "rate", "major", {"change": -2.5, "per_minutes": 30}),
        ("no_data:30,severity=warning", "no_data", "warning", {"minutes": 30}),
        ("anomaly:default", "anomaly", "major", {"detector": "default"}),
        (
            "anomaly:ewma,sigma=5,memory_hours=12",
            "anomaly",
            "major",
            {"detector": "ewma", "sigma": 5, "memory_hours": 12},
        ),
        ("anomaly", "anomaly", "major", {}),
    ],
)
def test_spec_grammar(spec, kind, severity, params):
    parsed = parse_rule_spec(spec, metric="temp", rule_id=9)
    assert (parsed.id, parsed.metric, parsed.kind, parsed.severity) == (9, "temp", kind, severity)
    assert parsed.params == params


def test_spec_schedule_and_time_zone():
    parsed = parse_rule_spec("threshold:>80,schedule=mon-fri/22:00-06:00,tz=Europe/London", metric="temp")
    assert parsed.schedule == Schedule(frozenset(range(5)), dt.time(22, 0), dt.time(6, 0))
    assert parsed.tz == "Europe/London"
    assert parse_rule_spec("no_data:30,schedule=fri-mon", metric="t").schedule.weekdays == frozenset({4, 5, 6, 0})


@pytest.mark.parametrize(
    ("spec", "part"),
    [
        ("thresold:>80", "thresold"),
        ("threshold:80", "80"),
        ("threshold:>eighty", ">eighty"),
        ("threshold:>80,clear=90", "clear=90"),
        ("threshold:>80,severity=urgent", "severity=urgent"),
        ("threshold:>80,schedule=mon-fry/22:00-06:00", "schedule=mon-fry/22:00-06:00"),
        ("threshold:>80,schedule=mon/25:00-06:00", "schedule=mon/25:00-06:00"),
        ("threshold:>80,tz=Nowhere/City", "tz=Nowhere/City"),
        ("threshold:>80,minutes=5", "minutes=5"),
        ("threshold:>80,,clear=75", "threshold:>80,,clear=75"),
        ("repeat:>80,count=3", "within_minutes (in 'repeat:>80,count=3')"),
        ("anomaly:crystal_ball", "crystal_ball"),
        ("anomaly:default,sigma=-1", "sigma=-1"),
        ("no_data:minutes=soon", "minutes=soon"),
        ("rate:+5,per_minutes=", "per_minutes="),
    ],
)
def test_spec_errors_name_the_wrong_part(spec, part):
    with pytest.raises(InvalidRule) as error:
        parse_rule_spec(spec, metric="temp")
    assert error.value.field == part


def test_numbers_in_explanations_are_short():
    assert [format_number(x) for x in (82.46, 41.2, 80.0, 0.0351, 1250.0, -3.0, 7.125, -0.0001)] == [
        "82.5",
        "41.2",
        "80",
        "0.035",
        "1250",
        "-3",
        "7.12",
        "0",
    ]
