"""Categories, importance and statuses of an item of equipment (设施设备)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EquipmentCategory(models.TextChoices):
    LIFT = "lift", _("Lift")
    WATER_PUMP = "water_pump", _("Water pump")
    WATER_TANK = "water_tank", _("Water tank")
    FIRE_SYSTEM = "fire_system", _("Fire system")
    GENERATOR = "generator", _("Generator")
    POWER_DISTRIBUTION = "power_distribution", _("Power distribution")
    HVAC = "hvac", _("HVAC")
    GATE = "gate", _("Gate and barrier")
    ACCESS_CONTROL = "access_control", _("Access control")
    CCTV = "cctv", _("CCTV")
    LIGHTING = "lighting", _("Lighting circuit")
    DRAINAGE = "drainage", _("Drainage and sump")
    OTHER = "other", _("Other")


class Importance(models.TextChoices):
    """A: failure stops a service owners rely on or endangers people (lifts, fire pumps); B: degrades it; C: minor."""

    A = "A", _("A (critical)")
    B = "B", _("B (important)")
    C = "C", _("C (ordinary)")


class EquipmentStatus(models.TextChoices):
    IN_SERVICE = "in_service", _("In service")
    FAULTY = "faulty", _("Faulty")
    UNDER_MAINTENANCE = "under_maintenance", _("Under maintenance")
    RETIRED = "retired", _("Retired")


# status → statuses it may move to. Retired equipment stays retired: a replacement is a new row.
TRANSITIONS: dict[str, frozenset[str]] = {
    EquipmentStatus.IN_SERVICE: frozenset(
        {EquipmentStatus.FAULTY, EquipmentStatus.UNDER_MAINTENANCE, EquipmentStatus.RETIRED}
    ),
    EquipmentStatus.FAULTY: frozenset(
        {EquipmentStatus.IN_SERVICE, EquipmentStatus.UNDER_MAINTENANCE, EquipmentStatus.RETIRED}
    ),
    EquipmentStatus.UNDER_MAINTENANCE: frozenset(
        {EquipmentStatus.IN_SERVICE, EquipmentStatus.FAULTY, EquipmentStatus.RETIRED}
    ),
    EquipmentStatus.RETIRED: frozenset(),
}


class PlanTrigger(models.TextChoices):
    """What brings a preventive-maintenance plan's next order: the calendar, or a meter (a device's reading)."""

    CALENDAR = "calendar", _("Calendar")
    METER = "meter", _("Meter reading")


class IntervalUnit(models.TextChoices):
    DAY = "day", _("days")
    WEEK = "week", _("weeks")
    MONTH = "month", _("months")


class CalendarBasis(models.TextChoices):
    """Fixed: due dates are start + k × interval whatever happens (lifts every 15 days by regulation). Floating: the
    next due date is counted from the last completion (a filter changed late is next due a full interval later)."""

    SCHEDULE = "schedule", _("From the schedule (fixed dates)")
    COMPLETION = "completion", _("From the last completion")


class MeterCondition(models.TextChoices):
    AT_LEAST = ">=", _("reaches or passes (≥)")
    AT_MOST = "<=", _("falls to or below (≤)")
