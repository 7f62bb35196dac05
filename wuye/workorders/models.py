"""Work orders (工单): what an owner or the system asked for, who is doing it, every step's time limit, and the
event rows that are the timeline, the audit trail and the only source of KPIs."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from wuye.core.models import TimeStampedModel
from wuye.estates.choices import ServiceLevel
from wuye.estates.models import Company, Estate, Grid, PublicArea, Room
from wuye.staff.choices import CertificateKind, Skill

from .choices import Action, Channel, Kind, PhotoStage, Priority, Status, Step, StepState, Verdict


class DispatchMode(models.TextChoices):
    MANUAL = "manual", _("Manual")
    GRAB = "grab", _("Grab")
    ROUND_ROBIN = "round_robin", _("Round robin")
    LOAD_BALANCE = "load_balance", _("Load balance")
    OPTIMISE = "optimise", _("Optimise")


class SlaPolicy(TimeStampedModel):
    """A named set of step limits (an SLA) a company applies to categories of work, e.g. "Repairs" or "Complaints"."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="sla_policies", verbose_name=_("company")
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    warn_ratio = models.FloatField(
        _("warning point"),
        default=0.8,
        validators=[MinValueValidator(0.1), MaxValueValidator(0.99)],
        help_text=_("Share of the limit after which the assignee is warned, e.g. 0.8."),
    )
    escalation = models.JSONField(
        _("escalation chain"),
        default=list,
        help_text=_('Levels after the due time: [{"role": "grid_leader", "after_minutes": 30}, …].'),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="slapolicy_code_unique_in_company")]

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """One limit of a policy: for this priority (and, when set, this contracted service level, or this one estate
    whose contract sets its own limit), this step must be met within so many minutes, counted in business hours or
    round the clock. The most specific row wins: the estate's own, then its level's, then the any-level one."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets", verbose_name=_("policy"))
    estate = models.ForeignKey(
        "estates.Estate",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("estate"),
        help_text=_("Set when one estate's contract overrides the limit; empty: every estate."),
    )
    service_level = models.CharField(
        _("service level"), max_length=20, choices=ServiceLevel.choices, blank=True, help_text=_("Empty: any level.")
    )
    priority = models.CharField(_("priority"), max_length=20, choices=Priority.choices)
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    limit_minutes = models.PositiveIntegerField(_("limit (minutes)"), validators=[MinValueValidator(1)])
    round_the_clock = models.BooleanField(
        _("round the clock"), default=False, help_text=_("Count every minute, not only business hours.")
    )

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "service_level", "priority", "step"],
                condition=Q(estate__isnull=True),
                name="slatarget_unique_per_level_priority_step",
            ),
            models.UniqueConstraint(
                fields=["policy", "estate", "priority", "step"],
                condition=Q(estate__isnull=False),
                name="slatarget_unique_per_estate_priority_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} · {self.get_priority_display()} · {self.get_step_display()}: {self.limit_minutes}"


class Category(TimeStampedModel):
    """A kind of problem in a company's catalogue (水电维修, 电梯, 噪音…) with how it is handled by default."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="categories", verbose_name=_("company"))
    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    kinds = models.JSONField(_("kinds"), default=list, help_text=_("Work-order kinds this category applies to."))
    default_priority = models.CharField(
        _("default priority"), max_length=20, choices=Priority.choices, default=Priority.NORMAL
    )
    required_skill = models.CharField(_("required skill"), max_length=30, choices=Skill.choices, blank=True)
    required_certificate = models.CharField(
        _("required certificate"), max_length=30, choices=CertificateKind.choices, blank=True
    )
    sla_policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, related_name="categories", verbose_name=_("SLA policy")
    )
    dispatch_mode = models.CharField(
        _("dispatch mode"), max_length=20, choices=DispatchMode.choices, default=DispatchMode.MANUAL
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["company_id", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["company", "code"], name="category_code_unique_in_company")]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_zh if translation.get_language() in ("zh-hans", "zh-cn", None) else self.name_en


class ServiceCalendar(TimeStampedModel):
    """An estate's business calendar: working hours per weekday, public holidays and make-up working days (调休).
    Non-emergency SLA clocks run only inside it; without a row the default calendar applies."""

    estate = models.OneToOneField(
        Estate, on_delete=models.CASCADE, related_name="service_calendar", verbose_name=_("estate")
    )
    spec = models.JSONField(_("calendar"), help_text=_("weekly_hours, holidays and makeup_workdays."))

    class Meta:
        verbose_name = _("service calendar")
        verbose_name_plural = _("service calendars")

    def __str__(self) -> str:
        return str(self.estate)


class WorkOrderNumber(models.Model):
    """The last work-order number handed out on one local date. Numbers come from one atomic UPSERT on this row,
    never from "max + 1"; a number taken by a create that then fails is simply skipped (gap-tolerant)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("work-order number counter")
        verbose_name_plural = _("work-order number counters")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class WorkOrder(TimeStampedModel):
    """One request or job (工单): a repair, complaint, inquiry, suggestion or praise from an owner, or work raised by
    an inspection, alarm or maintenance plan. Its status changes only through `workorder_act` (services)."""

    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("estate"))
    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="work_orders", verbose_name=_("category")
    )
    priority = models.CharField(_("priority"), max_length=20, choices=Priority.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    held_from_status = models.CharField(_("held from"), max_length=20, choices=Status.choices, blank=True)
    description = models.TextField(_("description"), max_length=2000)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_work_orders",
        verbose_name=_("reported by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_work_orders",
        verbose_name=_("entered by"),
    )
    contact_name = models.CharField(_("contact name"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=11, blank=True)
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="work_orders", verbose_name=_("room")
    )
    public_area = models.ForeignKey(
        PublicArea,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
        verbose_name=_("public area"),
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="work_orders", verbose_name=_("grid")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_work_orders",
        verbose_name=_("assignee"),
    )
    appointment_start = models.DateTimeField(_("appointment from"), null=True, blank=True)
    appointment_end = models.DateTimeField(_("appointment until"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    urge_count = models.PositiveSmallIntegerField(_("times urged"), default=0)
    verdict = models.CharField(_("owner's verdict"), max_length=20, choices=Verdict.choices, blank=True)
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    visit_satisfied = models.BooleanField(_("satisfied at return visit"), null=True, blank=True)
    resolution = models.TextField(_("result"), max_length=2000, blank=True)
    materials = models.JSONField(_("materials used"), default=list, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True)
    source_type = models.CharField(_("raised by"), max_length=40, blank=True)
    source_id = models.CharField(_("source id"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="workorder_idempotency_key_unique_per_user",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="workorder_score_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(appointment_start__isnull=True, appointment_end__isnull=True)
                | Q(appointment_end__gt=models.F("appointment_start")),
                name="workorder_appointment_ends_after_start",
            ),
        ]
        indexes = [
            # The desk queue: an estate's open orders by status, newest first.
            models.Index(fields=["estate", "status", "submitted_at"], name="workorder_queue_idx"),
            # "My orders" for a technician.
            models.Index(fields=["assignee", "status"], name="workorder_assignee_idx"),
            # An owner's orders.
            models.Index(fields=["reporter", "submitted_at"], name="workorder_reporter_idx"),
            models.Index(fields=["room", "submitted_at"], name="workorder_room_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def place_label(self) -> str:
        if self.room_id:
            return f"{self.estate.name} {self.room.label}"
        if self.public_area_id:
            return f"{self.estate.name} {self.public_area.name}"
        return self.estate.name


class WorkOrderEvent(models.Model):
    """Something that happened to a work order: who did which action when, from which status to which, with what.
    Never updated or deleted: the timeline, the audit trail and the source of every KPI."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events", verbose_name=_("work order"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        ordering = ["at", "id"]
        indexes = [
            # The timeline of one order.
            models.Index(fields=["order", "at"], name="wo_event_order_idx"),
            # KPIs: all events of an action in a period.
            models.Index(fields=["action", "at"], name="wo_event_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} @ {self.at:%Y-%m-%d %H:%M}"


class WorkOrderStep(models.Model):
    """The clock of one SLA step of one order: when it started, its limit, when it is due and when it was met.
    `warned_at` and `escalation_level` record which notifications were sent, so each is sent exactly once."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="steps", verbose_name=_("work order"))
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    started_at = models.DateTimeField(_("started at"))
    limit_minutes = models.PositiveIntegerField(_("limit (minutes)"))
    round_the_clock = models.BooleanField(_("round the clock"), default=False)
    warn_ratio = models.FloatField(_("warning point"), default=0.8)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warn at"), null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=StepState.choices, default=StepState.PENDING)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    class Meta:
        verbose_name = _("SLA step")
        verbose_name_plural = _("SLA steps")
        constraints = [models.UniqueConstraint(fields=["order", "step"], name="wo_step_unique")]
        indexes = [
            # The SLA scanner: open steps whose warning or due time has come.
            models.Index(fields=["met_at", "warn_at"], name="wo_step_warn_idx"),
            models.Index(fields=["met_at", "due_at"], name="wo_step_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.step}"


class WorkOrderPause(models.Model):
    """A period the order was on hold (waiting for parts, owner not home); SLA clocks do not run during it."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="pauses", verbose_name=_("work order"))
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(ended_at__isnull=True), name="wo_one_open_pause")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.started_at:%Y-%m-%d %H:%M}"


class WorkOrderPhoto(models.Model):
    """A photo attached to an order: what the owner saw, or the technician's before/after proof of work.
    Stored re-encoded (no EXIF, no location) under a server-generated name."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos", verbose_name=_("work order"))
    stage = models.CharField(_("stage"), max_length=10, choices=PhotoStage.choices)
    file = models.CharField(_("file"), max_length=200)
    content_type = models.CharField(max_length=30)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.file
