"""Pure calculations of the equipment capability, with no ORM and no clock inside (callers pass `now`):

- when a preventive-maintenance plan is due (calendar, fixed or floating) and when a meter plan fires;
- failure episodes, downtime, availability, MTBF and MTTR of one item over a period;
- whether a device is online, and thinning a long series for a chart.

Definitions (docs/equipment.md says the same for people):

- A *failure episode* is a period the item was broken: a repair or alarm order on it (from its creation to its
  resolution), or a stretch in the `faulty` status. Overlapping ones are one episode (an alarm order and a fault
  report about the same stoppage are one failure).
- *Unplanned downtime* is the union of the episodes; *planned downtime* the time `under_maintenance` outside them.
- *Uptime* is the period minus both. *MTBF* = uptime / number of episodes that began in the period (None when
  there were none: no failure, no mean). *MTTR* = the mean length of the episodes that ended in the period (an
  episode still open has no repair time yet and is left out; it still counts as a failure and as downtime).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HOUR = dt.timedelta(hours=1)

# ---------------------------------------------------------------- calendar plans


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` moved by whole months, the day clamped to the month's length (31 Jan + 1 month = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def step(moment: dt.datetime, interval: int, unit: str, times: int = 1) -> dt.datetime:
    """`moment` plus `times` × (`interval` `unit`s), unit being day, week or month."""
    if unit == "day":
        return moment + dt.timedelta(days=interval * times)
    if unit == "week":
        return moment + dt.timedelta(weeks=interval * times)
    if unit == "month":
        return add_months(moment, interval * times)
    raise ValueError(f"unknown interval unit {unit!r}")


def fixed_due_dates(
    *, starts_at: dt.datetime, interval: int, unit: str, after: dt.datetime | None, until: dt.datetime
) -> list[dt.datetime]:
    """The due dates starts_at + k × interval (k = 0, 1, …) that are later than `after` (when given) and not later
    than `until`, oldest first. Each is computed from `starts_at`, not from the previous one, so month ends do not
    drift (31 Jan → 28 Feb → 31 Mar)."""
    if interval < 1:
        raise ValueError("interval must be at least 1")
    # Jump close to `after` instead of walking from a start years back.
    k = 0
    if after is not None and after > starts_at:
        if unit == "month":
            k = max(0, ((after.year - starts_at.year) * 12 + after.month - starts_at.month) // interval - 1)
        else:
            length = dt.timedelta(days=interval) if unit == "day" else dt.timedelta(weeks=interval)
            k = max(0, (after - starts_at) // length - 1)
    dues = []
    while True:
        due = step(starts_at, interval, unit, k)
        if due > until:
            return dues
        if after is None or due > after:
            dues.append(due)
        k += 1


def fixed_dues_to_open(
    *,
    starts_at: dt.datetime,
    interval: int,
    unit: str,
    last_due: dt.datetime | None,
    now: dt.datetime,
    lead: dt.timedelta,
) -> list[dt.datetime]:
    """The due dates a fixed calendar plan opens orders for now: those after the last one opened, up to `lead`
    ahead of now. Of the ones already past (the scheduler was down, or the plan starts in the past) only the latest
    is opened: one catch-up order, not one per missed interval."""
    dues = fixed_due_dates(starts_at=starts_at, interval=interval, unit=unit, after=last_due, until=now + lead)
    past = [due for due in dues if due < now]
    return past[-1:] + [due for due in dues if due >= now]


def floating_next_due(
    *, starts_at: dt.datetime, interval: int, unit: str, counted_from: dt.datetime | None
) -> dt.datetime:
    """A floating plan's next due date: one interval after the last completion (or skipped occurrence); the first
    one is `starts_at`."""
    if counted_from is None:
        return starts_at
    return step(counted_from, interval, unit)


# ---------------------------------------------------------------- meter plans


@dataclass(frozen=True)
class MeterDecision:
    fire: bool
    next_value: float | None  # where the next recurrent trigger now lies (unchanged when it did not fire)
    waiting: bool = False  # past the value, but the minimum wait since the previous order has not passed


def _passed(reading: float, condition: str, threshold: float) -> bool:
    return reading >= threshold if condition == ">=" else reading <= threshold


def meter_decide(
    *,
    condition: str,
    value: float,
    every: float | None,
    next_value: float | None,
    reading: float,
    last_triggered_at: dt.datetime | None,
    min_wait: dt.timedelta,
    now: dt.datetime,
    has_open_order: bool,
) -> MeterDecision:
    """Whether a meter plan opens an order on this reading.

    Recurrent (`every` set, e.g. every 500 run hours from 2000): it fires when the reading passes the next trigger
    value (first `value`), and the next one becomes the first value of the series beyond the reading (a meter that
    jumped three intervals opens one order, not three). Level (`every` unset, e.g. a filter's pressure drop ≥ 50 kPa):
    it fires whenever the reading is past `value` and no order of the plan is still open. Either way, never sooner
    than `min_wait` after the previous order."""
    threshold = value if (every is None or next_value is None) else next_value
    if not _passed(reading, condition, threshold):
        return MeterDecision(fire=False, next_value=next_value)
    if last_triggered_at is not None and now - last_triggered_at < min_wait:
        return MeterDecision(fire=False, next_value=next_value, waiting=True)
    if every is None:
        if has_open_order:
            return MeterDecision(fire=False, next_value=next_value)
        return MeterDecision(fire=True, next_value=None)
    if every <= 0:
        raise ValueError("a recurrent meter interval must be positive")
    beyond = math.floor(abs(reading - threshold) / every) + 1
    following = threshold + beyond * every if condition == ">=" else threshold - beyond * every
    return MeterDecision(fire=True, next_value=following)


# ---------------------------------------------------------------- reliability


@dataclass(frozen=True)
class Span:
    """From `start` until `end` (None: still going)."""

    start: dt.datetime
    end: dt.datetime | None


@dataclass(frozen=True)
class StatusChange:
    at: dt.datetime
    to_status: str


@dataclass(frozen=True)
class Reliability:
    period_hours: float
    failures: int  # episodes that began in the period
    repairs: int  # episodes that ended in the period
    open_failures: int  # episodes still going at the end of the period
    downtime_hours: float  # unplanned
    planned_downtime_hours: float
    uptime_hours: float
    availability: float | None  # uptime / period, None for an empty period
    mtbf_hours: float | None
    mttr_hours: float | None


def status_spans(changes: Sequence[StatusChange], *, status: str, start: dt.datetime, end: dt.datetime) -> list[Span]:
    """The spans the item spent in `status` that overlap [start, end), from its status changes oldest first (not
    clipped; the current one is open). Before its first change it is taken to be in service."""
    spans: list[Span] = []
    current, since = "in_service", None
    for change in changes:
        if current == status and since is not None and change.at > since:
            spans.append(Span(since, change.at))
        current, since = change.to_status, change.at
    if current == status and since is not None:
        spans.append(Span(since, None))
    return [span for span in spans if span.start < end and (span.end is None or span.end > start)]


def _clip(span: Span, start: dt.datetime, end: dt.datetime) -> Span | None:
    span_start = max(span.start, start)
    span_end = end if span.end is None else min(span.end, end)
    if span_end <= span_start:
        return None
    return Span(span_start, span_end)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans as one, oldest first; an open span swallows everything after its start."""
    ordered = sorted(spans, key=lambda span: span.start)
    merged: list[Span] = []
    for span in ordered:
        if merged and (merged[-1].end is None or span.start <= merged[-1].end):
            last = merged[-1]
            end = None if last.end is None or span.end is None else max(last.end, span.end)
            merged[-1] = Span(last.start, end)
        else:
            merged.append(span)
    return merged


def _hours(spans: Iterable[Span], start: dt.datetime, end: dt.datetime) -> float:
    total = dt.timedelta()
    for span in spans:
        clipped = _clip(span, start, end)
        if clipped is not None and clipped.end is not None:
            total += clipped.end - clipped.start
    return total / HOUR


def _minus(spans: Sequence[Span], holes: Sequence[Span], end: dt.datetime) -> list[Span]:
    """`spans` with the time covered by `holes` taken out (both closed at `end` when open)."""
    result = []
    for span in spans:
        pieces = [(span.start, span.end or end)]
        for hole in holes:
            hole_end = hole.end or end
            next_pieces = []
            for piece_start, piece_end in pieces:
                if hole_end <= piece_start or hole.start >= piece_end:
                    next_pieces.append((piece_start, piece_end))
                    continue
                if piece_start < hole.start:
                    next_pieces.append((piece_start, hole.start))
                if hole_end < piece_end:
                    next_pieces.append((hole_end, piece_end))
            pieces = next_pieces
        result.extend(Span(a, b) for a, b in pieces if b > a)
    return result


def reliability(
    *,
    failures: Sequence[Span],
    status_changes: Sequence[StatusChange] = (),
    start: dt.datetime,
    end: dt.datetime,
) -> Reliability:
    """Failures, downtime, availability, MTBF and MTTR of one item over [start, end) (see the module docstring).

    `failures` are the repair and alarm orders on the item (created → resolved, end None while open);
    `status_changes` its status history, oldest first (faulty spans are failures too; under-maintenance spans are
    planned downtime)."""
    if end <= start:
        return Reliability(0.0, 0, 0, 0, 0.0, 0.0, 0.0, None, None, None)
    faulty = status_spans(status_changes, status="faulty", start=start, end=end)
    maintained = status_spans(status_changes, status="under_maintenance", start=start, end=end)
    # Episodes are merged on their whole length (an episode that began before the period still began before it).
    episodes = merge([*(span for span in failures if span.start < end), *faulty])
    episodes = [span for span in episodes if span.end is None or span.end > start]
    closed_in_period = [span for span in episodes if span.end is not None and start <= span.end < end]
    still_open = [span for span in episodes if span.end is None or span.end >= end]
    began = [span for span in episodes if span.start >= start]
    period_hours = (end - start) / HOUR
    downtime = _hours(episodes, start, end)
    planned = _hours(_minus(maintained, episodes, end), start, end)
    uptime = max(0.0, period_hours - downtime - planned)
    repair_hours = [(span.end - span.start) / HOUR for span in closed_in_period if span.end is not None]
    return Reliability(
        period_hours=period_hours,
        failures=len(began),
        repairs=len(closed_in_period),
        open_failures=len(still_open),
        downtime_hours=downtime,
        planned_downtime_hours=planned,
        uptime_hours=uptime,
        availability=uptime / period_hours,
        mtbf_hours=uptime / len(began) if began else None,
        mttr_hours=sum(repair_hours) / len(repair_hours) if repair_hours else None,
    )


# ---------------------------------------------------------------- devices and charts


def device_state(*, last_seen_at: dt.datetime | None, now: dt.datetime, expected_every: dt.timedelta) -> str:
    """ "online" when the device was heard from within the interval it is expected to report in, "offline" when not,
    "never" when it never was."""
    if last_seen_at is None:
        return "never"
    return "online" if now - last_seen_at <= expected_every else "offline"


def thin(points: Sequence[tuple[float, float]], *, max_points: int) -> list[tuple[float, float]]:
    """At most `max_points` of a time series (x ascending), by averaging equal runs of consecutive points: a day of
    10-second readings still draws as one line on a phone without sending 8,640 points per metric."""
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    if len(points) <= max_points:
        return list(points)
    size = math.ceil(len(points) / max_points)
    thinned = []
    for index in range(0, len(points), size):
        chunk = points[index : index + size]
        thinned.append((chunk[len(chunk) // 2][0], sum(value for _x, value in chunk) / len(chunk)))
    return thinned
