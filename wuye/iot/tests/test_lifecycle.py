"""The alarm lifecycle: the TRANSITIONS walk, acknowledging, assigning and clearing by hand, escalation when nobody
acknowledges (once per level under any concurrency), and the chain alarm → work order → alarm."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import close_old_connections, connection

from wuye.core.errors import Forbidden, ValidationFailed
from wuye.iot import services
from wuye.iot.choices import TRANSITIONS, AlarmAction, AlarmStatus
from wuye.iot.models import Alarm, AlarmEvent
from wuye.iot.rules import escalation_problem
from wuye.notifications.models import Notification
from wuye.workorders import services as wo_services
from wuye.workorders.choices import Channel, Kind, Priority, Status, Step
from wuye.workorders.models import WorkOrder, WorkOrderEvent
from wuye.workorders.tests import factories as wf

from . import factories as f

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    services.caches_clear()
    yield
    services.caches_clear()


@pytest.fixture
def plant(cast):
    """A pump (equipment of category water_pump) with a monitoring device, a major and a critical pressure rule."""
    wf.seed_catalogue(cast)
    pump = f.equipment(cast.estate)
    device, _credentials = f.device(cast.estate, equipment=pump)
    major = f.rule(cast.estate, device=device, name="压力偏高", severity="major")
    critical = f.rule(
        cast.estate,
        device=device,
        name="压力过低",
        severity="critical",
        params={"op": "<", "value": 0.25, "clear": 0.3, "unit": "MPa"},
    )
    return cast, device, major, critical


def store(device, *readings, now=None):
    rows = [("pressure", T0 + dt.timedelta(minutes=minute), value) for minute, value in readings]
    batch = services.DeviceBatch(device_id=device.id, estate_id=device.estate_id, readings=rows)
    return services.telemetry_store(batches=[batch], now=now or T0 + dt.timedelta(minutes=readings[-1][0]))


def open_alarm(rule):
    return Alarm.objects.get(rule=rule, status__in=[AlarmStatus.RAISED, AlarmStatus.ACKNOWLEDGED])


def actions(alarm):
    return list(AlarmEvent.objects.filter(alarm=alarm).order_by("id").values_list("action", flat=True))


def minutes(n):
    return T0 + dt.timedelta(minutes=n)


# ---------------------------------------------------------------- transitions


def _do(action, cast, alarm, now):
    if action == AlarmAction.ACKNOWLEDGE:
        services.alarm_acknowledge(actor=cast.technician, alarm_id=alarm.id, now=now)
    elif action == AlarmAction.ASSIGN:
        services.alarm_assign(actor=cast.supervisor, alarm_id=alarm.id, assignee_id=cast.technician.id, now=now)
    elif action == AlarmAction.CLEAR:
        services.alarm_clear(actor=cast.technician, alarm_id=alarm.id, note="传感器接头松动，已紧固", now=now)


@pytest.mark.parametrize(
    "action", [a for a in TRANSITIONS if a in (AlarmAction.ACKNOWLEDGE, AlarmAction.ASSIGN, AlarmAction.CLEAR)]
)
@pytest.mark.parametrize("status", list(AlarmStatus))
def test_each_action_people_take_is_allowed_exactly_from_its_table_statuses(plant, action, status):
    cast, device, major, _critical = plant
    store(device, (0, 1.5))
    alarm = open_alarm(major)
    Alarm.objects.filter(pk=alarm.pk).update(status=status)
    sources, target = TRANSITIONS[action]
    before = AlarmEvent.objects.filter(alarm=alarm).count()
    if status in sources:
        _do(action, cast, alarm, minutes(1))
        alarm.refresh_from_db()
        assert alarm.status == (target or status)
        assert AlarmEvent.objects.filter(alarm=alarm).count() == before + 1
    else:
        with pytest.raises(services.InvalidAlarmTransition):
            _do(action, cast, alarm, minutes(1))
        assert AlarmEvent.objects.filter(alarm=alarm).count() == before


def test_raised_acknowledged_cleared_is_one_timeline_with_who_and_when(plant):
    cast, device, major, _critical = plant
    store(device, (0, 1.5))
    alarm = open_alarm(major)
    services.alarm_assign(actor=cast.supervisor, alarm_id=alarm.id, assignee_id=cast.technician.id, now=minutes(1))
    services.alarm_acknowledge(actor=cast.technician, alarm_id=alarm.id, note="到场查看", now=minutes(2))
    store(device, (3, 0.5))  # the engine clears it
    alarm.refresh_from_db()
    assert (alarm.status, alarm.acknowledged_by, alarm.assignee, alarm.cleared_by) == (
        AlarmStatus.CLEARED,
        cast.technician,
        cast.technician,
        None,
    )
    assert actions(alarm) == ["raise", "assign", "acknowledge", "clear"]
    events = list(AlarmEvent.objects.filter(alarm=alarm).order_by("id"))
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", "raised"),
        ("", ""),
        ("raised", "acknowledged"),
        ("acknowledged", "cleared"),
    ]
    assert Notification.objects.filter(recipient=cast.technician, kind="iot.alarm_assigned").count() == 1


def test_a_manual_clear_needs_a_note_and_records_who_cleared(plant):
    cast, device, major, _critical = plant
    store(device, (0, 1.5))
    alarm = open_alarm(major)
    with pytest.raises(ValidationFailed) as refused:
        services.alarm_clear(actor=cast.technician, alarm_id=alarm.id, note="  ", now=minutes(1))
    assert refused.value.errors[0].field == "note"
    services.alarm_clear(actor=cast.technician, alarm_id=alarm.id, note="误报：探头进水", now=minutes(1))
    alarm.refresh_from_db()
    assert (alarm.status, alarm.cleared_by, alarm.cleared_at) == (AlarmStatus.CLEARED, cast.technician, minutes(1))
    assert alarm.events.get(action="clear").payload == {"manual": True}


def test_after_a_manual_clear_the_same_episode_does_not_raise_again_but_the_next_one_does(plant):
    _cast, device, major, _critical = plant
    store(device, (0, 1.5))
    services.alarm_clear(actor=_cast.technician, alarm_id=open_alarm(major).id, note="已处理", now=minutes(1))
    store(device, (2, 1.6))  # still high: the same episode
    assert Alarm.objects.filter(rule=major).count() == 1
    store(device, (3, 0.5), (4, 1.7))  # ended, then came back
    assert Alarm.objects.filter(rule=major).count() == 2


def test_people_who_only_look_may_not_act_and_assignees_must_answer_alarms_in_that_estate(plant):
    cast, device, major, _critical = plant
    store(device, (0, 1.5))
    alarm = open_alarm(major)
    with pytest.raises(Forbidden):
        services.alarm_acknowledge(actor=cast.service_agent, alarm_id=alarm.id, now=minutes(1))
    with pytest.raises(Forbidden):
        services.alarm_assign(actor=cast.technician, alarm_id=alarm.id, assignee_id=cast.technician.id)
    for who in (cast.service_agent, cast.stranger_supervisor, cast.owner):
        with pytest.raises(ValidationFailed) as refused:
            services.alarm_assign(actor=cast.supervisor, alarm_id=alarm.id, assignee_id=who.id)
        assert refused.value.errors[0].field == "assignee_id"
    assert actions(alarm) == ["raise"]


def test_the_escalation_minutes_of_a_rule_are_checked():
    assert escalation_problem([5, 15, 30], levels=3) is None
    assert escalation_problem([], levels=3) is None
    assert escalation_problem([15, 5], levels=3) == "not_increasing"
    assert escalation_problem([0, 5], levels=3) == "not_positive"
    assert escalation_problem([1, 2, 3, 4], levels=3) == "too_many"
    assert escalation_problem("5", levels=3) == "not_a_list"


# ---------------------------------------------------------------- escalation


def escalations(alarm):
    return list(
        AlarmEvent.objects.filter(alarm=alarm, action=AlarmAction.ESCALATE)
        .order_by("id")
        .values_list("payload__level", "payload__role")
    )


def test_an_unacknowledged_alarm_climbs_assignee_supervisor_manager_at_the_rule_severity_times(plant, settings):
    settings.IOT_ALARM_ESCALATION_MINUTES = {"major": [15, 60, 240]}
    cast, device, major, _critical = plant
    store(device, (0, 1.5))
    alarm = open_alarm(major)
    assert alarm.escalate_at == minutes(15)
    with time_machine.travel(minutes(14), tick=False):
        assert services.alarms_scan()["escalations"] == 0
    with time_machine.travel(minutes(15), tick=False):
        assert services.alarms_scan()["escalations"] == 1
        assert services.alarms_scan()["escalations"] == 0
    with time_machine.travel(minutes(300), tick=False):  # a late scan sends the levels it missed, in order
        assert services.alarms_scan()["escalations"] == 2
    assert escalations(alarm) == [(1, "assignee"), (2, "supervisor"), (3, "manager")]
    alarm.refresh_from_db()
    assert (alarm.escalation_level, alarm.escalate_at) == (3, None)
    # Level 1 without an assignee and without a grid for the pump: the supervisors.
    assert Notification.objects.filter(kind="iot.alarm_escalated", recipient=cast.supervisor).count() == 2
    assert Notification.objects.filter(kind="iot.alarm_escalated", recipient=cast.manager).count() == 1


def test_the_first_level_goes_to_the_assignee_and_a_rule_may_set_its_own_times(plant):
    cast, device, major, _critical = plant
    major.escalation_minutes = [2]
    major.save(update_fields=["escalation_minutes"])
    store(device, (0, 1.5))
    alarm = open_alarm(major)
    services.alarm_assign(actor=cast.supervisor, alarm_id=alarm.id, assignee_id=cast.technician.id, now=minutes(1))
    assert services.alarms_scan(now=minutes(2))["escalations"] == 1
    assert Notification.objects.filter(kind="iot.alarm_escalated", recipient=cast.technician).count() == 1
    assert Notification.objects.filter(kind="iot.alarm_escalated").count() == 1
    assert services.alarms_scan(now=minutes(600))["escalations"] == 0  # the rule has one level only


def test_acknowledging_or_clearing_stops_escalation(plant):
    cast, device, major, critical = plant
    store(device, (0, 1.5))
    services.alarm_acknowledge(actor=cast.technician, alarm_id=open_alarm(major).id, now=minutes(1))
    store(device, (2, 0.1))  # critical low pressure; then it recovers on its own
    store(device, (3, 0.5))
    assert services.alarms_scan(now=minutes(600))["escalations"] == 0
    assert not AlarmEvent.objects.filter(action=AlarmAction.ESCALATE).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_escalating_at_once_send_each_level_exactly_once(cast):
    wf.seed_catalogue(cast)
    device, _credentials = f.device(cast.estate)
    rule = f.rule(cast.estate, device=device, escalation_minutes=[1, 2, 3])
    store(device, (0, 1.5))
    alarm = open_alarm(rule)
    barrier = threading.Barrier(2)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(services.alarms_scan(now=minutes(10))["escalations"])
        except Exception as failure:  # a thread's exception must fail the test
            failures.append(failure)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert sorted(level for level, _role in escalations(alarm)) == [1, 2, 3], (connection.vendor, results)
    assert sum(results) == 3


def test_a_worker_that_read_the_alarm_before_another_claimed_the_level_sends_nothing(plant, monkeypatch):
    _cast, device, major, _critical = plant
    store(device, (0, 1.5))
    alarm = open_alarm(major)
    real_filter = Alarm.objects.filter

    def other_worker_wins_first(*args, **kwargs):
        # The other worker claims level 1 between this worker's read and its claim.
        if "escalation_level" in kwargs:
            Alarm.objects.filter = real_filter
            real_filter(pk=alarm.pk).update(escalation_level=1)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Alarm.objects, "filter", other_worker_wins_first)
    assert services.alarm_escalate(alarm_id=alarm.id, now=minutes(20)) == 0
    assert escalations(alarm) == []


# ---------------------------------------------------------------- alarm → work order → alarm


def test_a_critical_alarm_opens_one_emergency_alarm_order_with_the_pump_category_sla(plant):
    cast, device, _major, critical = plant
    store(device, (0, 0.1))
    alarm = open_alarm(critical)
    order = alarm.work_order
    assert (order.kind, order.priority, order.channel, order.category.code) == (
        Kind.ALARM,
        Priority.EMERGENCY,
        Channel.DEVICE,
        "plumbing",
    )
    assert (order.source_type, order.source_id) == ("alarm", str(alarm.id))
    assert "压力过低" in order.description
    accept = order.steps.get(step=Step.ACCEPT)
    assert accept.due_at == minutes(5)  # the repairs policy's emergency limit, round the clock
    assert actions(alarm) == ["raise", "order"]
    assert alarm.events.get(action="order").payload["number"] == order.number


def test_duplicated_messages_and_rescans_never_open_a_second_order(plant):
    _cast, device, _major, critical = plant
    store(device, (0, 0.1))
    store(device, (0, 0.1))  # the same message again (MQTT at-least-once)
    store(device, (0, 0.1), (1, 0.05))  # re-raised while open
    assert services.alarms_scan(now=minutes(2))["orders"] == 0
    services.alarm_order_open(alarm_id=open_alarm(critical).id, now=minutes(3))
    assert Alarm.objects.filter(rule=critical).count() == 1
    assert WorkOrder.objects.filter(kind=Kind.ALARM).count() == 1


def test_a_new_episode_joins_the_order_still_being_worked_on(plant):
    _cast, device, _major, critical = plant
    store(device, (0, 0.1), (1, 0.5), (2, 0.1))  # raised, cleared, raised again
    first, second = Alarm.objects.filter(rule=critical).order_by("id")
    assert first.work_order is None  # cleared within its own batch: history, not work
    assert second.work_order is not None
    store(device, (3, 0.5), (4, 0.1))
    third = open_alarm(critical)
    assert third.work_order == second.work_order
    assert third.events.get(action="order").payload["joined"] is True
    assert WorkOrder.objects.filter(kind=Kind.ALARM).count() == 1


def test_a_failed_order_does_not_lose_the_readings_and_the_scan_opens_it_later(plant, monkeypatch):
    _cast, device, _major, critical = plant

    def broken(**kwargs):
        raise RuntimeError("catalogue down")

    monkeypatch.setattr(services, "workorder_create", broken)
    assert store(device, (0, 0.1)).raised == 1
    alarm = open_alarm(critical)
    assert alarm.work_order is None
    monkeypatch.undo()
    assert services.alarms_scan(now=minutes(1))["orders"] == 1
    alarm.refresh_from_db()
    assert alarm.work_order is not None


def test_an_order_finished_while_its_alarm_is_open_is_recorded_on_the_alarm(plant):
    cast, device, _major, critical = plant
    store(device, (0, 0.1))
    alarm = open_alarm(critical)
    order = alarm.work_order
    for action, who in (
        ("accept", cast.service_agent),
        ("dispatch", cast.supervisor),
        ("take", cast.technician),
        ("arrive", cast.technician),
        ("start", cast.technician),
        ("resolve", cast.technician),
    ):
        params = {"assignee_id": cast.technician.id} if action == "dispatch" else {}
        if action == "resolve":
            params = {"resolution": "更换压力开关"}
        wo_services.workorder_act(actor=who, order_id=order.id, action=action, params=params, now=minutes(10))
    done = alarm.events.get(action=AlarmAction.ORDER_DONE)
    assert done.payload["status"] == Status.RESOLVED and done.note == order.number
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RAISED  # the readings decide when it clears


def test_when_the_alarm_clears_the_order_is_unchanged_and_its_assignee_is_told(plant):
    cast, device, _major, critical = plant
    store(device, (0, 0.1))
    order = open_alarm(critical).work_order
    wo_services.workorder_act(actor=cast.service_agent, order_id=order.id, action="accept", now=minutes(1))
    wo_services.workorder_act(
        actor=cast.supervisor,
        order_id=order.id,
        action="dispatch",
        params={"assignee_id": cast.technician.id},
        now=minutes(2),
    )
    events_before = WorkOrderEvent.objects.filter(order=order).count()
    store(device, (5, 0.5))
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED
    assert WorkOrderEvent.objects.filter(order=order).count() == events_before
    told = Notification.objects.get(recipient=cast.technician, kind="iot.alarm_cleared")
    assert told.link == f"/desk/orders/{order.id}/"


def test_the_scheduled_scan_is_registered(plant):
    from wuye.core import scheduler
    from wuye.iot import tasks

    assert "iot.alarms_scan" in {job.name for job in scheduler.registered_jobs()}
    assert tasks.alarms_scan.enqueue().return_value == {"escalations": 0, "orders": 0}


def test_the_demo_alarm_stories_cover_every_status_and_both_ends_of_the_order_chain(cast):
    from wuye.iot.models import Device

    wf.seed_catalogue(cast)
    now = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)
    services.seed_iot(cast.estate, now=now)
    by_device = {d.code: list(Alarm.objects.filter(device=d).order_by("id")) for d in Device.objects.all()}
    (lift,) = by_device["lift-1-1-mon"]
    assert actions(lift) == ["raise", "acknowledge", "clear"]
    (pump1,) = by_device["pump-01"]
    assert actions(pump1) == ["raise", "order", "acknowledge", "order_done", "clear"]
    assert pump1.work_order.status == Status.RESOLVED
    (pump2,) = by_device["pump-02"]
    assert pump2.status == AlarmStatus.RAISED and pump2.work_order.status == Status.SUBMITTED
    assert [level for level, _role in escalations(pump2)] == [1, 2, 3]
    (generator,) = by_device["gen-01"]
    assert (generator.status, generator.escalation_level) == (AlarmStatus.RAISED, 0)
    (hot,) = by_device["lift-3-1-mon"]
    assert hot.status == AlarmStatus.ACKNOWLEDGED


def test_a_rule_with_unusable_escalation_minutes_is_refused_by_its_form_and_escalates_nothing(plant):
    from django.core.exceptions import ValidationError

    _cast, device, major, _critical = plant
    major.escalation_minutes = [30, 10]
    with pytest.raises(ValidationError) as refused:
        major.full_clean()
    assert "escalation_minutes" in refused.value.message_dict
    major.save(update_fields=["escalation_minutes"])  # written around the form: ingestion still works
    store(device, (0, 1.5))
    assert open_alarm(major).escalate_at is None


def test_without_an_assignee_the_first_level_goes_to_the_grid_leader_of_the_equipments_building(cast):
    from wuye.equipment.services import NewEquipment, equipment_create

    cast.grid.leader = cast.technician
    cast.grid.save(update_fields=["leader"])
    lift = equipment_create(
        estate=cast.estate,
        new=NewEquipment(code="LIFT-1", name="1栋客梯", category="lift", building=cast.building),
        now=T0,
    )
    device, _credentials = f.device(cast.estate, code="lift-1", equipment=lift)
    rule = f.rule(cast.estate, device=device, escalation_minutes=[1])
    store(device, (0, 1.5))
    assert services.alarms_scan(now=minutes(1))["escalations"] == 1
    told = set(Notification.objects.filter(kind="iot.alarm_escalated").values_list("recipient__username", flat=True))
    assert told == {"technician"}
    assert escalations(open_alarm(rule)) == [(1, "assignee")]
