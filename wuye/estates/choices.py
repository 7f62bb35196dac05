from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceLevel(models.TextChoices):
    """The contracted level from 《普通住宅小区物业管理服务等级标准》.

    What each level contains (SLA limits, frequencies, targets) is data owned by the standards capability."""

    LEVEL_1 = "level_1", _("Level 1")
    LEVEL_2 = "level_2", _("Level 2")
    LEVEL_3 = "level_3", _("Level 3")


class BuildingUse(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    COMMERCIAL = "commercial", _("Commercial")
    MIXED = "mixed", _("Mixed use")
    FACILITY = "facility", _("Facility")


class PublicAreaKind(models.TextChoices):
    GATE = "gate", _("Gate")
    CAR_PARK = "car_park", _("Car park")
    GARDEN = "garden", _("Garden")
    PUMP_ROOM = "pump_room", _("Pump room")
    POWER_ROOM = "power_room", _("Power distribution room")
    LOBBY = "lobby", _("Lobby")
    ROAD = "road", _("Road")
    PLAYGROUND = "playground", _("Playground")
    CLUBHOUSE = "clubhouse", _("Clubhouse")
    REFUSE = "refuse", _("Refuse station")
    OTHER = "other", _("Other")
