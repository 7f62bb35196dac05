"""Electronic patrols (电子巡更): checkpoints with signed QR/NFC labels, routes through them, the rounds generated
from a route's timetable and the scans that prove a guard passed; and inspections (巡检) on the phone — routine
checks, re-checks after a rectification and quality spot checks (品质核查) — whose failed items open rectification
work orders (整改)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.accounts.choices import Role
from wuye.core.models import TimeStampedModel
from wuye.estates.models import Building, Estate, Grid, PublicArea
from wuye.standards.choices import Dimension, Discipline
from wuye.standards.models import EstateProfile, SopItem, Task
from wuye.workorders.models import WorkOrder

from .choices import (
    InspectionAction,
    InspectionKind,
    InspectionStatus,
    ItemKind,
    ItemResult,
    OrderRule,
    RoundAction,
    RoundStatus,
    ScanMethod,
)


def _user_fk(related_name: str, label, *, null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=null,
        blank=null,
        related_name=related_name,
        verbose_name=label,
    )


# ---------------------------------------------------------------------------------------------------------- patrols


class Checkpoint(TimeStampedModel):
    """A patrol point (巡更点) fixed somewhere in an estate — a gate, a car-park ramp, a roof door — carrying a label
    whose QR code (or NFC tag) holds `uid` signed with the estate's key. `uid` is random: it reveals nothing and
    cannot be guessed from another checkpoint's. A retired checkpoint keeps its row (old scans point at it) but its
    code is refused."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="checkpoints", verbose_name=_("estate"))
    name = models.CharField(_("name"), max_length=60)
    building = models.ForeignKey(
        Building, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("building")
    )
    public_area = models.ForeignKey(
        PublicArea, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("public area")
    )
    position = models.CharField(
        _("where the label is"), max_length=120, blank=True, help_text=_("e.g. left of the gate-house door, 1.5 m up.")
    )
    uid = models.CharField(_("code"), max_length=16, unique=True)
    is_active = models.BooleanField(_("in use"), default=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    created_by = _user_fk("+", _("by"))

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        ordering = ["estate_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "name"], name="checkpoint_name_unique_in_estate"),
            models.CheckConstraint(
                condition=Q(building__isnull=False) | Q(public_area__isnull=False), name="checkpoint_has_a_place"
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, retired_at__isnull=True) | Q(is_active=False, retired_at__isnull=False),
                name="checkpoint_retired_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def place_label(self) -> str:
        place = self.public_area or self.building
        return f"{place.name}" if place is not None else ""


class Route(TimeStampedModel):
    """A patrol route (巡更路线): checkpoints in order, who walks it (a person, or whoever holds the role), and when —
    its own timetable (a schedule spec of wuye/standards/rules.py), or the key-area patrol frequency of the estate's
    service level. Each time window is one round; a round must be walked inside its window, and with a strict
    order rule checkpoint after checkpoint. A stop may carry a planned time (minutes after the window opens); a
    scan later than that plus `tolerance_minutes` counts as late."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="patrol_routes", verbose_name=_("estate"))
    name = models.CharField(_("name"), max_length=60)
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="patrol_routes", verbose_name=_("grid")
    )
    order_rule = models.CharField(_("order"), max_length=10, choices=OrderRule.choices, default=OrderRule.STRICT)
    schedule = models.JSONField(_("timetable"), null=True, blank=True)
    profile_dimension = models.CharField(
        _("frequency from the profile"), max_length=30, choices=Dimension.choices, blank=True
    )
    tolerance_minutes = models.PositiveSmallIntegerField(
        _("tolerance (minutes)"), default=10, validators=[MaxValueValidator(240)]
    )
    assignee = _user_fk("patrol_routes", _("person"))
    assignee_role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.GUARD, blank=True)
    checkpoints = models.ManyToManyField(
        Checkpoint, through="RouteStop", related_name="routes", verbose_name=_("checkpoints")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = _user_fk("+", _("by"))

    class Meta:
        verbose_name = _("patrol route")
        verbose_name_plural = _("patrol routes")
        ordering = ["estate_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["estate", "name"], name="route_name_unique_in_estate"),
            models.CheckConstraint(
                condition=(Q(schedule__isnull=False) & Q(profile_dimension=""))
                | (Q(schedule__isnull=True) & ~Q(profile_dimension="")),
                name="route_one_schedule_source",
            ),
            models.CheckConstraint(
                condition=Q(assignee__isnull=False) | ~Q(assignee_role=""), name="route_has_someone"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RouteStop(models.Model):
    """Checkpoint number `position` of a route, with its planned time (minutes after the round's window opens;
    empty: any time in the window)."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops", verbose_name=_("route"))
    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.CASCADE, related_name="stops", verbose_name=_("checkpoint")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    offset_minutes = models.PositiveIntegerField(
        _("planned at (minutes after the start)"), null=True, blank=True, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        ordering = ["route_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="route_stop_position_unique"),
            models.UniqueConstraint(fields=["route", "checkpoint"], name="route_stop_checkpoint_once"),
        ]

    def __str__(self) -> str:
        return f"{self.route_id}#{self.position}"


class Round(models.Model):
    """One expected pass along a route in one time window (一次巡更). Generated ahead, exactly once per (route,
    window start). `stops` is the route as it was when the round was generated ([{"checkpoint": id, "offset":
    minutes or null}, …]), so later edits of the route never change what a past round was judged against. Status
    changes only through services (scans and the window closer), each with a RoundEvent."""

    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("route"))
    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="patrol_rounds", verbose_name=_("estate"))
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="patrol_rounds", verbose_name=_("grid")
    )
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    stops = models.JSONField(_("checkpoints"), default=list)
    order_rule = models.CharField(_("order"), max_length=10, choices=OrderRule.choices)
    tolerance_minutes = models.PositiveSmallIntegerField(_("tolerance (minutes)"), default=10)
    assignee = _user_fk("patrol_rounds", _("patrolled by"))
    assignee_role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=RoundStatus.choices, default=RoundStatus.PENDING)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    scanned_count = models.PositiveSmallIntegerField(_("checkpoints scanned"), default=0)
    missed_count = models.PositiveSmallIntegerField(_("checkpoints missed"), default=0)
    late_count = models.PositiveSmallIntegerField(_("checkpoints late"), default=0)
    estate_profile = models.ForeignKey(
        EstateProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patrol_rounds",
        verbose_name=_("service level applied"),
    )

    class Meta:
        verbose_name = _("patrol round")
        verbose_name_plural = _("patrol rounds")
        ordering = ["window_start", "id"]
        constraints = [
            # Generation is idempotent: re-running (or two schedulers at once) inserts each window once.
            models.UniqueConstraint(fields=["route", "window_start"], name="round_one_per_route_window"),
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")), name="round_window_ends_later"
            ),
        ]
        indexes = [
            # Today's rounds of an estate (supervisors, the guard's page for role rounds).
            models.Index(fields=["estate", "window_start"], name="round_estate_day_idx"),
            # A person's rounds of a day.
            models.Index(fields=["assignee", "window_start"], name="round_assignee_idx"),
            # The window closer: rounds not closed yet whose window has ended.
            models.Index(fields=["closed_at", "window_end"], name="round_close_scan_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.route} @ {self.window_start:%Y-%m-%d %H:%M}"

    @property
    def stop_count(self) -> int:
        return len(self.stops or [])


class Scan(models.Model):
    """A checkpoint passed in a round: who, when, how it was read, and whether it was on time. One per (round,
    checkpoint): scanning the same label again is recorded once."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="scans", verbose_name=_("round"))
    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.PROTECT, related_name="scans", verbose_name=_("checkpoint")
    )
    at = models.DateTimeField(_("at"))
    by = _user_fk("+", _("by"))
    method = models.CharField(_("read by"), max_length=10, choices=ScanMethod.choices, default=ScanMethod.QR)
    sequence = models.PositiveSmallIntegerField(_("number"))
    on_time = models.BooleanField(_("on time"), default=True)
    planned_at = models.DateTimeField(_("planned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        ordering = ["round_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["round", "checkpoint"], name="scan_once_per_round_checkpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.checkpoint_id} @ {self.at:%H:%M}"


class RoundEvent(models.Model):
    """Something that happened to a round (started, completed, its window closed, an incident reported): the
    audit trail and the source of patrol KPIs. Never updated or deleted."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="events", verbose_name=_("round"))
    action = models.CharField(_("action"), max_length=20, choices=RoundAction.choices)
    actor = _user_fk("+", _("by"))
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=RoundStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=RoundStatus.choices, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("round event")
        verbose_name_plural = _("round events")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["round", "at"], name="round_event_round_idx"),
            # Patrol KPIs: events of an action in a period.
            models.Index(fields=["action", "at"], name="round_event_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} {self.action} @ {self.at:%Y-%m-%d %H:%M}"


# ------------------------------------------------------------------------------------------------------ inspections


class Inspection(TimeStampedModel):
    """A checklist done on the phone at one place: a routine inspection (巡检), the re-check of a rectified item
    (复查), or a quality spot check (品质核查) of a sampled place or task that scores the work against SOP items and
    the person who did it (`subject`). Items are answered together and submitted once."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="inspections", verbose_name=_("estate"))
    kind = models.CharField(_("kind"), max_length=20, choices=InspectionKind.choices, default=InspectionKind.ROUTINE)
    discipline = models.CharField(_("discipline"), max_length=20, choices=Discipline.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=InspectionStatus.choices, default=InspectionStatus.OPEN
    )
    title = models.CharField(_("title"), max_length=120)
    grid = models.ForeignKey(
        Grid, on_delete=models.SET_NULL, null=True, blank=True, related_name="inspections", verbose_name=_("grid")
    )
    building = models.ForeignKey(
        Building, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("building")
    )
    public_area = models.ForeignKey(
        PublicArea, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("public area")
    )
    inspector = _user_fk("inspections", _("inspector"))
    subject = _user_fk("inspected_work", _("whose work"))
    task = models.ForeignKey(
        Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="inspections", verbose_name=_("task")
    )
    due_at = models.DateTimeField(_("due by"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True, blank=True)
    created_by = _user_fk("+", _("by"))

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100), name="inspection_score_0_to_100"
            ),
        ]
        indexes = [
            # An estate's inspections by status, newest first (desk lists).
            models.Index(fields=["estate", "status", "created_at"], name="inspection_estate_idx"),
            # "My inspections": an inspector's open ones.
            models.Index(fields=["inspector", "status"], name="inspection_inspector_idx"),
            # Quality roll-ups: submitted spot checks of a period.
            models.Index(fields=["kind", "submitted_at"], name="inspection_kind_period_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def place_label(self) -> str:
        place = self.public_area or self.building
        return place.name if place is not None else (self.grid.name if self.grid else self.estate.name)


class InspectionItem(models.Model):
    """One line of an inspection's checklist, copied from an SOP item when it was made (so editing the library never
    changes a past result): pass or fail, a reading, photos. A failed item opens a rectification order
    (`work_order`) due `rectify_hours` later; the order's completion sets `rectified_at` and creates a re-check
    item (whose `recheck_of` points back here); a passed re-check sets `verified_at`."""

    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, related_name="items", verbose_name=_("inspection")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    sop_item = models.ForeignKey(
        SopItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("SOP item")
    )
    code = models.CharField(_("code"), max_length=40)
    title = models.CharField(_("item"), max_length=100)
    standard = models.TextField(_("standard"), max_length=1000, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind.choices, default=ItemKind.CHECK)
    reading_unit = models.CharField(_("reading unit"), max_length=20, blank=True)
    weight = models.PositiveSmallIntegerField(
        _("score weight"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    rectify_hours = models.PositiveSmallIntegerField(_("rectify within (hours)"), default=24)
    result = models.CharField(_("result"), max_length=10, choices=ItemResult.choices, default=ItemResult.PENDING)
    reading = models.FloatField(_("reading"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    work_order = models.OneToOneField(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspection_item",
        verbose_name=_("rectification order"),
    )
    rectify_due_at = models.DateTimeField(_("rectify by"), null=True, blank=True)
    rectified_at = models.DateTimeField(_("rectified at"), null=True, blank=True)
    verified_at = models.DateTimeField(_("re-check passed at"), null=True, blank=True)
    recheck_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rechecks", verbose_name=_("re-check of")
    )

    class Meta:
        verbose_name = _("inspection item")
        verbose_name_plural = _("inspection items")
        ordering = ["inspection_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "position"], name="inspection_item_position_unique"),
            models.CheckConstraint(
                condition=Q(work_order__isnull=True) | Q(result=ItemResult.FAIL), name="inspection_item_order_if_failed"
            ),
        ]
        indexes = [
            # The rectification sync: failed items with an order whose completion has not been taken in yet.
            models.Index(fields=["rectified_at", "work_order"], name="inspection_item_rectify_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id}#{self.position} {self.title}"


class InspectionPhoto(models.Model):
    """A photo taken for one checklist item. Stored re-encoded (no EXIF, no location) under a server name."""

    item = models.ForeignKey(InspectionItem, on_delete=models.CASCADE, related_name="photos", verbose_name=_("item"))
    file = models.CharField(_("file"), max_length=200)
    content_type = models.CharField(max_length=30)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = _user_fk("+", _("by"))
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.file


class InspectionEvent(models.Model):
    """Something that happened to an inspection (created, submitted, cancelled). Never updated or deleted."""

    inspection = models.ForeignKey(
        Inspection, on_delete=models.CASCADE, related_name="events", verbose_name=_("inspection")
    )
    action = models.CharField(_("action"), max_length=20, choices=InspectionAction.choices)
    actor = _user_fk("+", _("by"))
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=InspectionStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=InspectionStatus.choices)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("inspection event")
        verbose_name_plural = _("inspection events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["inspection", "at"], name="inspection_event_idx")]

    def __str__(self) -> str:
        return f"{self.inspection_id} {self.action} @ {self.at:%Y-%m-%d %H:%M}"
