"""Two schedulers at once: plans_run in two threads, each with its own database connection, released together by
a barrier. On PostgreSQL (DATABASE_URL=postgres://…) these are real concurrent transactions: SELECT … FOR UPDATE SKIP
LOCKED on the plan and the unique (plan, due_at) must open every due date's order exactly once. On SQLite the
IMMEDIATE transactions serialise the writers and the same assertions hold."""

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from wuye.equipment import services
from wuye.equipment.models import MaintenanceOrder
from wuye.iot.models import Reading
from wuye.workorders.models import WorkOrder

from . import factories as ef
from .factories import NOW


def run_together(work, count: int = 2) -> list:
    barrier = threading.Barrier(count)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(work())
        except Exception as failure:  # surfaced below: a thread's exception must fail the test
            failures.append(failure)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_open_each_due_order_exactly_once(cast):
    ef.seed_catalogue(cast)
    plans = []
    for number in range(4):
        item = ef.pump(cast, code=f"PUMP-0{number}")
        plans.append(ef.calendar_plan(cast, item, interval=3, interval_unit="day", lead_days=7))
        meter = ef.device(cast, item, code=f"meter-{number}")
        plans.append(ef.meter_plan(cast, item, meter, meter_every=100.0))
        Reading.objects.create(device=meter, metric="run_hours", at=NOW - dt.timedelta(minutes=5), value=2050.0)
    total = 0
    for round_number in range(3):
        now = NOW + dt.timedelta(days=round_number * 2)
        results = run_together(lambda now=now: services.plans_run(now=now))
        total += sum(results)
    per_due = Counter(MaintenanceOrder.objects.values_list("plan_id", "due_at"))
    assert per_due and max(per_due.values()) == 1, connection.vendor
    # Calendar: due days 2, 5, 8, 11 are within 7 days of one of the runs (days 0, 2, 4); meter: one each.
    calendar_plans = [plan for plan in plans if plan.trigger == "calendar"]
    assert all(MaintenanceOrder.objects.filter(plan=plan).count() == 4 for plan in calendar_plans)
    assert MaintenanceOrder.objects.count() == 4 * 4 + 4
    assert WorkOrder.objects.filter(kind="maintenance").count() == MaintenanceOrder.objects.count() == total
