"""The second rollup job: `ServiceCube` rows per local day and node from the other apps' rows — the satisfaction
index's tallies (engagement), patrol rounds (inspections), scheduled inspections and engineering tasks (inspections,
standards), alarms (iot) and equipment monitored (equipment, iot) — so that the dashboard never reads those rows.

A day is always rewritten whole (delete + insert) from the sources, like the work-order rollup, so re-running never
double counts. What lands on a day can change after the day: a round is judged when its window closes, an
inspection may be submitted late, an answer or rating arrives any time (it lands on the day it was given). So:
- `rollup_run` (every 5 minutes) rewrites today and yesterday;
- `rollup_settle` (every 6 hours) rewrites the last SETTLE_DAYS days (late inspections and tasks, rounds judged late);
- `rollup_rebuild` rewrites every day from the first source row (a first install, or a changed definition); the
  work-order `services.rollup_rebuild` calls it.
Changes older than SETTLE_DAYS (an inspection submitted two months after it was due) reach the rollups at the next
rebuild. Two workers never interleave: each run holds the `RollupState` row "service".

The definitions (what is judged, due, done, raised, monitored) are the dashboard's, stated in docs/kpis.md and
checked against plain-Python computations in kpis/tests/hooks_oracle.py.
"""

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDate

from wuye.core import clock
from wuye.estates.models import Estate

from . import rules
from .choices import Grain, Level
from .models import RollupState, ServiceCube

STATE_NAME = "service"
SETTLE_DAYS = 62
COUNTERS = (
    "patrol_judged",
    "patrol_done",
    "inspection_due",
    "inspection_done",
    "alarms_raised",
    "alarms_cleared",
    "alarm_minutes",
    "equipment_days",
    "equipment_monitored_days",
)


@dataclass
class ServiceTally:
    """The counters and satisfaction tallies being added up for one node and day (or period)."""

    counts: Counter = field(default_factory=Counter)
    satisfaction: dict[str, list[int]] = field(default_factory=dict)

    def add(self, other: "ServiceTally") -> None:
        self.counts.update(other.counts)
        self.add_satisfaction(other.satisfaction)

    def add_satisfaction(self, tallies: dict | None) -> None:
        for key, (satisfied, total) in (tallies or {}).items():
            pair = self.satisfaction.setdefault(key, [0, 0])
            pair[0] += satisfied
            pair[1] += total

    def add_row(self, row: dict) -> None:
        for name in COUNTERS:
            if row.get(name):
                self.counts[name] += row[name]
        self.add_satisfaction(row.get("satisfaction"))

    def as_fields(self) -> dict:
        return {**{name: self.counts.get(name, 0) for name in COUNTERS}, "satisfaction": self.satisfaction}

    def is_empty(self) -> bool:
        return not any(self.counts.values()) and not self.satisfaction


# (day, estate, grid, person) → tally
Key = tuple[dt.date, int, int | None, int | None]


def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = clock.local_tz()
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=zone),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone),
    )


def _day(moment: str):
    return TruncDate(moment, tzinfo=clock.local_tz())


# The grid of an item of equipment, as the iot app finds the grid leader of an alarm (iot.services._equipment_grid):
# its public area's, else its room's building's, else its building's.
def _equipment_grid(prefix: str = ""):
    return Coalesce(f"{prefix}public_area__grid", f"{prefix}room__building__grid", f"{prefix}building__grid")


# ---------------------------------------------------------------------------------------------------------- sources
def _patrols(into: dict, first: dt.date, last: dt.date) -> None:
    """Rounds whose window ended on the day and that the window closer has judged; done: complete. Person: the
    round's guard."""
    from wuye.inspections.choices import RoundStatus
    from wuye.inspections.models import Round

    since, until = _bounds(first, last)
    rows = (
        Round.objects.filter(
            window_end__gte=since,
            window_end__lt=until,
            # A window ends within a day of its start (standards.rules.Schedule): lets the database use its index.
            window_start__gte=since - dt.timedelta(days=2),
            window_start__lt=until,
            closed_at__isnull=False,
        )
        .annotate(day=_day("window_end"))
        .values("day", "estate_id", "grid_id", "assignee_id")
        .annotate(judged=Count("pk"), done=Count("pk", filter=Q(status=RoundStatus.COMPLETE)))
        .order_by()
    )
    for row in rows:
        counts = into[(row["day"], row["estate_id"], row["grid_id"], row["assignee_id"])].counts
        counts["patrol_judged"] += row["judged"]
        counts["patrol_done"] += row["done"]


def _inspections(into: dict, first: dt.date, last: dt.date, now: dt.datetime) -> None:
    """Scheduled inspections due on the day — the inspections app's checklists with a due time (cancelled ones do
    not count) and the standards tasks of the engineering discipline (due at their window's end) — counted once
    their due time has passed, or earlier if already done; done: submitted, or the task finished, on time or late.
    Person: the inspector, or the task's assignee."""
    from wuye.inspections.choices import InspectionStatus
    from wuye.inspections.models import Inspection
    from wuye.standards.choices import Discipline, TaskStatus
    from wuye.standards.models import Task

    since, until = _bounds(first, last)
    sources = (
        (
            Inspection.objects.filter(due_at__isnull=False, due_at__gte=since, due_at__lt=until).exclude(
                status=InspectionStatus.CANCELLED
            ),
            "due_at",
            "inspector_id",
            Q(status=InspectionStatus.SUBMITTED),
        ),
        (
            Task.objects.filter(
                plan__discipline=Discipline.ENGINEERING,
                window_end__gte=since,
                window_end__lt=until,
                window_start__gte=since - dt.timedelta(days=2),
                window_start__lt=until,
            ),
            "window_end",
            "assignee_id",
            Q(status=TaskStatus.DONE),
        ),
    )
    for rows, moment, person, done in sources:
        rows = (
            rows.filter(done | Q(**{f"{moment}__lte": now}))
            .annotate(day=_day(moment), person=F(person))
            .values("day", "estate_id", "grid_id", "person")
            .annotate(due=Count("pk"), done=Count("pk", filter=done))
            .order_by()
        )
        for row in rows:
            counts = into[(row["day"], row["estate_id"], row["grid_id"], row["person"])].counts
            counts["inspection_due"] += row["due"]
            counts["inspection_done"] += row["done"]


def _minutes(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dt.timedelta):
        return value / dt.timedelta(minutes=1)
    return float(value) / 60_000_000  # SQLite may answer a sum of durations in microseconds


def _alarms(into: dict, first: dt.date, last: dt.date) -> None:
    """Alarms raised on the day, and those cleared on it with their minutes raised → cleared (the MTTR's parts),
    by the place of the device's equipment (alarms are the equipment's, not a person's)."""
    from wuye.iot.models import Alarm

    since, until = _bounds(first, last)
    alarms = Alarm.objects.annotate(place_grid=_equipment_grid("device__equipment__"))
    raised = (
        alarms.filter(raised_at__gte=since, raised_at__lt=until)
        .annotate(day=_day("raised_at"))
        .values("day", "estate_id", "place_grid")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in raised:
        into[(row["day"], row["estate_id"], row["place_grid"], None)].counts["alarms_raised"] += row["n"]
    repair = ExpressionWrapper(F("cleared_at") - F("raised_at"), output_field=DurationField())
    cleared = (
        alarms.filter(cleared_at__gte=since, cleared_at__lt=until)
        .annotate(day=_day("cleared_at"))
        .values("day", "estate_id", "place_grid")
        .annotate(n=Count("pk"), repair=Sum(repair))
        .order_by()
    )
    for row in cleared:
        counts = into[(row["day"], row["estate_id"], row["place_grid"], None)].counts
        counts["alarms_cleared"] += row["n"]
        counts["alarm_minutes"] += _minutes(row["repair"])


def _equipment(into: dict, first: dt.date, last: dt.date) -> None:
    """Equipment-days: each day, the ledger's equipment (entered before the day ended, not retired) and those of it
    with an active device bound to it that reported that day (a reading folded into an hourly rollup of the day, or
    its last report inside it). Their ratio over a period is the share of equipment monitored."""
    from wuye.equipment.choices import EquipmentStatus
    from wuye.equipment.models import Equipment
    from wuye.iot.models import Device, HourlyRollup

    ledger = Equipment.objects.exclude(status=EquipmentStatus.RETIRED).annotate(place_grid=_equipment_grid())
    start = ledger.aggregate(first=Min("created_at"))["first"]
    if start is None:
        return
    day = max(first, rules.local_day(start, clock.local_tz()))
    while day <= last:
        since, until = _bounds(day, day)
        # Rollup hours are UTC hour starts and the local midnights are whole UTC hours: an hour starting in
        # [since, until) holds exactly the readings of the day's instants.
        reported = Exists(
            Device.objects.filter(equipment=OuterRef("pk"), is_active=True).filter(
                Q(last_seen_at__gte=since, last_seen_at__lt=until)
                | Exists(HourlyRollup.objects.filter(device=OuterRef("pk"), hour__gte=since, hour__lt=until))
            )
        )
        rows = (
            ledger.filter(created_at__lt=until)
            .values("estate_id", "place_grid")
            .annotate(items=Count("pk"), monitored=Count("pk", filter=reported))
            .order_by()
        )
        for row in rows:
            counts = into[(day, row["estate_id"], row["place_grid"], None)].counts
            counts["equipment_days"] += row["items"]
            counts["equipment_monitored_days"] += row["monitored"]
        day += dt.timedelta(days=1)


def _satisfaction(into: dict, first: dt.date, last: dt.date) -> None:
    from wuye.engagement.selectors import satisfaction_daily

    for day, estate_id, grid_id, key, satisfied, total in satisfaction_daily(first, last):
        pair = into[(day, estate_id, grid_id, None)].satisfaction.setdefault(key, [0, 0])
        pair[0] += satisfied
        pair[1] += total


def day_tallies(first: dt.date, last: dt.date, *, now: dt.datetime) -> dict[Key, ServiceTally]:
    """What the sources say for each local day of [first, last], per estate, grid and person."""
    into: dict[Key, ServiceTally] = defaultdict(ServiceTally)
    _patrols(into, first, last)
    _inspections(into, first, last, now)
    _alarms(into, first, last)
    _equipment(into, first, last)
    _satisfaction(into, first, last)
    return into


# ---------------------------------------------------------------------------------------------------------- writes
def _state(*, wait: bool) -> RollupState | None:
    return RollupState.lock(STATE_NAME, wait=wait)


def _nodes(key: Key, company_id: int) -> list[tuple]:
    _day, estate_id, grid_id, person_id = key
    nodes = [
        (Level.COMPANY, company_id, None, None, None),
        (Level.ESTATE, company_id, estate_id, None, None),
        (Level.GRID, company_id, estate_id, grid_id, None),
    ]
    if person_id is not None:
        nodes.append((Level.PERSON, company_id, estate_id, grid_id, person_id))
    return nodes


def _write(grain: str, period: dt.date, cube: dict[tuple, ServiceTally]) -> None:
    ServiceCube.objects.bulk_create(
        (
            ServiceCube(
                grain=grain,
                period=period,
                level=level,
                company_id=company_id,
                estate_id=estate_id,
                grid_id=grid_id,
                assignee_id=assignee_id,
                **tally.as_fields(),
            )
            for (level, company_id, estate_id, grid_id, assignee_id), tally in cube.items()
            if not tally.is_empty()
        ),
        batch_size=1000,
    )


def days_recompute(first: dt.date, last: dt.date, *, now: dt.datetime, months: bool = True) -> int:
    """Rewrite the day rows of [first, last] (and their months, unless `months` is False) from the sources. Runs
    inside the caller's transaction; returns how many day rows were written."""
    tallies = day_tallies(first, last, now=now)
    company_of = dict(Estate.objects.values_list("id", "company_id"))
    by_day: dict[dt.date, dict[tuple, ServiceTally]] = defaultdict(lambda: defaultdict(ServiceTally))
    for key, tally in tallies.items():
        for node in _nodes(key, company_of[key[1]]):
            by_day[key[0]][node].add(tally)
    ServiceCube.objects.filter(grain=Grain.DAY, period__gte=first, period__lte=last).delete()
    written = 0
    for day, cube in sorted(by_day.items()):
        _write(Grain.DAY, day, cube)
        written += len(cube)
    if months:
        months_recompute(_months(first, last))
    return written


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    result, cursor = [], rules.month_start(first)
    while cursor <= last:
        result.append(cursor)
        cursor = rules.add_months(cursor, 1)
    return result


def months_recompute(months: Iterable[dt.date]) -> None:
    """Rewrite the month rows as the sums of their day rows."""
    fields = ["level", "company_id", "estate_id", "grid_id", "assignee_id", *COUNTERS, "satisfaction"]
    for month in sorted(set(months)):
        sums: dict[tuple, ServiceTally] = defaultdict(ServiceTally)
        rows = ServiceCube.objects.filter(
            grain=Grain.DAY, period__gte=month, period__lte=rules.month_end(month)
        ).values(*fields)
        for row in rows.iterator(chunk_size=5000):
            sums[(row["level"], row["company_id"], row["estate_id"], row["grid_id"], row["assignee_id"])].add_row(row)
        ServiceCube.objects.filter(grain=Grain.MONTH, period=month).delete()
        _write(Grain.MONTH, month, sums)


@dataclass
class Result:
    days: int = 0
    rows: int = 0
    busy: bool = False
    seconds: float = 0.0


def _recent(now: dt.datetime, days: int) -> Result:
    started = time.monotonic()
    today = rules.local_day(now, clock.local_tz())
    with transaction.atomic():
        if _state(wait=False) is None:
            return Result(busy=True)
        rows = days_recompute(today - dt.timedelta(days=days - 1), today, now=now)
        RollupState.objects.filter(name=STATE_NAME).update(last_run_at=now, last_days=days, runs=F("runs") + 1)
    return Result(days=days, rows=rows, seconds=time.monotonic() - started)


def rollup_run(*, now: dt.datetime) -> Result:
    """The frequent job: rewrite today and yesterday — or, the first time it runs on an installation, every day."""
    if not RollupState.objects.filter(name=STATE_NAME, last_run_at__isnull=False).exists():
        return rollup_rebuild(now=now)
    return _recent(now, 2)


def rollup_settle(*, now: dt.datetime) -> Result:
    """The periodic safety net: rewrite the last SETTLE_DAYS days."""
    return _recent(now, SETTLE_DAYS)


def _first_day() -> dt.date | None:
    """The first local day any source has a row for."""
    from wuye.engagement.models import Response
    from wuye.equipment.models import Equipment
    from wuye.inspections.models import Inspection, Round
    from wuye.iot.models import Alarm
    from wuye.standards.models import Task
    from wuye.workorders.choices import Action
    from wuye.workorders.models import WorkOrderEvent

    firsts = [
        Round.objects.aggregate(first=Min("window_end"))["first"],
        Inspection.objects.aggregate(first=Min("due_at"))["first"],
        Task.objects.aggregate(first=Min("window_end"))["first"],
        Alarm.objects.aggregate(first=Min("raised_at"))["first"],
        Equipment.objects.aggregate(first=Min("created_at"))["first"],
        Response.objects.aggregate(first=Min("submitted_at"))["first"],
        WorkOrderEvent.objects.filter(action=Action.RATE).aggregate(first=Min("at"))["first"],
    ]
    found = [moment for moment in firsts if moment is not None]
    return rules.local_day(min(found), clock.local_tz()) if found else None


def rollup_rebuild(*, now: dt.datetime, window_days: int = 31, progress: Callable[[str], None] | None = None) -> Result:
    """Rewrite every day from the first source row to today, a window of days per transaction, then the months."""
    started = time.monotonic()
    today = rules.local_day(now, clock.local_tz())
    result = Result()
    first = _first_day()
    if first is None:
        with transaction.atomic():
            _state(wait=True)
            ServiceCube.objects.all().delete()
            RollupState.objects.filter(name=STATE_NAME).update(last_run_at=now, runs=F("runs") + 1)
        return result
    with transaction.atomic():
        _state(wait=True)
        ServiceCube.objects.filter(period__lt=rules.month_start(first)).delete()
    day = first
    while day <= today:
        last = min(today, day + dt.timedelta(days=window_days - 1))
        with transaction.atomic():
            _state(wait=True)
            result.rows += days_recompute(day, last, now=now, months=False)
        result.days += (last - day).days + 1
        if progress:
            progress(f"service {last}")
        day = last + dt.timedelta(days=1)
    for month in _months(first, today):
        with transaction.atomic():
            _state(wait=True)
            months_recompute([month])
    RollupState.objects.filter(name=STATE_NAME).update(last_run_at=now, last_days=result.days, runs=F("runs") + 1)
    result.seconds = time.monotonic() - started
    return result
