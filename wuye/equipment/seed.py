"""Preventive maintenance for the demo estate: plans for the equipment `wuye.iot.services.seed_iot` creates, and a
played-out past (the scheduler run day by day, the orders worked by the estate's technicians, a few breakdowns
reported and repaired with the items' status changes), so the equipment pages have history and MTBF/MTTR numbers.

Everything goes through the real services (plans_run, workorder_create/act, equipment_set_status)."""

import datetime as dt
import random

from django.db import transaction

from wuye.accounts.choices import Role
from wuye.accounts.models import User
from wuye.core import clock
from wuye.core.errors import DomainError
from wuye.estates.models import Estate
from wuye.workorders import services as workorder_services
from wuye.workorders.choices import Channel

from . import selectors, services
from .models import Equipment, MaintenanceOrder, MaintenancePlan

SEED = 20261127
LIFT_CHECKS = ("检查曳引机及制动器", "检查门锁回路与层门", "检查轿厢照明、通风与对讲", "检查限速器与安全钳", "润滑导轨")
PUMP_CHECKS = ("检查机械密封有无渗漏", "测量电机绝缘与运行电流", "紧固地脚螺栓", "检查压力表与止回阀")
# equipment code, plan name, (interval, unit, basis), lead days, checklist, first due offset (days from history start)
CALENDAR_PLANS = (
    ("LIFT-1-1", "电梯半月保养", (15, "day", "schedule"), 2, LIFT_CHECKS, 3),
    ("LIFT-3-1", "电梯半月保养", (15, "day", "schedule"), 2, LIFT_CHECKS, 8),
    ("PUMP-01", "生活水泵月度保养", (1, "month", "schedule"), 3, PUMP_CHECKS, 5),
    ("PUMP-02", "生活水泵月度保养", (1, "month", "schedule"), 3, PUMP_CHECKS, 12),
    ("FIRE-01", "消防主泵月度试运行", (1, "month", "schedule"), 3, ("手动启泵试运行5分钟", "记录出口压力"), 10),
    ("GEN-01", "发电机空载试运行", (2, "week", "schedule"), 2, ("空载运行15分钟", "检查机油、冷却液液位"), 6),
    ("HVAC-01", "空调主机滤网清洗", (4, "week", "completion"), 3, ("清洗过滤网", "检查冷凝水排放"), 9),
)
# equipment code, device code, plan name, metric, condition, value, every, minimum wait (hours), checklist
METER_PLANS = (
    (
        "GEN-01",
        "gen-01",
        "发电机蓄电池维护",
        "battery_voltage",
        "<=",
        23.5,
        None,
        72,
        ("检查蓄电池电压与电解液", "充电"),
    ),
)
# equipment code, days before now it broke, hours to repair (None: still broken), what was wrong
BREAKDOWNS = (
    ("LIFT-3-1", 97, 3.5, "3栋1号客梯困人，轿厢停在5楼与6楼之间"),
    ("LIFT-3-1", 41, 5.0, "3栋1号客梯开关门反复，无法运行"),
    ("LIFT-3-1", 12, 2.0, "3栋1号客梯运行异响"),
    ("PUMP-02", 66, 8.0, "生活水泵2号漏水，机械密封损坏"),
    ("PUMP-02", 20, 4.5, "生活水泵2号电机过热跳闸"),
    ("GATE-S", 2, None, "南门道闸抬杆不落，无法识别车牌"),
)


def _members(estate: Estate, role: str) -> list[User]:
    return list(
        User.objects.filter(memberships__estate=estate, memberships__role=role, is_active=True)
        .order_by("id")
        .distinct()
    )


def _walk(order_id: int, *, opened: dt.datetime, done: dt.datetime, technicians: list[User], note: str) -> bool:
    """Work an order to resolved by the first technician who may take it (lifts and fire systems need a licence)."""
    for technician in technicians:
        try:
            with transaction.atomic():
                for action, params, at in (
                    ("accept", {}, opened + dt.timedelta(minutes=8)),
                    ("dispatch", {"assignee_id": technician.id}, opened + dt.timedelta(minutes=15)),
                    ("take", {}, opened + dt.timedelta(minutes=20)),
                    ("arrive", {}, done - dt.timedelta(minutes=50)),
                    ("start", {}, done - dt.timedelta(minutes=45)),
                    ("resolve", {"resolution": note}, done),
                ):
                    workorder_services.workorder_act(
                        actor=None, order_id=order_id, action=action, params=params, now=at
                    )
        except DomainError:
            continue
        return True
    # Nobody here holds the licence (lifts are serviced by a licensed contractor, 维保单位): the work is recorded
    # and the order closed by the supervisor with the reason.
    try:
        with transaction.atomic():
            workorder_services.workorder_act(
                actor=None, order_id=order_id, action="accept", params={}, now=opened + dt.timedelta(minutes=8)
            )
            workorder_services.workorder_act(
                actor=None, order_id=order_id, action="force_close", params={"reason": f"{note}（维保单位）"}, now=done
            )
    except DomainError:
        return False
    return True


def _plans(estate: Estate, items: dict[str, Equipment], start: dt.datetime, actor) -> int:
    from wuye.iot.models import Device

    existing = set(MaintenancePlan.objects.filter(estate=estate).values_list("equipment__code", "name"))
    created = 0
    for code, name, (interval, unit, basis), lead, checklist, offset in CALENDAR_PLANS:
        if code not in items or (code, name) in existing:
            continue
        services.plan_create(
            estate=estate,
            plan=services.PlanInput(
                equipment=items[code],
                name=name,
                trigger="calendar",
                checklist=checklist,
                interval=interval,
                interval_unit=unit,
                basis=basis,
                starts_at=(start + dt.timedelta(days=offset)).replace(hour=1, minute=0, second=0, microsecond=0),
                lead_days=lead,
            ),
            actor=actor,
        )
        created += 1
    devices = {device.code: device for device in Device.objects.filter(estate=estate)}
    for code, device_code, name, metric, condition, value, every, wait, checklist in METER_PLANS:
        if code not in items or device_code not in devices or (code, name) in existing:
            continue
        services.plan_create(
            estate=estate,
            plan=services.PlanInput(
                equipment=items[code],
                name=name,
                trigger="meter",
                checklist=checklist,
                device=devices[device_code],
                metric=metric,
                meter_condition=condition,
                meter_value=value,
                meter_every=every,
                min_wait_hours=wait,
            ),
            actor=actor,
        )
        created += 1
    return created


def _history(estate: Estate, *, start: dt.datetime, now: dt.datetime, rng: random.Random) -> dict[str, int]:
    technicians = _members(estate, Role.TECHNICIAN)
    counts = {"maintenance_orders": 0, "maintenance_done": 0, "breakdowns": 0}
    day = start
    while day < now:
        counts["maintenance_orders"] += services.plans_run(now=day, estate=estate)
        due = MaintenanceOrder.objects.filter(
            plan__estate=estate, due_at__lte=day, work_order__status__in=("submitted", "accepted")
        ).select_related("work_order")
        for row in due:
            opened = row.work_order.submitted_at
            done = max(row.due_at, opened + dt.timedelta(hours=2)) + dt.timedelta(hours=rng.uniform(1, 6))
            if done < now and _walk(
                row.work_order_id, opened=opened, done=done, technicians=technicians, note="按计划保养完毕，运行正常"
            ):
                counts["maintenance_done"] += 1
        day += dt.timedelta(days=1)
    items = {item.code: item for item in Equipment.objects.filter(estate=estate)}
    reporter = (_members(estate, Role.SERVICE_AGENT) or _members(estate, Role.SUPERVISOR) or [None])[0]
    for code, days_ago, repair_hours, text in BREAKDOWNS:
        item = items.get(code)
        if item is None:
            continue
        broke = now - dt.timedelta(days=days_ago, hours=rng.uniform(0, 8))
        initial = selectors.fault_report_initial(reporter, item)
        if "category" not in initial or not (initial.get("room") or initial.get("public_area")):
            continue  # nowhere to send a technician to in this estate's places
        order, _created = workorder_services.workorder_create(
            actor=reporter,
            new=workorder_services.NewOrder(
                estate=estate,
                kind=initial["kind"],
                category=initial["category"],
                description=text,
                channel=Channel.STAFF,
                room=initial.get("room"),
                public_area=initial.get("public_area"),
                source_type=selectors.FAULT_SOURCE,
                source_id=str(item.id),
            ),
            now=broke,
        )
        services.equipment_set_status(equipment_id=item.id, status="faulty", note=text[:100], now=broke)
        if repair_hours is not None:
            fixed = broke + dt.timedelta(hours=repair_hours)
            if _walk(order.id, opened=broke, done=fixed, technicians=technicians, note="故障已排除，恢复运行"):
                services.equipment_set_status(equipment_id=item.id, status="in_service", note="修复", now=fixed)
        counts["breakdowns"] += 1
    return counts


def seed_maintenance(*, estate: Estate, now: dt.datetime | None = None, history_days: int = 120) -> dict[str, int]:
    """Maintenance plans for the demo equipment of `estate` (call after `seed_iot`) and, the first time, `history_days`
    of played-out past: plans run day by day with their orders worked, and a few breakdowns repaired (one still
    open). Idempotent: plans by (equipment, name); the history only when the estate has no maintenance order yet."""
    now = now or clock.now()
    rng = random.Random(SEED + estate.id)
    start = now - dt.timedelta(days=history_days)
    items = {item.code: item for item in Equipment.objects.filter(estate=estate)}
    actor = (_members(estate, Role.MANAGER) or _members(estate, Role.SUPERVISOR) or [None])[0]
    counts = {"plans": _plans(estate, items, start, actor)}
    if history_days and not MaintenanceOrder.objects.filter(plan__estate=estate).exists():
        counts.update(_history(estate, start=start, now=now, rng=rng))
    counts["opened_now"] = services.plans_run(now=now, estate=estate)
    return counts
