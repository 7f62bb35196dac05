"""The demo's maintenance: plans for seed_iot's equipment, a played-out past with MTBF/MTTR numbers, idempotent."""

import datetime as dt

import pytest

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.equipment import selectors
from wuye.equipment.models import Equipment, MaintenanceOrder, MaintenancePlan
from wuye.equipment.seed import seed_maintenance
from wuye.estates.models import PublicArea
from wuye.iot.services import seed_iot
from wuye.testing import factories
from wuye.workorders.models import WorkOrder

from . import factories as ef
from .factories import NOW

pytestmark = pytest.mark.django_db


def test_seed_maintenance_gives_plans_history_and_reliability_figures_once(cast):
    ef.seed_catalogue(cast)
    for name, kind in (("水泵房", "pump_room"), ("南门", "gate"), ("配电房", "power_room")):
        PublicArea.objects.create(estate=cast.estate, name=name, kind=kind)
    PublicArea.objects.create(estate=cast.estate, name="1栋大堂", kind="lobby", building=cast.building)
    second = factories.UserFactory(username="tech-b", name="二号维修工")
    account_services.membership_ensure(user=second, estate=cast.estate, role=Role.TECHNICIAN)
    seed_iot(cast.estate, now=NOW)
    counts = seed_maintenance(estate=cast.estate, now=NOW, history_days=60)
    assert counts["plans"] == 8
    assert counts["maintenance_orders"] >= 10
    # The cast's technicians hold no licence: the pumps' orders (plumbing) are worked by them, the rest recorded as
    # done by a licensed contractor (closed with the reason).
    done = MaintenanceOrder.objects.filter(due_at__lt=NOW - dt.timedelta(days=1)).select_related("work_order")
    statuses = {(row.plan.equipment.code[:4], row.work_order.status) for row in done}
    assert ("PUMP", "resolved") in statuses and ("LIFT", "closed") in statuses
    assert {status for _code, status in statuses} <= {"resolved", "closed"}
    assert counts["maintenance_done"] == done.count()
    assert counts["breakdowns"] == 6
    # Every due date has one order, opened through the work-order service as maintenance.
    assert MaintenanceOrder.objects.count() == WorkOrder.objects.filter(kind="maintenance").count()
    pump = Equipment.objects.get(estate=cast.estate, code="PUMP-02")
    figures = selectors.reliability_by_equipment([pump], now=NOW)[pump.id]
    # Two breakdowns, 8 h and 4.5 h, both repaired; and seed_iot's story of this pump's unacknowledged critical
    # alarm, whose order still waits: an open failure (counted, not repaired).
    assert (figures.failures, figures.repairs) == (3, 2)
    assert figures.mttr_hours == pytest.approx(6.25)
    assert figures.mtbf_hours is not None and figures.mtbf_hours > 24 * 100
    gate = Equipment.objects.get(estate=cast.estate, code="GATE-S")
    assert gate.status == "faulty"
    assert selectors.reliability_by_equipment([gate], now=NOW)[gate.id].open_failures == 1
    again = seed_maintenance(estate=cast.estate, now=NOW + dt.timedelta(minutes=5), history_days=60)
    assert again["plans"] == 0 and "breakdowns" not in again
    assert MaintenancePlan.objects.filter(estate=cast.estate).count() == 8
