"""The hook KPIs — patrols and inspections completed, alarms, alarm MTTR, equipment monitored — on a history made
through the inspections, standards, iot and equipment services around a month's edge in Asia/Shanghai (rounds and
tasks whose window ends at 00:30 on the 1st, alarms raised at 00:05 local, which is still the 31st in UTC), checked
at the company, estate, each grid and a person against the plain-Python computation in `hooks_oracle.py`; and the
same numbers on the dashboard and in its drill-down."""

import datetime as dt
import random

import pytest
import time_machine

from wuye.equipment.services import NewEquipment, equipment_create, equipment_set_status
from wuye.inspections import services as inspection_services
from wuye.inspections.models import Inspection
from wuye.inspections.seed import _submit
from wuye.inspections.tests import factories as pf
from wuye.iot import services as iot_services
from wuye.iot.models import Alarm, Device
from wuye.iot.rules import AlarmChange
from wuye.iot.tests import factories as iot_factories
from wuye.kpis import selectors, service_rollup
from wuye.kpis.choices import KpiCode
from wuye.kpis.models import ServiceCube
from wuye.kpis.tests import hooks_oracle as oracle
from wuye.standards import services as standard_services
from wuye.standards.models import Task
from wuye.standards.tests import factories as sf
from wuye.testing import factories

pytestmark = pytest.mark.django_db

local = pf.local
START = local(2026, 10, 30, 0, 0)
NOW = local(2026, 11, 2, 12, 0)
TODAY = dt.date(2026, 11, 2)
# A morning window and a night window that ends after midnight: the night round of 31 October is due on 1 November.
WINDOWS = {"kind": "daily", "windows": [{"start": "08:00", "end": "09:00"}, {"start": "23:30", "end": "00:30"}]}
PERIODS = [
    (dt.date(2026, 10, 31), dt.date(2026, 10, 31)),
    (dt.date(2026, 11, 1), dt.date(2026, 11, 1)),
    (dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
    (dt.date(2026, 11, 1), dt.date(2026, 11, 2)),
    (dt.date(2026, 10, 1), dt.date(2026, 11, 30)),
]
HOOKS = {
    "patrol_completion": (selectors.patrol_completion, oracle.patrol_completion),
    "inspection_completion": (selectors.inspection_completion, oracle.inspection_completion),
    "alarms": (selectors.alarm_count, oracle.alarm_count),
    "alarm_mttr": (selectors.alarm_mttr, oracle.alarm_mttr),
    "equipment_monitored": (selectors.equipment_monitored, oracle.equipment_monitored),
}


def _at(moment):
    return time_machine.travel(moment, tick=False)


def _patrols(cast, grid2, guard):
    area2 = pf.public_area(cast.estate, "北门", grid2)
    north = inspection_services.checkpoint_create(
        actor=None, new=inspection_services.NewCheckpoint(estate=cast.estate, name="北门巡更点", public_area=area2)
    )
    with _at(START):
        east = pf.route(cast, name="东区巡更", schedule=WINDOWS, assignee=guard, now=START)
        north_route = inspection_services.route_create(
            actor=None,
            new=inspection_services.NewRoute(
                estate=cast.estate, name="北区巡更", stops=[(north, None)], grid=grid2, schedule=WINDOWS
            ),
            now=START,
        )
        pf.route(cast, name="外司巡更", estate=cast.other_estate, schedule=WINDOWS, now=START)
    with _at(local(2026, 11, 1, 0, 0)):
        inspection_services.rounds_generate(now=local(2026, 11, 1, 0, 0))
    for route in (east, north_route):
        points = [stop.checkpoint for stop in route.stops.order_by("position").select_related("checkpoint")]
        rounds = route.rounds.filter(window_end__lt=NOW).order_by("window_start")
        for index, round_ in enumerate(rounds):
            # Complete, only the first checkpoint (incomplete, or complete on a one-stop route), nobody came.
            walk = points if index % 3 == 0 else points[:1] if index % 3 == 1 else []
            for minutes, point in enumerate(walk, start=1):
                at = round_.window_start + dt.timedelta(minutes=5 * minutes)
                with _at(at):
                    inspection_services.round_scan(actor=guard, round_id=round_.id, code=pf.qr(point), now=at)
    with _at(NOW):
        inspection_services.rounds_close(now=NOW)


def _inspections(cast, grid2):
    checklist = [{"code": "pump-look", "title": "水泵外观", "evidence": "tick"}]
    rng = random.Random(7)

    def inspection(*, due, submitted=None, cancelled=False, grid=cast.grid, estate=cast.estate, inspector=None):
        inspector = inspector or cast.technician
        with _at(START):
            made = inspection_services.inspection_create(
                actor=None,
                new=inspection_services.NewInspection(
                    estate=estate,
                    discipline="engineering",
                    checklist=checklist,
                    inspector=inspector,
                    title="水泵房巡检",
                    grid=grid,
                    due_at=due,
                ),
                now=START,
            )
        if submitted is not None:
            with _at(submitted):
                _submit(made, inspector, submitted, rng, fail_share=0.0)
        if cancelled:
            with _at(START):
                inspection_services.inspection_cancel(actor=None, inspection_id=made.id, reason="重复", now=START)

    inspection(due=local(2026, 10, 31, 23, 50), submitted=local(2026, 10, 31, 20, 0))  # on time, the 31st
    inspection(due=local(2026, 11, 1, 0, 10), submitted=local(2026, 11, 1, 10, 0))  # the 1st (UTC: the 31st), late
    inspection(due=local(2026, 11, 1, 12, 0))  # never done
    inspection(due=local(2026, 11, 2, 18, 0))  # not due yet: not counted
    inspection(due=local(2026, 11, 2, 20, 0), submitted=local(2026, 11, 2, 11, 0))  # done before its due time
    inspection(due=local(2026, 11, 1, 9, 0), cancelled=True)
    inspection(due=local(2026, 11, 1, 9, 0), submitted=local(2026, 11, 1, 8, 0), grid=grid2)
    inspection(due=None, submitted=local(2026, 11, 1, 8, 0))  # unscheduled: not counted
    stranger = cast.stranger_supervisor
    inspection(due=local(2026, 11, 1, 9, 0), estate=cast.other_estate, grid=None, inspector=stranger)


def _tasks(cast, grid2):
    sf.assign(cast, now=START)
    night = {"kind": "daily", "windows": [{"start": "23:30", "end": "00:30"}]}
    checks = sf.plan(cast, name="客梯巡检", items=("eng-lift-check",), schedule=night, grid=cast.grid)
    sf.plan(cast, name="北区巡检", items=("eng-lift-check",), schedule=night, grid=grid2)
    sf.plan(cast, name="楼道清扫", items=("cln-stairwell",), schedule=night, grid=cast.grid)  # cleaning: not counted
    with _at(START):
        standard_services.tasks_generate(now=START, horizon_days=4)
    for index, task in enumerate(Task.objects.filter(plan=checks, window_end__lt=NOW).order_by("window_start")):
        if index % 2 == 0:
            at = task.window_start + dt.timedelta(minutes=20)
            with _at(at):
                standard_services.task_act(
                    actor=cast.technician, task_id=task.id, action="finish", evidence=sf.evidence_for(task), now=at
                )
    with _at(NOW):
        standard_services.tasks_close_windows(now=NOW)


def _equipment(cast, grid2):
    """E1 (grid 1) reports on the 1st and was folded into rollups in October; E2 (grid 2) reported only in
    October; E3 has no device; E4 is retired; E5 entered on the 2nd; E0 has no place (no grid); another company's
    item reports too."""
    pump_room = pf.public_area(cast.estate, "水泵房", cast.grid)
    north = pf.public_area(cast.estate, "北门", grid2)

    def item(code, *, area=None, estate=cast.estate, at=START):
        with _at(at):
            return equipment_create(
                estate=estate,
                new=NewEquipment(code=code, name=code, category="water_pump", public_area=area, location_note="B1"),
                now=at,
            )

    devices = {}
    for code, area in (("E1", pump_room), ("E2", north), ("E3", pump_room), ("E4", pump_room), ("E0", None)):
        made = item(code, area=area)
        if code != "E3":
            devices[code], _credentials = iot_factories.device(cast.estate, code=code.lower(), equipment=made)
    devices["E5"], _credentials = iot_factories.device(
        cast.estate, code="e5", equipment=item("E5", area=pump_room, at=local(2026, 11, 2, 9, 0))
    )
    other = item("X1", estate=cast.other_estate)
    devices["X1"], _credentials = iot_factories.device(cast.other_estate, code="x1", equipment=other)
    with _at(START):
        equipment_set_status(equipment_id=devices["E4"].equipment_id, status="retired", now=START)

    def report(code, at):
        device = devices[code]
        with _at(at):
            iot_services.telemetry_store(
                batches=[
                    iot_services.DeviceBatch(
                        device_id=device.id, estate_id=device.estate_id, readings=[("flow", at, 1.0)]
                    )
                ],
                now=at,
            )

    for code in ("E1", "E2", "E4", "X1"):
        report(code, local(2026, 10, 20, 10, 0))
    with _at(local(2026, 10, 20, 11, 0)):
        iot_services.rollup_run()
        iot_services.rollup_run()  # the second pass folds what the first one saw
    report("E1", local(2026, 11, 1, 0, 20))  # the 1st locally, the 31st in UTC
    report("E5", local(2026, 11, 2, 10, 0))
    report("X1", local(2026, 11, 1, 10, 0))
    return devices


def _alarms(cast, devices):
    def alarm(code, raised, cleared=None):
        device = devices[code]
        rule = iot_factories.rule(device.estate, device=device, name=f"流量异常{Alarm.objects.count()}", metric="flow")
        change = {"rule_id": rule.id, "device_id": device.id, "severity": "major", "reason": "flow", "value": 2.0}
        with _at(raised):
            iot_services.alarm_changes_apply(changes=[AlarmChange(change="raise", at=raised, **change)], now=raised)
        if cleared is not None:
            with _at(cleared):
                alarm_id = Alarm.objects.get(rule=rule).id
                actor = cast.technician if device.estate_id == cast.estate.id else cast.stranger_supervisor
                iot_services.alarm_clear(actor=actor, alarm_id=alarm_id, note="已处理", now=cleared)

    alarm("E1", local(2026, 10, 30, 10, 0), local(2026, 10, 31, 10, 0))  # 1,440 minutes, cleared on the 31st
    alarm("E1", local(2026, 10, 31, 23, 50), local(2026, 11, 1, 0, 35))  # raised the 31st, cleared the 1st
    alarm("E1", local(2026, 11, 1, 0, 5), local(2026, 11, 2, 8, 0))  # raised the 1st (UTC: the 31st)
    alarm("E2", local(2026, 11, 1, 10, 0))  # grid 2, still open
    alarm("E0", local(2026, 11, 1, 11, 0), local(2026, 11, 1, 11, 30))  # outside any grid
    alarm("X1", local(2026, 11, 1, 10, 0), local(2026, 11, 1, 10, 30))  # another company


@pytest.fixture
def history(cast):
    iot_services.caches_clear()  # device ids come back after a rolled-back test; their last-seen cache must not
    pf.catalogue(cast)
    grid2 = factories.GridFactory(estate=cast.estate, name="二网格")
    guard = pf.guard(cast)
    _patrols(cast, grid2, guard)
    _inspections(cast, grid2)
    _tasks(cast, grid2)
    _alarms(cast, _equipment(cast, grid2))
    cast.grid2 = grid2
    cast.guard = guard
    with _at(NOW):
        service_rollup.rollup_run(now=NOW)  # the first run on an installation rebuilds every day
        yield cast
    iot_services.caches_clear()


def _scopes(cast):
    admin = cast.company_admin
    yield selectors.scope_for(admin), oracle.Where((cast.estate.id,))
    yield selectors.scope_for(admin, estate=cast.estate.id), oracle.Where((cast.estate.id,))
    for grid in (cast.grid, cast.grid2):
        yield selectors.scope_for(admin, grid=grid.id), oracle.Where((cast.estate.id,), grid=grid.id)
    for person in (cast.guard, cast.technician):
        scope = selectors.scope_for(admin, grid=cast.grid.id, person=person.id)
        yield scope, oracle.Where((cast.estate.id,), grid=cast.grid.id, person=person.id)


def _expected(name, where, period):
    compute = HOOKS[name][1]
    if name == "inspection_completion":
        return compute(where, *period, NOW)
    if name == "equipment_monitored":
        return compute(where, *period, TODAY)
    return compute(where, *period)


def test_every_hook_equals_the_plain_computation_at_every_level_and_period(history):
    checked = 0
    for scope, where in _scopes(history):
        for period in PERIODS:
            for name, (hook, _oracle) in HOOKS.items():
                assert hook(scope, *period) == pytest.approx(_expected(name, where, period)), (scope.key, period, name)
                checked += _expected(name, where, period) is not None
    assert checked > 100  # most of the checks compare numbers, not two Nones


def test_the_history_holds_what_the_definitions_turn_on(history):
    estate = selectors.scope_for(history.company_admin, estate=history.estate.id)
    first, last = (dt.date(2026, 11, 1),) * 2, (dt.date(2026, 10, 31),) * 2
    # The inspections due on the 31st: one, on time. On the 1st: the late one (done), the forgotten one, grid 2's.
    assert selectors.inspection_completion(estate, *last) > 0
    # Alarms raised at 23:50 on the 31st and at 00:05 on the 1st land on their local days.
    assert selectors.alarm_count(estate, *last) == 1.0
    assert selectors.alarm_count(estate, *first) == 3.0  # 00:05, grid 2's at 10:00, the placeless one at 11:00
    # Cleared on the 1st: 45 minutes (23:50 → 00:35) and 30 minutes.
    assert selectors.alarm_mttr(estate, *first) == pytest.approx(37.5)
    assert selectors.alarm_mttr(estate, *last) == pytest.approx(1440.0)
    # November so far, in equipment-days: on the 1st E0, E1, E2, E3 in the ledger (E4 retired, E5 not yet entered),
    # E1 reported; on the 2nd E5 too, and only E5 reported: 2 of 9. October: the four entered on the 30th, none
    # reported on the 30th or 31st.
    assert selectors.equipment_monitored(estate, dt.date(2026, 11, 1), TODAY) == pytest.approx(100 * 2 / 9)
    assert selectors.equipment_monitored(estate, dt.date(2026, 10, 1), dt.date(2026, 10, 31)) == pytest.approx(0.0)
    # Patrol rounds of both routes were judged on both days.
    assert 0 < selectors.patrol_completion(estate, *first) < 100


def test_a_person_has_no_alarm_or_equipment_figures(history):
    person = selectors.scope_for(history.company_admin, grid=history.grid.id, person=history.guard.id)
    november = (dt.date(2026, 11, 1), TODAY)
    assert selectors.patrol_completion(person, *november) is not None
    assert selectors.alarm_count(person, *november) is None
    assert selectors.alarm_mttr(person, *november) is None
    assert selectors.equipment_monitored(person, *november) is None


def test_nothing_scheduled_is_none_and_no_alarm_is_zero(history):
    estate = selectors.scope_for(history.company_admin, estate=history.estate.id)
    quiet = (dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert selectors.patrol_completion(estate, *quiet) is None
    assert selectors.inspection_completion(estate, *quiet) is None
    assert selectors.alarm_count(estate, *quiet) == 0.0
    assert selectors.alarm_mttr(estate, *quiet) is None


def test_another_company_sees_only_its_own_rows(history):
    stranger = selectors.scope_for(history.stranger_supervisor, estate=history.other_estate.id)
    november = (dt.date(2026, 11, 1), TODAY)
    assert selectors.alarm_count(stranger, *november) == 1.0
    assert selectors.alarm_mttr(stranger, *november) == pytest.approx(30.0)
    assert selectors.equipment_monitored(stranger, *november) == pytest.approx(50.0)  # reported the 1st, not the 2nd
    assert selectors.patrol_completion(stranger, *november) == pytest.approx(0.0)  # nobody walked them
    assert selectors.inspection_completion(stranger, *november) == pytest.approx(0.0)


def test_the_dashboard_and_its_drill_down_show_the_same_numbers(history):
    november = (dt.date(2026, 11, 1), TODAY)
    estate = selectors.scope_for(history.company_admin, estate=history.estate.id)
    data = selectors.dashboard(estate, *november, today=TODAY)
    shown = {line.code: line.value for line in data.kpis}
    where = oracle.Where((history.estate.id,))
    codes = {
        "patrol_completion": KpiCode.PATROL_COMPLETION,
        "inspection_completion": KpiCode.INSPECTION_COMPLETION,
        "alarms": KpiCode.ALARMS,
        "alarm_mttr": KpiCode.ALARM_MTTR,
        "equipment_monitored": KpiCode.EQUIPMENT_MONITORED,
    }
    for name, code in codes.items():
        assert shown[code] == pytest.approx(_expected(name, where, november)), name
        # The trend's last month is November so far; last year's same month had nothing.
        assert data.trend[code][-1] == pytest.approx(_expected(name, where, november)), name
        assert data.trend[code][-2] == pytest.approx(
            _expected(name, where, (dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
        )
    grids = {child.key: child.values for child in data.children}
    for grid in (history.grid, history.grid2):
        for name, code in codes.items():
            expected = _expected(name, oracle.Where((history.estate.id,), grid=grid.id), november)
            assert grids[f"grid:{grid.id}"][code] == pytest.approx(expected), (grid.name, name)
    people = selectors.dashboard(
        selectors.scope_for(history.company_admin, grid=history.grid.id), *november, today=TODAY
    )
    guard_line = next(child for child in people.children if child.key.endswith(f":{history.guard.id}"))
    expected = _expected(
        "patrol_completion", oracle.Where((history.estate.id,), grid=history.grid.id, person=history.guard.id), november
    )
    assert guard_line.values[KpiCode.PATROL_COMPLETION] == pytest.approx(expected)
    assert guard_line.values[KpiCode.ALARMS] is None


def _service_rows():
    fields = [f.attname for f in ServiceCube._meta.concrete_fields if f.attname != "id"]
    return sorted(tuple(str(row[name]) for name in fields) for row in ServiceCube.objects.values(*fields))


def test_the_job_rewrites_recent_days_and_the_settle_reaches_back_two_months(history):
    """A late inspection lands on the day it was due: the frequent job (today and yesterday) does not see it, the
    settle does; an alarm raised today shows at the next run; and what the jobs leave equals a rebuild."""
    later = local(2026, 11, 20, 9, 0)
    estate = selectors.scope_for(history.company_admin, estate=history.estate.id)
    first = (dt.date(2026, 11, 1),) * 2
    where = oracle.Where((history.estate.id,))
    before = selectors.inspection_completion(estate, *first)
    forgotten = Inspection.objects.get(estate=history.estate, due_at=local(2026, 11, 1, 12, 0))
    with _at(later):
        _submit(forgotten, history.technician, later, random.Random(1), fail_share=0.0)
        device = Device.objects.get(code="e2")
        rule = iot_factories.rule(history.estate, device=device, name="流量异常晚", metric="flow")
        change = {"rule_id": rule.id, "device_id": device.id, "severity": "major", "reason": "flow", "value": 2.0}
        iot_services.alarm_changes_apply(changes=[AlarmChange(change="raise", at=later, **change)], now=later)
        service_rollup.rollup_run(now=later)
        today = (later.date(),) * 2
        assert selectors.alarm_count(estate, *today) == 1.0
        assert selectors.inspection_completion(estate, *first) == pytest.approx(before)  # not yet
        assert before != pytest.approx(oracle.inspection_completion(where, *first, later))
        service_rollup.rollup_settle(now=later)
        assert selectors.inspection_completion(estate, *first) == pytest.approx(
            oracle.inspection_completion(where, *first, later)
        )
        settled = _service_rows()
        ServiceCube.objects.all().delete()
        service_rollup.rollup_rebuild(now=later)
        assert _service_rows() == settled


def test_the_month_rows_are_the_sums_of_their_day_rows(history):
    for level in ("company", "estate", "grid", "person"):
        month = ServiceCube.objects.filter(grain="month", period=dt.date(2026, 11, 1), level=level)
        days = ServiceCube.objects.filter(grain="day", period__gte=dt.date(2026, 11, 1), level=level)
        assert month.exists()
        for name in service_rollup.COUNTERS:
            assert sum(getattr(row, name) for row in month) == pytest.approx(sum(getattr(row, name) for row in days))


def test_running_the_job_again_changes_nothing(history):
    """Days are rewritten whole, never added to."""
    first = _service_rows()
    service_rollup.rollup_run(now=NOW)
    service_rollup.rollup_run(now=NOW)
    assert _service_rows() == first
