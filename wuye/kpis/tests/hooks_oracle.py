"""An independent computation of the hook KPIs (patrols, inspections, alarms, equipment monitored) in plain Python
over every row of the apps' tables, for checking the rollups (kpis.service_rollup) as the dashboard reads them:
each row is loaded, placed on its local day (Asia/Shanghai) and in its grid by walking its relations, and counted.
No ORM filter does the work here."""

import datetime as dt
from dataclasses import dataclass

from wuye.core import clock
from wuye.equipment.models import Equipment
from wuye.inspections.models import Inspection, Round
from wuye.iot.models import Alarm, Device, HourlyRollup
from wuye.standards.models import Task

ANY = object()


@dataclass(frozen=True)
class Where:
    """estate ids, a grid id (ANY: every grid) and a person id (ANY: everyone; a person makes place-only KPIs None)."""

    estate_ids: tuple[int, ...]
    grid: object = ANY
    person: object = ANY


def _day(moment: dt.datetime | None) -> dt.date | None:
    return None if moment is None else moment.astimezone(clock.local_tz()).date()


def _inside(moment, start: dt.date, end: dt.date) -> bool:
    day = _day(moment)
    return day is not None and start <= day <= end


def _here(where: Where, estate_id: int, grid_id, person_id=None) -> bool:
    if estate_id not in where.estate_ids:
        return False
    if where.grid is not ANY and grid_id != where.grid:
        return False
    return where.person is ANY or person_id == where.person


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def _place_grid(equipment: Equipment | None):
    if equipment is None:
        return None
    if equipment.public_area is not None:
        return equipment.public_area.grid_id
    if equipment.room is not None:
        return equipment.room.unit.building.grid_id
    if equipment.building is not None:
        return equipment.building.grid_id
    return None


def patrol_completion(where: Where, start: dt.date, end: dt.date) -> float | None:
    judged = done = 0
    for round_ in Round.objects.all():
        if round_.closed_at is None or not _inside(round_.window_end, start, end):
            continue
        if not _here(where, round_.estate_id, round_.grid_id, round_.assignee_id):
            continue
        judged += 1
        done += round_.status == "complete"
    return _share(done, judged)


def inspection_completion(where: Where, start: dt.date, end: dt.date, now: dt.datetime) -> float | None:
    due = done = 0
    for inspection in Inspection.objects.all():
        if inspection.due_at is None or inspection.status == "cancelled":
            continue
        submitted = inspection.status == "submitted"
        if not _inside(inspection.due_at, start, end) or not (submitted or inspection.due_at <= now):
            continue
        if _here(where, inspection.estate_id, inspection.grid_id, inspection.inspector_id):
            due += 1
            done += submitted
    for task in Task.objects.select_related("plan"):
        if task.plan.discipline != "engineering":
            continue
        finished = task.status == "done"
        if not _inside(task.window_end, start, end) or not (finished or task.window_end <= now):
            continue
        if _here(where, task.estate_id, task.grid_id, task.assignee_id):
            due += 1
            done += finished
    return _share(done, due)


def _alarms_here(where: Where):
    for alarm in Alarm.objects.all():
        grid = _place_grid(Device.objects.get(pk=alarm.device_id).equipment)
        if _here(where, alarm.estate_id, grid):
            yield alarm


def alarm_count(where: Where, start: dt.date, end: dt.date) -> float | None:
    if where.person is not ANY:
        return None
    return float(sum(1 for alarm in _alarms_here(where) if _inside(alarm.raised_at, start, end)))


def alarm_mttr(where: Where, start: dt.date, end: dt.date) -> float | None:
    if where.person is not ANY:
        return None
    minutes = [
        (alarm.cleared_at - alarm.raised_at).total_seconds() / 60
        for alarm in _alarms_here(where)
        if _inside(alarm.cleared_at, start, end)
    ]
    return sum(minutes) / len(minutes) if minutes else None


def equipment_monitored(where: Where, start: dt.date, end: dt.date, today: dt.date) -> float | None:
    """Equipment-days: on each day of the period up to today, the ledger's items (not retired, entered by the end of
    the day) and those with an active device that reported that day."""
    if where.person is not ANY:
        return None
    ledger = monitored = 0
    items = [
        item
        for item in Equipment.objects.all()
        if item.status != "retired" and _here(where, item.estate_id, _place_grid(item))
    ]
    reports = {}
    for item in items:
        days = set()
        for device in Device.objects.filter(equipment_id=item.id):
            if device.is_active:
                days.add(_day(device.last_seen_at))
                days.update(
                    _day(hour)
                    for hour in HourlyRollup.objects.filter(device_id=device.id).values_list("hour", flat=True)
                )
        reports[item.id] = days
    day = start
    while day <= min(end, today):
        for item in items:
            if _day(item.created_at) <= day:
                ledger += 1
                monitored += day in reports[item.id]
        day += dt.timedelta(days=1)
    return _share(monitored, ledger)
