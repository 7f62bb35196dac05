"""Step-level SLA through the services: due times from policy, level and calendar; pauses; appointments; warnings
and escalations sent exactly once; automatic closing of unrated orders."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import close_old_connections, connection

from wuye.core.errors import ValidationFailed
from wuye.notifications.models import Notification
from wuye.workorders import services
from wuye.workorders.choices import Action, Priority, Status, Step
from wuye.workorders.models import ServiceCalendar, WorkOrderEvent, WorkOrderStep

from . import factories as wf

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def shop(cast):
    wf.seed_catalogue(cast)
    return cast


def step(order, name):
    return WorkOrderStep.objects.get(order=order, step=name)


def test_emergency_repair_arrival_due_in_30_minutes_for_a_level_1_estate(shop):
    order = wf.order(shop, priority=Priority.EMERGENCY, now=local(2026, 11, 28, 2, 0))  # Saturday, 2 a.m.
    assert step(order, Step.ARRIVE).due_at == local(2026, 11, 28, 2, 30)


def test_emergency_repair_arrival_due_in_60_minutes_for_a_level_2_estate(shop):
    shop.estate.service_level = "level_2"
    shop.estate.save(update_fields=["service_level"])
    order = wf.order(shop, priority=Priority.EMERGENCY, now=local(2026, 11, 28, 2, 0))
    assert step(order, Step.ARRIVE).due_at == local(2026, 11, 28, 3, 0)


def test_normal_repair_clock_stops_overnight_in_the_default_calendar(shop):
    # Level 1, normal arrival 240 business minutes; default hours 08:00–20:00: 30 minutes on Friday evening, the
    # other 210 on Saturday morning.
    order = wf.order(shop, now=local(2026, 11, 27, 19, 30))
    assert step(order, Step.ARRIVE).due_at == local(2026, 11, 28, 11, 30)


def test_the_estate_calendar_with_a_holiday_moves_the_due_time(shop):
    ServiceCalendar.objects.create(
        estate=shop.estate,
        spec={"weekly_hours": {str(d): [["09:00", "18:00"]] for d in range(1, 6)}, "holidays": ["2026-11-30"]},
    )
    order = wf.order(shop, now=local(2026, 11, 27, 17, 0))  # Friday 17:00; Monday 30 Nov is a holiday
    # 60 minutes on Friday, the remaining 180 on Tuesday from 09:00.
    assert step(order, Step.ARRIVE).due_at == local(2026, 12, 1, 12, 0)


def test_hold_pauses_the_clock_and_resume_restarts_it_where_it_stopped(shop):
    start = local(2026, 11, 23, 9, 0)
    order = wf.order(shop, status="in_progress", now=start)
    resolve_due = step(order, Step.RESOLVE).due_at
    services.workorder_act(
        actor=shop.technician,
        order_id=order.id,
        action=Action.HOLD,
        params={"reason": "等配件"},
        now=start + dt.timedelta(hours=1),
    )
    held = step(order, Step.RESOLVE)
    assert held.due_at is None and held.state == "paused"
    services.workorder_act(
        actor=shop.technician, order_id=order.id, action=Action.RESUME, now=start + dt.timedelta(hours=3)
    )
    assert step(order, Step.RESOLVE).due_at == resolve_due + dt.timedelta(hours=2)


def test_an_appointment_moves_the_arrival_target_to_the_window(shop):
    now = local(2026, 11, 23, 9, 0)
    order = wf.order(
        shop, now=now, appointment_start=local(2026, 11, 25, 14, 0), appointment_end=local(2026, 11, 25, 16, 0)
    )
    assert step(order, Step.ARRIVE).due_at == local(2026, 11, 25, 16, 0)


def test_an_appointment_in_the_past_is_refused_naming_the_field(shop):
    with pytest.raises(ValidationFailed) as error:
        wf.order(
            shop,
            now=local(2026, 11, 23, 9, 0),
            appointment_start=local(2026, 11, 22, 9, 0),
            appointment_end=local(2026, 11, 22, 10, 0),
        )
    assert [e.field for e in error.value.errors] == ["appointment_start"]


def test_steps_are_met_in_order_and_record_breaches(shop):
    start = local(2026, 11, 23, 9, 0)
    order = wf.order(shop, status="resolved", now=start)
    states = {row.step: row.state for row in WorkOrderStep.objects.filter(order=order)}
    assert states == {"accept": "met", "dispatch": "met", "arrive": "met", "resolve": "met", "visit": "pending"}
    late = wf.order(shop, now=start)
    services.workorder_act(
        actor=shop.service_agent, order_id=late.id, action=Action.ACCEPT, now=start + dt.timedelta(hours=2)
    )
    assert step(late, Step.ACCEPT).state == "breached"


def warnings_to(user):
    return Notification.objects.filter(recipient=user, kind="workorder.warning").count()


def escalations_to(user):
    return Notification.objects.filter(recipient=user, kind="workorder.escalated").count()


def test_warning_is_sent_once_at_the_warning_point(shop):
    start = local(2026, 11, 23, 9, 0)
    order = wf.order(shop, status="dispatched", now=start)
    arrive = step(order, Step.ARRIVE)  # 240 minutes, warn at 80 % = 192 minutes
    assert arrive.warn_at == start + dt.timedelta(minutes=192)
    assert services.sla_scan(now=arrive.warn_at - dt.timedelta(seconds=1)) == (0, 0)
    assert services.sla_scan(now=arrive.warn_at) == (1, 0)
    assert services.sla_scan(now=arrive.warn_at + dt.timedelta(minutes=5)) == (0, 0)
    assert warnings_to(shop.technician) == 1


def test_escalation_climbs_one_level_at_a_time_and_never_repeats(shop):
    start = local(2026, 11, 23, 9, 0)
    order = wf.order(shop, status="dispatched", now=start)
    due = step(order, Step.ARRIVE).due_at
    assert services.sla_scan(now=due)[1] == 0  # not late yet at the due instant itself
    assert services.sla_scan(now=due + dt.timedelta(minutes=1))[1] == 1  # level 1: the assignee
    assert services.sla_scan(now=due + dt.timedelta(minutes=20))[1] == 0
    assert services.sla_scan(now=due + dt.timedelta(minutes=31))[1] == 1  # level 2: grid leader (supervisor in cast)
    assert services.sla_scan(now=due + dt.timedelta(hours=9))[1] == 2  # levels 3 and 4 together
    assert services.sla_scan(now=due + dt.timedelta(hours=10))[1] == 0
    levels = list(
        WorkOrderEvent.objects.filter(order=order, action=Action.ESCALATE, payload__step="arrive")
        .order_by("at")
        .values_list("payload__level", flat=True)
    )
    assert levels == [1, 2, 3, 4]
    assert escalations_to(shop.technician) == 1
    assert escalations_to(shop.manager) == 1


def test_a_met_step_is_never_escalated(shop):
    start = local(2026, 11, 23, 9, 0)
    order = wf.order(shop, status="arrived", now=start)
    due = step(order, Step.ARRIVE).due_at
    services.sla_scan(now=due + dt.timedelta(days=1))
    assert not WorkOrderEvent.objects.filter(order=order, action=Action.ESCALATE, payload__step="arrive").exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_escalating_at_once_send_each_level_exactly_once(cast):
    wf.seed_catalogue(cast)
    start = local(2026, 11, 23, 9, 0)
    order = wf.order(cast, status="dispatched", now=start)
    late = step(order, Step.ARRIVE).due_at + dt.timedelta(hours=9)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(services.sla_scan(now=late))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_level = list(
        WorkOrderEvent.objects.filter(order=order, action=Action.ESCALATE, payload__step="arrive").values_list(
            "payload__level", flat=True
        )
    )
    assert sorted(per_level) == [1, 2, 3, 4], (connection.vendor, results)
    assert sum(r[0] for r in results) == WorkOrderStep.objects.filter(order=order, warned_at__isnull=False).count()


def test_an_unrated_order_closes_automatically_after_the_configured_days(shop, settings):
    settings.WORKORDER_AUTO_CLOSE_DAYS = 3
    start = local(2026, 11, 23, 9, 0)
    order = wf.order(shop, status="resolved", now=start)
    assert services.auto_close_unrated(now=start + dt.timedelta(days=2)) == 0
    assert services.auto_close_unrated(now=start + dt.timedelta(days=3, hours=1)) == 1
    order.refresh_from_db()
    assert order.status == Status.CLOSED
    assert Notification.objects.filter(recipient=shop.owner, kind="workorder.closed").count() == 1
    assert services.auto_close_unrated(now=start + dt.timedelta(days=4)) == 0


def test_numbers_are_per_day_sequential_and_unique(shop):
    day = dt.date(2026, 11, 27)
    numbers = [services.number_next(day=day) for _ in range(3)]
    assert numbers == ["WO20261127-000001", "WO20261127-000002", "WO20261127-000003"]
    assert services.number_next(day=dt.date(2026, 11, 28)) == "WO20261128-000001"


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_never_share_a_number(db):
    day = dt.date(2026, 11, 27)
    numbers = []
    barrier = threading.Barrier(4)

    def take():
        try:
            barrier.wait()
            for _ in range(10):
                numbers.append(services.number_next(day=day))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(numbers) == len(set(numbers)) == 40


def test_reclassifying_to_emergency_retimes_the_open_steps_from_when_they_started(shop):
    start = local(2026, 11, 27, 19, 30)
    order = wf.order(shop, now=start)
    assert step(order, Step.ARRIVE).due_at == local(2026, 11, 28, 11, 30)
    services.workorder_act(
        actor=shop.service_agent,
        order_id=order.id,
        action=Action.CLASSIFY,
        params={"priority": Priority.EMERGENCY, "category_id": wf.category(shop, "electrical").id},
        now=start + dt.timedelta(minutes=5),
    )
    order.refresh_from_db()
    assert (order.priority, order.category.code) == (Priority.EMERGENCY, "electrical")
    assert step(order, Step.ARRIVE).due_at == start + dt.timedelta(minutes=30)
    event = WorkOrderEvent.objects.get(order=order, action=Action.CLASSIFY)
    assert event.payload["from_category"] == "plumbing" and event.payload["to_priority"] == "emergency"


def test_reclassifying_to_a_category_for_another_kind_is_refused_naming_the_field(shop):
    order = wf.order(shop)
    with pytest.raises(ValidationFailed) as error:
        services.workorder_act(
            actor=shop.service_agent,
            order_id=order.id,
            action=Action.CLASSIFY,
            params={"category_id": wf.category(shop, "noise").id},
        )
    assert [e.field for e in error.value.errors] == ["category_id"]


def test_the_scheduled_task_escalates_when_the_clock_passes_the_due_time(shop):
    import time_machine

    from wuye.workorders import tasks

    start = local(2026, 11, 23, 9, 0)
    order = wf.order(shop, status="dispatched", now=start)
    due = step(order, Step.ARRIVE).due_at
    with time_machine.travel(due - dt.timedelta(minutes=1), tick=False):
        assert tasks.sla_scan.call() == {"warnings": 1, "escalations": 0}
    with time_machine.travel(due + dt.timedelta(minutes=31), tick=False):
        assert tasks.sla_scan.call() == {"warnings": 0, "escalations": 2}
    with time_machine.travel(due + dt.timedelta(minutes=40), tick=False):
        assert tasks.sla_scan.call() == {"warnings": 0, "escalations": 0}


def _licence(user, kind: str, expires_on):
    from wuye.testing.factories import CertificateFactory, StaffProfileFactory

    profile = StaffProfileFactory(user=user, company_id=user.memberships.first().company_id)
    return CertificateFactory(staff=profile, kind=kind, expires_on=expires_on, issued_on=dt.date(2020, 1, 1))


def test_an_expired_electricians_licence_blocks_dispatching_electrical_work_and_says_when(shop):
    _licence(shop.technician, "electrician", dt.date(2026, 5, 20))
    order = wf.order(shop, status="accepted", code="electrical")
    with pytest.raises(ValidationFailed) as error:
        services.workorder_act(
            actor=shop.supervisor,
            order_id=order.id,
            action=Action.DISPATCH,
            params={"assignee_id": shop.technician.id},
            now=local(2026, 11, 23, 10, 0),
        )
    [problem] = error.value.errors
    assert (problem.field, problem.code) == ("assignee_id", "certificate")
    assert "2026-05-20" in problem.message
    order.refresh_from_db()
    assert order.status == Status.ACCEPTED and order.assignee_id is None


def test_a_valid_licence_lets_the_same_dispatch_through_and_plumbing_needs_none(shop):
    _licence(shop.technician, "electrician", dt.date(2027, 1, 1))
    order = wf.order(shop, status="dispatched", code="electrical")
    assert order.assignee_id == shop.technician.id
    assert wf.order(shop, status="dispatched", code="plumbing").assignee_id == shop.technician.id


def test_electrical_work_goes_to_nobody_without_the_licence_at_all(shop):
    order = wf.order(shop, status="accepted", code="electrical")
    with pytest.raises(ValidationFailed) as error:
        services.workorder_act(
            actor=shop.supervisor, order_id=order.id, action=Action.DISPATCH, params={"assignee_id": shop.technician.id}
        )
    assert error.value.errors[0].code == "certificate"
