"""The property company's organisation: company → estate → building → unit → room, public areas and grids."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from wuye.core.models import TimeStampedModel

from .choices import BuildingUse, PublicAreaKind, ServiceLevel


class Company(TimeStampedModel):
    """A property-management company (物业公司). Everything else belongs to exactly one company."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Estate(TimeStampedModel):
    """An estate or project (小区/项目) the company manages under one service contract."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="estates", verbose_name=_("company"))
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=40)
    address = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    service_level = models.CharField(
        _("contracted service level"), max_length=20, choices=ServiceLevel.choices, default=ServiceLevel.LEVEL_2
    )
    contract_starts_on = models.DateField(_("contract starts on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("estate")
        verbose_name_plural = _("estates")
        ordering = ["company_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="estate_code_unique_in_company"),
            models.UniqueConstraint(fields=["company", "name"], name="estate_name_unique_in_company"),
        ]

    def __str__(self) -> str:
        return self.name


class Grid(TimeStampedModel):
    """A grid (网格): buildings and public areas one grid leader answers for, with a deputy when they are away."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="grids", verbose_name=_("estate"))
    name = models.CharField(_("name"), max_length=50)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_grids",
        verbose_name=_("grid leader"),
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deputised_grids",
        verbose_name=_("deputy"),
    )

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["estate_id", "name"]
        constraints = [models.UniqueConstraint(fields=["estate", "name"], name="grid_name_unique_in_estate")]

    def __str__(self) -> str:
        return f"{self.estate.name} / {self.name}"


class Building(TimeStampedModel):
    """A building (楼栋). Its position (metres east/north of the main gate) gives walking times for dispatch."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="buildings", verbose_name=_("estate"))
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="buildings", verbose_name=_("grid")
    )
    name = models.CharField(_("name"), max_length=50, help_text=_("As written on the ledger, e.g. 1 or 1栋."))
    use = models.CharField(_("use"), max_length=20, choices=BuildingUse.choices, default=BuildingUse.RESIDENTIAL)
    floors = models.PositiveSmallIntegerField(_("floors above ground"), default=1, validators=[MinValueValidator(1)])
    position_x_m = models.IntegerField(_("position east (m)"), default=0)
    position_y_m = models.IntegerField(_("position north (m)"), default=0)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["estate_id", "name"]
        constraints = [models.UniqueConstraint(fields=["estate", "name"], name="building_name_unique_in_estate")]

    def __str__(self) -> str:
        return f"{self.estate.name} {self.name}"


class Unit(TimeStampedModel):
    """An entrance (单元) of a building; rooms are numbered within it."""

    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="units", verbose_name=_("building"))
    name = models.CharField(_("name"), max_length=30)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["building_id", "name"]
        constraints = [models.UniqueConstraint(fields=["building", "name"], name="unit_name_unique_in_building")]

    def __str__(self) -> str:
        return f"{self.building.name}-{self.name}"


class Room(TimeStampedModel):
    """A room or flat (房屋) — the thing an owner owns and a bill is raised for.

    `estate` repeats `unit.building.estate` so every scoped query filters one indexed column instead of joining three
    tables; the ledger import and `room_create` keep it consistent.
    """

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("estate"))
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("building"))
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("unit"))
    number = models.CharField(_("room number"), max_length=20)
    floor = models.SmallIntegerField(_("floor"))
    area_m2 = models.DecimalField(
        _("floor area (m²)"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["building_id", "unit_id", "number"]
        constraints = [models.UniqueConstraint(fields=["unit", "number"], name="room_number_unique_in_unit")]
        indexes = [
            # Room lists and look-ups scoped to one estate, ordered by building (desk room search, imports).
            models.Index(fields=["estate", "building"], name="room_estate_building_idx"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How owners and staff say it: building-unit-room, e.g. 1-1-101."""
        return f"{self.building.name}-{self.unit.name}-{self.number}"


class PublicArea(TimeStampedModel):
    """A common area (公共区域): gate, car park, garden, pump room… Patrols, cleaning and public repairs happen here."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="public_areas", verbose_name=_("estate"))
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="public_areas", verbose_name=_("grid")
    )
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=PublicAreaKind.choices, default=PublicAreaKind.OTHER)
    building = models.ForeignKey(
        Building,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="public_areas",
        verbose_name=_("building"),
        help_text=_("Set when the area is inside a building, e.g. a lobby or basement pump room."),
    )
    position_x_m = models.IntegerField(_("position east (m)"), default=0)
    position_y_m = models.IntegerField(_("position north (m)"), default=0)

    class Meta:
        verbose_name = _("public area")
        verbose_name_plural = _("public areas")
        ordering = ["estate_id", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "estate", name="public_area_name_unique_in_estate"),
        ]

    def __str__(self) -> str:
        return f"{self.estate.name} {self.name}"
