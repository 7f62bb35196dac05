"""Pure SLA rules for work orders: business calendars, step clocks with pauses, appointments and escalation.

No ORM and no clock here: callers pass calendars, pauses and `now` in. Every datetime taken or returned is aware;
a naive one is refused with ValueError. Internally all arithmetic is done in UTC, because subtracting two aware
datetimes that share a tzinfo compares wall-clock readings and would be wrong across a DST change. Calendar logic
(which hours of which local day are working hours) is done in the calendar's own time zone. Returned instants are
in the time zone of the datetime the calculation started from (`start` / `started_at`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

UTC = dt.UTC
ZERO = dt.timedelta(0)
MIDNIGHT = dt.time(0, 0)
# How many consecutive days without any working time we scan before deciding a calendar has none at all.
MAX_CLOSED_DAYS = 366 * 3

Interval = tuple[dt.time, dt.time]

# Property service centres (物业服务中心) are staffed every day of the week, holidays included unless the estate
# says otherwise, so the default calendar opens 08:00–20:00 Monday to Sunday. An estate with a ServiceCalendar row
# replaces it.
DEFAULT_CALENDAR_SPEC: dict[str, Any] = {
    "weekly_hours": {str(weekday): [["08:00", "20:00"]] for weekday in range(1, 8)},
    "holidays": [],
    "makeup_workdays": [],
}


def _require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    return value


def _utc(value: dt.datetime, name: str = "datetime") -> dt.datetime:
    return _require_aware(value, name).astimezone(UTC)


def _as_in(value: dt.datetime, like: dt.datetime) -> dt.datetime:
    """`value` (UTC) expressed in the time zone of `like`."""
    return value.astimezone(like.tzinfo)


# ---------------------------------------------------------------------------------------------------------------------
# Business calendar


@dataclass(frozen=True)
class BusinessCalendar:
    """When an estate's SLA clocks run.

    `weekly_hours` maps an ISO weekday (1 = Monday … 7 = Sunday) to its working intervals in local wall-clock time;
    a missing or empty day is closed. An interval may not cross midnight; an end of 00:00 means "until midnight"
    (written "24:00" in a spec), so a day can be open 00:00–24:00. `holidays` are closed all day even on a working
    weekday. `makeup_workdays` (调休) are days that are worked although they would be closed, with the hours of
    `makeup_weekday` (Monday by default). `always_open` ignores all of it: the clock runs 24/7 (emergencies).
    """

    tz: ZoneInfo
    weekly_hours: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict, hash=False)
    holidays: frozenset[dt.date] = frozenset()
    makeup_workdays: frozenset[dt.date] = frozenset()
    makeup_weekday: int = 1
    always_open: bool = False

    def __post_init__(self) -> None:
        normalised: dict[int, tuple[Interval, ...]] = {}
        for weekday, intervals in self.weekly_hours.items():
            if not isinstance(weekday, int) or not 1 <= weekday <= 7:
                raise ValueError(f"weekly_hours: weekday {weekday!r} is not an ISO weekday 1–7")
            normalised[weekday] = _check_intervals(tuple(intervals), where=f"weekly_hours[{weekday}]")
        object.__setattr__(self, "weekly_hours", normalised)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "makeup_workdays", frozenset(self.makeup_workdays))
        if not 1 <= self.makeup_weekday <= 7:
            raise ValueError(f"makeup_weekday: {self.makeup_weekday!r} is not an ISO weekday 1–7")
        both = self.holidays & self.makeup_workdays
        if both:
            raise ValueError(f"makeup_workdays: {min(both).isoformat()} is also listed in holidays")
        if self.makeup_workdays and not normalised.get(self.makeup_weekday):
            raise ValueError(
                f"makeup_weekday: make-up days use the hours of weekday {self.makeup_weekday}, which has none"
            )

    @classmethod
    def always(cls, tz: ZoneInfo) -> BusinessCalendar:
        """A calendar whose clock never stops (emergency work, round-the-clock targets)."""
        return cls(tz=tz, always_open=True)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], tz: ZoneInfo) -> BusinessCalendar:
        """Build a calendar from its JSON form (as stored in ServiceCalendar.spec); ValueError names the bad key.

        {"weekly_hours": {"1": [["08:30", "12:00"], ["13:30", "18:00"]], …}, "holidays": ["2026-10-01", …],
         "makeup_workdays": ["2026-09-27"], "makeup_weekday": 1, "always_open": false}
        All keys are optional; a missing weekly_hours means closed every day.
        """
        if not isinstance(spec, Mapping):
            raise ValueError(f"calendar spec must be an object, got {type(spec).__name__}")
        known = {"weekly_hours", "holidays", "makeup_workdays", "makeup_weekday", "always_open"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown key in calendar spec (expected one of {', '.join(sorted(known))})")

        raw_hours = spec.get("weekly_hours", {})
        if not isinstance(raw_hours, Mapping):
            raise ValueError("weekly_hours: must be an object mapping ISO weekday 1–7 to a list of intervals")
        weekly_hours: dict[int, tuple[Interval, ...]] = {}
        for key, raw_intervals in raw_hours.items():
            where = f"weekly_hours[{key}]"
            weekday = _parse_weekday(key, where)
            if weekday in weekly_hours:
                raise ValueError(f"{where}: weekday {weekday} is given twice")
            if not isinstance(raw_intervals, list | tuple):
                raise ValueError(f"{where}: must be a list of [start, end] pairs")
            intervals = []
            for index, pair in enumerate(raw_intervals):
                if not isinstance(pair, list | tuple) or len(pair) != 2:
                    raise ValueError(f"{where}[{index}]: must be a [start, end] pair such as ['08:30', '12:00']")
                start = _parse_time(pair[0], f"{where}[{index}] start", allow_24=False)
                end = _parse_time(pair[1], f"{where}[{index}] end", allow_24=True)
                intervals.append((start, end))
            weekly_hours[weekday] = tuple(intervals)

        makeup_weekday = spec.get("makeup_weekday", 1)
        if isinstance(makeup_weekday, bool) or not isinstance(makeup_weekday, int):
            raise ValueError(f"makeup_weekday: {makeup_weekday!r} is not an ISO weekday 1–7")
        always_open = spec.get("always_open", False)
        if not isinstance(always_open, bool):
            raise ValueError(f"always_open: {always_open!r} is not true or false")
        return cls(
            tz=tz,
            weekly_hours=weekly_hours,
            holidays=_parse_dates(spec.get("holidays", []), "holidays"),
            makeup_workdays=_parse_dates(spec.get("makeup_workdays", []), "makeup_workdays"),
            makeup_weekday=makeup_weekday,
            always_open=always_open,
        )

    def to_spec(self) -> dict[str, Any]:
        """The JSON form read by `from_spec` (the time zone is not part of it)."""

        def clock(value: dt.time, *, is_end: bool) -> str:
            return "24:00" if is_end and value == MIDNIGHT else value.isoformat(timespec="minutes")

        spec: dict[str, Any] = {
            "weekly_hours": {
                str(weekday): [[clock(start, is_end=False), clock(end, is_end=True)] for start, end in intervals]
                for weekday, intervals in sorted(self.weekly_hours.items())
            },
            "holidays": sorted(day.isoformat() for day in self.holidays),
            "makeup_workdays": sorted(day.isoformat() for day in self.makeup_workdays),
        }
        if self.makeup_weekday != 1:
            spec["makeup_weekday"] = self.makeup_weekday
        if self.always_open:
            spec["always_open"] = True
        return spec

    def hours_on(self, day: dt.date) -> tuple[Interval, ...]:
        """The working intervals (local wall clock) of one local date; empty when closed."""
        if self.always_open:
            return ((MIDNIGHT, MIDNIGHT),)
        if day in self.holidays:
            return ()
        if day in self.makeup_workdays:
            return self.weekly_hours.get(self.makeup_weekday, ())
        return self.weekly_hours.get(day.isoweekday(), ())


def _check_intervals(intervals: tuple[Interval, ...], *, where: str) -> tuple[Interval, ...]:
    """Sorted, each ending after it starts (00:00 as an end means midnight), none overlapping."""
    for index, (start, end) in enumerate(intervals):
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{where}[{index}]: times are local wall-clock times and must not carry a time zone")
        if end != MIDNIGHT and end <= start:
            raise ValueError(
                f"{where}[{index}]: end {end:%H:%M} is not after start {start:%H:%M} (intervals may not cross midnight)"
            )
    ordered = tuple(sorted(intervals, key=lambda interval: interval[0]))
    for previous, current in zip(ordered, ordered[1:], strict=False):
        if previous[1] == MIDNIGHT or current[0] < previous[1]:
            raise ValueError(
                f"{where}: intervals {previous[0]:%H:%M}–{previous[1]:%H:%M} and "
                f"{current[0]:%H:%M}–{current[1]:%H:%M} overlap"
            )
    return ordered


def _parse_weekday(key: object, where: str) -> int:
    if isinstance(key, bool):
        raise ValueError(f"{where}: {key!r} is not an ISO weekday 1–7")
    if isinstance(key, int):
        weekday = key
    elif isinstance(key, str) and key.strip().isdigit():
        weekday = int(key)
    else:
        raise ValueError(f"{where}: {key!r} is not an ISO weekday 1–7")
    if not 1 <= weekday <= 7:
        raise ValueError(f"{where}: {key!r} is not an ISO weekday 1–7")
    return weekday


def _parse_time(value: object, where: str, *, allow_24: bool) -> dt.time:
    if not isinstance(value, str):
        raise ValueError(f"{where}: {value!r} is not a time like '08:30'")
    text = value.strip()
    if allow_24 and text in ("24:00", "24:00:00"):
        return MIDNIGHT
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(len(part) == 2 and part.isdigit() for part in parts):
        raise ValueError(f"{where}: {value!r} is not a time like '08:30'")
    try:
        return dt.time(*(int(part) for part in parts))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a time like '08:30'") from None


def _parse_dates(values: object, key: str) -> frozenset[dt.date]:
    if not isinstance(values, list | tuple):
        raise ValueError(f"{key}: must be a list of dates like '2026-10-01'")
    days = set()
    for index, value in enumerate(values):
        if isinstance(value, dt.datetime) or not isinstance(value, str | dt.date):
            raise ValueError(f"{key}[{index}]: {value!r} is not a date like '2026-10-01'")
        if isinstance(value, dt.date):
            days.add(value)
            continue
        try:
            if len(value) != 10:
                raise ValueError
            days.add(dt.date.fromisoformat(value))
        except ValueError:
            raise ValueError(f"{key}[{index}]: {value!r} is not a date like '2026-10-01'") from None
    return frozenset(days)


def _day_windows(calendar: BusinessCalendar, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The working intervals of one local date as UTC instants, in order and never overlapping.

    Wall-clock times are placed on the local date first and converted afterwards, so the hours stay the same on both
    sides of a DST change. Around a DST gap a converted start can fall before the previous end; it is clipped so no
    instant is counted twice.
    """
    windows: list[tuple[dt.datetime, dt.datetime]] = []
    previous_end: dt.datetime | None = None
    for start, end in calendar.hours_on(day):
        start_at = dt.datetime.combine(day, start, tzinfo=calendar.tz).astimezone(UTC)
        end_day = day + dt.timedelta(days=1) if end == MIDNIGHT else day
        end_at = dt.datetime.combine(end_day, end, tzinfo=calendar.tz).astimezone(UTC)
        if previous_end is not None:
            start_at = max(start_at, previous_end)
        if end_at > start_at:
            windows.append((start_at, end_at))
            previous_end = end_at
    return windows


def _add_utc(calendar: BusinessCalendar, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    if calendar.always_open:
        return start + duration
    remaining = duration
    day = start.astimezone(calendar.tz).date()
    closed_days = 0
    while closed_days <= MAX_CLOSED_DAYS:
        windows = _day_windows(calendar, day)
        closed_days = 0 if windows else closed_days + 1
        for window_start, window_end in windows:
            opens = max(window_start, start)
            if window_end <= opens:
                continue
            if remaining <= window_end - opens:
                return opens + remaining
            remaining -= window_end - opens
        day += dt.timedelta(days=1)
    raise ValueError(f"calendar has no working time in the {MAX_CLOSED_DAYS} days after {day - dt.timedelta(days=1)}")


def _between_utc(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    if end <= start:
        return ZERO
    if calendar.always_open:
        return end - start
    total = ZERO
    day = start.astimezone(calendar.tz).date()
    last_day = end.astimezone(calendar.tz).date()
    while day <= last_day:
        for window_start, window_end in _day_windows(calendar, day):
            overlap = min(window_end, end) - max(window_start, start)
            if overlap > ZERO:
                total += overlap
        day += dt.timedelta(days=1)
    return total


def add_business_time(calendar: BusinessCalendar, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    """The earliest instant at which `duration` of working time has elapsed since `start`.

    Outside working hours counting begins at the next opening; a duration of zero gives `start` itself when it is
    inside working time, else the next opening. A duration that runs out exactly at closing time gives the closing
    time (not the next morning). The result is in `start`'s time zone. ValueError for a negative duration, a naive
    `start`, or a calendar without working time for three years.
    """
    if duration < ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    return _as_in(_add_utc(calendar, _utc(start, "start"), duration), start)


def business_time_between(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time within [start, end); zero when end is not after start. Wall time for an always-open calendar."""
    return _between_utc(calendar, _utc(start, "start"), _utc(end, "end"))


# ---------------------------------------------------------------------------------------------------------------------
# Step clocks with pauses


@dataclass(frozen=True)
class Pause:
    """A period the order was on hold; `end` is None while it still is."""

    start: dt.datetime
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        start = _utc(self.start, "Pause.start")
        if self.end is not None and _utc(self.end, "Pause.end") < start:
            raise ValueError(f"Pause.end {self.end.isoformat()} is before Pause.start {self.start.isoformat()}")


PausedSpan = tuple[dt.datetime, dt.datetime | None]


def _pause_spans(pauses: Iterable[Pause], *, after: dt.datetime, until: dt.datetime | None) -> list[PausedSpan]:
    """The pauses in UTC, clipped to [after, until) (an open pause ends at `until` when one is given), sorted, with
    overlapping or touching ones merged. An open pause swallows every later one."""
    spans: list[tuple[dt.datetime, dt.datetime | None]] = []
    for pause in pauses:
        start = max(_utc(pause.start), after)
        end = None if pause.end is None else _utc(pause.end)
        if until is not None:
            end = until if end is None else min(end, until)
        if end is not None and end <= start:
            continue
        spans.append((start, end))
    spans.sort(key=lambda span: span[0])
    merged: list[PausedSpan] = []
    for start, end in spans:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None:
                break
            if start <= last_end:
                merged[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        merged.append((start, end))
    return merged


def _clock_reaches(
    calendar: BusinessCalendar, started_at: dt.datetime, amount: dt.timedelta, spans: list[PausedSpan]
) -> dt.datetime | None:
    """When `amount` of running time (working time outside pauses) has elapsed since `started_at` (UTC in and out);
    None when an open pause stops the clock before that."""
    cursor, remaining = started_at, amount
    for pause_start, pause_end in spans:
        reached = _add_utc(calendar, cursor, remaining)
        if reached <= pause_start:
            return reached
        remaining -= _between_utc(calendar, cursor, pause_start)
        if pause_end is None:
            return None
        cursor = max(cursor, pause_end)
    return _add_utc(calendar, cursor, remaining)


def _running_between(
    calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime, spans: list[PausedSpan]
) -> dt.timedelta:
    """Working time within [start, end) that is not inside a pause (UTC in)."""
    total = _between_utc(calendar, start, end)
    for pause_start, pause_end in spans:
        total -= _between_utc(calendar, max(pause_start, start), end if pause_end is None else min(pause_end, end))
    return total


def _check_limit(limit: dt.timedelta) -> None:
    if limit < ZERO:
        raise ValueError(f"limit must not be negative, got {limit}")


def _check_warn_ratio(warn_ratio: float) -> None:
    if not 0 < warn_ratio < 1:
        raise ValueError(f"warn_ratio must be between 0 and 1 (exclusive), got {warn_ratio!r}")


def due_at(
    calendar: BusinessCalendar, *, started_at: dt.datetime, limit: dt.timedelta, pauses: Sequence[Pause]
) -> dt.datetime | None:
    """When a step that started at `started_at` with a `limit` of working time is due, paused time not counting.

    Pauses are clipped to start no earlier than `started_at` and merged where they overlap. A closed pause pushes the
    due time back by the working time it covered (a pause entirely outside working hours moves nothing). An open
    pause that began before the due time would have been reached means the clock is stopped now: the due time is
    unknown until the order resumes, so the answer is None (the step's state is "paused"). An open pause that began
    after the due time does not matter: the due time had already come. The result is in `started_at`'s time zone.
    """
    _check_limit(limit)
    start = _utc(started_at, "started_at")
    reached = _clock_reaches(calendar, start, limit, _pause_spans(pauses, after=start, until=None))
    return None if reached is None else _as_in(reached, started_at)


def warning_at(
    calendar: BusinessCalendar,
    *,
    started_at: dt.datetime,
    limit: dt.timedelta,
    warn_ratio: float,
    pauses: Sequence[Pause],
) -> dt.datetime | None:
    """When `warn_ratio` (0 < r < 1, e.g. 0.8) of the limit has run, with the same pause rules as `due_at`."""
    _check_limit(limit)
    _check_warn_ratio(warn_ratio)
    start = _utc(started_at, "started_at")
    reached = _clock_reaches(calendar, start, limit * warn_ratio, _pause_spans(pauses, after=start, until=None))
    return None if reached is None else _as_in(reached, started_at)


PENDING, MET, BREACHED, PAUSED = "pending", "met", "breached", "paused"


@dataclass(frozen=True)
class StepClock:
    """What an order shows for one SLA step. `state` is one of "pending", "met", "breached", "paused"."""

    due_at: dt.datetime | None
    warn_at: dt.datetime | None
    met_at: dt.datetime | None
    state: str
    overdue_by: dt.timedelta | None


def step_clock(
    calendar: BusinessCalendar,
    *,
    started_at: dt.datetime,
    limit: dt.timedelta,
    warn_ratio: float,
    pauses: Sequence[Pause],
    met_at: dt.datetime | None,
    now: dt.datetime,
) -> StepClock:
    """The state of one step at `now`.

    - met: `met_at` is set and not after the due time;
    - breached: met after the due time, or not met and `now` is past it. A breach is decided by instants, so a
      step due at 18:00 closing time and met at 19:00 is breached;
    - paused: not met and an open pause stopped the clock before the due time (due_at is None);
    - pending: otherwise.

    `overdue_by` (only when breached) is how late the step is: the running time from the due time to `met_at` (or to
    `now` while still open), i.e. working time outside pauses for a business-hours calendar ("2 working hours late")
    and wall time outside pauses for an always-open one. It can be zero when the whole miss falls outside working
    hours (due 18:00, met 19:00). Once a step is met, pauses after `met_at` no longer matter and an open pause is
    treated as ending at `met_at`, so a met step always has a due time.
    """
    _check_limit(limit)
    _check_warn_ratio(warn_ratio)
    start = _utc(started_at, "started_at")
    current = _utc(now, "now")
    met = None if met_at is None else _utc(met_at, "met_at")
    spans = _pause_spans(pauses, after=start, until=met)
    due = _clock_reaches(calendar, start, limit, spans)
    warn = _clock_reaches(calendar, start, limit * warn_ratio, spans)
    state, overdue_by = PENDING, None
    if met is not None:
        assert due is not None  # every pause ends by met_at, so the clock always reaches the limit
        if met <= due:
            state = MET
        else:
            state, overdue_by = BREACHED, _running_between(calendar, due, met, spans)
    elif due is None:
        state = PAUSED
    elif current > due:
        state, overdue_by = BREACHED, _running_between(calendar, due, current, spans)
    return StepClock(
        due_at=None if due is None else _as_in(due, started_at),
        warn_at=None if warn is None else _as_in(warn, started_at),
        met_at=met_at,
        state=state,
        overdue_by=overdue_by,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Appointments

MAX_APPOINTMENT_LENGTH = dt.timedelta(hours=4)


def arrival_due_for_appointment(*, window_start: dt.datetime, window_end: dt.datetime) -> dt.datetime:
    """The arrival target of an order the owner booked an appointment for: the end of the window.

    The owner promised to be home during the window, so the technician must arrive inside it; arriving before the
    window starts still meets the step (the step is about not being late). Replaces the policy's arrival limit.
    """
    if _utc(window_end, "window_end") <= _utc(window_start, "window_start"):
        raise ValueError("appointment window must end after it starts")
    return window_end


def appointment_window_valid(
    window_start: dt.datetime,
    window_end: dt.datetime,
    now: dt.datetime,
    max_days_ahead: int = 30,
    max_length: dt.timedelta = MAX_APPOINTMENT_LENGTH,
) -> str | None:
    """None for a window an owner may book, else the reason as a code, checked in this order:
    "end_before_start" (also an empty window), "too_long" (over `max_length`, 4 hours by default),
    "in_the_past" (starts before `now`), "too_far_ahead" (starts more than `max_days_ahead` days after `now`)."""
    start, end, current = _utc(window_start, "window_start"), _utc(window_end, "window_end"), _utc(now, "now")
    if end <= start:
        return "end_before_start"
    if end - start > max_length:
        return "too_long"
    if start < current:
        return "in_the_past"
    if start > current + dt.timedelta(days=max_days_ahead):
        return "too_far_ahead"
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Escalation

ESCALATION_ROLES = ("assignee", "grid_leader", "supervisor", "manager")


@dataclass(frozen=True)
class EscalationLevel:
    """Who is told when a step stays breached: `role` is notified once the step is more than `after` past due."""

    level: int
    role: str
    after: dt.timedelta

    def __post_init__(self) -> None:
        if self.level < 1:
            raise ValueError(f"escalation level must be 1 or more, got {self.level}")
        if self.role not in ESCALATION_ROLES:
            raise ValueError(f"escalation role {self.role!r} is not one of {', '.join(ESCALATION_ROLES)}")
        if self.after < ZERO:
            raise ValueError(f"escalation delay must not be negative, got {self.after}")


DEFAULT_ESCALATION: tuple[EscalationLevel, ...] = (
    EscalationLevel(1, "assignee", dt.timedelta(0)),
    EscalationLevel(2, "grid_leader", dt.timedelta(minutes=30)),
    EscalationLevel(3, "supervisor", dt.timedelta(hours=2)),
    EscalationLevel(4, "manager", dt.timedelta(hours=8)),
)


def escalation_from_spec(spec: object) -> tuple[EscalationLevel, ...]:
    """Levels from their JSON form (SlaPolicy.escalation): [{"role": "assignee", "after_minutes": 0}, …], numbered
    1, 2, … in order. An empty list means the default chain. Delays must not decrease along the chain."""
    if not isinstance(spec, list | tuple):
        raise ValueError("escalation: must be a list of {role, after_minutes} objects")
    if not spec:
        return DEFAULT_ESCALATION
    levels = []
    for index, item in enumerate(spec):
        where = f"escalation[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"role", "after_minutes"}:
            raise ValueError(f"{where}: must be an object with exactly the keys role and after_minutes")
        minutes = item["after_minutes"]
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise ValueError(f"{where}.after_minutes: {minutes!r} is not a whole number of minutes ≥ 0")
        if item["role"] not in ESCALATION_ROLES:
            raise ValueError(f"{where}.role: {item['role']!r} is not one of {', '.join(ESCALATION_ROLES)}")
        if levels and dt.timedelta(minutes=minutes) < levels[-1].after:
            raise ValueError(f"{where}.after_minutes: {minutes} is earlier than the level before it")
        levels.append(EscalationLevel(index + 1, item["role"], dt.timedelta(minutes=minutes)))
    return tuple(levels)


def escalation_levels_due(
    levels: Iterable[EscalationLevel], *, due_at: dt.datetime | None, now: dt.datetime
) -> list[int]:
    """The levels (sorted) whose time has come: `now` is past `due_at + after`.

    Delays are wall-clock time: escalation is about telling people, and that runs 24/7 even when the SLA clock
    follows business hours. "Past" is strict like a breach, so a level with no delay fires exactly when the step
    becomes breached, never while it is merely due. No due time (a paused step) escalates nothing. The caller
    compares the result with the level already reached so each level is sent once.
    """
    if due_at is None:
        return []
    due, current = _utc(due_at, "due_at"), _utc(now, "now")
    return sorted(level.level for level in levels if current > due + level.after)
