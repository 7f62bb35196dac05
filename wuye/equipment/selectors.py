"""Reads of the equipment ledger, its devices, readings, alarms, work orders, maintenance plans and reliability
figures, always starting from what the user may see."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from wuye.core import clock
from wuye.estates.choices import PublicAreaKind
from wuye.estates.models import PublicArea

from . import rules
from .models import Equipment, EquipmentEvent, MaintenanceOrder, MaintenancePlan
from .permissions import equipment_visible, plans_visible

# Work orders linked to an item: raised from its page or label (a fault report), by one of its devices' alarms, or
# by one of its maintenance plans (WorkOrder.source_type; source_id is the item's, alarm's or plan's id).
FAULT_SOURCE = "equipment"
ALARM_SOURCE = "alarm"
PLAN_SOURCE = "maintenance_plan"
FAILURE_KINDS = ("repair_public", "repair_home", "alarm")
# How often a device is expected to report when no "no data" alarm rule says so (iot.selectors.device_is_online).
DEFAULT_REPORT_INTERVAL = dt.timedelta(minutes=5)
RELIABILITY_DAYS = 365
CHART_POINTS = 720


def equipment_list(
    user,
    *,
    estate_id: int | None = None,
    category: str | None = None,
    status: str | None = None,
    importance: str | None = None,
    search: str | None = None,
) -> QuerySet[Equipment]:
    queryset = equipment_visible(user).select_related("estate", "building", "public_area", "room__building")
    if estate_id is not None:
        queryset = queryset.filter(estate_id=estate_id)
    if category:
        queryset = queryset.filter(category=category)
    if status:
        queryset = queryset.filter(status=status)
    if importance:
        queryset = queryset.filter(importance=importance)
    if search:
        term = search.strip()[:60]
        queryset = queryset.filter(
            Q(code__icontains=term)
            | Q(name__icontains=term)
            | Q(maker__icontains=term)
            | Q(model_number__icontains=term)
            | Q(serial_number__icontains=term)
            | Q(location_note__icontains=term)
        )
    return queryset.order_by("estate_id", "category", "code")


def equipment_get(user, equipment_id: int) -> Equipment:
    """One visible item, or 404 (its existence is not revealed)."""
    equipment = equipment_list(user).filter(pk=equipment_id).first()
    if equipment is None:
        raise Http404
    return equipment


def equipment_by_label(user, label_code: str) -> Equipment:
    """The item a scanned QR label names, if the user may see it; else 404."""
    equipment = equipment_list(user).filter(label_code=label_code).first()
    if equipment is None:
        raise Http404
    return equipment


def equipment_work_place(equipment: Equipment) -> tuple[object | None, PublicArea | None]:
    """(room, public area) an order about this item names: its own, or for an item known only by its building (a
    lift) the building's lobby, so a public repair has a place."""
    if equipment.room_id:
        return equipment.room, None
    if equipment.public_area_id:
        return None, equipment.public_area
    if equipment.building_id:
        areas = PublicArea.objects.filter(estate_id=equipment.estate_id, building_id=equipment.building_id)
        lobby = areas.filter(kind=PublicAreaKind.LOBBY).order_by("id").first() or areas.order_by("id").first()
        return None, lobby
    return None, None


def fault_report_initial(user, equipment: Equipment) -> dict:
    """What the desk's new-order form is prefilled with for a fault on this item: estate, kind, category, place and a
    description naming it (the person adds what is wrong)."""
    from wuye.workorders.choices import Channel, Kind

    from .services import category_for

    room, public_area = equipment_work_place(equipment)
    kind = Kind.REPAIR_HOME if room is not None else Kind.REPAIR_PUBLIC
    category = category_for(equipment, kind=kind)
    place = equipment.place_label
    initial = {
        "estate": equipment.estate,
        "channel": Channel.STAFF,
        "kind": kind,
        "description": _("Fault on %(code)s %(name)s (%(place)s): ")
        % {"code": equipment.code, "name": equipment.name, "place": place or equipment.estate.name},
        "equipment": equipment.id,
    }
    if category is not None:
        initial["category"] = category
    if room is not None:
        initial["room"] = room
    if public_area is not None:
        initial["public_area"] = public_area
    return initial


# ---------------------------------------------------------------- devices, readings and alarms


def _expected_intervals(devices: Sequence) -> dict[int, dt.timedelta]:
    """Device id → how often it should report: the shortest active "no data for N minutes" rule that applies to it
    (its own, or its equipment category's, or the estate's), else DEFAULT_REPORT_INTERVAL."""
    from wuye.iot.choices import RuleKind
    from wuye.iot.models import AlarmRule

    if not devices:
        return {}
    estate_ids = {device.estate_id for device in devices}
    rules_ = list(AlarmRule.objects.filter(estate_id__in=estate_ids, kind=RuleKind.NO_DATA, is_active=True))
    expected = {}
    for device in devices:
        minutes = [
            float(rule.params.get("minutes") or 0)
            for rule in rules_
            if rule.estate_id == device.estate_id
            and (
                rule.device_id == device.id
                or (
                    rule.device_id is None
                    and rule.equipment_category in ("", getattr(device.equipment, "category", None))
                )
            )
        ]
        minutes = [m for m in minutes if m > 0]
        expected[device.id] = dt.timedelta(minutes=min(minutes)) if minutes else DEFAULT_REPORT_INTERVAL
    return expected


def equipment_devices(equipment: Equipment, *, now: dt.datetime) -> list[dict]:
    """The item's devices with their online state (last heard from vs the interval they should report in)."""
    from wuye.iot.models import Device

    devices = list(Device.objects.filter(equipment=equipment).select_related("equipment").order_by("code"))
    expected = _expected_intervals(devices)
    labels = {"online": _("Online"), "offline": _("Offline"), "never": _("Never reported")}
    rows = []
    for device in devices:
        state = (
            rules.device_state(last_seen_at=device.last_seen_at, now=now, expected_every=expected[device.id])
            if device.is_active
            else "offline"
        )
        rows.append(
            {
                "device": device,
                "id": device.id,
                "code": device.code,
                "name": device.name,
                "is_active": device.is_active,
                "last_seen_at": device.last_seen_at,
                "expected_minutes": expected[device.id] / dt.timedelta(minutes=1),
                "state": state,
                "state_label": labels[state],
                "online": state == "online",
            }
        )
    return rows


def _millis(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def equipment_charts(equipment: Equipment, *, now: dt.datetime) -> dict:
    """The data of the item's reading charts, ready for ECharts: per device and metric, the last 24 hours of raw
    readings (thinned to at most CHART_POINTS by averaging) and the last 30 days of hourly means with their
    min and max. Times are epoch milliseconds."""
    from wuye.iot.models import Device, HourlyRollup, Reading

    devices = list(Device.objects.filter(equipment=equipment).order_by("code").only("id", "code", "name"))
    day_ago, month_ago = now - dt.timedelta(hours=24), now - dt.timedelta(days=30)
    charts = []
    for device in devices:
        raw: dict[str, list[tuple[float, float]]] = defaultdict(list)
        # Index (device, at, metric): one range scan per device.
        for metric, at, value in (
            Reading.objects.filter(device_id=device.id, at__gte=day_ago, at__lte=now)
            .order_by("at")
            .values_list("metric", "at", "value")
            .iterator(chunk_size=5000)
        ):
            raw[metric].append((_millis(at), value))
        hourly: dict[str, list[list[float]]] = defaultdict(list)
        for metric, hour, count, low, high, total in (
            HourlyRollup.objects.filter(device_id=device.id, hour__gte=month_ago, hour__lte=now)
            .order_by("hour")
            .values_list("metric", "hour", "count", "min", "max", "sum")
        ):
            hourly[metric].append([_millis(hour), total / count if count else None, low, high])
        for metric in sorted(set(raw) | set(hourly)):
            charts.append(
                {
                    "device": device.code,
                    "device_name": device.name,
                    "metric": metric,
                    "day": [list(point) for point in rules.thin(raw.get(metric, []), max_points=CHART_POINTS)],
                    "month": hourly.get(metric, []),
                }
            )
    return {
        "from_day": _millis(day_ago),
        "from_month": _millis(month_ago),
        "now": _millis(now),
        "charts": charts,
        "labels": {
            "day": _("Last 24 hours"),
            "month": _("Last 30 days (hourly mean)"),
            "min": _("minimum"),
            "max": _("maximum"),
        },
    }


def equipment_alarms(equipment: Equipment, *, limit: int = 20) -> tuple[list, list]:
    """(open alarms, recent cleared alarms) of the item's devices, newest first. Read-only."""
    from wuye.iot.choices import OPEN_STATUSES
    from wuye.iot.models import Alarm

    alarms = Alarm.objects.filter(device__equipment=equipment).select_related("rule", "device").order_by("-raised_at")
    open_alarms = list(alarms.filter(status__in=OPEN_STATUSES))
    recent = list(alarms.exclude(status__in=OPEN_STATUSES)[:limit])
    return open_alarms, recent


# ---------------------------------------------------------------- work orders and reliability


def _linked_orders_filter(equipment_ids: Iterable[int]) -> Q:
    from wuye.iot.models import Alarm

    ids = list(equipment_ids)
    alarm_ids = [str(pk) for pk in Alarm.objects.filter(device__equipment_id__in=ids).values_list("id", flat=True)]
    plan_ids = [str(pk) for pk in MaintenancePlan.objects.filter(equipment_id__in=ids).values_list("id", flat=True)]
    return (
        Q(source_type=FAULT_SOURCE, source_id__in=[str(pk) for pk in ids])
        | Q(source_type=ALARM_SOURCE, source_id__in=alarm_ids)
        | Q(source_type=PLAN_SOURCE, source_id__in=plan_ids)
    )


def _owner_of_order(order, alarm_equipment: dict[str, int], plan_equipment: dict[str, int]) -> int | None:
    if order.source_type == FAULT_SOURCE:
        return int(order.source_id)
    if order.source_type == ALARM_SOURCE:
        return alarm_equipment.get(order.source_id)
    if order.source_type == PLAN_SOURCE:
        return plan_equipment.get(order.source_id)
    return None


def equipment_orders(equipment: Equipment, *, limit: int = 50) -> list:
    """The item's work orders (fault reports, alarm orders, maintenance), newest first."""
    from wuye.workorders.models import WorkOrder

    return list(
        WorkOrder.objects.filter(estate_id=equipment.estate_id)
        .filter(_linked_orders_filter([equipment.id]))
        .select_related("category", "assignee")
        .order_by("-submitted_at")[:limit]
    )


def orders_finished_at(orders: Sequence) -> dict[int, dt.datetime]:
    """Order id → when the work was done: its last "finish" (resolve) event, or its close when it was closed
    without one (force close). Orders not done (open, reopened or cancelled) are absent."""
    from wuye.workorders.choices import Action, Status
    from wuye.workorders.models import WorkOrderEvent

    done_statuses = {Status.RESOLVED, Status.RATED, Status.VISITED, Status.CLOSED}
    done = [order for order in orders if order.status in done_statuses]
    if not done:
        return {}
    resolved = dict(
        WorkOrderEvent.objects.filter(order_id__in=[order.id for order in done], action=Action.RESOLVE)
        .values("order_id")
        .annotate(last=Max("at"))
        .values_list("order_id", "last")
    )
    finished = {}
    for order in done:
        moment = resolved.get(order.id) or order.closed_at
        if moment is not None:
            finished[order.id] = moment
    return finished


def reliability_by_equipment(
    equipment: Sequence[Equipment], *, now: dt.datetime, days: int = RELIABILITY_DAYS
) -> dict[int, rules.Reliability]:
    """Equipment id → failures, downtime, availability, MTBF and MTTR over the last `days` (or since the item
    was added to the ledger, when later). A handful of queries whatever the number of items."""
    from wuye.iot.models import Alarm
    from wuye.workorders.models import WorkOrder

    items = list(equipment)
    if not items:
        return {}
    ids = [item.id for item in items]
    alarm_rows = Alarm.objects.filter(device__equipment_id__in=ids).values_list("id", "device__equipment_id")
    alarm_equipment = {str(pk): equipment_id for pk, equipment_id in alarm_rows}
    orders = list(
        WorkOrder.objects.filter(estate_id__in={item.estate_id for item in items}, kind__in=FAILURE_KINDS)
        .filter(
            Q(source_type=FAULT_SOURCE, source_id__in=[str(pk) for pk in ids])
            | Q(source_type=ALARM_SOURCE, source_id__in=list(alarm_equipment))
        )
        .exclude(status="cancelled")
        .only("id", "status", "submitted_at", "closed_at", "source_type", "source_id")
    )
    finished = orders_finished_at(orders)
    failures: dict[int, list[rules.Span]] = defaultdict(list)
    for order in orders:
        owner = _owner_of_order(order, alarm_equipment, {})
        if owner is not None:
            failures[owner].append(rules.Span(order.submitted_at, finished.get(order.id)))
    changes: dict[int, list[rules.StatusChange]] = defaultdict(list)
    first_record: dict[int, dt.datetime] = {}
    for equipment_id, at, from_status, to_status in (
        EquipmentEvent.objects.filter(equipment_id__in=ids)
        .order_by("at", "id")
        .values_list("equipment_id", "at", "from_status", "to_status")
    ):
        first_record.setdefault(equipment_id, at)
        # The entry in the ledger (no "from") is not a status change: an item starts in service.
        if from_status:
            changes[equipment_id].append(rules.StatusChange(at, to_status))
    window_start = now - dt.timedelta(days=days)
    return {
        item.id: rules.reliability(
            failures=failures[item.id],
            status_changes=changes[item.id],
            start=max(window_start, _in_service_since(item, first_record.get(item.id))),
            end=now,
        )
        for item in items
    }


def _in_service_since(item: Equipment, first_record: dt.datetime | None) -> dt.datetime:
    """Since when the item's figures count: its installation, or (unknown) its first record in the ledger."""
    if item.installed_on is not None:
        return dt.datetime.combine(item.installed_on, dt.time(), tzinfo=clock.local_tz())
    return first_record or item.created_at


def reliability_for_estate(user, estate_id: int, *, now: dt.datetime, days: int = RELIABILITY_DAYS) -> list[dict]:
    """Every visible item of an estate with its reliability figures (404 for an estate the user does not see)."""
    from wuye.estates.permissions import staff_estates

    if not staff_estates(user).filter(pk=estate_id).exists():
        raise Http404
    items = list(equipment_list(user, estate_id=estate_id))
    figures = reliability_by_equipment(items, now=now, days=days)
    return [{"equipment": item, "reliability": figures[item.id]} for item in items]


# ---------------------------------------------------------------- maintenance plans


def plan_list(user, *, estate_id: int | None = None, equipment_id: int | None = None) -> QuerySet[MaintenancePlan]:
    plans = plans_visible(user).select_related("equipment", "category", "device", "estate")
    if estate_id is not None:
        plans = plans.filter(estate_id=estate_id)
    if equipment_id is not None:
        plans = plans.filter(equipment_id=equipment_id)
    return plans.order_by("estate_id", "equipment_id", "name")


def plan_get(user, plan_id: int) -> MaintenancePlan:
    plan = plan_list(user).filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    return plan


def plan_next_due(plan: MaintenancePlan, *, now: dt.datetime) -> dt.datetime | None:
    """When a calendar plan is next due (None for meter plans, and for a floating plan waiting on an open order)."""
    if plan.trigger != "calendar" or plan.starts_at is None:
        return None
    if plan.basis == "completion":
        from .services import _plan_orders_state

        open_order, counted_from, _dues = _plan_orders_state(plan)
        if open_order:
            return None
        return rules.floating_next_due(
            starts_at=plan.starts_at, interval=plan.interval, unit=plan.interval_unit, counted_from=counted_from
        )
    last_due = plan.orders.aggregate(last=Max("due_at"))["last"]
    # The due date after the last one opened lies within one interval of it.
    until = rules.step(max(last_due or plan.starts_at, plan.starts_at), plan.interval, plan.interval_unit, 1)
    dues = rules.fixed_due_dates(
        starts_at=plan.starts_at, interval=plan.interval, unit=plan.interval_unit, after=last_due, until=until
    )
    return dues[0] if dues else None


def plan_orders(plan: MaintenancePlan, *, limit: int = 20) -> list[MaintenanceOrder]:
    return list(plan.orders.select_related("work_order").order_by("-due_at")[:limit])
