"""Writes to the equipment ledger: add an item, change its status (with an event row); preventive-maintenance
plans and the scheduler that opens their orders; the demo's plans and history."""

import datetime as dt
import math
import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wuye.core import clock
from wuye.core.errors import ErrorCollector, FieldError, ValidationFailed
from wuye.estates.models import Building, Estate, PublicArea, Room

from . import rules
from .choices import (
    TRANSITIONS,
    CalendarBasis,
    EquipmentCategory,
    EquipmentStatus,
    Importance,
    IntervalUnit,
    MeterCondition,
    PlanTrigger,
)
from .models import LABEL_CODE_LENGTH, Equipment, EquipmentEvent, MaintenanceOrder, MaintenancePlan

# No 0/O, 1/l/I: the code is sometimes read aloud or typed from a worn label.
_LABEL_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")


def new_label_code() -> str:
    """A random label code (~60 bits): printed as a QR code, never derived from the id so it cannot be guessed."""
    return "".join(secrets.choice(_LABEL_ALPHABET) for _ in range(LABEL_CODE_LENGTH))


@dataclass(frozen=True)
class NewEquipment:
    code: str
    name: str
    category: str
    importance: str = Importance.B
    building: Building | None = None
    public_area: PublicArea | None = None
    room: Room | None = None
    location_note: str = ""
    maker: str = ""
    model_number: str = ""
    serial_number: str = ""
    installed_on: dt.date | None = None
    notes: str = ""


def _check(estate: Estate, new: NewEquipment) -> None:
    errors = ErrorCollector()
    if not new.code.strip():
        errors.add("code", "required", _("This field is required."))
    if not new.name.strip():
        errors.add("name", "required", _("This field is required."))
    if new.category not in EquipmentCategory.values:
        errors.add("category", "invalid", _("Choose one of the equipment categories."))
    if new.importance not in Importance.values:
        errors.add("importance", "invalid", _("Importance is A, B or C."))
    if new.building is not None and new.building.estate_id != estate.id:
        errors.add("building", "not_found", _("The building is not in this estate."))
    if new.public_area is not None and new.public_area.estate_id != estate.id:
        errors.add("public_area", "not_found", _("The public area is not in this estate."))
    if new.room is not None:
        if new.room.estate_id != estate.id:
            errors.add("room", "not_found", _("The room is not in this estate."))
        elif new.building is not None and new.room.building_id != new.building.id:
            errors.add("room", "not_in_building", _("The room is not in the chosen building."))
        if new.public_area is not None:
            errors.add("public_area", "ambiguous", _("Give a room or a public area, not both."))
    if new.building is None and new.public_area is None and new.room is None and not new.location_note.strip():
        errors.add("location", "required", _("Say where the equipment is: a building, a public area or a room."))
    if Equipment.objects.filter(estate=estate, code=new.code).exists():
        errors.add("code", "duplicate", _("This asset number is already used in the estate."))
    errors.raise_if_any(_("The equipment could not be added."))


@transaction.atomic
def equipment_create(*, estate: Estate, new: NewEquipment, actor=None, now: dt.datetime) -> Equipment:
    """Add an item to the ledger, in service, with a fresh random label code and its first event."""
    _check(estate, new)
    building = new.building or (new.room.building if new.room is not None else None)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                equipment = Equipment.objects.create(
                    estate=estate,
                    code=new.code.strip(),
                    name=new.name.strip(),
                    category=new.category,
                    importance=new.importance,
                    building=building,
                    public_area=new.public_area,
                    room=new.room,
                    location_note=new.location_note.strip(),
                    maker=new.maker.strip(),
                    model_number=new.model_number.strip(),
                    serial_number=new.serial_number.strip(),
                    installed_on=new.installed_on,
                    notes=new.notes,
                    label_code=new_label_code(),
                )
            break
        except IntegrityError:
            # A label-code collision (one in 2**60) or a concurrent add of the same asset number: retry the label;
            # a duplicate number fails again at _check on the next call.
            if Equipment.objects.filter(estate=estate, code=new.code.strip()).exists():
                raise ValidationFailed(
                    _("The equipment could not be added."),
                    errors=[_duplicate_code_error()],
                ) from None
    else:  # pragma: no cover - five collisions of a 60-bit random code
        raise RuntimeError("could not find a free label code")
    EquipmentEvent.objects.create(equipment=equipment, at=now, actor=actor, to_status=equipment.status)
    return equipment


def _duplicate_code_error() -> FieldError:
    return FieldError("code", "duplicate", _("This asset number is already used in the estate."))


@transaction.atomic
def equipment_set_status(*, equipment_id: int, status: str, actor=None, note: str = "", now: dt.datetime) -> Equipment:
    """Move an item to another status if TRANSITIONS allows it, writing the event row. Setting the status it already
    has is a no-op (no event), so a repeated request changes nothing."""
    equipment = Equipment.objects.select_for_update().get(pk=equipment_id)
    if status not in EquipmentStatus.values:
        raise ValidationFailed(
            _("Unknown status."),
            errors=[FieldError("status", "invalid", _("Choose one of the equipment statuses."))],
        )
    if status == equipment.status:
        return equipment
    if status not in TRANSITIONS[equipment.status]:
        raise ValidationFailed(
            _("This status change is not allowed."),
            code="invalid_transition",
            errors=[
                FieldError(
                    "status",
                    "invalid_transition",
                    _("Equipment that is %(current)s cannot become %(wanted)s.")
                    % {
                        "current": EquipmentStatus(equipment.status).label,
                        "wanted": EquipmentStatus(status).label,
                    },
                )
            ],
        )
    EquipmentEvent.objects.create(
        equipment=equipment, at=now, actor=actor, from_status=equipment.status, to_status=status, note=note[:500]
    )
    equipment.status = status
    equipment.save(update_fields=["status", "updated_at"])
    return equipment


# ---------------------------------------------------------------- preventive maintenance plans

# The work-order category (wuye/workorders/data/catalogue.json) an item's maintenance and fault reports go to.
CATEGORY_FOR_EQUIPMENT = {
    EquipmentCategory.LIFT: "lift",
    EquipmentCategory.WATER_PUMP: "plumbing",
    EquipmentCategory.WATER_TANK: "plumbing",
    EquipmentCategory.DRAINAGE: "plumbing",
    EquipmentCategory.FIRE_SYSTEM: "fire",
    EquipmentCategory.GENERATOR: "electrical",
    EquipmentCategory.POWER_DISTRIBUTION: "electrical",
    EquipmentCategory.HVAC: "electrical",
    EquipmentCategory.LIGHTING: "public_lighting",
    EquipmentCategory.GATE: "access",
    EquipmentCategory.ACCESS_CONTROL: "access",
    EquipmentCategory.CCTV: "access",
    EquipmentCategory.OTHER: "other",
}
CHECKLIST_MAX_ITEMS = 50
CHECKLIST_ITEM_MAX = 200
MAX_INTERVAL = {IntervalUnit.DAY: 3650, IntervalUnit.WEEK: 520, IntervalUnit.MONTH: 120}
MAX_LEAD_DAYS = 90
MAX_MIN_WAIT_HOURS = 24 * 366
# The work-order source of an order a plan opened (WorkOrder.source_type; source_id is the plan's id).
PLAN_SOURCE = "maintenance_plan"


def category_for(equipment: Equipment, *, kind: str):
    """The company's active work-order category for this item and kind of order, falling back to "other"."""
    from wuye.workorders.models import Category

    codes = [CATEGORY_FOR_EQUIPMENT.get(equipment.category, "other"), "other"]
    candidates = {
        category.code: category
        for category in Category.objects.filter(company_id=equipment.estate.company_id, code__in=codes, is_active=True)
    }
    for code in codes:
        category = candidates.get(code)
        if category is not None and kind in category.kinds:
            return category
    return None


@dataclass(frozen=True)
class PlanInput:
    """What a supervisor says about a plan. Calendar plans need interval, interval_unit, basis and starts_at; meter
    plans device, metric and meter_value."""

    equipment: Equipment
    name: str
    trigger: str
    checklist: tuple[str, ...] = ()
    category: object | None = None  # a workorders.Category; None: the one for the item's category
    priority: str = "low"
    interval: int | None = None
    interval_unit: str = ""
    basis: str = ""
    starts_at: dt.datetime | None = None
    lead_days: int = 3
    device: object | None = None  # an iot.Device bound to the equipment
    metric: str = ""
    meter_condition: str = MeterCondition.AT_LEAST
    meter_value: float | None = None
    meter_every: float | None = None
    min_wait_hours: int = 0
    is_active: bool = True


def _check_plan(estate: Estate, plan: PlanInput) -> object:
    """Every rule a plan breaks, at once; returns the work-order category to use."""
    from wuye.workorders.choices import Kind, Priority

    errors = ErrorCollector()
    if not plan.name.strip():
        errors.add("name", "required", _("This field is required."))
    elif len(plan.name.strip()) > 100:
        errors.add("name", "too_long", _("At most 100 characters."))
    if plan.equipment.estate_id != estate.id:
        errors.add("equipment_id", "not_found", _("The equipment is not in this estate."))
    elif plan.equipment.status == EquipmentStatus.RETIRED:
        errors.add("equipment_id", "retired", _("Retired equipment gets no maintenance plans."))
    if len(plan.checklist) > CHECKLIST_MAX_ITEMS:
        errors.add("checklist", "too_many", _("At most %(n)d checklist items.") % {"n": CHECKLIST_MAX_ITEMS})
    for number, item in enumerate(plan.checklist, start=1):
        if not isinstance(item, str) or not item.strip() or len(item) > CHECKLIST_ITEM_MAX:
            errors.add(
                f"checklist.{number}",
                "invalid",
                _("Each checklist item is text of 1 to %(n)d characters.") % {"n": CHECKLIST_ITEM_MAX},
            )
    if plan.priority not in Priority.values:
        errors.add("priority", "invalid", _("Unknown priority."))
    category = plan.category
    if category is None:
        category = category_for(plan.equipment, kind=Kind.MAINTENANCE)
        if category is None:
            errors.add("category_id", "required", _("Choose the work-order category for the maintenance orders."))
    elif category.company_id != estate.company_id or not category.is_active:
        errors.add("category_id", "invalid", _("This category is not in the estate's catalogue."))
    elif Kind.MAINTENANCE not in category.kinds:
        errors.add("category_id", "kind_mismatch", _("This category does not take maintenance orders."))
    if not 0 <= plan.lead_days <= MAX_LEAD_DAYS:
        errors.add("lead_days", "out_of_range", _("Between 0 and %(n)d days.") % {"n": MAX_LEAD_DAYS})
    if not 0 <= plan.min_wait_hours <= MAX_MIN_WAIT_HOURS:
        errors.add("min_wait_hours", "out_of_range", _("Between 0 and %(n)d hours.") % {"n": MAX_MIN_WAIT_HOURS})
    if plan.trigger == PlanTrigger.CALENDAR:
        if plan.interval_unit not in IntervalUnit.values:
            errors.add("interval_unit", "invalid", _("The unit is day, week or month."))
        elif plan.interval is None or not 1 <= plan.interval <= MAX_INTERVAL[plan.interval_unit]:
            errors.add(
                "interval",
                "out_of_range",
                _("Every 1 to %(n)d %(unit)s.")
                % {"n": MAX_INTERVAL[plan.interval_unit], "unit": IntervalUnit(plan.interval_unit).label},
            )
        if plan.basis not in CalendarBasis.values:
            errors.add("basis", "invalid", _("Count from the schedule or from the last completion."))
        if plan.starts_at is None:
            errors.add("starts_at", "required", _("Say when the first maintenance is due."))
        elif timezone.is_naive(plan.starts_at):
            errors.add("starts_at", "naive", _("Give the time with its time zone, e.g. 2026-12-01T09:00:00+08:00."))
    elif plan.trigger == PlanTrigger.METER:
        if plan.device is None:
            errors.add("device_id", "required", _("Choose the device whose reading is the meter."))
        elif plan.device.equipment_id != plan.equipment.id:
            errors.add("device_id", "not_bound", _("The device is not fitted to this equipment."))
        if not plan.metric.strip():
            errors.add("metric", "required", _("Name the metric that is the meter, e.g. run_hours."))
        if plan.meter_condition not in MeterCondition.values:
            errors.add("meter_condition", "invalid", _("The condition is >= or <=."))
        if plan.meter_value is None or not math.isfinite(plan.meter_value):
            errors.add("meter_value", "required", _("Give the reading at which maintenance is due."))
        if plan.meter_every is not None and not (math.isfinite(plan.meter_every) and plan.meter_every > 0):
            errors.add("meter_every", "out_of_range", _("The meter interval must be a positive number."))
    else:
        errors.add("trigger", "invalid", _("A plan is triggered by the calendar or by a meter."))
    errors.raise_if_any(_("The maintenance plan could not be saved."))
    return category


def _plan_fields(plan: PlanInput, category) -> dict:
    calendar = plan.trigger == PlanTrigger.CALENDAR
    return {
        "equipment": plan.equipment,
        "name": plan.name.strip(),
        "trigger": plan.trigger,
        "checklist": [item.strip() for item in plan.checklist],
        "category": category,
        "priority": plan.priority,
        "interval": plan.interval if calendar else None,
        "interval_unit": plan.interval_unit if calendar else "",
        "basis": plan.basis if calendar else "",
        "starts_at": plan.starts_at if calendar else None,
        "lead_days": plan.lead_days,
        "device": None if calendar else plan.device,
        "metric": "" if calendar else plan.metric.strip(),
        "meter_condition": plan.meter_condition,
        "meter_value": None if calendar else plan.meter_value,
        "meter_every": None if calendar else plan.meter_every,
        "min_wait_hours": plan.min_wait_hours,
        "is_active": plan.is_active,
    }


@transaction.atomic
def plan_create(*, estate: Estate, plan: PlanInput, actor=None) -> MaintenancePlan:
    category = _check_plan(estate, plan)
    return MaintenancePlan.objects.create(estate=estate, created_by=actor, **_plan_fields(plan, category))


@transaction.atomic
def plan_update(*, plan_id: int, plan: PlanInput) -> MaintenancePlan:
    """Change a plan. A new meter value or condition restarts the meter series; orders already opened stay."""
    current = MaintenancePlan.objects.select_for_update().get(pk=plan_id)
    category = _check_plan(current.estate, plan)
    fields = _plan_fields(plan, category)
    if (fields["meter_value"], fields["meter_condition"], fields["meter_every"]) != (
        current.meter_value,
        current.meter_condition,
        current.meter_every,
    ) or fields["trigger"] != current.trigger:
        current.meter_next = None
    for name, value in fields.items():
        setattr(current, name, value)
    current.save()
    return current


def plan_input_from(plan: MaintenancePlan, **changes) -> PlanInput:
    """A plan's current values as a PlanInput, with `changes` applied (for partial updates)."""
    values = {
        "equipment": plan.equipment,
        "name": plan.name,
        "trigger": plan.trigger,
        "checklist": tuple(plan.checklist or ()),
        "category": plan.category,
        "priority": plan.priority,
        "interval": plan.interval,
        "interval_unit": plan.interval_unit,
        "basis": plan.basis,
        "starts_at": plan.starts_at,
        "lead_days": plan.lead_days,
        "device": plan.device,
        "metric": plan.metric,
        "meter_condition": plan.meter_condition,
        "meter_value": plan.meter_value,
        "meter_every": plan.meter_every,
        "min_wait_hours": plan.min_wait_hours,
        "is_active": plan.is_active,
    }
    values.update(changes)
    return PlanInput(**values)


# ---------------------------------------------------------------- the scheduler


def plans_run(*, now: dt.datetime, estate: Estate | None = None) -> int:
    """Open the maintenance orders that are due: every active plan (of one estate, when given), each in its own
    transaction with the plan's row locked. Safe to run in several processes at once: a plan another run holds is
    skipped (SKIP LOCKED on PostgreSQL; SQLite serialises writers), and (plan, due_at) is unique besides, so every
    due date gets one order. Returns how many orders this call opened."""
    plans = MaintenancePlan.objects.filter(is_active=True).exclude(equipment__status=EquipmentStatus.RETIRED)
    if estate is not None:
        plans = plans.filter(estate=estate)
    opened = 0
    for plan_id in plans.order_by("id").values_list("id", flat=True):
        with transaction.atomic():
            plan = (
                MaintenancePlan.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("equipment__estate", "category", "device")
                .filter(pk=plan_id, is_active=True)
                .first()
            )
            if plan is None:
                continue
            opened += _run_plan(plan, now)
    return opened


def _run_plan(plan: MaintenancePlan, now: dt.datetime) -> int:
    if plan.trigger == PlanTrigger.METER:
        return _run_meter(plan, now)
    if plan.basis == CalendarBasis.COMPLETION:
        return _run_floating(plan, now)
    last_due = plan.orders.order_by("-due_at").values_list("due_at", flat=True).first()
    dues = rules.fixed_dues_to_open(
        starts_at=plan.starts_at,
        interval=plan.interval,
        unit=plan.interval_unit,
        last_due=last_due,
        now=now,
        lead=dt.timedelta(days=plan.lead_days),
    )
    for due in dues:
        _open(plan, due=due, now=now)
    return len(dues)


def _plan_orders_state(plan: MaintenancePlan) -> tuple[bool, dt.datetime | None, set[dt.datetime]]:
    """(an order of the plan is still being worked on, when its last one was completed or skipped, its due dates)."""
    from . import selectors

    rows = list(plan.orders.select_related("work_order"))
    finished = selectors.orders_finished_at([row.work_order for row in rows])
    open_order, counted_from = False, None
    for row in rows:
        order = row.work_order
        if order.status == "cancelled":
            moment = row.due_at  # a skipped occurrence: the next one counts from its due date
        elif order.id in finished:
            moment = finished[order.id]
        else:
            open_order = True
            continue
        counted_from = moment if counted_from is None else max(counted_from, moment)
    return open_order, counted_from, {row.due_at for row in rows}


def _run_floating(plan: MaintenancePlan, now: dt.datetime) -> int:
    open_order, counted_from, dues = _plan_orders_state(plan)
    if open_order:
        return 0
    due = rules.floating_next_due(
        starts_at=plan.starts_at, interval=plan.interval, unit=plan.interval_unit, counted_from=counted_from
    )
    if due in dues or due - dt.timedelta(days=plan.lead_days) > now:
        return 0
    _open(plan, due=due, now=now)
    return 1


def _run_meter(plan: MaintenancePlan, now: dt.datetime) -> int:
    from wuye.iot.models import Reading

    if plan.device_id is None:
        return 0
    reading = (
        Reading.objects.filter(device_id=plan.device_id, metric=plan.metric, at__lte=now)
        .order_by("-at")
        .only("at", "value")
        .first()
    )
    if reading is None:
        return 0
    open_order, _counted_from, dues = _plan_orders_state(plan) if plan.meter_every is None else (False, None, set())
    decision = rules.meter_decide(
        condition=plan.meter_condition,
        value=plan.meter_value,
        every=plan.meter_every,
        next_value=plan.meter_next,
        reading=reading.value,
        last_triggered_at=plan.last_triggered_at,
        min_wait=dt.timedelta(hours=plan.min_wait_hours),
        now=now,
        has_open_order=open_order,
    )
    if not decision.fire or reading.at in dues or plan.orders.filter(due_at=reading.at).exists():
        return 0
    _open(plan, due=reading.at, now=now, meter_reading=reading.value)
    plan.meter_next = decision.next_value
    plan.last_triggered_at = now
    plan.save(update_fields=["meter_next", "last_triggered_at", "updated_at"])
    return 1


def _description(plan: MaintenancePlan, due: dt.datetime, meter_reading: float | None) -> str:
    equipment = plan.equipment
    local_due = timezone.localtime(due, clock.local_tz())
    lines = [
        _("Preventive maintenance: %(plan)s") % {"plan": plan.name},
        _("Equipment: %(code)s %(name)s, %(place)s")
        % {"code": equipment.code, "name": equipment.name, "place": equipment.place_label},
    ]
    if meter_reading is None:
        lines.append(_("Due: %(due)s") % {"due": f"{local_due:%Y-%m-%d %H:%M}"})
    else:
        lines.append(
            _("Meter %(metric)s read %(value)s at %(at)s")
            % {"metric": plan.metric, "value": f"{meter_reading:g}", "at": f"{local_due:%Y-%m-%d %H:%M}"}
        )
    if plan.checklist:
        lines.append(_("Checklist:"))
        lines.extend(f"{number}. {item}" for number, item in enumerate(plan.checklist, start=1))
    return "\n".join(lines)[:2000]


def _open(plan: MaintenancePlan, *, due: dt.datetime, now: dt.datetime, meter_reading: float | None = None):
    """Open one maintenance order for `due` through the work-order service, and record it against the plan."""
    from wuye.workorders.choices import Channel, Kind
    from wuye.workorders.services import NewOrder, workorder_create

    from .selectors import equipment_work_place

    equipment = plan.equipment
    room, public_area = equipment_work_place(equipment)
    with translation.override(settings.LANGUAGE_CODE):
        description = _description(plan, due, meter_reading)
    order, _created = workorder_create(
        actor=None,
        new=NewOrder(
            estate=equipment.estate,
            kind=Kind.MAINTENANCE,
            category=plan.category,
            description=description,
            channel=Channel.SYSTEM,
            priority=plan.priority,
            room=room,
            public_area=public_area,
            source_type=PLAN_SOURCE,
            source_id=str(plan.id),
            extra={
                "maintenance_plan": plan.id,
                "equipment": equipment.id,
                "due_at": due.isoformat(),
                "checklist": list(plan.checklist or ()),
                **({"meter_reading": meter_reading} if meter_reading is not None else {}),
            },
        ),
        now=now,
    )
    return MaintenanceOrder.objects.create(
        plan=plan, work_order=order, due_at=due, meter_reading=meter_reading, created_at=now
    )
