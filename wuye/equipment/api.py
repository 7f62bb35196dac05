"""The equipment API: the ledger (list with filters, one item with its devices' online state, open alarms and
MTBF/MTTR), reliability figures per estate, and preventive-maintenance plans (list for staff; create and change
for supervisors, managers and company administrators).

Someone who works in no estate (an owner) gets 403; an item, plan or estate not visible is 404; a technician or
customer-service agent changing plans gets 403; bad values 422 naming each field.
"""

import dataclasses

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from ninja import Query, Router

from wuye.core import clock
from wuye.core.errors import Forbidden

from . import selectors, services
from .models import Equipment, MaintenancePlan
from .permissions import can_manage_plans, works_anywhere
from .schemas import (
    EquipmentDetailOut,
    EquipmentFilters,
    EquipmentOut,
    EquipmentReliabilityOut,
    PlanFilters,
    PlanIn,
    PlanOut,
    PlanPatch,
    ReliabilityFilters,
)

router = Router(tags=["equipment"])
LIST_LIMIT = 500


def _require_staff(request) -> None:
    if not works_anywhere(request.user):
        raise Forbidden(_("Equipment is for the staff of an estate."))


def _item_out(item: Equipment) -> dict:
    return {
        "id": item.id,
        "estate_id": item.estate_id,
        "code": item.code,
        "name": item.name,
        "category": item.category,
        "category_label": item.get_category_display(),
        "importance": item.importance,
        "status": item.status,
        "status_label": item.get_status_display(),
        "place": item.place_label,
        "building_id": item.building_id,
        "public_area_id": item.public_area_id,
        "room_id": item.room_id,
        "maker": item.maker,
        "model_number": item.model_number,
        "serial_number": item.serial_number,
        "installed_on": item.installed_on,
        "url": reverse("desk:equipment:detail", args=[item.id]),
    }


@router.get("/equipment", response=list[EquipmentOut], summary="The equipment ledger the caller may see")
def equipment_list(request, filters: Query[EquipmentFilters]):
    _require_staff(request)
    items = selectors.equipment_list(
        request.user,
        estate_id=filters.estate_id,
        category=filters.category,
        importance=filters.importance,
        status=filters.status,
        search=filters.q,
    )[:LIST_LIMIT]
    return [_item_out(item) for item in items]


@router.get(
    "/equipment/reliability",
    response=list[EquipmentReliabilityOut],
    summary="Failures, downtime, availability, MTBF and MTTR of every item of an estate",
)
def equipment_reliability(request, filters: Query[ReliabilityFilters]):
    _require_staff(request)
    rows = selectors.reliability_for_estate(request.user, filters.estate_id, now=clock.now(), days=filters.days)
    return [
        {
            "equipment_id": row["equipment"].id,
            "code": row["equipment"].code,
            "name": row["equipment"].name,
            "reliability": dataclasses.asdict(row["reliability"]),
        }
        for row in rows
    ]


@router.get("/equipment/{equipment_id}", response=EquipmentDetailOut, summary="One item with devices and MTBF/MTTR")
def equipment_detail(request, equipment_id: int):
    _require_staff(request)
    now = clock.now()
    item = selectors.equipment_get(request.user, equipment_id)
    open_alarms, _recent = selectors.equipment_alarms(item, limit=0)
    devices = selectors.equipment_devices(item, now=now)
    return {
        **_item_out(item),
        "label_code": item.label_code,
        "label_url": request.build_absolute_uri(reverse("desk:equipment:scan", args=[item.label_code])),
        "fault_report_url": reverse("desk:order_new") + "?" + urlencode({"equipment": item.id}),
        "notes": item.notes,
        "documents": [
            {"id": d.id, "title": d.title, "url": reverse("desk:equipment:document", args=[item.id, d.id])}
            for d in item.documents.all()
        ],
        "devices": [{key: row[key] for key in DEVICE_FIELDS} for row in devices],
        "open_alarms": [
            {
                "id": alarm.id,
                "rule": alarm.rule.name,
                "severity": alarm.severity,
                "status": alarm.status,
                "reason": alarm.reason,
                "raised_at": alarm.raised_at,
            }
            for alarm in open_alarms
        ],
        "reliability": dataclasses.asdict(selectors.reliability_by_equipment([item], now=now)[item.id]),
        "reliability_days": selectors.RELIABILITY_DAYS,
        "plan_ids": list(item.maintenance_plans.order_by("id").values_list("id", flat=True)),
    }


DEVICE_FIELDS = ("id", "code", "name", "is_active", "last_seen_at", "expected_minutes", "state", "online")


# ---------------------------------------------------------------- maintenance plans


def _plan_out(plan: MaintenancePlan) -> dict:
    now = clock.now()
    return {
        **{
            field: getattr(plan, field)
            for field in (
                "id",
                "estate_id",
                "equipment_id",
                "name",
                "trigger",
                "checklist",
                "category_id",
                "priority",
                "interval",
                "interval_unit",
                "basis",
                "starts_at",
                "lead_days",
                "device_id",
                "metric",
                "meter_condition",
                "meter_value",
                "meter_every",
                "meter_next",
                "min_wait_hours",
                "last_triggered_at",
                "is_active",
            )
        },
        "next_due": selectors.plan_next_due(plan, now=now),
        "orders": [row.work_order_id for row in selectors.plan_orders(plan)],
    }


@router.get("/maintenance-plans", response=list[PlanOut], summary="Maintenance plans the caller may see")
def plan_list(request, filters: Query[PlanFilters]):
    _require_staff(request)
    plans = selectors.plan_list(request.user, estate_id=filters.estate_id, equipment_id=filters.equipment_id)
    return [_plan_out(plan) for plan in plans[:LIST_LIMIT]]


def _related(request, estate_id: int, *, category_id=None, device_id=None) -> dict:
    """The category and device a plan names, by id: unknown ids answer 422 naming the field (a device or category of
    another estate is as unknown as a missing one)."""
    from wuye.core.errors import ErrorCollector
    from wuye.iot.models import Device
    from wuye.workorders.models import Category

    errors = ErrorCollector()
    found: dict = {}
    if category_id is not None:
        found["category"] = Category.objects.filter(pk=category_id, company__estates__id=estate_id).first()
        if found["category"] is None:
            errors.add("category_id", "not_found", _("No such category in the estate's catalogue."))
    if device_id is not None:
        found["device"] = Device.objects.filter(pk=device_id, estate_id=estate_id).first()
        if found["device"] is None:
            errors.add("device_id", "not_found", _("No such device in this estate."))
    errors.raise_if_any(_("The maintenance plan could not be saved."))
    return found


def _check_manage(request, estate_id: int) -> None:
    if not can_manage_plans(request.user, estate_id):
        raise Forbidden(_("Only supervisors and managers keep maintenance plans."))


@router.post("/maintenance-plans", response={201: PlanOut}, summary="Create a maintenance plan")
def plan_create(request, payload: PlanIn):
    _require_staff(request)
    item = selectors.equipment_get(request.user, payload.equipment_id)
    _check_manage(request, item.estate_id)
    related = _related(request, item.estate_id, category_id=payload.category_id, device_id=payload.device_id)
    data = payload.dict(exclude={"equipment_id", "category_id", "device_id"})
    data["checklist"] = tuple(data["checklist"])
    data["interval_unit"] = data["interval_unit"] or ""
    data["basis"] = data["basis"] or ""
    plan = services.plan_create(
        estate=item.estate,
        plan=services.PlanInput(equipment=item, **data, **related),
        actor=request.user,
    )
    return 201, _plan_out(plan)


@router.patch("/maintenance-plans/{plan_id}", response=PlanOut, summary="Change a maintenance plan")
def plan_update(request, plan_id: int, payload: PlanPatch):
    _require_staff(request)
    plan = selectors.plan_get(request.user, plan_id)
    _check_manage(request, plan.estate_id)
    changes = payload.dict(exclude_unset=True)
    related = _related(
        request, plan.estate_id, category_id=changes.pop("category_id", None), device_id=changes.pop("device_id", None)
    )
    if "checklist" in changes:
        changes["checklist"] = tuple(changes["checklist"] or ())
    for text_field in ("interval_unit", "basis", "metric", "name"):
        if text_field in changes and changes[text_field] is None:
            changes[text_field] = ""
    for required in ("trigger", "priority", "lead_days", "min_wait_hours", "is_active", "meter_condition"):
        if required in changes and changes[required] is None:
            changes.pop(required)
    updated = services.plan_update(plan_id=plan.id, plan=services.plan_input_from(plan, **changes, **related))
    return _plan_out(updated)
