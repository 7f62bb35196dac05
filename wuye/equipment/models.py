"""The equipment ledger (设施设备台账): every lift, pump, fire system, generator… an estate maintains, where it is,
how much its failure matters, and the history of its status."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.core.models import TimeStampedModel
from wuye.estates.models import Building, Estate, PublicArea, Room

from .choices import EquipmentCategory, EquipmentStatus, Importance

LABEL_CODE_LENGTH = 12


class Equipment(TimeStampedModel):
    """One item of equipment in an estate's ledger, e.g. "3栋 1号客梯" or "生活水泵 2号".

    Its place is a building, a public area (pump room, power room…) or a room, optionally with a note ("B1 东侧").
    `label_code` is printed as a QR code on the item: scanning it opens the equipment page and a prefilled fault
    report on a phone. It is random (not the id), so labels cannot be guessed or enumerated.
    """

    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="equipment", verbose_name=_("estate"))
    code = models.SlugField(_("asset number"), max_length=40, help_text=_("The estate's own number, e.g. LIFT-03-1."))
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=30, choices=EquipmentCategory.choices)
    importance = models.CharField(_("importance"), max_length=1, choices=Importance.choices, default=Importance.B)
    building = models.ForeignKey(
        Building,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="equipment",
        verbose_name=_("building"),
    )
    public_area = models.ForeignKey(
        PublicArea,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="equipment",
        verbose_name=_("public area"),
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="equipment", verbose_name=_("room")
    )
    location_note = models.CharField(_("location detail"), max_length=100, blank=True)
    maker = models.CharField(_("maker"), max_length=100, blank=True)
    model_number = models.CharField(_("model"), max_length=100, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=EquipmentStatus.choices, default=EquipmentStatus.IN_SERVICE
    )
    label_code = models.CharField(_("label code"), max_length=LABEL_CODE_LENGTH, unique=True, editable=False)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["estate_id", "category", "code"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "code"], name="equipment_code_unique_in_estate"),
            # A room is inside a building; a public area is not a room. One place, said one way.
            models.CheckConstraint(
                condition=Q(public_area__isnull=True) | Q(room__isnull=True), name="equipment_area_or_room"
            ),
        ]
        indexes = [
            # The ledger list: an estate's equipment by category and status.
            models.Index(fields=["estate", "category", "status"], name="equipment_ledger_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def place_label(self) -> str:
        parts = []
        if self.room_id:
            parts.append(self.room.label)
        elif self.building_id:
            parts.append(str(self.building.name))
        if self.public_area_id:
            parts.append(self.public_area.name)
        if self.location_note:
            parts.append(self.location_note)
        return " ".join(parts)


class EquipmentEvent(models.Model):
    """A status change of an item of equipment (in service → faulty → under maintenance → in service …): who, when,
    from, to and why. Never updated: the source of downtime, MTBF and MTTR figures."""

    equipment = models.ForeignKey(
        Equipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("equipment")
    )
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    from_status = models.CharField(_("from"), max_length=20, choices=EquipmentStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=EquipmentStatus.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("equipment event")
        verbose_name_plural = _("equipment events")
        ordering = ["at", "id"]
        indexes = [
            # The history of one item (downtime, MTBF/MTTR).
            models.Index(fields=["equipment", "at"], name="equipment_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.equipment_id} {self.from_status}→{self.to_status} @ {self.at:%Y-%m-%d %H:%M}"
