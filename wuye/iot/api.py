"""HTTP telemetry (`POST /api/v1/telemetry`, for devices) and the alarms API (`/api/v1/alarms`, for staff).

Telemetry is for devices that cannot hold an MQTT connection.

A device authenticates with `Authorization: Device <device id>:<token>` (the token issued with its credentials; only
its hash is stored). The body is the same JSON as on MQTT (one instant, or {"readings": [...]}), checked by the same
rules (wuye.iot.ingest) and stored and evaluated by the same service (`services.telemetry_store`). People's bearer
tokens and sessions do not work here. Refused bodies answer 422 with the reason as `code` and count as rejections.

Alarms: staff of an estate list and read its alarms (anyone else: the list 403, an alarm 404); those who answer
alarms acknowledge and clear them, grid leaders and above assign them (403 for the rest); a move the lifecycle
refuses answers 409 naming the status; bad input 422 naming the field.
"""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Body, Query, Router
from ninja.security import APIKeyHeader

from wuye.core import clock
from wuye.core.errors import FieldError, Forbidden, Unauthenticated, ValidationFailed

from . import ingest, selectors, services
from .choices import Channel, Rejection
from .models import Alarm
from .permissions import can_see_alarms
from .schemas import (
    TELEMETRY_BODY_OPENAPI,
    AlarmAssignIn,
    AlarmClearIn,
    AlarmFilters,
    AlarmNoteIn,
    AlarmOut,
    AlarmPageOut,
    TelemetryOut,
)

router = Router(tags=["iot"])

_SCHEME = "Device "


class DeviceToken(APIKeyHeader):
    """`Authorization: Device <device id>:<token>`."""

    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None):
        device = None
        if key and key.startswith(_SCHEME):
            device_id, _colon, token = key[len(_SCHEME) :].strip().partition(":")
            if device_id.isdigit() and len(device_id) < 19 and token:
                device = services.device_token_authenticate(device_id=int(device_id), token=token)
        if device is None:
            services.rejections_record(
                channel=Channel.HTTP,
                counts={Rejection.BAD_TOKEN: (1, request.headers.get("Authorization", "")[:20])},
                now=clock.now(),
            )
            raise Unauthenticated(
                _("Send the device's credentials: Authorization: Device <device id>:<token>."), code="bad_token"
            )
        return device


def _refusal(refused: ingest.Refused) -> ValidationFailed:
    label = str(Rejection(refused.reason).label)
    message = f"{label}: {refused.detail}" if refused.detail else label
    return ValidationFailed(
        _("The telemetry was refused."),
        code=refused.reason,
        errors=[FieldError(refused.field or "body", refused.reason, message)],
    )


@router.post(
    "/telemetry",
    auth=DeviceToken(),
    response={200: TelemetryOut},
    summary="A device sends readings: one instant {ts, values} or a batch {readings: [...]}",
    openapi_extra=TELEMETRY_BODY_OPENAPI,
)
def telemetry_post(request):
    device = request.auth
    now = clock.now()
    limits = services.limits(now)
    try:
        length = int(request.headers.get("Content-Length") or 0)
        if length > limits.max_payload_bytes:
            # Refused before reading the body into memory.
            raise ingest.Refused(Rejection.TOO_LARGE, f"{length} bytes, at most {limits.max_payload_bytes}", "body")
        parsed = ingest.parse_body(request.body, now=now, limits=limits, require_sent_at=False)
    except ingest.Refused as refused:
        services.rejections_record(
            channel=Channel.HTTP, counts={refused.reason: (1, f"device {device.pk}: {refused.detail}")}, now=now
        )
        raise _refusal(refused) from None
    result = services.telemetry_store(
        batches=[services.DeviceBatch(device_id=device.pk, estate_id=device.estate_id, readings=parsed.readings)],
        now=now,
    )
    return {
        "received": result.received,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "alarms_raised": result.raised,
        "alarms_cleared": result.cleared,
    }


# ---------------------------------------------------------------- alarms


def _named(obj, name: str) -> dict | None:
    return None if obj is None else {"id": obj.id, "name": name}


def _person(user) -> dict | None:
    return _named(user, user.display_name) if user is not None else None


def _alarm_item(alarm: Alarm) -> dict:
    equipment = alarm.device.equipment
    order = alarm.work_order
    return {
        "id": alarm.id,
        "estate_id": alarm.estate_id,
        "rule": _named(alarm.rule, alarm.rule.name),
        "device": _named(alarm.device, alarm.device.name),
        "equipment": _named(equipment, equipment.name) if equipment else None,
        "status": alarm.status,
        "status_label": alarm.get_status_display(),
        "severity": alarm.severity,
        "severity_label": alarm.get_severity_display(),
        "reason": selectors.alarm_reason(alarm),
        "raised_at": alarm.raised_at,
        "acknowledged_at": alarm.acknowledged_at,
        "cleared_at": alarm.cleared_at,
        "assignee": _person(alarm.assignee),
        "escalation_level": alarm.escalation_level,
        "escalate_at": alarm.escalate_at,
        "raise_value": alarm.raise_value,
        "last_value": alarm.last_value,
        "work_order": None
        if order is None
        else {
            "id": order.id,
            "number": order.number,
            "status": order.status,
            "status_label": order.get_status_display(),
            "url": reverse("desk:order_detail", args=[order.id]),
        },
    }


def _alarm_out(user, alarm_id: int) -> dict:
    alarm = selectors.alarm_get(user, alarm_id)
    return {
        **_alarm_item(alarm),
        "acknowledged_by": _person(alarm.acknowledged_by),
        "cleared_by": _person(alarm.cleared_by),
        "allowed_actions": selectors.alarm_allowed_actions(user, alarm),
        "events": [
            {
                "id": event.id,
                "action": event.action,
                "action_label": event.get_action_display(),
                "actor": _person(event.actor),
                "at": event.at,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "note": event.note,
                "payload": event.payload or {},
            }
            for event in selectors.alarm_timeline(alarm)
        ],
    }


@router.get("/alarms", response=AlarmPageOut, summary="Alarms the caller may see, newest first, filtered")
def alarm_list(request, filters: Query[AlarmFilters]):
    if not can_see_alarms(request.user):
        raise Forbidden(_("Alarms are for the staff of an estate."))
    alarms = selectors.alarm_list(
        request.user,
        estate_id=filters.estate_id,
        status=filters.status,
        severity=filters.severity,
        device_id=filters.device_id,
        equipment_id=filters.equipment_id,
    )
    page = alarms[filters.offset : filters.offset + filters.limit]
    return {"count": alarms.count(), "items": [_alarm_item(alarm) for alarm in page]}


@router.get("/alarms/{alarm_id}", response=AlarmOut, summary="One alarm with its history and what the caller may do")
def alarm_detail(request, alarm_id: int):
    return _alarm_out(request.user, alarm_id)


@router.post("/alarms/{alarm_id}/acknowledge", response=AlarmOut, summary="Acknowledge a raised alarm")
def alarm_acknowledge(request, alarm_id: int, payload: Body[AlarmNoteIn | None] = None):
    alarm = selectors.alarm_get(request.user, alarm_id)
    services.alarm_acknowledge(
        actor=request.user, alarm_id=alarm.id, note=payload.note if payload else "", now=clock.now()
    )
    return _alarm_out(request.user, alarm.id)


@router.post("/alarms/{alarm_id}/assign", response=AlarmOut, summary="Assign an open alarm to someone of the estate")
def alarm_assign(request, alarm_id: int, payload: AlarmAssignIn):
    alarm = selectors.alarm_get(request.user, alarm_id)
    services.alarm_assign(
        actor=request.user, alarm_id=alarm.id, assignee_id=payload.assignee_id, note=payload.note, now=clock.now()
    )
    return _alarm_out(request.user, alarm.id)


@router.post("/alarms/{alarm_id}/clear", response=AlarmOut, summary="Clear an open alarm by hand, with a note")
def alarm_clear(request, alarm_id: int, payload: AlarmClearIn):
    alarm = selectors.alarm_get(request.user, alarm_id)
    services.alarm_clear(actor=request.user, alarm_id=alarm.id, note=payload.note, now=clock.now())
    return _alarm_out(request.user, alarm.id)
