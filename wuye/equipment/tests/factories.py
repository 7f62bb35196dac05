"""Equipment test data on the shared cast: items, devices, plans, and orders walked to done."""

import datetime as dt

from wuye.equipment import services
from wuye.equipment.services import NewEquipment, PlanInput, equipment_create
from wuye.iot import services as iot_services
from wuye.workorders import services as workorder_services
from wuye.workorders.choices import Channel, Kind
from wuye.workorders.models import Category

# A Friday, 09:00 in Shanghai.
NOW = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)


def seed_catalogue(cast) -> None:
    for company in (cast.company, cast.other_company):
        workorder_services.catalogue_seed(company=company)


def pump(cast, code="PUMP-01", estate=None, **fields):
    estate = estate or cast.estate
    fields.setdefault("location_note", "水泵房")
    new = NewEquipment(code=code, name=f"生活水泵{code[-1]}号", category="water_pump", importance="A", **fields)
    return equipment_create(estate=estate, new=new, now=NOW - dt.timedelta(days=400))


def device(cast, equipment, code="pump-01"):
    created, _credentials = iot_services.device_create(
        estate=equipment.estate, code=code, name=f"{code} 控制器", equipment=equipment
    )
    return created


def calendar_plan(cast, equipment, **overrides):
    values = {
        "equipment": equipment,
        "name": "水泵月度保养",
        "trigger": "calendar",
        "checklist": ("检查机械密封", "紧固地脚螺栓"),
        "interval": 1,
        "interval_unit": "month",
        "basis": "schedule",
        "starts_at": NOW + dt.timedelta(days=2),
        "lead_days": 3,
    }
    values.update(overrides)
    return services.plan_create(estate=equipment.estate, plan=PlanInput(**values), actor=cast.supervisor)


def meter_plan(cast, equipment, device_, **overrides):
    values = {
        "equipment": equipment,
        "name": "水泵运行2000小时保养",
        "trigger": "meter",
        "checklist": ("更换轴承润滑脂",),
        "device": device_,
        "metric": "run_hours",
        "meter_value": 2000.0,
        "meter_every": 500.0,
        "min_wait_hours": 0,
    }
    values.update(overrides)
    return services.plan_create(estate=equipment.estate, plan=PlanInput(**values), actor=cast.supervisor)


def finish(cast, order_id: int, *, at: dt.datetime) -> None:
    """Walk an order to resolved by the cast, the resolve at `at`."""
    steps = [
        ("accept", cast.service_agent, {}),
        ("dispatch", cast.supervisor, {"assignee_id": cast.technician.id}),
        ("take", cast.technician, {}),
        ("arrive", cast.technician, {}),
        ("start", cast.technician, {}),
    ]
    for number, (action, actor, params) in enumerate(steps):
        workorder_services.workorder_act(
            actor=actor, order_id=order_id, action=action, params=params, now=at - dt.timedelta(minutes=10 - number)
        )
    workorder_services.workorder_act(
        actor=cast.technician, order_id=order_id, action="resolve", params={"resolution": "已处理"}, now=at
    )


def fault_report(cast, equipment, *, at: dt.datetime):
    """A repair order about `equipment` as the desk's fault report opens it."""
    order, _created = workorder_services.workorder_create(
        actor=cast.service_agent,
        new=workorder_services.NewOrder(
            estate=equipment.estate,
            kind=Kind.REPAIR_PUBLIC,
            category=Category.objects.get(company=equipment.estate.company, code="plumbing"),
            description=f"{equipment.code} 故障",
            channel=Channel.STAFF,
            public_area=None,
            room=cast.room,
            source_type="equipment",
            source_id=str(equipment.id),
        ),
        now=at,
    )
    return order
