"""The KPIs the dashboard shows, how each is read (unit, which way is better), and the rollup's grains and levels."""

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class Grain(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month")


class Level(models.TextChoices):
    """Where a rollup row sits in the drill-down: the whole company, one estate, one grid, one person in a grid."""

    COMPANY = "company", _("Company")
    ESTATE = "estate", _("Estate")
    GRID = "grid", _("Grid")
    PERSON = "person", _("Person")


class KpiCode(models.TextChoices):
    SATISFACTION = "satisfaction", _("Owner satisfaction")
    RATING_SCORE = "rating_score", _("Average rating")
    VISIT_SATISFACTION = "visit_satisfaction", _("Satisfied at return visit")
    RESPONSE_P50 = "response_p50", _("Response time (median)")
    RESPONSE_P90 = "response_p90", _("Response time (90th percentile)")
    ARRIVAL_P50 = "arrival_p50", _("Arrival time (median)")
    ARRIVAL_P90 = "arrival_p90", _("Arrival time (90th percentile)")
    RESOLUTION_P50 = "resolution_p50", _("Resolution time (median)")
    RESOLUTION_P90 = "resolution_p90", _("Resolution time (90th percentile)")
    SLA_ACCEPT = "sla_accept", _("Accepted on time")
    SLA_DISPATCH = "sla_dispatch", _("Dispatched on time")
    SLA_ARRIVE = "sla_arrive", _("Arrived on time")
    SLA_RESOLVE = "sla_resolve", _("Resolved on time")
    SLA_VISIT = "sla_visit", _("Return visit on time")
    FIRST_TIME_FIX = "first_time_fix", _("First-time fix rate")
    REOPEN_RATE = "reopen_rate", _("Reopen rate")
    COMPLAINT_RATE = "complaint_rate", _("Complaints per 1,000 households (yearly)")
    ONLINE_SHARE = "online_share", _("Requests made online")
    OWNER_ACCOUNTS = "owner_accounts", _("Households active online")
    PATROL_COMPLETION = "patrol_completion", _("Patrols completed")
    INSPECTION_COMPLETION = "inspection_completion", _("Inspections completed")
    ALARMS = "alarms", _("Alarms")
    ALARM_MTTR = "alarm_mttr", _("Alarm repair time (MTTR)")
    EQUIPMENT_MONITORED = "equipment_monitored", _("Equipment monitored")


class Unit(models.TextChoices):
    PERCENT = "percent", "%"
    MINUTES = "minutes", _("minutes")
    SCORE = "score", _("points of 5")
    PER_THOUSAND = "per_thousand", "‰"
    COUNT = "count", _("count")


class Group(models.TextChoices):
    SATISFACTION = "satisfaction", _("Satisfaction")
    SPEED = "speed", _("Response and resolution")
    SLA = "sla", _("Service levels (SLA) per step")
    QUALITY = "quality", _("Quality of work")
    SMART = "smart", _("Smart-service coverage")
    BASIC = "basic", _("Basic services and equipment")


@dataclass(frozen=True)
class KpiSpec:
    code: str
    group: str
    unit: str
    direction: str
    # Shown in the drill-down table of children (the rest are in the exports and the cards).
    in_table: bool = False

    @property
    def label(self) -> Promise:
        return KpiCode(self.code).label


H, L = Direction.HIGHER, Direction.LOWER
KPIS: tuple[KpiSpec, ...] = (
    KpiSpec(KpiCode.SATISFACTION, Group.SATISFACTION, Unit.PERCENT, H, in_table=True),
    KpiSpec(KpiCode.RATING_SCORE, Group.SATISFACTION, Unit.SCORE, H),
    KpiSpec(KpiCode.VISIT_SATISFACTION, Group.SATISFACTION, Unit.PERCENT, H),
    KpiSpec(KpiCode.RESPONSE_P50, Group.SPEED, Unit.MINUTES, L, in_table=True),
    KpiSpec(KpiCode.RESPONSE_P90, Group.SPEED, Unit.MINUTES, L),
    KpiSpec(KpiCode.ARRIVAL_P50, Group.SPEED, Unit.MINUTES, L),
    KpiSpec(KpiCode.ARRIVAL_P90, Group.SPEED, Unit.MINUTES, L, in_table=True),
    KpiSpec(KpiCode.RESOLUTION_P50, Group.SPEED, Unit.MINUTES, L),
    KpiSpec(KpiCode.RESOLUTION_P90, Group.SPEED, Unit.MINUTES, L, in_table=True),
    KpiSpec(KpiCode.SLA_ACCEPT, Group.SLA, Unit.PERCENT, H),
    KpiSpec(KpiCode.SLA_DISPATCH, Group.SLA, Unit.PERCENT, H),
    KpiSpec(KpiCode.SLA_ARRIVE, Group.SLA, Unit.PERCENT, H, in_table=True),
    KpiSpec(KpiCode.SLA_RESOLVE, Group.SLA, Unit.PERCENT, H, in_table=True),
    KpiSpec(KpiCode.SLA_VISIT, Group.SLA, Unit.PERCENT, H),
    KpiSpec(KpiCode.FIRST_TIME_FIX, Group.QUALITY, Unit.PERCENT, H, in_table=True),
    KpiSpec(KpiCode.REOPEN_RATE, Group.QUALITY, Unit.PERCENT, L),
    KpiSpec(KpiCode.COMPLAINT_RATE, Group.QUALITY, Unit.PER_THOUSAND, L, in_table=True),
    KpiSpec(KpiCode.ONLINE_SHARE, Group.SMART, Unit.PERCENT, H, in_table=True),
    KpiSpec(KpiCode.OWNER_ACCOUNTS, Group.SMART, Unit.PERCENT, H),
    KpiSpec(KpiCode.EQUIPMENT_MONITORED, Group.SMART, Unit.PERCENT, H),
    KpiSpec(KpiCode.PATROL_COMPLETION, Group.BASIC, Unit.PERCENT, H),
    KpiSpec(KpiCode.INSPECTION_COMPLETION, Group.BASIC, Unit.PERCENT, H),
    KpiSpec(KpiCode.ALARMS, Group.BASIC, Unit.COUNT, L),
    KpiSpec(KpiCode.ALARM_MTTR, Group.BASIC, Unit.MINUTES, L),
)
KPI_BY_CODE = {spec.code: spec for spec in KPIS}
