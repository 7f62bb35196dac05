"""KPI rollups, households at a date, and the year's targets.

The rollups are derived data: `services.rollup_run` rebuilds any day from the work-order event and SLA-step rows, so
deleting them loses nothing; `ServiceCube` likewise from the engagement, inspections, standards, iot and equipment
rows (`service_rollup`). The dashboard reads only these cubes (never the source rows), so it answers in the same
few queries whatever the size of the history.
"""

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from wuye.estates.models import Company, Estate, Grid

from .choices import Direction, Grain, KpiCode, Level


def _histogram_field(label):
    return models.JSONField(label, default=dict, blank=True, help_text=_("Duration histogram: bucket → count."))


class OrderCounts(models.Model):
    """The counts one rollup row holds (names as in rules.COUNTERS) and three duration histograms (rules.HISTOGRAMS,
    log-spaced minute buckets, mergeable by adding counts)."""

    reported = models.PositiveIntegerField(default=0)
    reported_online = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    dispatched = models.PositiveIntegerField(default=0)
    arrived = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    first_resolved = models.PositiveIntegerField(default=0)
    first_time_fixed = models.PositiveIntegerField(default=0)
    rated_good = models.PositiveIntegerField(default=0)
    rated_bad = models.PositiveIntegerField(default=0)
    score_sum = models.PositiveIntegerField(default=0)
    score_count = models.PositiveIntegerField(default=0)
    visits_satisfied = models.PositiveIntegerField(default=0)
    visits_unsatisfied = models.PositiveIntegerField(default=0)
    sla_accept_met = models.PositiveIntegerField(default=0)
    sla_accept_breached = models.PositiveIntegerField(default=0)
    sla_dispatch_met = models.PositiveIntegerField(default=0)
    sla_dispatch_breached = models.PositiveIntegerField(default=0)
    sla_arrive_met = models.PositiveIntegerField(default=0)
    sla_arrive_breached = models.PositiveIntegerField(default=0)
    sla_resolve_met = models.PositiveIntegerField(default=0)
    sla_resolve_breached = models.PositiveIntegerField(default=0)
    sla_visit_met = models.PositiveIntegerField(default=0)
    sla_visit_breached = models.PositiveIntegerField(default=0)
    response_hist = _histogram_field(_("response times"))
    arrival_hist = _histogram_field(_("arrival times"))
    resolution_hist = _histogram_field(_("resolution times"))

    class Meta:
        abstract = True


class DailyOrderStats(OrderCounts):
    """What happened to one estate's work orders on one local day, for one grid, one kind of order and one
    assignee (none: the desk's part, or nobody assigned yet). The finest rollup; the job rewrites a whole day at
    a time, so a row is always exactly what the events and clocks of that day say."""

    day = models.DateField(_("day"))
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="+", verbose_name=_("estate"))
    grid = models.ForeignKey(
        Grid, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("grid")
    )
    kind = models.CharField(_("kind"), max_length=20)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )

    class Meta:
        verbose_name = _("daily work-order statistics")
        verbose_name_plural = _("daily work-order statistics")
        constraints = [
            models.UniqueConstraint(
                F("day"),
                F("estate"),
                Coalesce("grid", Value(0)),
                F("kind"),
                Coalesce("assignee", Value(0)),
                name="kpis_daily_one_row_per_key",
            )
        ]
        indexes = [
            # Rewriting a day (delete + insert) and reading a range of days for one estate.
            models.Index(fields=["day", "estate"], name="kpis_daily_day_idx"),
            models.Index(fields=["estate", "day"], name="kpis_daily_estate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.estate_id}/{self.grid_id}/{self.kind}/{self.assignee_id}"


class KpiCube(OrderCounts):
    """The dashboard's rollup: the day's (or the month's) counts for one node of the drill-down — the company, an
    estate, a grid (none: places outside any grid) or a person within a grid — summed from `DailyOrderStats`. A
    month row holds exactly the sum of that month's day rows (up to today for the current month)."""

    grain = models.CharField(_("grain"), max_length=10, choices=Grain.choices)
    period = models.DateField(_("period"), help_text=_("The day, or the first day of the month."))
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("estate")
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("grid")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )

    class Meta:
        verbose_name = _("KPI rollup")
        verbose_name_plural = _("KPI rollups")
        constraints = [
            models.UniqueConstraint(
                F("grain"),
                F("period"),
                F("level"),
                F("company"),
                Coalesce("estate", Value(0)),
                Coalesce("grid", Value(0)),
                Coalesce("assignee", Value(0)),
                name="kpis_cube_one_row_per_node",
            )
        ]
        indexes = [
            # The company node and its estates over a period (dashboard root and its drill-down table).
            models.Index(fields=["company", "level", "grain", "period"], name="kpis_cube_company_idx"),
            # An estate, its grids and their people over a period.
            models.Index(fields=["estate", "level", "grain", "period"], name="kpis_cube_estate_idx"),
            # Rewriting the rows of some days or months.
            models.Index(fields=["grain", "period"], name="kpis_cube_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.period} {self.level} {self.estate_id}/{self.grid_id}/{self.assignee_id}"


class ServiceCube(models.Model):
    """The dashboard's second rollup, beside `KpiCube` and keyed the same way (grain, period, node): what the other
    apps measure — owners' satisfaction tallies (the satisfaction index's inputs, docs/engagement.md), patrol rounds
    judged and complete, inspections due and done, alarms raised and cleared with their repair minutes, and
    equipment-days in the ledger and monitored. Rewritten a day at a time from those apps' rows by
    `service_rollup.days_recompute`; a month row is the sum of its day rows."""

    grain = models.CharField(_("grain"), max_length=10, choices=Grain.choices)
    period = models.DateField(_("period"), help_text=_("The day, or the first day of the month."))
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company"))
    estate = models.ForeignKey(
        Estate, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("estate")
    )
    grid = models.ForeignKey(
        Grid, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("grid")
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    patrol_judged = models.PositiveIntegerField(default=0)
    patrol_done = models.PositiveIntegerField(default=0)
    inspection_due = models.PositiveIntegerField(default=0)
    inspection_done = models.PositiveIntegerField(default=0)
    alarms_raised = models.PositiveIntegerField(default=0)
    alarms_cleared = models.PositiveIntegerField(default=0)
    alarm_minutes = models.FloatField(default=0)
    equipment_days = models.PositiveIntegerField(default=0)
    equipment_monitored_days = models.PositiveIntegerField(default=0)
    satisfaction = models.JSONField(
        _("satisfaction tallies"),
        default=dict,
        blank=True,
        help_text=_(
            '"source:dimension" → [satisfied, total]; sources y (yearly survey, named), a (anonymous), o (orders).'
        ),
    )

    class Meta:
        verbose_name = _("service rollup")
        verbose_name_plural = _("service rollups")
        constraints = [
            models.UniqueConstraint(
                F("grain"),
                F("period"),
                F("level"),
                F("company"),
                Coalesce("estate", Value(0)),
                Coalesce("grid", Value(0)),
                Coalesce("assignee", Value(0)),
                name="kpis_service_one_row_per_node",
            )
        ]
        indexes = [
            models.Index(fields=["company", "level", "grain", "period"], name="kpis_service_company_idx"),
            models.Index(fields=["estate", "level", "grain", "period"], name="kpis_service_estate_idx"),
            models.Index(fields=["grain", "period"], name="kpis_service_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.period} {self.level} {self.estate_id}/{self.grid_id}/{self.assignee_id}"


class HouseholdSnapshot(models.Model):
    """How many rooms of an estate's grid were lived in on a day (a current residency), and in how many of them
    someone with an active account had signed in within the year before: the denominators of the complaint rate
    and of online coverage. Taken by the rollup job for today."""

    day = models.DateField(_("day"))
    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="+", verbose_name=_("estate"))
    grid = models.ForeignKey(
        Grid, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("grid")
    )
    households = models.PositiveIntegerField(_("households"), default=0)
    online_households = models.PositiveIntegerField(_("households active online"), default=0)

    class Meta:
        verbose_name = _("household count")
        verbose_name_plural = _("household counts")
        constraints = [
            models.UniqueConstraint(
                F("day"), F("estate"), Coalesce("grid", Value(0)), name="kpis_households_one_row_per_grid_day"
            )
        ]
        indexes = [
            # The latest snapshot on or before a period's end, for a set of estates.
            models.Index(fields=["estate", "day"], name="kpis_households_estate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.estate_id}/{self.grid_id}: {self.households}"


class RollupState(models.Model):
    """The rollup job's watermark: events up to `last_event_id` are in the rollups. One row ("orders"); the job
    locks it for the whole of each batch, so two workers never interleave."""

    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    # Events seen in the window just below the watermark at the last run: a change means an event there committed
    # late (ids are handed out before commit), and its days are recomputed.
    window_count = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_days = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup states")

    def __str__(self) -> str:
        return f"{self.name}: {self.last_event_id}"

    @classmethod
    def lock(cls, name: str, *, wait: bool) -> "RollupState | None":
        """The job's row (created on first use), locked for the caller's transaction; None when another worker
        holds it and `wait` is False (PostgreSQL). SQLite has no row locks: its IMMEDIATE transactions already let
        one writer in at a time."""
        if not cls.objects.filter(name=name).exists():
            try:
                with transaction.atomic():
                    cls.objects.create(name=name)
            except IntegrityError:
                pass  # another worker created it first
        rows = cls.objects.filter(name=name)
        if connection.features.has_select_for_update:
            skip = not wait and connection.features.has_select_for_update_skip_locked
            rows = rows.select_for_update(skip_locked=skip)
        return rows.first()


class KpiTarget(models.Model):
    """The value a KPI should reach in a year, for the whole company or (overriding it) one estate, and which way is
    better. Grids and people are held to their estate's target."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="kpi_targets", verbose_name=_("company")
    )
    estate = models.ForeignKey(
        Estate,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="kpi_targets",
        verbose_name=_("estate"),
        help_text=_("Empty: the company's target for every estate without its own."),
    )
    year = models.PositiveSmallIntegerField(_("year"))
    code = models.CharField(_("KPI"), max_length=30, choices=KpiCode.choices)
    target = models.FloatField(_("target"))
    direction = models.CharField(_("better when"), max_length=10, choices=Direction.choices)

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["company_id", "year", "estate_id", "code"]
        constraints = [
            models.UniqueConstraint(
                F("company"), Coalesce("estate", Value(0)), F("year"), F("code"), name="kpis_target_one_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_code_display()}: {self.target}"
