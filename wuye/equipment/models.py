"""The equipment ledger (设施设备台账): every lift, pump, fire system, generator… an estate maintains, where it is,
how much its failure matters, and the history of its status."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.core.models import TimeStampedModel
from wuye.estates.models import Building, Estate, PublicArea, Room
from wuye.workorders.choices import Priority

from .choices import (
    CalendarBasis,
    EquipmentCategory,
    EquipmentStatus,
    Importance,
    IntervalUnit,
    MeterCondition,
    PlanTrigger,
)

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


class EquipmentDocument(models.Model):
    """A document kept with an item: its manual, the inspection certificate of a lift (电梯检验合格证), a wiring
    diagram. Served only to those who may see the item (never a public URL)."""

    equipment = models.ForeignKey(
        Equipment, on_delete=models.CASCADE, related_name="documents", verbose_name=_("equipment")
    )
    title = models.CharField(_("title"), max_length=100)
    file = models.FileField(_("file"), upload_to="equipment/documents/%Y/", max_length=200)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("equipment document")
        verbose_name_plural = _("equipment documents")
        ordering = ["equipment_id", "title"]

    def __str__(self) -> str:
        return self.title


class MaintenancePlan(TimeStampedModel):
    """A preventive-maintenance plan (保养计划) for one item of equipment, e.g. "半月保养: every 15 days from 1 March"
    or "水泵 2000 运行小时保养: every 2000 h of the run-hours meter, at least 30 days apart".

    Calendar plans open an order `lead_days` before each due date; due dates are counted from `starts_at` (fixed) or
    from the last completion (floating). Meter plans open one when the latest reading of `metric` from `device`
    passes `meter_next` (then `meter_next` moves on by `meter_every`; without `meter_every` the plan fires each
    time the reading is past `meter_value` again, no sooner than `min_wait_hours` after the previous order).
    Changed only through services.plan_create / plan_update / plans_run.
    """

    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, related_name="maintenance_plans", verbose_name=_("estate")
    )
    equipment = models.ForeignKey(
        Equipment, on_delete=models.CASCADE, related_name="maintenance_plans", verbose_name=_("equipment")
    )
    name = models.CharField(_("name"), max_length=100)
    checklist = models.JSONField(_("checklist"), default=list, blank=True, help_text=_("One item to check per line."))
    category = models.ForeignKey(
        "workorders.Category", on_delete=models.PROTECT, related_name="+", verbose_name=_("work-order category")
    )
    priority = models.CharField(_("priority"), max_length=20, choices=Priority.choices, default=Priority.LOW)
    trigger = models.CharField(_("trigger"), max_length=20, choices=PlanTrigger.choices)
    # calendar
    interval = models.PositiveIntegerField(_("every"), null=True, blank=True)
    interval_unit = models.CharField(_("unit"), max_length=10, choices=IntervalUnit.choices, blank=True)
    basis = models.CharField(_("counted"), max_length=20, choices=CalendarBasis.choices, blank=True)
    starts_at = models.DateTimeField(_("first due"), null=True, blank=True)
    lead_days = models.PositiveSmallIntegerField(_("open the order this many days ahead"), default=3)
    # meter
    device = models.ForeignKey(
        "iot.Device", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("device")
    )
    metric = models.CharField(_("metric"), max_length=40, blank=True)
    meter_condition = models.CharField(
        _("when the reading"), max_length=2, choices=MeterCondition.choices, default=MeterCondition.AT_LEAST
    )
    meter_value = models.FloatField(_("value"), null=True, blank=True)
    meter_every = models.FloatField(_("then every"), null=True, blank=True)
    meter_next = models.FloatField(_("next trigger value"), null=True, blank=True, editable=False)
    min_wait_hours = models.PositiveIntegerField(_("minimum hours between orders"), default=0)
    last_triggered_at = models.DateTimeField(_("last order opened at"), null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("maintenance plan")
        verbose_name_plural = _("maintenance plans")
        ordering = ["estate_id", "equipment_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger="calendar")
                | Q(interval__gte=1, starts_at__isnull=False) & ~Q(interval_unit="") & ~Q(basis=""),
                name="plan_calendar_complete",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="meter") | Q(meter_value__isnull=False) & ~Q(metric=""),
                name="plan_meter_complete",
            ),
        ]
        indexes = [
            # The scheduler: active plans in id order.
            models.Index(fields=["is_active", "trigger"], name="plan_scheduler_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class MaintenanceOrder(models.Model):
    """One order a plan opened: for which due date (calendar) or which meter reading, and the work order.

    (plan, due_at) is unique: two schedulers running at once, or a re-run, never open a second order for the same
    due date."""

    plan = models.ForeignKey(
        MaintenancePlan, on_delete=models.CASCADE, related_name="orders", verbose_name=_("maintenance plan")
    )
    work_order = models.OneToOneField(
        "workorders.WorkOrder",
        on_delete=models.PROTECT,
        related_name="maintenance",
        verbose_name=_("work order"),
    )
    due_at = models.DateTimeField(_("due at"))
    meter_reading = models.FloatField(_("meter reading"), null=True, blank=True)
    created_at = models.DateTimeField(_("opened at"))

    class Meta:
        verbose_name = _("maintenance order")
        verbose_name_plural = _("maintenance orders")
        ordering = ["plan_id", "due_at"]
        constraints = [models.UniqueConstraint(fields=["plan", "due_at"], name="maintenance_order_once_per_due")]

    def __str__(self) -> str:
        return f"{self.plan_id} @ {self.due_at:%Y-%m-%d}"
