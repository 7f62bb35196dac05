"""Reads of devices, readings and alarms, always starting from what the user may see."""

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext

from wuye.accounts.models import User
from wuye.workorders.choices import Status as OrderStatus

from .choices import OPEN_STATUSES, TRANSITIONS, USER_ACTIONS, AlarmAction
from .models import Alarm, AlarmEvent, Device, HourlyRollup, Reading, TelemetryRejection
from .permissions import RESPOND_ROLES, alarms_visible, can_assign, can_respond, devices_visible
from .rules import REASON_MESSAGES, reason_text


def device_get(user, device_id: int) -> Device:
    device = devices_visible(user).select_related("estate", "equipment").filter(pk=device_id).first()
    if device is None:
        raise Http404
    return device


def device_recent_readings(
    user, device_id: int, *, metric: str | None = None, since: dt.datetime | None = None, limit: int = 500
) -> QuerySet[Reading]:
    """A visible device's newest readings first (index: device, at, metric)."""
    device = device_get(user, device_id)
    readings = Reading.objects.filter(device=device)
    if since is not None:
        readings = readings.filter(at__gte=since)
    if metric:
        readings = readings.filter(metric=metric)
    return readings.order_by("-at")[:limit]


def device_hourly(user, device_id: int, *, metric: str, since: dt.datetime, until: dt.datetime):
    """A visible device's hourly rollups of one metric over a period, oldest first (for long-range charts)."""
    device = device_get(user, device_id)
    return HourlyRollup.objects.filter(device=device, metric=metric, hour__gte=since, hour__lt=until).order_by("hour")


def alarms_open(user, *, estate_id: int | None = None) -> QuerySet[Alarm]:
    alarms = alarms_visible(user).filter(status__in=OPEN_STATUSES).select_related("rule", "device__equipment")
    if estate_id is not None:
        alarms = alarms.filter(estate_id=estate_id)
    return alarms.order_by("-raised_at")


def device_is_online(device: Device, *, now: dt.datetime, within: dt.timedelta = dt.timedelta(minutes=5)) -> bool:
    return device.last_seen_at is not None and now - device.last_seen_at <= within


def rejection_counts(*, since: dt.date) -> QuerySet[TelemetryRejection]:
    """Refused telemetry per day, channel and reason (operators; not scoped to an estate: a refused message may
    name no estate at all)."""
    return TelemetryRejection.objects.filter(day__gte=since).order_by("-day", "channel", "reason")


def alarm_list(
    user,
    *,
    estate_id: int | None = None,
    status: str | None = None,
    severity: str | None = None,
    device_id: int | None = None,
    equipment_id: int | None = None,
) -> QuerySet[Alarm]:
    """The alarms console: visible alarms, newest first, filtered. `status` "open" means raised or acknowledged.
    Rows carry their rule, device, equipment, assignee and order (no query per row)."""
    alarms = alarms_visible(user).select_related(
        "estate", "rule", "device__equipment", "assignee", "acknowledged_by", "work_order"
    )
    if estate_id is not None:
        alarms = alarms.filter(estate_id=estate_id)
    if status == "open":
        alarms = alarms.filter(status__in=OPEN_STATUSES)
    elif status:
        alarms = alarms.filter(status=status)
    if severity:
        alarms = alarms.filter(severity=severity)
    if device_id is not None:
        alarms = alarms.filter(device_id=device_id)
    if equipment_id is not None:
        alarms = alarms.filter(device__equipment_id=equipment_id)
    return alarms.order_by("-raised_at", "-id")


def alarm_get(user, alarm_id: int) -> Alarm:
    alarm = alarm_list(user).select_related("cleared_by").filter(pk=alarm_id).first()
    if alarm is None:
        raise Http404
    return alarm


def alarm_timeline(alarm: Alarm) -> QuerySet[AlarmEvent]:
    return alarm.events.select_related("actor").order_by("at", "id")


def alarm_assignable(estate_id: int) -> QuerySet[User]:
    """The people an alarm of this estate may be assigned to (they may answer alarms there)."""
    return (
        User.objects.filter(is_active=True, memberships__estate_id=estate_id, memberships__role__in=RESPOND_ROLES)
        .distinct()
        .order_by("name", "id")
    )


def _translated(code: str, params, fallback: str) -> str:
    if code in REASON_MESSAGES and isinstance(params, dict):
        try:
            return reason_text(code, params, gettext)
        except (KeyError, TypeError, ValueError):
            pass  # parameters from an older engine: the stored English text
    return fallback


def alarm_reason(alarm: Alarm) -> str:
    """What the rule said when it raised the alarm, in the reader's language."""
    return _translated(alarm.reason_code, alarm.reason_params, alarm.reason)


def alarm_event_text(event: AlarmEvent) -> str:
    """An event's note for the history: the engine's explanation (raise, clear) in the reader's language, or what a
    person wrote."""
    payload = event.payload or {}
    if event.action == AlarmAction.ORDER_DONE and payload.get("status") in OrderStatus.values:
        return str(OrderStatus(payload["status"]).label)
    return _translated(payload.get("reason_code") or "", payload.get("reason_params"), event.note)


def alarm_allowed_actions(user, alarm: Alarm) -> list[str]:
    """The actions `user` may take on `alarm` now (what the console shows as buttons)."""
    allowed = []
    for action in USER_ACTIONS:
        sources, _target = TRANSITIONS[action]
        permitted = can_assign(user, alarm) if action == AlarmAction.ASSIGN else can_respond(user, alarm)
        if alarm.status in sources and permitted:
            allowed.append(str(action))
    return allowed
