"""Pure rules for service standards: schedule specs and their occurrences, service-level profile values and
contract overrides, the evidence a task needs, task moves and what a closed window means.

No ORM and no clock here: callers pass `now` and the time zone in. Every datetime taken or returned is aware.

A schedule spec is JSON, the same grammar in profiles, SOP items and plans:

    {"kind": "daily",        "windows": [{"start": "07:00", "end": "09:00"}, {"start": "16:00", "end": "18:00"}]}
    {"kind": "daily",        "windows": [{"start": "00:00", "end": "24:00"}], "every_minutes": 60}   # hourly slots
    {"kind": "weekly",       "weekdays": [1, 3, 5], "windows": [...]}                               # ISO 1 = Monday
    {"kind": "every_n_days", "every_days": 3, "anchor": "2026-01-01", "windows": [...]}
    {"kind": "monthly",      "days": [1, 15, "last"], "months": [1, 4, 7, 10], "windows": [...]}

A window is local wall-clock time in the estate's zone; an end at or before its start runs into the next day
("22:00"–"06:00"), "24:00" means midnight. A slot belongs to the day its window starts. Monthly days past a
month's end (29, 30, 31) fall on its last day, so "the 31st" happens every month and never twice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from .choices import TASK_TRANSITIONS, Dimension, Evidence, TaskAction

MINUTES_PER_DAY = 24 * 60
KINDS = ("daily", "weekly", "every_n_days", "monthly")
LAST_DAY = "last"
_LAST = -1  # how "last" is held once parsed
MAX_SLOTS_PER_DAY = 288  # every 5 minutes
MAX_EVERY_DAYS = 366
MAX_SPAN = dt.timedelta(days=800)  # occurrences() refuses to expand more than this at once


class ScheduleInvalid(ValueError):
    """A schedule spec breaks a rule. `field` is the path inside the spec (e.g. `windows[1].end`), `code` the rule."""

    def __init__(self, field: str, code: str, detail: str):
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field
        self.code = code
        self.detail = detail


def _require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")
    return value


# ---------------------------------------------------------------------------------------------------------------------
# Schedules


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule spec. Windows are (start, end) in minutes after local midnight of the day they start on;
    `end` may pass 1440 when a window runs into the next day."""

    kind: str
    windows: tuple[tuple[int, int], ...]
    weekdays: frozenset[int] = frozenset()
    every_days: int = 1
    anchor: dt.date | None = None
    month_days: tuple[int, ...] = ()
    months: frozenset[int] = frozenset(range(1, 13))
    every_minutes: int | None = None

    def happens_on(self, day: dt.date) -> bool:
        """Whether windows start on this local date."""
        if self.kind == "daily":
            return True
        if self.kind == "weekly":
            return day.isoweekday() in self.weekdays
        if self.kind == "every_n_days":
            assert self.anchor is not None
            return (day - self.anchor).days % self.every_days == 0
        if day.month not in self.months:
            return False
        return day.day in month_days_in(self.month_days, day.year, day.month)

    def slot_minutes(self) -> list[tuple[int, int]]:
        """The (start, end) minute pairs of one day's slots: each window, or each window cut into `every_minutes`
        pieces (the last piece ends with the window)."""
        slots = []
        for start, end in self.windows:
            if self.every_minutes is None:
                slots.append((start, end))
                continue
            at = start
            while at < end:
                slots.append((at, min(at + self.every_minutes, end)))
                at += self.every_minutes
        return slots


def month_length(year: int, month: int) -> int:
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (next_month - dt.timedelta(days=1)).day


def month_days_in(month_days: Sequence[int], year: int, month: int) -> frozenset[int]:
    """The dates of a month the given days fall on: "last" (-1) and any day past the month's end are its last day,
    and two days landing on the same date happen once."""
    length = month_length(year, month)
    return frozenset(length if day == _LAST else min(day, length) for day in month_days)


def _parse_clock(value: object, field: str, *, allow_24: bool) -> int:
    if not isinstance(value, str):
        raise ScheduleInvalid(field, "invalid_time", f"{value!r} is not a time like '08:30'")
    text = value.strip()
    if allow_24 and text == "24:00":
        return MINUTES_PER_DAY
    parts = text.split(":")
    if len(parts) != 2 or not all(len(part) == 2 and part.isdigit() for part in parts):
        raise ScheduleInvalid(field, "invalid_time", f"{value!r} is not a time like '08:30'")
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 23 or minutes > 59:
        raise ScheduleInvalid(field, "invalid_time", f"{value!r} is not a time like '08:30'")
    return hours * 60 + minutes


def _whole_number(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScheduleInvalid(field, "out_of_range", f"must be a whole number from {low} to {high}")
    return value


def _parse_windows(spec: Mapping[str, Any]) -> tuple[tuple[int, int], ...]:
    raw = spec.get("windows")
    if not isinstance(raw, list) or not raw:
        raise ScheduleInvalid("windows", "required", "at least one time window is required")
    windows = []
    for index, window in enumerate(raw):
        where = f"windows[{index}]"
        if not isinstance(window, Mapping):
            raise ScheduleInvalid(where, "invalid", 'must be an object like {"start": "08:00", "end": "10:00"}')
        start = _parse_clock(window.get("start"), f"{where}.start", allow_24=False)
        end = _parse_clock(window.get("end"), f"{where}.end", allow_24=True)
        if end == start:
            raise ScheduleInvalid(f"{where}.end", "empty_window", "a window must not end when it starts")
        if end < start:
            end += MINUTES_PER_DAY  # runs into the next day
        windows.append((start, end))
    windows.sort()
    for (_start, previous_end), (start, _end) in zip(windows, windows[1:], strict=False):
        if start < previous_end:
            raise ScheduleInvalid("windows", "overlap", "time windows overlap")
    # A window running past midnight must also end before the first window of the next day starts.
    if windows[-1][1] > windows[0][0] + MINUTES_PER_DAY:
        raise ScheduleInvalid("windows", "overlap", "time windows overlap across midnight")
    return tuple(windows)


def parse_schedule(spec: object) -> Schedule:
    """Check a schedule spec and return it parsed; raises ScheduleInvalid naming the field and the rule."""
    if not isinstance(spec, Mapping):
        raise ScheduleInvalid("", "invalid", "a schedule must be a JSON object")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ScheduleInvalid("kind", "invalid_choice", f"must be one of {', '.join(KINDS)}")
    known = {"kind", "windows", "every_minutes", "weekdays", "every_days", "anchor", "days", "months"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ScheduleInvalid(unknown[0], "unknown_field", "is not a schedule field")
    windows = _parse_windows(spec)
    every_minutes = None
    if spec.get("every_minutes") is not None:
        every_minutes = _whole_number(spec["every_minutes"], "every_minutes", 5, MINUTES_PER_DAY)
        slots = sum(math.ceil((end - start) / every_minutes) for start, end in windows)
        if slots > MAX_SLOTS_PER_DAY:
            raise ScheduleInvalid("every_minutes", "too_many_slots", f"more than {MAX_SLOTS_PER_DAY} slots a day")
    fields: dict[str, Any] = {"kind": kind, "windows": windows, "every_minutes": every_minutes}
    if kind == "weekly":
        weekdays = spec.get("weekdays")
        if not isinstance(weekdays, list) or not weekdays:
            raise ScheduleInvalid("weekdays", "required", "name at least one ISO weekday (1 = Monday … 7 = Sunday)")
        fields["weekdays"] = frozenset(
            _whole_number(day, f"weekdays[{index}]", 1, 7) for index, day in enumerate(weekdays)
        )
    elif kind == "every_n_days":
        fields["every_days"] = _whole_number(spec.get("every_days"), "every_days", 1, MAX_EVERY_DAYS)
        anchor = spec.get("anchor")
        try:
            if not isinstance(anchor, str) or len(anchor) != 10:
                raise ValueError
            fields["anchor"] = dt.date.fromisoformat(anchor)
        except ValueError:
            raise ScheduleInvalid("anchor", "invalid_date", "must be a first date like '2026-01-01'") from None
    elif kind == "monthly":
        days = spec.get("days")
        if not isinstance(days, list) or not days:
            raise ScheduleInvalid("days", "required", "name at least one day of the month (1–31 or 'last')")
        fields["month_days"] = tuple(
            _LAST if day == LAST_DAY else _whole_number(day, f"days[{index}]", 1, 31) for index, day in enumerate(days)
        )
        months = spec.get("months")
        if months is not None:
            if not isinstance(months, list) or not months:
                raise ScheduleInvalid("months", "required", "name at least one month (1–12), or leave it out")
            fields["months"] = frozenset(
                _whole_number(month, f"months[{index}]", 1, 12) for index, month in enumerate(months)
            )
    for key in ("weekdays", "every_days", "anchor", "days", "months"):
        if key in spec and not _belongs(kind, key):
            raise ScheduleInvalid(key, "not_for_kind", f"is not used by a {kind} schedule")
    return Schedule(**fields)


def _belongs(kind: str, key: str) -> bool:
    return {
        "weekdays": kind == "weekly",
        "every_days": kind == "every_n_days",
        "anchor": kind == "every_n_days",
        "days": kind == "monthly",
        "months": kind == "monthly",
    }[key]


@dataclass(frozen=True, order=True)
class Slot:
    """One occurrence: a time window in which the work is due."""

    start: dt.datetime
    end: dt.datetime


def _local(day: dt.date, minutes: int, tz: ZoneInfo) -> dt.datetime:
    """Wall-clock `minutes` after midnight of `day`, in `tz` (minutes may pass 1440: the next day)."""
    wall = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=minutes)
    return wall.replace(tzinfo=tz)


def occurrences(schedule: Schedule, *, start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> list[Slot]:
    """Every slot of the schedule whose window starts in [start, end), in order, in `tz`."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        return []
    if end - start > MAX_SPAN:
        raise ValueError(f"expanding more than {MAX_SPAN.days} days at once")
    first_day = start.astimezone(tz).date()
    last_day = end.astimezone(tz).date()
    slot_minutes = schedule.slot_minutes()
    slots = []
    day = first_day
    while day <= last_day:
        if schedule.happens_on(day):
            for begin, finish in slot_minutes:
                slot_start = _local(day, begin, tz)
                if start <= slot_start < end:
                    slots.append(Slot(start=slot_start, end=_local(day, finish, tz)))
        day += dt.timedelta(days=1)
    return slots


def count_in(schedule: Schedule, *, start: dt.datetime, end: dt.datetime, tz: ZoneInfo) -> int:
    """How many slots fall in a period (a month's contracted count, for "contracted vs achieved")."""
    return len(occurrences(schedule, start=start, end=end, tz=tz))


# ---------------------------------------------------------------------------------------------------------------------
# Service-level profiles


@dataclass(frozen=True)
class NumberRule:
    low: int
    high: int


# Profile values a contract may override, with their allowed ranges. Frequencies are overridden per dimension.
PROFILE_NUMBERS: dict[str, NumberRule] = {
    "emergency_arrival_minutes": NumberRule(5, 1440),
    "repair_arrival_minutes": NumberRule(15, 10080),
    "satisfaction_surveys_per_year": NumberRule(1, 12),
    "satisfaction_target_pct": NumberRule(1, 100),
    "lights_working_pct": NumberRule(1, 100),
}
PROFILE_TEXTS = ("lift_hours",)
# Values work orders act on (the SLA limits).
SLA_FIELDS = ("emergency_arrival_minutes", "repair_arrival_minutes")


@dataclass(frozen=True)
class ProfileProblem:
    field: str
    code: str
    detail: str


def _lift_hours_problem(value: object) -> str | None:
    """'' (hours agreed with the owners' committee) or a window like '06:00-24:00'."""
    if value == "":
        return None
    if not isinstance(value, str) or value.count("-") != 1:
        return "must be empty (agreed hours) or a window like '06:00-24:00'"
    start, end = value.split("-")
    try:
        begin = _parse_clock(start, "", allow_24=False)
        finish = _parse_clock(end, "", allow_24=True)
    except ScheduleInvalid:
        return "must be empty (agreed hours) or a window like '06:00-24:00'"
    if finish <= begin:
        return "the window must end after it starts"
    return None


def profile_value_problems(values: Mapping[str, Any], *, partial: bool) -> list[ProfileProblem]:
    """Problems with profile values (a whole profile, or with `partial` a contract's overrides): unknown fields,
    numbers out of range, a bad lift-hours window, frequencies that are not schedules (None = not contracted)."""
    problems = []
    known = set(PROFILE_NUMBERS) | set(PROFILE_TEXTS) | {"frequencies"}
    for key in sorted(set(values) - known):
        problems.append(ProfileProblem(key, "unknown_field", "is not a profile value that can be set"))
    for key, rule in PROFILE_NUMBERS.items():
        if key not in values:
            if not partial:
                problems.append(ProfileProblem(key, "required", "is required"))
            continue
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int) or not rule.low <= value <= rule.high:
            problems.append(
                ProfileProblem(key, "out_of_range", f"must be a whole number from {rule.low} to {rule.high}")
            )
    if "lift_hours" in values:
        detail = _lift_hours_problem(values["lift_hours"])
        if detail:
            problems.append(ProfileProblem("lift_hours", "invalid", detail))
    frequencies = values.get("frequencies", {})
    if not isinstance(frequencies, Mapping):
        problems.append(ProfileProblem("frequencies", "invalid", "must be an object of dimension → schedule"))
        return problems
    for key, spec in frequencies.items():
        if key not in Dimension.values:
            problems.append(ProfileProblem(f"frequencies.{key}", "unknown_field", "is not a profile dimension"))
            continue
        if spec is None:
            continue
        try:
            parse_schedule(spec)
        except ScheduleInvalid as error:
            path = f"frequencies.{key}.{error.field}" if error.field else f"frequencies.{key}"
            problems.append(ProfileProblem(path, error.code, error.detail))
    return problems


def effective_profile(values: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The values that apply to an estate: its profile's, with the contract's overrides on top (a frequency override
    replaces that one dimension's schedule, None meaning "not contracted")."""
    result = dict(values)
    result["frequencies"] = dict(values.get("frequencies") or {})
    for key, value in overrides.items():
        if key == "frequencies":
            result["frequencies"].update(value)
        else:
            result[key] = value
    return result


def sla_overrides(profile_values: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, int]:
    """The SLA limits a contract sets differently from its profile."""
    return {key: overrides[key] for key in SLA_FIELDS if key in overrides and overrides[key] != profile_values.get(key)}


# ---------------------------------------------------------------------------------------------------------------------
# Evidence


@dataclass(frozen=True)
class RequiredEvidence:
    """One item of a task and what proves it was done."""

    key: str
    kind: str


@dataclass(frozen=True)
class EvidenceProblem:
    key: str
    code: str


def evidence_problems(
    required: Sequence[RequiredEvidence], submitted: Mapping[str, Mapping[str, Any]], photos: Mapping[str, int]
) -> list[EvidenceProblem]:
    """What is missing before a task may be done: a tick must be true, a reading a finite number, a photo item needs
    at least one stored photo. Submitted entries for items the task does not have are refused too."""
    problems = []
    keys = {item.key for item in required}
    for key in sorted(set(submitted) - keys):
        problems.append(EvidenceProblem(key, "unknown_item"))
    for item in required:
        given = submitted.get(item.key) or {}
        if item.kind == Evidence.TICK:
            if given.get("tick") is not True:
                problems.append(EvidenceProblem(item.key, "tick_required"))
        elif item.kind == Evidence.READING:
            reading = given.get("reading")
            if isinstance(reading, bool) or not isinstance(reading, int | float) or not math.isfinite(reading):
                problems.append(EvidenceProblem(item.key, "reading_required"))
        elif item.kind == Evidence.PHOTO and photos.get(item.key, 0) < 1:
            problems.append(EvidenceProblem(item.key, "photo_required"))
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# Task moves and closing windows


def task_move(status: str, action: str) -> str | None:
    """The status `action` leads to from `status`, or None when the table does not allow it."""
    sources, target = TASK_TRANSITIONS[action]
    return target if status in sources else None


def window_action(*, status: str, window_end: dt.datetime, grace: dt.timedelta, now: dt.datetime) -> TaskAction | None:
    """What the scanner does to a task now: mark it late once its window has closed unfinished, missed once the
    grace period after the window has passed too (straight to missed if the scanner was down through both)."""
    _require_aware(window_end, "window_end")
    _require_aware(now, "now")
    if now >= window_end + grace and task_move(status, TaskAction.MISS):
        return TaskAction.MISS
    if now >= window_end and task_move(status, TaskAction.OVERDUE):
        return TaskAction.OVERDUE
    return None


def done_on_time(*, done_at: dt.datetime | None, window_end: dt.datetime) -> bool:
    return done_at is not None and done_at <= window_end


# ---------------------------------------------------------------------------------------------------------------------
# Which profile applies when


@dataclass(frozen=True)
class Segment:
    """A stretch of time during which one profile assignment (by key; None = none yet) is in force."""

    start: dt.datetime
    end: dt.datetime
    key: Any


def profile_segments(
    assignments: Sequence[tuple[dt.datetime, Any]], *, start: dt.datetime, end: dt.datetime
) -> list[Segment]:
    """Cut [start, end) where assignments (valid_from, key) take over. Before the first one nothing applies (key
    None); each applies until the next begins."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    ordered = sorted(assignments, key=lambda pair: pair[0])
    segments = []
    current_key = None
    cursor = start
    for valid_from, key in ordered:
        if valid_from <= start:
            current_key = key
            continue
        if valid_from >= end:
            break
        segments.append(Segment(cursor, valid_from, current_key))
        cursor, current_key = valid_from, key
    if cursor < end:
        segments.append(Segment(cursor, end, current_key))
    return segments


def may_work_on_window(*, window_start: dt.datetime, now: dt.datetime, lead: dt.timedelta) -> bool:
    """Work on a task may begin a little before its window opens, never on a later day's window."""
    return now >= window_start - lead


# ---------------------------------------------------------------------------------------------------------------------
# Schedules from a desk form (plans and patrol routes share the form)

WINDOW_SEPARATORS = str.maketrans({"，": ",", "；": ",", ";": ",", "–": "-", "—": "-", "~": "-"})


@dataclass(frozen=True)
class FormProblem:
    field: str
    code: str


def schedule_from_form(
    get: Mapping[str, str], weekdays: Sequence[str], *, today: dt.date
) -> tuple[dict | None, str, list[FormProblem]]:
    """The timetable fields of a desk form → (schedule spec, "") for its own timetable, or (None, dimension) when it
    follows the service level (`timetable`). Fields: `windows` ("08:00-09:00, 20:00-06:00"), `every_minutes`,
    `schedule_kind` with `weekdays`, `every_days` + `anchor` (default: today) or `days` ("1, 15, last").
    Problems name the form field; the spec itself is checked by `parse_schedule` where it is used."""
    source = (get.get("timetable") or "own").strip()
    if source != "own":
        return None, source, []
    problems: list[FormProblem] = []
    windows = []
    for part in (get.get("windows") or "").translate(WINDOW_SEPARATORS).split(","):
        part = part.strip()
        if not part:
            continue
        start, dash, end = (piece.strip() for piece in part.partition("-"))
        if not dash or len(start) not in (4, 5) or len(end) not in (4, 5):
            problems.append(FormProblem("windows", "invalid"))
            windows = []
            break
        windows.append({"start": start.zfill(5), "end": end.zfill(5)})
    else:
        if not windows:
            problems.append(FormProblem("windows", "required"))
    kind = get.get("schedule_kind") or "daily"
    spec: dict[str, Any] = {"kind": kind, "windows": windows}

    def whole(name: str) -> int | None:
        raw = (get.get(name) or "").strip()
        if not raw:
            return None
        if not raw.isdigit():
            problems.append(FormProblem(name, "not_a_number"))
            return None
        return int(raw)

    every = whole("every_minutes")
    if every is not None:
        spec["every_minutes"] = every
    if kind == "weekly":
        spec["weekdays"] = [int(day) for day in weekdays if day.isdigit()]
    elif kind == "every_n_days":
        spec["every_days"] = whole("every_days")
        spec["anchor"] = (get.get("anchor") or "").strip() or today.isoformat()
    elif kind == "monthly":
        days = [d.strip() for d in (get.get("days") or "").translate(WINDOW_SEPARATORS).split(",") if d.strip()]
        spec["days"] = [int(d) if d.isdigit() else d for d in days]
    return spec, "", problems
