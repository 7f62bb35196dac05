"""Reads of devices, readings and alarms, always starting from what the user may see."""

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404

from .choices import OPEN_STATUSES
from .models import Alarm, Device, HourlyRollup, Reading, TelemetryRejection
from .permissions import alarms_visible, devices_visible


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
