"""Reads about patrols and inspections, starting from the permission-scoped querysets in permissions.py: a guard's
rounds of a day, a round with its checkpoints, routes with today's rounds, label sheets, inspections, the quality
roll-ups and the monthly contracted-vs-achieved report of an estate."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, When
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from wuye.core import clock
from wuye.estates.models import Estate
from wuye.standards import rules as standard_rules
from wuye.standards.choices import Dimension, Discipline, TaskStatus
from wuye.standards.models import EstateProfile, Task
from wuye.standards.selectors import effective_values
from wuye.workorders.choices import Action, Priority, Step
from wuye.workorders.models import WorkOrderEvent, WorkOrderStep

from . import codes, rules
from .choices import ROUND_OPEN, AchievedStatus, InspectionKind, InspectionStatus, ItemResult, RoundStatus
from .models import Checkpoint, Inspection, InspectionItem, InspectionPhoto, Round, Route, RouteStop, Scan
from .permissions import (
    checkpoints_visible,
    inspections_visible,
    report_estates,
    rounds_mine,
    rounds_visible,
    routes_visible,
    staff_estates,
)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0), tzinfo=clock.local_tz())
    return start, start + dt.timedelta(days=1)


# ---------------------------------------------------------------------------------------------------------- patrols


def rounds_of_day(user, *, day: dt.date, mine: bool = True, estate_id: int | None = None) -> QuerySet[Round]:
    """Rounds whose window touches a local day (a night window begun yesterday included): with `mine`, the user's
    own and their roles' pools; otherwise every round the user may see."""
    start, end = day_bounds(day)
    rounds = (rounds_mine(user) if mine else rounds_visible(user)).filter(window_start__lt=end, window_end__gt=start)
    if estate_id:
        rounds = rounds.filter(estate_id=estate_id)
    return rounds.select_related("route", "estate", "assignee").order_by("window_start", "route__name", "id")


def round_get(user, round_id: int) -> Round:
    round_ = (
        rounds_visible(user).select_related("route__grid", "estate", "assignee", "grid").filter(pk=round_id).first()
    )
    if round_ is None:
        raise Http404
    return round_


@dataclass
class StopView:
    """One checkpoint of a round as the guard's page shows it."""

    position: int
    checkpoint: Checkpoint
    planned_at: dt.datetime | None
    scan: Scan | None
    is_next: bool = False


def round_stops(round_: Round) -> list[StopView]:
    """The round's checkpoints in order, each with its scan (two queries)."""
    stops = rules.stops_from(round_.stops)
    checkpoints = Checkpoint.objects.select_related("public_area", "building").in_bulk(
        [stop.checkpoint_id for stop in stops]
    )
    scans = {scan.checkpoint_id: scan for scan in Scan.objects.filter(round=round_).select_related("by")}
    views = [
        StopView(
            position=index,
            checkpoint=checkpoints[stop.checkpoint_id],
            planned_at=rules.planned_at(round_.window_start, stop),
            scan=scans.get(stop.checkpoint_id),
        )
        for index, stop in enumerate(stops, start=1)
        if stop.checkpoint_id in checkpoints
    ]
    if round_.status in ROUND_OPEN:
        following = next((view for view in views if view.scan is None), None)
        if following is not None and round_.order_rule == "strict":
            following.is_next = True
    return views


def route_list(user, *, day: dt.date, estate_id: int | None = None) -> list[Route]:
    """Active routes the user may see, each with its stops and the day's rounds the user may see (`day_rounds`).
    Four queries whatever the number of routes."""
    start, end = day_bounds(day)
    routes = (
        routes_visible(user)
        .filter(is_active=True)
        .select_related("estate", "grid", "assignee")
        .annotate(stop_count=Count("stops"))
        .order_by("estate__name", "name")
    )
    if estate_id:
        routes = routes.filter(estate_id=estate_id)
    routes = list(routes)
    by_route = defaultdict(list)
    for round_ in (
        rounds_visible(user)
        .filter(route__in=routes, window_start__lt=end, window_end__gt=start)
        .order_by("window_start")
        .only("id", "route_id", "window_start", "window_end", "status", "scanned_count", "stops", "missed_count")
    ):
        by_route[round_.route_id].append(round_)
    for route in routes:
        route.day_rounds = by_route.get(route.id, [])
    return routes


def route_get(user, route_id: int) -> Route:
    return get_object_or_404(routes_visible(user).select_related("estate", "grid", "assignee"), pk=route_id)


def route_recent_rounds(user, route: Route, *, now: dt.datetime, limit: int = 50) -> list[Round]:
    return list(
        rounds_visible(user)
        .filter(route=route, window_start__lte=now)
        .select_related("assignee")
        .order_by("-window_start")[:limit]
    )


@dataclass
class Label:
    """One checkpoint label of a route's sheet."""

    position: int
    checkpoint: Checkpoint
    payload: str
    code: str


def route_labels(route: Route) -> list[Label]:
    stops = (
        RouteStop.objects.filter(route=route, checkpoint__is_active=True)
        .select_related("checkpoint__public_area", "checkpoint__building")
        .order_by("position")
    )
    return [
        Label(
            position=index,
            checkpoint=stop.checkpoint,
            payload=codes.payload(route.estate_id, stop.checkpoint.uid),
            code=codes.label_code(route.estate_id, stop.checkpoint.uid),
        )
        for index, stop in enumerate(stops, start=1)
    ]


def checkpoint_get(user, checkpoint_id: int) -> Checkpoint:
    return get_object_or_404(checkpoints_visible(user), pk=checkpoint_id)


# ------------------------------------------------------------------------------------------------------ inspections


def inspection_list(user, *, mine: bool, status: str | None = None, estate_id: int | None = None, limit: int = 100):
    """Inspections the user may see (with `mine`, those they carry out), open first then newest; each with its
    item count and failed count. One query."""
    inspections = inspections_visible(user)
    if mine:
        inspections = inspections.filter(inspector=user)
    if status:
        inspections = inspections.filter(status=status)
    if estate_id:
        inspections = inspections.filter(estate_id=estate_id)
    return list(
        inspections.select_related("estate", "inspector", "public_area", "building", "grid")
        .annotate(
            item_count=Count("items"),
            failed_count=Count("items", filter=Q(items__result=ItemResult.FAIL)),
        )
        .annotate(is_closed=Case(When(status=InspectionStatus.OPEN, then=0), default=1))
        .order_by("is_closed", F("due_at").asc(nulls_last=True), "-created_at", "-id")[:limit]
    )


def inspection_get(user, inspection_id: int) -> Inspection:
    inspection = (
        inspections_visible(user)
        .select_related("estate", "inspector", "subject", "grid", "building", "public_area", "task__plan")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=InspectionItem.objects.select_related(
                    "sop_item", "work_order", "recheck_of__inspection"
                ).prefetch_related("photos", "rechecks__inspection"),
            ),
            "events__actor",
        )
        .filter(pk=inspection_id)
        .first()
    )
    if inspection is None:
        raise Http404
    return inspection


def inspection_photo_get(user, inspection_id: int, photo_id: int) -> InspectionPhoto:
    inspection = get_object_or_404(inspections_visible(user), pk=inspection_id)
    return get_object_or_404(InspectionPhoto, pk=photo_id, item__inspection=inspection)


def item_rectification(item: InspectionItem, now: dt.datetime) -> str | None:
    rechecks = list(item.rechecks.all())
    return rules.rectification_state(
        rectify_due_at=item.rectify_due_at,
        rectified_at=item.rectified_at,
        verified_at=item.verified_at,
        recheck_failed=any(
            r.result == ItemResult.FAIL and r.inspection.status == InspectionStatus.SUBMITTED for r in rechecks
        ),
        now=now,
    )


# ---------------------------------------------------------------------------------------------------- quality


@dataclass
class RollupRow:
    key: object
    label: str
    checks: int = 0
    score_sum: Decimal = Decimal(0)
    failed_items: int = 0

    @property
    def average(self) -> Decimal | None:
        if not self.checks:
            return None
        return (self.score_sum / self.checks).quantize(Decimal("0.1"))


@dataclass
class QualityRollup:
    start: dt.datetime
    end: dt.datetime
    checks: int = 0
    by: dict[str, list[RollupRow]] = field(default_factory=dict)


def quality_rollup(user, *, start: dt.datetime, end: dt.datetime, estate_id: int | None = None) -> QualityRollup:
    """Submitted spot checks of the estates the user reads reports of, in [start, end), rolled up per estate, grid,
    discipline and person whose work was judged: how many, the average score and the failed items. Two queries."""
    checks = Inspection.objects.filter(
        estate__in=report_estates(user),
        kind=InspectionKind.SPOT_CHECK,
        status=InspectionStatus.SUBMITTED,
        submitted_at__gte=start,
        submitted_at__lt=end,
        score__isnull=False,
    )
    if estate_id:
        checks = checks.filter(estate_id=estate_id)
    rows = list(
        checks.annotate(failed=Count("items", filter=Q(items__result=ItemResult.FAIL))).values_list(
            "estate_id",
            "estate__name",
            "grid_id",
            "grid__name",
            "discipline",
            "subject_id",
            "subject__name",
            "score",
            "failed",
        )
    )
    groups: dict[str, dict[object, RollupRow]] = {"estate": {}, "grid": {}, "discipline": {}, "person": {}}
    for estate_id_, estate_name, grid_id, grid_name, discipline, subject_id, subject_name, score, failed in rows:
        keys = {
            "estate": (estate_id_, estate_name),
            "grid": (grid_id, f"{estate_name} · {grid_name}" if grid_id else f"{estate_name} · —"),
            "discipline": (discipline, str(Discipline(discipline).label)),
            "person": (subject_id, subject_name or "—"),
        }
        for group, (key, label) in keys.items():
            row = groups[group].setdefault(key, RollupRow(key=key, label=label))
            row.checks += 1
            row.score_sum += score
            row.failed_items += failed
    rollup = QualityRollup(start=start, end=end, checks=len(rows))
    for group, by_key in groups.items():
        rollup.by[group] = sorted(by_key.values(), key=lambda r: (r.average is None, r.average, r.label))
    return rollup


# ---------------------------------------------------------------------------------------- contracted vs achieved


@dataclass
class AchievedLine:
    """One line of the monthly report: a contracted dimension, its target, what was achieved, and the verdict."""

    code: str
    label: str
    target: str
    achieved: str
    status: str
    detail: str = ""
    target_value: float | None = None
    achieved_value: float | None = None

    @property
    def status_label(self) -> str:
        return str(AchievedStatus(self.status).label)


@dataclass
class AchievedReport:
    estate: Estate
    year: int
    month: int
    start: dt.datetime
    end: dt.datetime
    profile_names: list[str]
    lines: list[AchievedLine]

    @property
    def passed(self) -> int:
        return sum(line.status == AchievedStatus.PASS for line in self.lines)

    @property
    def failed(self) -> int:
        return sum(line.status == AchievedStatus.FAIL for line in self.lines)


def _contracted_windows(
    assignments: list[EstateProfile], dimension: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The windows the contract sets for a frequency dimension in [start, end), level by level as it changed."""
    by_id = {row.id: row for row in assignments}
    windows = []
    for segment in standard_rules.profile_segments([(a.valid_from, a.id) for a in assignments], start=start, end=end):
        spec = (effective_values(by_id.get(segment.key)) or {}).get("frequencies", {}).get(dimension)
        if spec is None:
            continue
        schedule = standard_rules.parse_schedule(spec)
        windows += [
            (slot.start, slot.end)
            for slot in standard_rules.occurrences(schedule, start=segment.start, end=segment.end, tz=clock.local_tz())
        ]
    return windows


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _frequency_line(code: str, label: str, windows, done_starts: set, moments, capped_now) -> AchievedLine:
    due = [w for w in windows if w[1] <= capped_now]  # windows that have closed by now (the month may be running)
    target = len(windows)
    if not target:
        return AchievedLine(code, label, _("Not contracted"), "—", AchievedStatus.NOT_CONTRACTED)
    achieved = sum(1 for w in due if w[0] in done_starts)
    if moments:
        extra = [w for w in due if w[0] not in done_starts]
        achieved += rules.covered(extra, moments)
    status = rules.frequency_status(len(due), achieved) if due else AchievedStatus.NO_DATA
    return AchievedLine(
        code,
        label,
        _("%(count)d times a month") % {"count": target},
        _("%(done)d of %(due)d due (%(share)s)")
        % {"done": achieved, "due": len(due), "share": _percent(rules.share(achieved, len(due)))},
        status,
        detail=_("Met when at least %(share)s of the windows due were done in their window.")
        % {"share": f"{rules.PASS_SHARE * 100:.0f}%"},
        target_value=target,
        achieved_value=achieved,
    )


def _arrival_line(code, label, estate, priority, limit, start, end, now) -> AchievedLine:
    steps = list(
        WorkOrderStep.objects.filter(order__estate=estate, order__priority=priority, step=Step.ARRIVE)
        .filter(
            Q(met_at__gte=start, met_at__lt=end) | Q(met_at__isnull=True, due_at__gte=start, due_at__lt=min(end, now))
        )
        .values_list("started_at", "met_at", "due_at")
    )
    minutes = [(met - started).total_seconds() / 60 for started, met, _due in steps if met is not None]
    on_time = sum(1 for _started, met, due in steps if met is not None and due is not None and met <= due)
    status = rules.share_status(on_time, len(steps))
    middle = rules.median(minutes)
    achieved = (
        _("%(on_time)d of %(total)d within the limit (%(share)s); median %(median)s min")
        % {
            "on_time": on_time,
            "total": len(steps),
            "share": _percent(rules.share(on_time, len(steps))),
            "median": "—" if middle is None else f"{middle:.0f}",
        }
        if steps
        else _("No orders this month")
    )
    return AchievedLine(
        code,
        label,
        _("Within %(minutes)d minutes") % {"minutes": limit} if limit else "—",
        achieved,
        status if limit else AchievedStatus.NOT_CONTRACTED,
        detail=_("From the arrival step of each order (an owner's appointment sets its own time)."),
        target_value=limit,
        achieved_value=rules.share(on_time, len(steps)),
    )


def achieved_month(estate: Estate, *, year: int, month: int, now: dt.datetime) -> AchievedReport:
    """The contracted-vs-achieved report of one estate and one local month, from the service level(s) in force
    (a change of level mid-month is followed window by window) and the event-backed records of the month:
    standards tasks done, patrol rounds completed, work-order arrival steps, owners' ratings, lights readings,
    patrol scans on time and rectifications done by their deadline. Runs a fixed number of queries."""
    tz = clock.local_tz()
    start, end = rules.month_bounds(year, month, tz)
    capped = min(end, now)
    assignments = list(EstateProfile.objects.filter(estate=estate).select_related("profile").order_by("valid_from"))
    in_force = [a for a in assignments if a.valid_from < end]
    current = in_force[-1] if in_force else None
    values = effective_values(current) or {}
    profile_names = []
    for segment in standard_rules.profile_segments([(a.valid_from, a.id) for a in assignments], start=start, end=end):
        row = next((a for a in assignments if a.id == segment.key), None)
        if row is not None and row.profile.name not in profile_names:
            profile_names.append(row.profile.name)

    done_tasks: dict[str, set] = defaultdict(set)
    lights: list[float] = []
    for dimension, window_start, evidence, plan_item_codes in (
        Task.objects.filter(estate=estate, status=TaskStatus.DONE, window_start__gte=start, window_start__lt=end)
        .filter(Q(plan__profile_dimension__gt="") | Q(plan__sop_items__code="eng-lights"))
        .values_list("plan__profile_dimension", "window_start", "evidence", "plan__sop_items__code")
    ):
        if dimension:
            done_tasks[dimension].add(window_start)
        if plan_item_codes == "eng-lights":
            reading = ((evidence or {}).get("eng-lights") or {}).get("reading")
            if isinstance(reading, int | float):
                lights.append(float(reading))
    lights += list(
        InspectionItem.objects.filter(
            inspection__estate=estate,
            inspection__status=InspectionStatus.SUBMITTED,
            inspection__submitted_at__gte=start,
            inspection__submitted_at__lt=end,
            code="eng-lights",
            reading__isnull=False,
        ).values_list("reading", flat=True)
    )
    patrol_completions = list(
        Round.objects.filter(
            estate=estate, status=RoundStatus.COMPLETE, completed_at__gte=start, completed_at__lt=end
        ).values_list("completed_at", flat=True)
    )

    labels = dict(Dimension.choices)
    lines = []
    for dimension in Dimension.values:
        windows = _contracted_windows(assignments, dimension, start, end)
        moments = patrol_completions if dimension == Dimension.KEY_AREA_PATROL else []
        lines.append(
            _frequency_line(dimension, str(labels[dimension]), windows, done_tasks[dimension], moments, capped)
        )
    lines.append(
        _arrival_line(
            "emergency_arrival",
            _("Emergency repair arrival"),
            estate,
            Priority.EMERGENCY,
            values.get("emergency_arrival_minutes"),
            start,
            end,
            now,
        )
    )
    lines.append(
        _arrival_line(
            "repair_arrival",
            _("Other repairs arrival"),
            estate,
            Priority.NORMAL,
            values.get("repair_arrival_minutes"),
            start,
            end,
            now,
        )
    )

    scores = [
        payload.get("score")
        for payload in WorkOrderEvent.objects.filter(
            order__estate=estate, action=Action.RATE, at__gte=start, at__lt=end
        ).values_list("payload", flat=True)
    ]
    scores = [score for score in scores if isinstance(score, int)]
    satisfied = sum(1 for score in scores if score >= 4)
    target_pct = values.get("satisfaction_target_pct")
    if not target_pct:
        satisfaction_status = AchievedStatus.NOT_CONTRACTED
    else:
        satisfaction_status = rules.share_status(satisfied, len(scores), required=target_pct / 100)
    lines.append(
        AchievedLine(
            "satisfaction",
            _("Owner satisfaction"),
            f"≥ {target_pct}%" if target_pct else "—",
            _("%(satisfied)d of %(total)d ratings satisfied (%(share)s)")
            % {"satisfied": satisfied, "total": len(scores), "share": _percent(rules.share(satisfied, len(scores)))}
            if scores
            else _("No ratings this month"),
            satisfaction_status,
            detail=_("Owners' ratings of completed work orders: 4 or 5 stars count as satisfied."),
            target_value=target_pct,
            achieved_value=rules.share(satisfied, len(scores)),
        )
    )

    lights_target = values.get("lights_working_pct")
    lights_mean = sum(lights) / len(lights) if lights else None
    if not lights_target:
        lights_status = AchievedStatus.NOT_CONTRACTED
    elif lights_mean is None:
        lights_status = AchievedStatus.NO_DATA
    else:
        lights_status = AchievedStatus.PASS if lights_mean >= lights_target else AchievedStatus.FAIL
    lines.append(
        AchievedLine(
            "lights_working",
            _("Stair and street lights working"),
            f"≥ {lights_target}%" if lights_target else "—",
            _("%(mean).1f%% on average of %(count)d checks") % {"mean": lights_mean, "count": len(lights)}
            if lights_mean is not None
            else _("No readings this month"),
            lights_status,
            detail=_("Readings of the lights check (SOP eng-lights) in tasks and inspections."),
            target_value=lights_target,
            achieved_value=lights_mean,
        )
    )

    expected = on_time = 0
    for stop_lists, scanned_on_time in (
        Round.objects.filter(estate=estate, closed_at__isnull=False, window_start__gte=start, window_start__lt=end)
        .annotate(on_time=Count("scans", filter=Q(scans__on_time=True)))
        .values_list("stops", "on_time")
    ):
        expected += len(stop_lists or [])
        on_time += scanned_on_time
    lines.append(
        AchievedLine(
            "patrol_checkpoints",
            _("Patrol checkpoints passed on time"),
            f"≥ {rules.PASS_SHARE * 100:.0f}%",
            _("%(on_time)d of %(expected)d (%(share)s)")
            % {"on_time": on_time, "expected": expected, "share": _percent(rules.share(on_time, expected))}
            if expected
            else _("No patrol rounds closed this month"),
            rules.share_status(on_time, expected),
            detail=_("Every checkpoint of every closed round: scanned inside its window and its planned time."),
            target_value=rules.PASS_SHARE,
            achieved_value=rules.share(on_time, expected),
        )
    )

    due_items = list(
        InspectionItem.objects.filter(
            inspection__estate=estate, rectify_due_at__gte=start, rectify_due_at__lt=min(end, now)
        ).values_list("rectify_due_at", "rectified_at")
    )
    in_time = sum(1 for due, done in due_items if done is not None and done <= due)
    lines.append(
        AchievedLine(
            "rectification",
            _("Rectifications done by their deadline"),
            f"≥ {rules.PASS_SHARE * 100:.0f}%",
            _("%(done)d of %(total)d (%(share)s)")
            % {"done": in_time, "total": len(due_items), "share": _percent(rules.share(in_time, len(due_items)))}
            if due_items
            else _("No rectification was due this month"),
            rules.share_status(in_time, len(due_items)),
            detail=_("Failed inspection items whose rectification order was completed by the SOP deadline."),
            target_value=rules.PASS_SHARE,
            achieved_value=rules.share(in_time, len(due_items)),
        )
    )
    return AchievedReport(
        estate=estate,
        year=year,
        month=month,
        start=start,
        end=end,
        profile_names=profile_names,
        lines=lines,
    )


def achieved_estate_get(user, estate_id: int) -> Estate:
    """An estate whose reports the user reads: 404 when they do not work there, 403 (raised by the view) when they
    work there without a reporting role."""
    return get_object_or_404(staff_estates(user).select_related("company"), pk=estate_id)
