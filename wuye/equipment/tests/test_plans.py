"""Preventive-maintenance plans: validation, calendar plans (fixed and floating), meter plans, and the orders they
open through the work-order service."""

import datetime as dt

import pytest

from wuye.core.errors import ValidationFailed
from wuye.equipment import selectors, services
from wuye.equipment.models import MaintenanceOrder
from wuye.equipment.services import PlanInput
from wuye.iot.models import Reading
from wuye.workorders import services as workorder_services
from wuye.workorders.models import WorkOrder

from . import factories as ef
from .factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(cast):
    ef.seed_catalogue(cast)
    return ef.pump(cast)


def test_a_calendar_plan_opens_maintenance_orders_within_its_lead_time_with_the_checklist(cast, item):
    plan = ef.calendar_plan(cast, item, interval=1, interval_unit="week", lead_days=10)
    opened = services.plans_run(now=NOW)
    # Due in 2 days and in 9 days: both within 10 days; the one in 16 days is not yet.
    assert opened == 2
    rows = list(MaintenanceOrder.objects.filter(plan=plan).order_by("due_at"))
    assert [row.due_at for row in rows] == [NOW + dt.timedelta(days=2), NOW + dt.timedelta(days=9)]
    order = rows[0].work_order
    assert (order.kind, order.channel, order.category.code) == ("maintenance", "system", "plumbing")
    assert (order.source_type, order.source_id) == ("maintenance_plan", str(plan.id))
    assert "检查机械密封" in order.description and "PUMP-01" in order.description
    assert order.events.get().payload["checklist"] == ["检查机械密封", "紧固地脚螺栓"]


def test_running_the_scheduler_again_opens_nothing_twice(cast, item):
    ef.calendar_plan(cast, item, interval=1, interval_unit="week", lead_days=10)
    services.plans_run(now=NOW)
    assert services.plans_run(now=NOW) == 0
    assert services.plans_run(now=NOW + dt.timedelta(hours=5)) == 0
    assert services.plans_run(now=NOW + dt.timedelta(days=7)) == 1
    assert WorkOrder.objects.filter(kind="maintenance").count() == 3


def test_a_plan_that_started_long_ago_opens_one_catch_up_order(cast, item):
    plan = ef.calendar_plan(
        cast, item, interval=1, interval_unit="day", lead_days=0, starts_at=NOW - dt.timedelta(days=40)
    )
    assert services.plans_run(now=NOW) == 2  # yesterday's (late) and today's at 09:00, which is now
    assert [row.due_at for row in plan.orders.order_by("due_at")] == [NOW - dt.timedelta(days=1), NOW]


def test_a_floating_plan_waits_for_completion_and_counts_from_it(cast, item):
    plan = ef.calendar_plan(cast, item, basis="completion", interval=2, interval_unit="week", lead_days=1)
    assert services.plans_run(now=NOW) == 0  # first due in 2 days, lead 1 day
    assert services.plans_run(now=NOW + dt.timedelta(days=1)) == 1
    first = plan.orders.get()
    # Not done: nothing more, however late.
    assert services.plans_run(now=NOW + dt.timedelta(days=30)) == 0
    done_at = NOW + dt.timedelta(days=5)
    ef.finish(cast, first.work_order_id, at=done_at)
    assert selectors.plan_next_due(plan, now=done_at) == done_at + dt.timedelta(weeks=2)
    assert services.plans_run(now=done_at + dt.timedelta(days=12)) == 0
    assert services.plans_run(now=done_at + dt.timedelta(days=13)) == 1
    assert plan.orders.order_by("-due_at").first().due_at == done_at + dt.timedelta(weeks=2)


def test_a_cancelled_occurrence_of_a_floating_plan_counts_from_its_due_date(cast, item):
    plan = ef.calendar_plan(cast, item, basis="completion", interval=10, interval_unit="day", lead_days=0)
    services.plans_run(now=NOW + dt.timedelta(days=2))
    first = plan.orders.get()
    workorder_services.workorder_act(
        actor=cast.supervisor, order_id=first.work_order_id, action="cancel", params={}, now=NOW + dt.timedelta(days=3)
    )
    assert services.plans_run(now=NOW + dt.timedelta(days=11)) == 0
    assert services.plans_run(now=NOW + dt.timedelta(days=12)) == 1


def reading(device, value, at, metric="run_hours"):
    return Reading.objects.create(device=device, metric=metric, at=at, value=value)


def test_a_meter_plan_opens_an_order_each_time_the_meter_passes_the_next_interval(cast, item):
    meter = ef.device(cast, item)
    plan = ef.meter_plan(cast, item, meter)
    reading(meter, 1990.0, NOW - dt.timedelta(hours=2))
    assert services.plans_run(now=NOW) == 0
    reading(meter, 2001.5, NOW - dt.timedelta(hours=1))
    assert services.plans_run(now=NOW) == 1
    assert services.plans_run(now=NOW) == 0
    plan.refresh_from_db()
    assert plan.meter_next == 2500.0
    row = plan.orders.get()
    assert row.meter_reading == 2001.5 and "2001.5" in row.work_order.description
    reading(meter, 3120.0, NOW + dt.timedelta(days=40))  # jumped past 2500 and 3000: one order
    assert services.plans_run(now=NOW + dt.timedelta(days=40)) == 1
    plan.refresh_from_db()
    assert plan.meter_next == 3500.0 and plan.orders.count() == 2


def test_a_meter_plan_keeps_its_minimum_wait_between_orders(cast, item):
    meter = ef.device(cast, item)
    plan = ef.meter_plan(cast, item, meter, meter_every=10.0, min_wait_hours=48)
    reading(meter, 2000.0, NOW)
    assert services.plans_run(now=NOW) == 1
    reading(meter, 2015.0, NOW + dt.timedelta(hours=1))
    assert services.plans_run(now=NOW + dt.timedelta(hours=1)) == 0
    assert services.plans_run(now=NOW + dt.timedelta(hours=47)) == 0
    assert services.plans_run(now=NOW + dt.timedelta(hours=48)) == 1
    assert plan.orders.count() == 2


def test_a_level_meter_plan_fires_again_only_after_its_order_is_done(cast, item):
    meter = ef.device(cast, item)
    plan = ef.meter_plan(cast, item, meter, metric="filter_dp", meter_value=50.0, meter_every=None)
    reading(meter, 55.0, NOW, metric="filter_dp")
    assert services.plans_run(now=NOW) == 1
    reading(meter, 58.0, NOW + dt.timedelta(hours=1), metric="filter_dp")
    assert services.plans_run(now=NOW + dt.timedelta(hours=1)) == 0
    ef.finish(cast, plan.orders.get().work_order_id, at=NOW + dt.timedelta(hours=3))
    reading(meter, 57.0, NOW + dt.timedelta(hours=4), metric="filter_dp")
    assert services.plans_run(now=NOW + dt.timedelta(hours=4)) == 1


def test_plans_of_retired_equipment_and_inactive_plans_open_nothing(cast, item):
    ef.calendar_plan(cast, item)
    services.equipment_set_status(equipment_id=item.id, status="retired", now=NOW)
    other = ef.pump(cast, code="PUMP-02")
    ef.calendar_plan(cast, other, is_active=False)
    assert services.plans_run(now=NOW) == 0


def test_a_plan_with_bad_values_is_refused_naming_each_field(cast, item):
    other_estate_item = ef.pump(cast, code="PUMP-09", estate=cast.other_estate)
    stranger_device = ef.device(cast, other_estate_item, code="far-away")
    with pytest.raises(ValidationFailed) as refusal:
        services.plan_create(
            estate=cast.estate,
            plan=PlanInput(equipment=item, name=" ", trigger="calendar", interval=0, interval_unit="week", basis="x"),
        )
    assert {error.field for error in refusal.value.errors} == {"name", "interval", "basis", "starts_at"}
    with pytest.raises(ValidationFailed) as refusal:
        services.plan_create(
            estate=cast.estate,
            plan=PlanInput(
                equipment=item,
                name="表计",
                trigger="meter",
                device=stranger_device,
                metric="",
                meter_value=None,
                meter_every=-5,
                checklist=("",),
            ),
        )
    assert {error.field for error in refusal.value.errors} == {
        "device_id",
        "metric",
        "meter_value",
        "meter_every",
        "checklist.1",
    }
    with pytest.raises(ValidationFailed) as refusal:
        services.plan_create(estate=cast.estate, plan=PlanInput(equipment=other_estate_item, name="x", trigger="no"))
    assert {error.field for error in refusal.value.errors} >= {"equipment_id", "trigger"}


def test_changing_the_meter_value_restarts_the_series(cast, item):
    meter = ef.device(cast, item)
    plan = ef.meter_plan(cast, item, meter)
    reading(meter, 2100.0, NOW)
    services.plans_run(now=NOW)
    plan.refresh_from_db()
    assert plan.meter_next == 2500.0
    plan = services.plan_update(plan_id=plan.id, plan=services.plan_input_from(plan, meter_value=5000.0))
    assert plan.meter_next is None


def test_fault_reports_and_their_repairs_give_the_item_mttr(cast, item):
    first = ef.fault_report(cast, item, at=NOW - dt.timedelta(days=20))
    ef.finish(cast, first.id, at=NOW - dt.timedelta(days=20) + dt.timedelta(hours=4))
    ef.fault_report(cast, item, at=NOW - dt.timedelta(hours=6))  # still open
    figures = selectors.reliability_by_equipment([item], now=NOW)[item.id]
    assert (figures.failures, figures.repairs, figures.open_failures) == (2, 1, 1)
    assert figures.mttr_hours == 4.0
    assert figures.downtime_hours == 10.0
    assert figures.mtbf_hours == pytest.approx((365 * 24 - 10) / 2)
    orders = selectors.equipment_orders(item)
    assert {order.id for order in orders} >= {first.id}


def test_the_scheduler_runs_the_plans_every_ten_minutes(cast, item):
    from wuye.core import scheduler
    from wuye.equipment import tasks

    job = next(job for job in scheduler.registered_jobs() if job.name == "equipment.run_plans")
    assert job.every == dt.timedelta(minutes=10) and job.task is tasks.run_plans
    ef.calendar_plan(cast, item, starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert tasks.run_plans.call() == 1
