"""Every write about patrols and inspections.

Patrols: checkpoints (with their signed codes) and routes are set up; rounds are generated from each route's
timetable ahead, idempotently (INSERT … ON CONFLICT DO NOTHING against the (route, window start) constraint, like
standards tasks); scans lock the round, check the code, the window and the order rule, and record each checkpoint
once; the window closer claims closed rounds with SELECT … FOR UPDATE SKIP LOCKED, records what was missed or late
and alerts the grid leader through the notification outbox in the same transaction.

Inspections: created from SOP items (by a person, by the spot-check sampler, or as the re-check of a rectified
item); submitted once with every answer; each failed item opens a rectification work order (整改) due after the SOP
item's rectification hours. `rectification_resolved(order=…)` turns a completed rectification into a re-check; the
periodic `rectifications_sync` does the same for any completed order the hook did not see.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wuye.accounts.choices import STAFF_ROLES, Role
from wuye.accounts.models import Membership, User
from wuye.core import clock
from wuye.core.errors import DomainError, ErrorCollector, FieldError, Forbidden, ValidationFailed
from wuye.core.images import CleanImage, store_image
from wuye.estates.models import Building, Estate, Grid, PublicArea
from wuye.notifications.services import notify, text_later
from wuye.standards import rules as standard_rules
from wuye.standards import services as standard_services
from wuye.standards.choices import Dimension, Discipline, TaskStatus
from wuye.standards.models import EstateProfile, SopItem, Task
from wuye.workorders.choices import Channel, Kind, Status
from wuye.workorders.models import Category, WorkOrder
from wuye.workorders.services import PHOTOS_PER_STAGE, NewOrder, workorder_create

from . import codes, rules
from .choices import (
    EVIDENCE_ITEM_KIND,
    INSPECTION_TRANSITIONS,
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
from .models import (
    Checkpoint,
    Inspection,
    InspectionEvent,
    InspectionItem,
    InspectionPhoto,
    Round,
    RoundEvent,
    Route,
    RouteStop,
    Scan,
)
from .permissions import can_fill, can_scan

# Roles a route may be given to (guards above all; engineers walk equipment routes).
PATROL_ROLES = frozenset({Role.GUARD, Role.TECHNICIAN, Role.GRID_LEADER, Role.SUPERVISOR, Role.CLEANER, Role.GARDENER})
ROUND_HORIZON_DAYS = 2
MAX_STOPS = 60
PHOTOS_PER_ITEM = 6
# The work-order category a failed item's rectification goes to: by SOP item where the discipline's own category
# does not fit (pumps are plumbing, the power room is electrical…), else by discipline; "other" as the last resort.
RECTIFY_CATEGORY_BY_ITEM = {
    "eng-pump-room": "plumbing",
    "eng-water-tank": "plumbing",
    "eng-drains": "plumbing",
    "eng-power-room": "electrical",
    "eng-generator": "electrical",
    "eng-meter-reading": "electrical",
    "eng-lift-check": "lift",
    "eng-lights": "public_lighting",
    "eng-fire-pump": "fire",
    "eng-roof": "walls",
    "eng-building-check": "walls",
    "sec-extinguisher": "fire",
    "sec-fire-lane": "fire",
    "sec-fire-drill": "fire",
}
RECTIFY_CATEGORY_BY_DISCIPLINE = {
    Discipline.CLEANING: "cleaning",
    Discipline.GREENING: "greening",
    Discipline.SECURITY: "security",
    Discipline.ENGINEERING: "other",
}
INCIDENT_KINDS = (Kind.REPAIR_PUBLIC, Kind.RECTIFICATION)


class ScanRefused(DomainError):
    """A genuine code, but not now: outside the round's window, out of order, or the round is closed."""

    status = 409
    code = "scan_refused"


class InvalidMove(DomainError):
    status = 409
    code = "invalid_transition"


@contextmanager
def _stored(photos: Sequence[CleanImage], *, prefix: str):
    """Save files before the transaction and delete them again if it fails (storage is not transactional)."""
    names: list[str] = []
    try:
        for clean in photos:
            names.append(store_image(clean, prefix=prefix))
        yield names
    except BaseException:
        for name in names:
            default_storage.delete(name)
        raise


def _works_in(user: User | None, estate: Estate) -> bool:
    if user is None:
        return False
    return Membership.objects.filter(user=user, estate=estate, role__in=STAFF_ROLES).exists() or (
        Membership.objects.filter(
            user=user, company_id=estate.company_id, estate=None, role=Role.COMPANY_ADMIN
        ).exists()
    )


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment, clock.local_tz()).strftime("%m-%d %H:%M")


# ====================================================================================================== checkpoints


@dataclass
class NewCheckpoint:
    estate: Estate
    name: str
    building: Building | None = None
    public_area: PublicArea | None = None
    position: str = ""


def _checkpoint_errors(new: NewCheckpoint, *, checkpoint_id: int | None = None) -> ErrorCollector:
    errors = ErrorCollector()
    name = (new.name or "").strip()
    if not name:
        errors.add("name", "required", _("This field is required."))
    elif len(name) > 60:
        errors.add("name", "too_long", _("At most 60 characters."))
    elif Checkpoint.objects.filter(estate=new.estate, name=name).exclude(pk=checkpoint_id).exists():
        errors.add("name", "duplicate", _("The estate already has a checkpoint with this name."))
    if new.building is None and new.public_area is None:
        errors.add("public_area_id", "required", _("Say where: choose a building or a public area."))
    for field_name, place in (("building_id", new.building), ("public_area_id", new.public_area)):
        if place is not None and place.estate_id != new.estate.id:
            errors.add(field_name, "not_found", _("This place is not in the estate."))
    if len(new.position or "") > 120:
        errors.add("position", "too_long", _("At most 120 characters."))
    return errors


@transaction.atomic
def checkpoint_create(*, actor: User | None, new: NewCheckpoint) -> Checkpoint:
    """A checkpoint at a building or public area of the estate, with a fresh random code."""
    _checkpoint_errors(new).raise_if_any(_("The checkpoint could not be created."))
    for _attempt in range(5):
        uid = codes.new_uid()
        if not Checkpoint.objects.filter(uid=uid).exists():
            break
    return Checkpoint.objects.create(
        estate=new.estate,
        name=new.name.strip(),
        building=new.building,
        public_area=new.public_area,
        position=(new.position or "").strip(),
        uid=uid,
        created_by=actor,
    )


@transaction.atomic
def checkpoint_update(*, actor: User | None, checkpoint_id: int, new: NewCheckpoint) -> Checkpoint:
    """Rename a checkpoint or say again where it is. Its code stays: the printed label remains valid."""
    checkpoint = Checkpoint.objects.select_for_update().get(pk=checkpoint_id)
    new.estate = checkpoint.estate
    _checkpoint_errors(new, checkpoint_id=checkpoint.id).raise_if_any(_("The checkpoint could not be saved."))
    checkpoint.name = new.name.strip()
    checkpoint.building = new.building
    checkpoint.public_area = new.public_area
    checkpoint.position = (new.position or "").strip()
    checkpoint.save(update_fields=["name", "building", "public_area", "position", "updated_at"])
    return checkpoint


@transaction.atomic
def route_checkpoint_add(
    *,
    actor: User | None,
    route_id: int,
    checkpoint: Checkpoint | None = None,
    new: NewCheckpoint | None = None,
    offset_minutes: int | None = None,
    now: dt.datetime,
) -> Checkpoint:
    """Put a checkpoint at the end of a route: one the estate has, or a new one (with a fresh code) made here."""
    route = Route.objects.select_related("estate").get(pk=route_id)
    if checkpoint is None and new is None:
        message = _("Choose a checkpoint or name a new one.")
        raise ValidationFailed(message, errors=[FieldError("checkpoint_id", "required", message)])
    if checkpoint is None:
        new.estate = route.estate
        checkpoint = checkpoint_create(actor=actor, new=new)
    current = [
        (stop.checkpoint, stop.offset_minutes)
        for stop in RouteStop.objects.filter(route=route).select_related("checkpoint").order_by("position")
    ]
    route_stops_set(actor=actor, route_id=route.id, stops=[*current, (checkpoint, offset_minutes)], now=now)
    return checkpoint


@transaction.atomic
def checkpoint_retire(*, actor: User | None, checkpoint_id: int, now: dt.datetime) -> Checkpoint:
    """Take a checkpoint out of use: its label is refused from now on, it leaves every route, and rounds not begun
    yet stop expecting it. Idempotent."""
    checkpoint = Checkpoint.objects.select_for_update().get(pk=checkpoint_id)
    if not checkpoint.is_active:
        return checkpoint
    checkpoint.is_active = False
    checkpoint.retired_at = now
    checkpoint.save(update_fields=["is_active", "retired_at", "updated_at"])
    route_ids = list(RouteStop.objects.filter(checkpoint=checkpoint).values_list("route_id", flat=True))
    RouteStop.objects.filter(checkpoint=checkpoint).delete()
    for route in Route.objects.filter(id__in=route_ids):
        _resnapshot_unstarted(route, now)
    return checkpoint


# ============================================================================================================ routes


@dataclass
class NewRoute:
    estate: Estate
    name: str
    stops: Sequence[tuple[Checkpoint, int | None]]
    grid: Grid | None = None
    order_rule: str = OrderRule.STRICT
    schedule: dict | None = None
    profile_dimension: str = ""
    tolerance_minutes: int = 10
    assignee: User | None = None
    assignee_role: str = Role.GUARD


def _shortest_window(schedule: dict) -> int:
    parsed = standard_rules.parse_schedule(schedule)
    return min(end - start for start, end in parsed.slot_minutes())


def _route_settings_errors(errors: ErrorCollector, estate: Estate, new, *, route_id: int | None = None) -> int | None:
    """Check a route's settings (everything but its checkpoints); returns its shortest window in minutes (None when
    it follows the service level or its timetable is invalid)."""
    name = (new.name or "").strip()
    shortest = None
    if not name:
        errors.add("name", "required", _("This field is required."))
    elif len(name) > 60:
        errors.add("name", "too_long", _("At most 60 characters."))
    elif Route.objects.filter(estate=estate, name=name).exclude(pk=route_id).exists():
        errors.add("name", "duplicate", _("The estate already has a route with this name."))
    if new.order_rule not in OrderRule.values:
        errors.add("order_rule", "invalid_choice", _("Choose in order or in any order."))
    if (new.schedule is None) == (not new.profile_dimension):
        errors.add("schedule", "one_source", _("Give either a timetable or a service-level frequency, not both."))
    elif new.schedule is not None:
        try:
            shortest = _shortest_window(new.schedule)
        except standard_rules.ScheduleInvalid as problem:
            errors.add(f"schedule.{problem.field}".rstrip("."), problem.code, problem.detail)
    elif new.profile_dimension not in Dimension.values:
        errors.add("profile_dimension", "invalid_choice", _("Unknown service-level frequency."))
    if not isinstance(new.tolerance_minutes, int) or not 0 <= new.tolerance_minutes <= 240:
        errors.add("tolerance_minutes", "out_of_range", _("Must be from 0 to 240 minutes."))
    if new.grid is not None and new.grid.estate_id != estate.id:
        errors.add("grid_id", "not_found", _("This grid is not in the estate."))
    if new.assignee is None and not new.assignee_role:
        errors.add("assignee_id", "required", _("Give a person or a role to patrol it."))
    if new.assignee_role and new.assignee_role not in PATROL_ROLES:
        errors.add("assignee_role", "invalid_choice", _("Routes are for guards and other front-line roles."))
    if new.assignee is not None and not _works_in(new.assignee, estate):
        errors.add("assignee_id", "not_found", _("This person does not work in the estate."))
    return shortest


def _stops_errors(
    errors: ErrorCollector, estate: Estate, stops: Sequence[tuple[Checkpoint, int | None]], shortest: int | None
) -> None:
    if not stops:
        errors.add("stops", "required", _("A route needs at least one checkpoint."))
    elif len(stops) > MAX_STOPS:
        errors.add("stops", "too_many", _("At most %(max)d checkpoints.") % {"max": MAX_STOPS})
    seen = set()
    for index, (checkpoint, offset) in enumerate(stops):
        where = f"stops[{index}]"
        if checkpoint.estate_id != estate.id or not checkpoint.is_active:
            errors.add(f"{where}.checkpoint_id", "not_found", _("This checkpoint is not in use in the estate."))
        elif checkpoint.id in seen:
            errors.add(f"{where}.checkpoint_id", "duplicate", _("A checkpoint appears once in a route."))
        seen.add(checkpoint.id)
        if offset is not None:
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                errors.add(f"{where}.offset_minutes", "invalid", _("Minutes after the start, 0 or more."))
            elif shortest is not None and offset >= shortest:
                errors.add(
                    f"{where}.offset_minutes",
                    "after_window",
                    _("The planned time must fall inside the window (%(minutes)d minutes).") % {"minutes": shortest},
                )


@transaction.atomic
def route_create(*, actor: User | None, new: NewRoute, now: dt.datetime) -> Route:
    """A route through checkpoints of the estate, with its timetable; its rounds are generated at once."""
    errors = ErrorCollector()
    estate = new.estate
    shortest = _route_settings_errors(errors, estate, new)
    _stops_errors(errors, estate, new.stops, shortest)
    errors.raise_if_any(_("The route could not be created."))
    route = Route.objects.create(
        estate=estate,
        name=new.name.strip(),
        grid=new.grid,
        order_rule=new.order_rule,
        schedule=new.schedule,
        profile_dimension=new.profile_dimension if new.schedule is None else "",
        tolerance_minutes=new.tolerance_minutes,
        assignee=new.assignee,
        assignee_role="" if new.assignee else new.assignee_role,
        created_by=actor,
    )
    RouteStop.objects.bulk_create(
        RouteStop(route=route, checkpoint=checkpoint, position=index + 1, offset_minutes=offset)
        for index, (checkpoint, offset) in enumerate(new.stops)
    )
    rounds_generate(route=route, now=now)
    return route


@transaction.atomic
def route_create_with_checkpoint(
    *, actor: User | None, new: NewRoute, checkpoint: NewCheckpoint, now: dt.datetime
) -> Route:
    """A route whose last (or only) checkpoint is made with it — how an estate without checkpoints gets its first
    route. Nothing is kept when either is refused; the checkpoint's errors are named `checkpoint_<field>`."""
    checkpoint.estate = new.estate
    checkpoint_problems = _checkpoint_errors(checkpoint).errors
    if checkpoint_problems:
        errors = ErrorCollector()
        _route_settings_errors(errors, new.estate, new)
        for error in checkpoint_problems:
            errors.add("checkpoint_" + error.field.removesuffix("_id"), error.code, error.message)
        errors.raise_if_any(_("The route could not be created."))
    made = checkpoint_create(actor=actor, new=checkpoint)
    return route_create(actor=actor, new=replace(new, stops=[*new.stops, (made, None)]), now=now)


@dataclass
class RouteSettings:
    """Everything about a route but its checkpoints: what the desk's edit form changes."""

    name: str
    grid: Grid | None = None
    order_rule: str = OrderRule.STRICT
    schedule: dict | None = None
    profile_dimension: str = ""
    tolerance_minutes: int = 10
    assignee: User | None = None
    assignee_role: str = Role.GUARD
    is_active: bool = True


def _regenerate_future_rounds(route: Route, now: dt.datetime) -> None:
    """Rounds whose window has not opened and that nobody has begun follow the route as it is now: they are dropped
    and generated again (an open or past round keeps what it was judged against)."""
    Round.objects.filter(
        route=route, status=RoundStatus.PENDING, window_start__gt=now, started_at__isnull=True, scans__isnull=True
    ).delete()
    if route.is_active:
        rounds_generate(route=route, now=now)


@transaction.atomic
def route_update(*, actor: User | None, route_id: int, settings: RouteSettings, now: dt.datetime) -> Route:
    """Change a route's name, grid, order rule, timetable, tolerance, patroller or whether it is in use. Rounds
    not begun whose window has not opened are generated again under the new settings; history keeps the old."""
    route = Route.objects.select_for_update().select_related("estate").get(pk=route_id)
    errors = ErrorCollector()
    shortest = _route_settings_errors(errors, route.estate, settings, route_id=route.id)
    if shortest is not None:
        offsets = [o for o in RouteStop.objects.filter(route=route).values_list("offset_minutes", flat=True) if o]
        if offsets and max(offsets) >= shortest:
            errors.add(
                "schedule.windows",
                "shorter_than_stops",
                _("A checkpoint is planned %(offset)d minutes after the start, after the shortest window ends.")
                % {"offset": max(offsets)},
            )
    errors.raise_if_any(_("The route could not be saved."))
    route.name = settings.name.strip()
    route.grid = settings.grid
    route.order_rule = settings.order_rule
    route.schedule = settings.schedule
    route.profile_dimension = settings.profile_dimension if settings.schedule is None else ""
    route.tolerance_minutes = settings.tolerance_minutes
    route.assignee = settings.assignee
    route.assignee_role = "" if settings.assignee else settings.assignee_role
    route.is_active = bool(settings.is_active)
    route.save(
        update_fields=[
            "name",
            "grid",
            "order_rule",
            "schedule",
            "profile_dimension",
            "tolerance_minutes",
            "assignee",
            "assignee_role",
            "is_active",
            "updated_at",
        ]
    )
    _regenerate_future_rounds(route, now)
    return route


@transaction.atomic
def route_stops_set(
    *, actor: User | None, route_id: int, stops: Sequence[tuple[Checkpoint, int | None]], now: dt.datetime
) -> Route:
    """Replace a route's checkpoints (to add, remove or reorder them); rounds not begun follow the new list."""
    route = Route.objects.select_for_update().select_related("estate").get(pk=route_id)
    errors = ErrorCollector()
    shortest = _shortest_window(route.schedule) if route.schedule is not None else None
    _stops_errors(errors, route.estate, stops, shortest)
    errors.raise_if_any(_("The checkpoints of the route could not be changed."))
    RouteStop.objects.filter(route=route).delete()
    RouteStop.objects.bulk_create(
        RouteStop(route=route, checkpoint=checkpoint, position=index + 1, offset_minutes=offset)
        for index, (checkpoint, offset) in enumerate(stops)
    )
    Route.objects.filter(pk=route.pk).update(updated_at=now)
    _resnapshot_unstarted(route, now)
    return route


def route_stops(route: Route) -> list[rules.Stop]:
    return [
        rules.Stop(checkpoint_id=checkpoint_id, offset=offset)
        for checkpoint_id, offset in RouteStop.objects.filter(route=route)
        .order_by("position")
        .values_list("checkpoint_id", "offset_minutes")
    ]


def _resnapshot_unstarted(route: Route, now: dt.datetime) -> int:
    """Rounds nobody has begun whose window has not closed follow the route's checkpoints as they are now."""
    return Round.objects.filter(route=route, status=RoundStatus.PENDING, window_end__gt=now).update(
        stops=rules.stops_snapshot(route_stops(route))
    )


# ============================================================================================================ rounds


def route_slots(
    route: Route, *, start: dt.datetime, end: dt.datetime, assignments: Sequence[EstateProfile]
) -> list[tuple[standard_rules.Slot, EstateProfile | None]]:
    """The route's windows starting in [start, end), each with the estate's service level then. A route following
    the profile takes each stretch's frequency from the level in force (none where it is not contracted)."""
    return standard_services.schedule_slots(
        own_schedule=route.schedule,
        profile_dimension=route.profile_dimension,
        start=start,
        end=end,
        assignments=assignments,
    )


def missing_rounds(route: Route, *, start: dt.datetime, end: dt.datetime, keep_after: dt.datetime) -> list[Round]:
    """Unsaved rounds for the route's windows starting in [start, end), still open after `keep_after`, that do not
    exist yet, in window order."""
    assignments = list(EstateProfile.objects.filter(estate_id=route.estate_id).select_related("profile"))
    slots = [
        (slot, a)
        for slot, a in route_slots(route, start=start, end=end, assignments=assignments)
        if slot.end > keep_after
    ]
    if not slots:
        return []
    existing = set(
        Round.objects.filter(
            route=route, window_start__gte=slots[0][0].start, window_start__lte=slots[-1][0].start
        ).values_list("window_start", flat=True)
    )
    snapshot = rules.stops_snapshot(route_stops(route))
    return [
        Round(
            route=route,
            estate_id=route.estate_id,
            grid_id=route.grid_id,
            window_start=slot.start,
            window_end=slot.end,
            stops=snapshot,
            order_rule=route.order_rule,
            tolerance_minutes=route.tolerance_minutes,
            assignee_id=route.assignee_id,
            assignee_role="" if route.assignee_id else route.assignee_role,
            estate_profile=assignment,
        )
        for slot, assignment in slots
        if slot.start not in existing
    ]


def rounds_generate(
    *,
    now: dt.datetime,
    route: Route | None = None,
    estate: Estate | None = None,
    horizon_days: int = ROUND_HORIZON_DAYS,
) -> int:
    """Generate the rounds of one route, of an estate's routes, or of every active route, for windows still open
    now and starting within `horizon_days`. Idempotent and safe to run in several processes at once (the unique
    (route, window start) constraint with ON CONFLICT DO NOTHING). Returns how many this call inserted."""
    if route is not None:
        routes = [route]
    else:
        routes = Route.objects.filter(is_active=True, estate__is_active=True).order_by("id")
        if estate is not None:
            routes = routes.filter(estate=estate)
    start = now - dt.timedelta(days=1)  # a night window opened yesterday may still be open
    end = now + dt.timedelta(days=horizon_days)
    inserted = 0
    for each in routes:
        if not each.is_active:
            continue
        with transaction.atomic():
            rows = missing_rounds(each, start=start, end=end, keep_after=now)
            Round.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
            inserted += len(rows)
    return inserted


@dataclass
class ScanResult:
    round: Round
    scan: Scan
    created: bool


CODE_MESSAGES = {
    "invalid_code": gettext_lazy("This is not a patrol checkpoint code."),
    "forged": gettext_lazy("This code was not issued for this estate: it may be forged or mistyped."),
    "foreign_estate": gettext_lazy("This label belongs to another estate."),
    "unknown_checkpoint": gettext_lazy("No checkpoint of this estate has this code."),
    "retired": gettext_lazy("This checkpoint was retired; its label is no longer valid."),
    "not_on_route": gettext_lazy("This checkpoint is not on this route."),
}


def _code_rejected(code: str) -> ValidationFailed:
    message = str(CODE_MESSAGES[code])
    return ValidationFailed(message, errors=[FieldError("code", code, message)])


def checkpoint_from_code(estate_id: int, text: object) -> Checkpoint:
    """The estate's checkpoint a scanned or typed code names, after checking its signature. A code that is
    malformed, forged, of another estate or of a retired checkpoint is refused (422, naming the rule)."""
    read = codes.parse(text)
    if read is None:
        raise _code_rejected("invalid_code")
    if not codes.verify(estate_id, read):
        elsewhere = Checkpoint.objects.filter(uid=read.uid).exclude(estate_id=estate_id).only("estate_id").first()
        if elsewhere is not None and codes.verify(elsewhere.estate_id, read):
            raise _code_rejected("foreign_estate")
        raise _code_rejected("forged")
    checkpoint = Checkpoint.objects.filter(estate_id=estate_id, uid=read.uid).first()
    if checkpoint is None:
        raise _code_rejected("unknown_checkpoint")
    if not checkpoint.is_active:
        raise _code_rejected("retired")
    return checkpoint


def _refusal(verdict: str, round_: Round, stops: Sequence[rules.Stop], scanned: set[int]) -> DomainError:
    if verdict == rules.ScanVerdict.NOT_ON_ROUTE:
        return _code_rejected("not_on_route")
    if verdict == rules.ScanVerdict.NOT_OPEN_YET:
        message = _("This round opens at %(time)s.") % {"time": _local(round_.window_start)}
    elif verdict == rules.ScanVerdict.WINDOW_CLOSED:
        message = _("This round's window closed at %(time)s.") % {"time": _local(round_.window_end)}
    elif verdict == rules.ScanVerdict.OUT_OF_ORDER:
        expected = rules.next_expected(stops, scanned)
        name = Checkpoint.objects.filter(pk=expected.checkpoint_id).values_list("name", flat=True).first() or ""
        message = _("This route is patrolled in order: scan %(name)s next.") % {"name": name}
    else:
        message = _("This round is %(status)s; no more scans are taken.") % {"status": RoundStatus(round_.status).label}
    return ScanRefused(message, code=verdict)


def round_scan(*, actor: User, round_id: int, code: str, method: str = ScanMethod.QR, now: dt.datetime) -> ScanResult:
    """Record that the actor passed a checkpoint of the round. Lock → the actor's right (403) → the code (422) →
    the window, order and replay rules → one Scan; the first scan starts the round (and takes it for the actor),
    the last completes it, each with an event. A second scan of the same checkpoint returns the first."""
    if method not in ScanMethod.values:
        message = _("Unknown way of reading the code.")
        raise ValidationFailed(message, errors=[FieldError("method", "invalid_choice", message)])
    with transaction.atomic():
        round_ = Round.objects.select_for_update(of=("self",)).select_related("route").get(pk=round_id)
        if not can_scan(actor, round_):
            raise Forbidden(_("This round is not yours to patrol."))
        checkpoint = checkpoint_from_code(round_.estate_id, code)
        stops = rules.stops_from(round_.stops)
        on_time = dict(Scan.objects.filter(round=round_).values_list("checkpoint_id", "on_time"))
        verdict = rules.scan_verdict(
            status=round_.status,
            stops=stops,
            scanned=set(on_time),
            checkpoint_id=checkpoint.id,
            order_rule=round_.order_rule,
            window_start=round_.window_start,
            window_end=round_.window_end,
            now=now,
        )
        if verdict == rules.ScanVerdict.REPLAY:
            return ScanResult(round=round_, scan=Scan.objects.get(round=round_, checkpoint=checkpoint), created=False)
        if verdict != rules.ScanVerdict.ACCEPT:
            raise _refusal(verdict, round_, stops, set(on_time))
        stop = next(stop for stop in stops if stop.checkpoint_id == checkpoint.id)
        late = rules.is_late(
            window_start=round_.window_start, stop=stop, tolerance_minutes=round_.tolerance_minutes, at=now
        )
        scan = Scan.objects.create(
            round=round_,
            checkpoint=checkpoint,
            at=now,
            by=actor,
            method=method,
            sequence=len(on_time) + 1,
            on_time=not late,
            planned_at=rules.planned_at(round_.window_start, stop),
        )
        round_.scanned_count = len(on_time) + 1
        changed = ["scanned_count"]
        if round_.assignee_id is None:
            round_.assignee = actor
            changed.append("assignee")
        if round_.started_at is None:
            round_.started_at = now
            changed.append("started_at")
        _target, actions = rules.status_after_scan(
            round_.status, scanned_count=round_.scanned_count, stop_count=len(stops)
        )
        status = round_.status
        for action in actions:
            target = rules.round_move(status, action)
            RoundEvent.objects.create(
                round=round_,
                action=action,
                actor=actor,
                at=now,
                from_status=status,
                to_status=target,
                payload={"checkpoint": checkpoint.id},
            )
            status = target
        if status != round_.status:
            round_.status = status
            changed.append("status")
        if status == RoundStatus.COMPLETE and round_.completed_at is None:
            round_.completed_at = now
            changed.append("completed_at")
        round_.save(update_fields=changed)
    return ScanResult(round=round_, scan=scan, created=True)


def _incident_place(round_: Round) -> PublicArea | None:
    """Where the guard is: the public area of the last checkpoint scanned in the round."""
    last = Scan.objects.filter(round=round_).select_related("checkpoint__public_area").order_by("-sequence").first()
    return last.checkpoint.public_area if last is not None else None


def round_incident_report(
    *,
    actor: User,
    round_id: int,
    category: Category | None,
    description: str,
    now: dt.datetime,
    photos: Sequence[CleanImage] = (),
    public_area: PublicArea | None = None,
) -> WorkOrder:
    """An incident found on patrol becomes a work order raised by the guard: a public-area repair where the
    category takes one and the place is known (the chosen public area, else the last checkpoint's), otherwise a
    rectification (整改). The round's timeline records it."""
    round_ = Round.objects.select_related("route", "estate").get(pk=round_id)
    if not can_scan(actor, round_):
        raise Forbidden(_("This round is not yours to patrol."))
    errors = ErrorCollector()
    if category is None or category.company_id != round_.estate.company_id or not category.is_active:
        errors.add("category", "required", _("Choose what kind of problem it is."))
    elif not set(category.kinds) & set(INCIDENT_KINDS):
        errors.add("category", "kind_mismatch", _("This category does not apply to problems found on patrol."))
    if public_area is not None and public_area.estate_id != round_.estate_id:
        errors.add("public_area", "not_found", _("This place is not in the estate."))
    errors.raise_if_any(_("The incident could not be reported."))
    place = public_area or _incident_place(round_)
    kind = Kind.REPAIR_PUBLIC if place is not None and Kind.REPAIR_PUBLIC in category.kinds else Kind.RECTIFICATION
    if kind not in category.kinds:
        message = _("Say where: choose the public area.")
        raise ValidationFailed(message, errors=[FieldError("public_area", "required", message)])
    with transaction.atomic():
        order, _created = workorder_create(
            actor=actor,
            new=NewOrder(
                estate=round_.estate,
                kind=kind,
                category=category,
                description=description,
                channel=Channel.STAFF,
                public_area=place,
                source_type="patrol_round",
                source_id=str(round_.id),
                extra={"route": round_.route.name},
            ),
            photos=photos,
            now=now,
        )
        RoundEvent.objects.create(
            round=round_,
            action=RoundAction.INCIDENT,
            actor=actor,
            at=now,
            payload={"order_id": order.id, "number": order.number},
        )
    return order


def _alert_recipients(round_: Round) -> list[User]:
    """Who hears that a round went wrong: the grid leader (the deputy when there is no leader); without a grid, the
    estate's supervisors."""
    grid = round_.grid or round_.route.grid
    if grid is not None and (grid.leader_id or grid.deputy_id):
        return [grid.leader or grid.deputy]
    return list(
        User.objects.filter(
            memberships__estate_id=round_.estate_id, memberships__role=Role.SUPERVISOR, is_active=True
        ).distinct()
    )


ALERT_TITLE = gettext_lazy("Patrol %(route)s %(time)s: %(missed)s missed, %(late)s late")
ALERT_BODY = gettext_lazy("%(route)s, window %(start)s–%(end)s. Missed: %(missed_names)s. Late: %(late_names)s.")


def _alert(round_: Round, outcome: rules.RoundOutcome, names: Mapping[int, str]) -> None:
    def listed(ids):
        return "、".join(names.get(i, str(i)) for i in ids) or "—"

    for recipient in _alert_recipients(round_):
        notify(
            recipient=recipient,
            kind="patrol.round_closed",
            title=text_later(
                ALERT_TITLE,
                route=round_.route.name,
                time=timezone.localtime(round_.window_start, clock.local_tz()).strftime("%m-%d %H:%M"),
                missed=len(outcome.missed),
                late=len(outcome.late),
            ),
            body=text_later(
                ALERT_BODY,
                route=round_.route.name,
                start=round_.window_start,
                end=round_.window_end,
                missed_names=listed(outcome.missed),
                late_names=listed(outcome.late),
            ),
            link=reverse("desk:inspections:round", kwargs={"round_id": round_.id}),
            estate=round_.estate,
            channels=(),
            dedupe_key=f"patrol-round-closed:{round_.id}",
        )


def rounds_close(*, now: dt.datetime, batch: int = 200) -> int:
    """One pass of the window closer: rounds whose window has ended and that are not closed yet are claimed with
    SELECT … FOR UPDATE SKIP LOCKED (on SQLite the IMMEDIATE transaction serialises writers) and marked closed
    with `closed_at`, so several closers never judge or alert twice. Each gets its outcome (missed, incomplete or
    complete; which checkpoints were missed or late) and a close event; the grid leader is alerted when anything
    was missed or late. Returns how many rounds it closed."""
    with transaction.atomic():
        claimed = list(
            Round.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("route__grid__leader", "route__grid__deputy", "grid__leader", "grid__deputy", "estate")
            .filter(closed_at__isnull=True, window_end__lte=now)
            .order_by("window_end", "id")[:batch]
        )
        if not claimed:
            return 0
        on_time: dict[int, dict[int, bool]] = {}
        for round_id, checkpoint_id, in_time in Scan.objects.filter(round__in=claimed).values_list(
            "round_id", "checkpoint_id", "on_time"
        ):
            on_time.setdefault(round_id, {})[checkpoint_id] = in_time
        checkpoint_ids = {stop["checkpoint"] for round_ in claimed for stop in round_.stops}
        names = dict(Checkpoint.objects.filter(id__in=checkpoint_ids).values_list("id", "name"))
        events = []
        for round_ in claimed:
            outcome = rules.round_outcome(
                status=round_.status, stops=rules.stops_from(round_.stops), on_time=on_time.get(round_.id, {})
            )
            events.append(
                RoundEvent(
                    round=round_,
                    action=RoundAction.CLOSE,
                    at=now,
                    from_status=round_.status,
                    to_status=outcome.status,
                    payload={"missed": list(outcome.missed), "late": list(outcome.late)},
                )
            )
            round_.status = outcome.status
            round_.closed_at = now
            round_.missed_count = len(outcome.missed)
            round_.late_count = len(outcome.late)
            if outcome.needs_alert:
                _alert(round_, outcome, names)
        Round.objects.bulk_update(claimed, ["status", "closed_at", "missed_count", "late_count"])
        RoundEvent.objects.bulk_create(events)
    return len(claimed)


# ======================================================================================================= inspections


@dataclass
class NewInspection:
    estate: Estate
    discipline: str
    sop_items: Sequence[SopItem] = ()
    checklist: Sequence[dict] = ()
    kind: str = InspectionKind.ROUTINE
    inspector: User | None = None
    title: str = ""
    grid: Grid | None = None
    building: Building | None = None
    public_area: PublicArea | None = None
    subject: User | None = None
    task: Task | None = None
    due_at: dt.datetime | None = None


def _item_rows(new: NewInspection) -> list[InspectionItem]:
    rows = [
        InspectionItem(
            sop_item=item,
            code=item.code,
            title=item.title_zh,
            standard=item.standard_zh,
            kind=EVIDENCE_ITEM_KIND[item.evidence],
            reading_unit=item.reading_unit,
            weight=item.score_weight,
            rectify_hours=item.rectify_hours,
        )
        for item in sorted(new.sop_items, key=lambda item: (item.position, item.code))
    ]
    for entry in new.checklist:
        rows.append(
            InspectionItem(
                code=str(entry.get("code") or "")[:40],
                title=str(entry.get("title") or "")[:100],
                standard=str(entry.get("standard") or "")[:1000],
                kind=EVIDENCE_ITEM_KIND.get(entry.get("evidence", "tick"), ItemKind.CHECK),
                reading_unit=str(entry.get("reading_unit") or "")[:20],
            )
        )
    for position, row in enumerate(rows, start=1):
        row.position = position
    return rows


@transaction.atomic
def inspection_create(*, actor: User | None, new: NewInspection, now: dt.datetime) -> Inspection:
    """An inspection (or spot check) at a place, its checklist copied from SOP items of the estate's company."""
    errors = ErrorCollector()
    estate = new.estate
    inspector = new.inspector or actor
    if new.discipline not in Discipline.values:
        errors.add("discipline", "invalid_choice", _("Unknown discipline."))
    if new.kind not in InspectionKind.values:
        errors.add("kind", "invalid_choice", _("Unknown kind of inspection."))
    for item in new.sop_items:
        if item.company_id != estate.company_id or not item.is_active:
            errors.add("sop_items", "not_found", _("An SOP item is not in the company's library."))
            break
    if not new.sop_items and not new.checklist:
        errors.add("sop_items", "required", _("Choose at least one item to check."))
    if inspector is None or not _works_in(inspector, estate):
        errors.add("inspector_id", "not_found", _("This person does not work in the estate."))
    for field_name, place in (
        ("grid_id", new.grid),
        ("building_id", new.building),
        ("public_area_id", new.public_area),
        ("task_id", new.task),
    ):
        if place is not None and place.estate_id != estate.id:
            errors.add(field_name, "not_found", _("This place is not in the estate."))
    errors.raise_if_any(_("The inspection could not be created."))
    grid = new.grid
    if grid is None and new.public_area is not None:
        grid = new.public_area.grid
    if grid is None and new.building is not None:
        grid = new.building.grid
    place = new.public_area or new.building or grid
    title = (new.title or "").strip() or (
        f"{place.name if place else estate.name} · {Discipline(new.discipline).label}"
        if new.kind != InspectionKind.SPOT_CHECK
        else f"{_('Spot check')} · {place.name if place else estate.name} · {Discipline(new.discipline).label}"
    )
    inspection = Inspection.objects.create(
        estate=estate,
        kind=new.kind,
        discipline=new.discipline,
        title=title[:120],
        grid=grid,
        building=new.building,
        public_area=new.public_area,
        inspector=inspector,
        subject=new.subject,
        task=new.task,
        due_at=new.due_at,
        created_by=actor,
    )
    rows = _item_rows(new)
    for row in rows:
        row.inspection = inspection
    InspectionItem.objects.bulk_create(rows)
    InspectionEvent.objects.create(
        inspection=inspection, action=InspectionAction.CREATE, actor=actor, at=now, to_status=inspection.status
    )
    if inspector != actor:
        _tell_inspector(inspection, dedupe_key=f"inspection-created:{inspection.id}")
    return inspection


NEW_INSPECTION_TITLE = gettext_lazy("To inspect: %(title)s")
NEW_INSPECTION_BODY = gettext_lazy("%(title)s, due by %(due)s.")


def _tell_inspector(inspection: Inspection, *, dedupe_key: str) -> None:
    if inspection.inspector is None:
        return
    notify(
        recipient=inspection.inspector,
        kind=f"inspection.{inspection.kind}",
        title=text_later(NEW_INSPECTION_TITLE, title=inspection.title),
        body=text_later(NEW_INSPECTION_BODY, title=inspection.title, due=inspection.due_at or "—"),
        link=reverse("desk:inspections:inspection", kwargs={"inspection_id": inspection.id}),
        estate=inspection.estate,
        channels=(),
        dedupe_key=dedupe_key,
    )


ANSWER_MESSAGES = {
    "result_required": gettext_lazy("Choose pass or fail."),
    "reading_required": gettext_lazy("Enter the reading as a number."),
    "photo_required": gettext_lazy("Add at least one photo of this item."),
    "note_required": gettext_lazy("Say what is wrong: it goes into the rectification order."),
    "too_many_photos": gettext_lazy("Too many photos for this item."),
    "unknown_item": gettext_lazy("This inspection has no such item."),
}


def _answer_from(raw: Mapping[str, Any], photos: int) -> rules.Answer:
    reading = raw.get("reading")
    if isinstance(reading, bool) or not isinstance(reading, int | float):
        reading = None
    return rules.Answer(
        result=str(raw.get("result") or ""),
        reading=float(reading) if reading is not None else None,
        note=str(raw.get("note") or "")[:500],
        photos=photos,
    )


def inspection_submit(
    *,
    actor: User,
    inspection_id: int,
    answers: Mapping[int, Mapping[str, Any]],
    now: dt.datetime,
    photos: Mapping[int, Sequence[CleanImage]] | None = None,
) -> Inspection:
    """Submit every answer at once. `answers`: item id → {"result": "pass"|"fail", "reading": number, "note": …};
    `photos`: item id → checked photos. Every rule is checked before anything is written (422 naming each item);
    then the items, the score, one event, and for each failed item a rectification order (整改) due after the SOP
    item's rectification hours, carrying the item's photos. A passed re-check marks the original item verified."""
    photos = photos or {}
    inspection = Inspection.objects.select_related("estate").get(pk=inspection_id)
    if inspection.inspector_id != actor.id:
        raise Forbidden(_("This inspection is not yours to fill in."))
    all_photos = [clean for item_photos in photos.values() for clean in item_photos]
    with _stored(all_photos, prefix=f"inspections/{inspection.estate_id}") as names, transaction.atomic():
        inspection = Inspection.objects.select_for_update(of=("self",)).select_related("estate").get(pk=inspection_id)
        if not can_fill(actor, inspection):
            raise InvalidMove(
                _("The inspection is %(status)s; it can no longer be changed.")
                % {"status": InspectionStatus(inspection.status).label}
            )
        items = list(inspection.items.select_related("recheck_of").order_by("position"))
        by_id = {item.id: item for item in items}
        existing = dict.fromkeys(by_id, 0)
        for item_id in InspectionPhoto.objects.filter(item__inspection=inspection).values_list("item_id", flat=True):
            existing[item_id] += 1
        errors = ErrorCollector()
        for item_id in sorted(set(answers) | set(photos)):
            if item_id not in by_id:
                errors.add(f"items.{item_id}", "unknown_item", str(ANSWER_MESSAGES["unknown_item"]))
        parsed: dict[int, rules.Answer] = {}
        for item in items:
            count = existing[item.id] + len(photos.get(item.id, ()))
            answer = _answer_from(answers.get(item.id) or {}, count)
            parsed[item.id] = answer
            problems = rules.answer_problems(item.kind, answer)
            if count > PHOTOS_PER_ITEM:
                problems.append("too_many_photos")
            for problem in problems:
                errors.add(f"items.{item.id}", problem, str(ANSWER_MESSAGES[problem]))
        errors.raise_if_any(_("The inspection could not be submitted."))

        name_iter = iter(names)
        photo_rows = []
        new_photos: dict[int, list[CleanImage]] = {}
        for item_id, item_photos in photos.items():
            for clean in item_photos:
                photo_rows.append(
                    InspectionPhoto(
                        item_id=item_id,
                        file=next(name_iter),
                        content_type=clean.content_type,
                        width=clean.width,
                        height=clean.height,
                        sha256=clean.sha256,
                        uploaded_by=actor,
                        uploaded_at=now,
                    )
                )
                new_photos.setdefault(item_id, []).append(clean)
        InspectionPhoto.objects.bulk_create(photo_rows)
        for item in items:
            answer = parsed[item.id]
            item.result = answer.result
            item.reading = answer.reading
            item.note = answer.note.strip()
        InspectionItem.objects.bulk_update(items, ["result", "reading", "note"])
        from_status = inspection.status
        _sources, target = INSPECTION_TRANSITIONS[InspectionAction.SUBMIT]
        inspection.status = target
        inspection.submitted_at = now
        inspection.score = rules.weighted_score((item.weight, item.result == ItemResult.PASS) for item in items)
        inspection.save(update_fields=["status", "submitted_at", "score", "updated_at"])
        failed = [item for item in items if item.result == ItemResult.FAIL]
        for item in failed:
            _open_rectification(item, inspection, actor, now, new_photos.get(item.id, []))
        for item in items:
            if item.recheck_of_id and item.result == ItemResult.PASS:
                InspectionItem.objects.filter(pk=item.recheck_of_id, verified_at__isnull=True).update(verified_at=now)
        InspectionEvent.objects.create(
            inspection=inspection,
            action=InspectionAction.SUBMIT,
            actor=actor,
            at=now,
            from_status=from_status,
            to_status=target,
            payload={
                "failed": [item.id for item in failed],
                "score": str(inspection.score) if inspection.score is not None else None,
            },
        )
    return inspection


def _rectification_category(company_id: int, discipline: str, item_code: str) -> Category:
    wanted = [
        RECTIFY_CATEGORY_BY_ITEM.get(item_code),
        RECTIFY_CATEGORY_BY_DISCIPLINE.get(discipline),
        "other",
    ]
    categories = {
        category.code: category
        for category in Category.objects.filter(
            company_id=company_id, is_active=True, code__in=[w for w in wanted if w]
        )
    }
    for code in wanted:
        category = categories.get(code)
        if category is not None and Kind.RECTIFICATION in category.kinds:
            return category
    message = _("The work-order catalogue has no category for rectifications; seed or edit the catalogue.")
    raise ValidationFailed(message, errors=[FieldError("category", "missing", message)])


RECTIFY_DESCRIPTION = gettext_lazy("Rectify: %(item)s at %(place)s. Found: %(note)s. Rectify by %(due)s.")


def _open_rectification(
    item: InspectionItem, inspection: Inspection, actor: User, now: dt.datetime, photos: Sequence[CleanImage]
) -> WorkOrder:
    due = rules.rectify_due(now, item.rectify_hours)
    description = RECTIFY_DESCRIPTION % {
        "item": item.title,
        "place": inspection.place_label,
        "note": item.note,
        "due": timezone.localtime(due, clock.local_tz()).strftime("%Y-%m-%d %H:%M"),
    }
    order, _created = workorder_create(
        actor=actor,
        new=NewOrder(
            estate=inspection.estate,
            kind=Kind.RECTIFICATION,
            category=_rectification_category(inspection.estate.company_id, inspection.discipline, item.code),
            description=description[:2000],
            channel=Channel.STAFF,
            public_area=inspection.public_area,
            source_type="inspection_item",
            source_id=str(item.id),
            extra={"inspection": inspection.id, "rectify_due_at": due.isoformat()},
        ),
        photos=list(photos)[:PHOTOS_PER_STAGE],
        now=now,
    )
    item.work_order = order
    item.rectify_due_at = due
    item.save(update_fields=["work_order", "rectify_due_at"])
    return order


@transaction.atomic
def inspection_cancel(*, actor: User | None, inspection_id: int, reason: str, now: dt.datetime) -> Inspection:
    inspection = Inspection.objects.select_for_update().get(pk=inspection_id)
    sources, target = INSPECTION_TRANSITIONS[InspectionAction.CANCEL]
    if inspection.status not in sources:
        raise InvalidMove(
            _("The inspection is %(status)s; it can no longer be cancelled.")
            % {"status": InspectionStatus(inspection.status).label}
        )
    reason = (reason or "").strip()[:500]
    if len(reason) < 2:
        message = _("Say why it is cancelled.")
        raise ValidationFailed(message, errors=[FieldError("reason", "required", message)])
    from_status = inspection.status
    inspection.status = target
    inspection.save(update_fields=["status", "updated_at"])
    InspectionEvent.objects.create(
        inspection=inspection,
        action=InspectionAction.CANCEL,
        actor=actor,
        at=now,
        from_status=from_status,
        to_status=target,
        payload={"reason": reason},
    )
    return inspection


# Orders in these statuses have had their work done: the rectification is complete and its re-check is due.
RECTIFIED_STATUSES = frozenset({Status.RESOLVED, Status.RATED, Status.VISITED, Status.CLOSED})
RECHECK_TITLE = gettext_lazy("Re-check: %(item)s · %(place)s")


def rectification_resolved(*, order: WorkOrder, now: dt.datetime | None = None) -> Inspection | None:
    """A rectification order's work is done (resolved, or closed): mark its item rectified and create the re-check
    — an inspection of that one item for the original inspector, due within RECHECK_WITHIN. Claimed with a
    conditional UPDATE on `rectified_at`, so calling it twice (the work-order hook and the sync job) creates one
    re-check. Returns it, or None when the order is not a rectification of an inspection item or was taken in."""
    now = now or clock.now()
    with transaction.atomic():
        item = (
            InspectionItem.objects.select_related("inspection__estate", "inspection__inspector")
            .filter(work_order_id=order.id)
            .first()
        )
        if item is None or item.rectified_at is not None:
            return None
        if InspectionItem.objects.filter(pk=item.pk, rectified_at__isnull=True).update(rectified_at=now) != 1:
            return None
        source = item.inspection
        recheck = Inspection.objects.create(
            estate=source.estate,
            kind=InspectionKind.RECHECK,
            discipline=source.discipline,
            title=str(RECHECK_TITLE % {"item": item.title, "place": source.place_label})[:120],
            grid=source.grid,
            building=source.building,
            public_area=source.public_area,
            inspector=source.inspector,
            subject=source.subject,
            due_at=now + rules.RECHECK_WITHIN,
        )
        InspectionItem.objects.create(
            inspection=recheck,
            position=1,
            sop_item_id=item.sop_item_id,
            code=item.code,
            title=item.title,
            standard=item.standard,
            kind=item.kind,
            reading_unit=item.reading_unit,
            weight=item.weight,
            rectify_hours=item.rectify_hours,
            recheck_of=item,
        )
        InspectionEvent.objects.create(
            inspection=recheck,
            action=InspectionAction.CREATE,
            at=now,
            to_status=recheck.status,
            payload={"recheck_of": item.id, "order": order.number},
        )
        _tell_inspector(recheck, dedupe_key=f"inspection-recheck:{item.id}")
    return recheck


def rectifications_sync(*, now: dt.datetime, batch: int = 200) -> int:
    """The periodic safety net: rectification orders completed without the hook being called get their re-check.
    Returns how many re-checks it created."""
    orders = list(
        WorkOrder.objects.filter(
            inspection_item__rectified_at__isnull=True, status__in=sorted(RECTIFIED_STATUSES)
        ).order_by("id")[:batch]
    )
    return sum(rectification_resolved(order=order, now=now) is not None for order in orders)


# ===================================================================================================== spot checks


def spot_checks_sample(
    *,
    actor: User,
    estate: Estate,
    now: dt.datetime,
    count: int = 5,
    days: int = 7,
    discipline: str = "",
    seed: int | str | None = None,
    inspector: User | None = None,
) -> list[Inspection]:
    """Sample up to `count` tasks done in the estate in the last `days` (of one discipline, or any) that have not
    been spot-checked, and open a quality spot check of each for the inspector (the actor by default): the task's
    SOP items, at the task's place, judging the person who did it. Reproducible for a given seed."""
    errors = ErrorCollector()
    if not 1 <= count <= 50:
        errors.add("count", "out_of_range", _("Sample from 1 to 50 at a time."))
    if not 1 <= days <= 92:
        errors.add("days", "out_of_range", _("Look back from 1 to 92 days."))
    if discipline and discipline not in Discipline.values:
        errors.add("discipline", "invalid_choice", _("Unknown discipline."))
    errors.raise_if_any(_("No spot checks were sampled."))
    tasks = (
        Task.objects.filter(
            estate=estate,
            status=TaskStatus.DONE,
            done_at__gte=now - dt.timedelta(days=days),
            done_at__lt=now,
            inspections__isnull=True,
        )
        .select_related("plan__grid", "plan__building", "plan__public_area", "grid")
        .order_by("id")
    )
    if discipline:
        tasks = tasks.filter(plan__discipline=discipline)
    candidates = list(tasks[:5000])
    picked = rules.sample(candidates, count, seed if seed is not None else f"{estate.id}:{now.isoformat()}")
    created = []
    for task in picked:
        plan = task.plan
        created.append(
            inspection_create(
                actor=actor,
                new=NewInspection(
                    estate=estate,
                    discipline=plan.discipline,
                    kind=InspectionKind.SPOT_CHECK,
                    sop_items=list(plan.sop_items.all()),
                    checklist=plan.checklist or [],
                    inspector=inspector or actor,
                    title=f"{_('Spot check')} · {plan.name} · {_local(task.window_start)}",
                    grid=task.grid or plan.grid,
                    building=plan.building,
                    public_area=plan.public_area,
                    subject=task.done_by,
                    task=task,
                    due_at=now + dt.timedelta(days=1),
                ),
                now=now,
            )
        )
    return created
