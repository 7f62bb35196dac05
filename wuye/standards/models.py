"""Service standards as data: service-level profiles (一级/二级/三级) and which one each estate's contract uses, the
SOP library (作业指导书), plans that say what is done where, by whom and when, and the tasks generated from them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from wuye.accounts.choices import Role
from wuye.core.models import TimeStampedModel
from wuye.estates.choices import ServiceLevel
from wuye.estates.models import Building, Company, Estate, Grid, PublicArea

from .choices import Dimension, Discipline, Evidence, TaskAction, TaskStatus


def _chinese() -> bool:
    return translation.get_language() in ("zh-hans", "zh-cn", None)


class ServiceLevelProfile(TimeStampedModel):
    """What a service level promises, as a company has set it: the work-order SLA limits (emergency arrival
    30/60/120 minutes…), patrol, cleaning and building-check frequencies, the lights and lifts standard and the
    owner-satisfaction target. Seeded per company from data/profiles.json (《普通住宅小区物业管理服务等级标准》) and
    editable by the company; estates choose one through EstateProfile."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="service_profiles", verbose_name=_("company")
    )
    code = models.CharField(_("level"), max_length=20, choices=ServiceLevel.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    emergency_arrival_minutes = models.PositiveIntegerField(
        _("emergency repair arrival (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(1440)]
    )
    repair_arrival_minutes = models.PositiveIntegerField(
        _("other repairs arrival without appointment (minutes)"),
        validators=[MinValueValidator(15), MaxValueValidator(10080)],
        help_text=_("Other repairs are done at the time agreed with the owner; this applies when none was agreed."),
    )
    satisfaction_surveys_per_year = models.PositiveSmallIntegerField(
        _("satisfaction surveys a year"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    satisfaction_target_pct = models.PositiveSmallIntegerField(
        _("satisfaction target (%)"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    lights_working_pct = models.PositiveSmallIntegerField(
        _("stair and street lights working (%)"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    lift_hours = models.CharField(
        _("passenger lift hours"), max_length=20, blank=True, help_text=_("e.g. 00:00-24:00; empty: agreed hours.")
    )
    frequencies = models.JSONField(
        _("frequencies"),
        default=dict,
        help_text=_("Dimension → schedule (patrols, building checks, cleaning); null where not contracted."),
    )

    class Meta:
        verbose_name = _("service-level profile")
        verbose_name_plural = _("service-level profiles")
        ordering = ["company_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="profile_level_unique_in_company"),
            models.CheckConstraint(
                condition=Q(satisfaction_target_pct__gte=1, satisfaction_target_pct__lte=100)
                & Q(lights_working_pct__gte=1, lights_working_pct__lte=100),
                name="profile_percentages_1_to_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_zh if _chinese() else self.name_en

    def values(self) -> dict:
        """The profile's values in the shape rules.effective_profile and the contract overrides use."""
        return {
            "emergency_arrival_minutes": self.emergency_arrival_minutes,
            "repair_arrival_minutes": self.repair_arrival_minutes,
            "satisfaction_surveys_per_year": self.satisfaction_surveys_per_year,
            "satisfaction_target_pct": self.satisfaction_target_pct,
            "lights_working_pct": self.lights_working_pct,
            "lift_hours": self.lift_hours,
            "frequencies": dict(self.frequencies or {}),
        }


class EstateProfile(TimeStampedModel):
    """From `valid_from` on, this estate's contract follows this profile, with the contract's own values in
    `overrides` (e.g. {"emergency_arrival_minutes": 20}). Rows are never edited once in force: a change of contract
    is a new row, so history keeps the profile that applied at any moment. `applied_at` records when work orders
    were switched to it (a row may be entered ahead of its contract date). `profile_values` freezes the profile's
    values as they were while the row was in force, written when the company edits the profile (the estate then
    gets a new row from the edit on), so history keeps the values that applied too; empty: the profile's own."""

    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, related_name="profile_assignments", verbose_name=_("estate")
    )
    profile = models.ForeignKey(
        ServiceLevelProfile, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("profile")
    )
    valid_from = models.DateTimeField(_("valid from"))
    overrides = models.JSONField(_("contract overrides"), default=dict, blank=True)
    contract_ref = models.CharField(_("contract"), max_length=60, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    profile_values = models.JSONField(_("the level's values then"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )

    class Meta:
        verbose_name = _("estate service level")
        verbose_name_plural = _("estate service levels")
        ordering = ["estate_id", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "valid_from"], name="estate_profile_one_per_moment"),
        ]
        indexes = [
            # The profile in force at a moment: the estate's latest row with valid_from <= t.
            models.Index(fields=["estate", "valid_from"], name="estate_profile_at_idx"),
            # The activation job: rows in force that work orders do not follow yet.
            models.Index(fields=["applied_at", "valid_from"], name="estate_profile_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.estate} · {self.profile} @ {self.valid_from:%Y-%m-%d}"


class SopItem(TimeStampedModel):
    """One item of the company's SOP library (作业指导书): a piece of front-line work, what "done right" looks like,
    how to do it, how often, and what evidence proves it. A frequency either is the item's own schedule or follows a
    dimension of the estate's service-level profile (so 一级 estates sweep twice a day and 三级 once)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sop_items", verbose_name=_("company"))
    discipline = models.CharField(_("discipline"), max_length=20, choices=Discipline.choices)
    code = models.SlugField(_("code"), max_length=40)
    title_zh = models.CharField(_("title (Chinese)"), max_length=60)
    title_en = models.CharField(_("title (English)"), max_length=100)
    standard_zh = models.TextField(_("standard (Chinese)"), max_length=1000)
    standard_en = models.TextField(_("standard (English)"), max_length=1000)
    method_zh = models.TextField(_("method (Chinese)"), max_length=1000)
    method_en = models.TextField(_("method (English)"), max_length=1000)
    schedule = models.JSONField(_("frequency"), null=True, blank=True)
    profile_dimension = models.CharField(
        _("frequency from the profile"), max_length=30, choices=Dimension.choices, blank=True
    )
    evidence = models.CharField(_("required evidence"), max_length=10, choices=Evidence.choices)
    reading_unit = models.CharField(_("reading unit"), max_length=20, blank=True)
    score_weight = models.PositiveSmallIntegerField(
        _("score weight"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    rectify_hours = models.PositiveSmallIntegerField(
        _("rectify within (hours)"), default=24, help_text=_("Deadline of the rectification order when it fails.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SOP item")
        verbose_name_plural = _("SOP items")
        ordering = ["company_id", "discipline", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="sop_code_unique_in_company"),
            models.CheckConstraint(
                condition=(Q(schedule__isnull=False) & Q(profile_dimension=""))
                | (Q(schedule__isnull=True) & ~Q(profile_dimension="")),
                name="sop_one_frequency_source",
            ),
            models.CheckConstraint(condition=Q(score_weight__gte=1, score_weight__lte=10), name="sop_weight_1_to_10"),
        ]
        indexes = [
            # The library filtered by discipline.
            models.Index(fields=["company", "discipline", "position"], name="sop_discipline_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        return self.title_zh if _chinese() else self.title_en

    @property
    def standard(self) -> str:
        return self.standard_zh if _chinese() else self.standard_en

    @property
    def method(self) -> str:
        return self.method_zh if _chinese() else self.method_en


class Plan(TimeStampedModel):
    """A work plan of an estate: what (SOP items, or a checklist of its own), where (grid, building, public area),
    who (a person, or whoever holds a role there) and when (its own schedule, or a frequency of the estate's
    service-level profile). Tasks are generated from it ahead over a horizon."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="plans", verbose_name=_("estate"))
    name = models.CharField(_("name"), max_length=80)
    discipline = models.CharField(_("discipline"), max_length=20, choices=Discipline.choices)
    sop_items = models.ManyToManyField(SopItem, blank=True, related_name="plans", verbose_name=_("SOP items"))
    checklist = models.JSONField(
        _("checklist"), default=list, blank=True, help_text=_('Extra items: [{"code", "title", "evidence"}, …].')
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="plans", verbose_name=_("grid")
    )
    building = models.ForeignKey(
        Building, on_delete=models.SET_NULL, null=True, blank=True, related_name="plans", verbose_name=_("building")
    )
    public_area = models.ForeignKey(
        PublicArea,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("public area"),
    )
    # The equipment the work is on (a pump to check, a lift to inspect); the app is named by string so standards
    # does not import equipment.
    equipment = models.ForeignKey(
        "equipment.Equipment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("equipment"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="standard_plans",
        verbose_name=_("person"),
    )
    assignee_role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    schedule = models.JSONField(_("schedule"), null=True, blank=True)
    profile_dimension = models.CharField(
        _("frequency from the profile"), max_length=30, choices=Dimension.choices, blank=True
    )
    grace_minutes = models.PositiveIntegerField(
        _("grace after the window (minutes)"),
        default=120,
        validators=[MaxValueValidator(7 * 24 * 60)],
        help_text=_("A task still open this long after its window closed is missed."),
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["estate_id", "discipline", "name"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "name"], name="plan_name_unique_in_estate"),
            models.CheckConstraint(
                condition=(Q(schedule__isnull=False) & Q(profile_dimension=""))
                | (Q(schedule__isnull=True) & ~Q(profile_dimension="")),
                name="plan_one_schedule_source",
            ),
            models.CheckConstraint(condition=Q(assignee__isnull=False) | ~Q(assignee_role=""), name="plan_has_someone"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="plan_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def place_label(self) -> str:
        parts = [str(p.name) for p in (self.grid, self.building, self.public_area, self.equipment) if p is not None]
        return " · ".join(parts) or self.estate.name


class Task(models.Model):
    """One occurrence of a plan: the work due in one time window, for a person or for whoever holds the plan's role
    (the first to start it takes it). Generated ahead and exactly once per (plan, window start); its status changes
    only through services.task_act and the window scanner."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("plan"))
    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, related_name="standard_tasks", verbose_name=_("estate")
    )
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    grace_until = models.DateTimeField(_("missed after"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="standard_tasks",
        verbose_name=_("assignee"),
    )
    assignee_role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="standard_tasks", verbose_name=_("grid")
    )
    status = models.CharField(_("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    estate_profile = models.ForeignKey(
        EstateProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("service level applied"),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["window_start", "id"]
        constraints = [
            # Generation is idempotent: re-running (or two schedulers at once) inserts each window once.
            models.UniqueConstraint(fields=["plan", "window_start"], name="task_one_per_plan_window"),
            models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="task_window_ends_later"),
            models.CheckConstraint(condition=Q(grace_until__gte=models.F("window_end")), name="task_grace_after_end"),
        ]
        indexes = [
            # "My tasks today": a person's tasks by window.
            models.Index(fields=["assignee", "window_start"], name="task_assignee_idx"),
            # Role pools and estate lists: an estate's tasks of a role by window.
            models.Index(fields=["estate", "assignee_role", "window_start"], name="task_pool_idx"),
            # The window scanner: open tasks whose window or grace has closed.
            models.Index(fields=["status", "window_end"], name="task_window_scan_idx"),
            models.Index(fields=["status", "grace_until"], name="task_grace_scan_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} @ {self.window_start:%Y-%m-%d %H:%M}"


class TaskEvent(models.Model):
    """Something that happened to a task (started, done, its window closed, missed): who, when, from which status to
    which. Never updated or deleted: the audit trail and the source of completion KPIs."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events", verbose_name=_("task"))
    action = models.CharField(_("action"), max_length=20, choices=TaskAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=TaskStatus.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=TaskStatus.choices)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        ordering = ["at", "id"]
        indexes = [
            # A task's timeline.
            models.Index(fields=["task", "at"], name="task_event_task_idx"),
            # Completion KPIs: events of an action in a period.
            models.Index(fields=["action", "at"], name="task_event_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.action} @ {self.at:%Y-%m-%d %H:%M}"


class TaskPhoto(models.Model):
    """A photo proving one item of a task was done. Stored re-encoded (no EXIF, no location) under a server name."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="photos", verbose_name=_("task"))
    item = models.CharField(_("item"), max_length=40)
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
        verbose_name = _("task photo")
        verbose_name_plural = _("task photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.file
