"""The staff desk's patrol and inspection pages (included by wuye/desk/urls.py): the guard's phone page (today's
rounds, scanning by camera or by typing the code, reporting an incident), routes and their printable labels,
inspections on the phone, quality spot checks with their roll-ups, and the monthly contracted-vs-achieved report.

Someone who works in no estate gets 403; a round, route, inspection or estate they may not see is 404; an action
that is not theirs 403; a scan outside its window or out of order 409; a bad code or missing answer 422 — each shown
on the page, never a 500.
"""

import contextlib
import datetime as dt
import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wuye.accounts.choices import Role
from wuye.core import clock
from wuye.core.errors import DomainError, FieldError, ValidationFailed
from wuye.core.http import stored_file_response
from wuye.core.images import DEFAULT_MAX_BYTES, ImageRejected, clean_image
from wuye.estates.models import Building, Grid, PublicArea
from wuye.standards import rules as standard_rules
from wuye.standards.choices import Dimension, Discipline
from wuye.standards.models import SopItem
from wuye.workorders.choices import Kind
from wuye.workorders.models import Category

from . import labels, reports, rules, selectors, services
from .choices import (
    INSPECTION_STATUS_BADGES,
    ROUND_STATUS_BADGES,
    InspectionKind,
    InspectionStatus,
    ItemKind,
    ItemResult,
    OrderRule,
    Rectification,
    ScanMethod,
)
from .models import Checkpoint
from .permissions import (
    can_cancel,
    can_fill,
    can_manage_patrols,
    can_read_reports,
    can_scan,
    can_start,
    report_estates,
    staff_estates,
)

FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
INCIDENT_PHOTOS = 6


def _require_staff(request: HttpRequest) -> list[int]:
    estate_ids = list(staff_estates(request.user).values_list("id", flat=True))
    if not estate_ids:
        raise PermissionDenied
    return estate_ids


def _day(request: HttpRequest) -> dt.date:
    day = clock.today()
    with contextlib.suppress(ValueError):
        asked = dt.date.fromisoformat(request.GET.get("day") or "")
        if FIRST_DAY <= asked <= LAST_DAY:
            day = asked
    return day


def _photos(request: HttpRequest, field_name: str, limit: int) -> tuple[list, list[FieldError]]:
    cleaned, errors = [], []
    uploads = request.FILES.getlist(field_name)
    if len(uploads) > limit:
        errors.append(FieldError(field_name, "too_many_photos", _("At most %(max)d photos.") % {"max": limit}))
        return [], errors
    for upload in uploads:
        try:
            cleaned.append(clean_image(upload.read(DEFAULT_MAX_BYTES + 1)))
        except ImageRejected as refusal:
            errors.append(FieldError(field_name, refusal.code, refusal.message))
    return cleaned, errors


# ============================================================================================================ patrols


@login_required
@require_GET
def patrol_home(request: HttpRequest) -> HttpResponse:
    """The guard's phone page: the rounds of a day that are theirs to walk (today unless ?day=), open ones first."""
    _require_staff(request)
    now = clock.now()
    day = _day(request)
    rounds = list(selectors.rounds_of_day(request.user, day=day))
    for round_ in rounds:
        round_.badge = ROUND_STATUS_BADGES[round_.status]
        round_.is_open_now = round_.window_start <= now < round_.window_end and round_.status in (
            "pending",
            "in_progress",
        )
    rounds.sort(key=lambda r: (not r.is_open_now, r.window_end <= now, r.window_start))
    context = {
        "rounds": rounds,
        "day": day,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "is_today": day == clock.today(),
    }
    return render(request, "inspections/patrol_home.html", context)


def _round_page(request: HttpRequest, round_, *, status: int = 200, alert: str = "", code: str = "") -> HttpResponse:
    now = clock.now()
    stops = selectors.round_stops(round_)
    context = {
        "round": round_,
        "badge": ROUND_STATUS_BADGES[round_.status],
        "stops": stops,
        "can_scan": can_scan(request.user, round_)
        and round_.window_start <= now < round_.window_end
        and round_.status in ("pending", "in_progress"),
        "may_report": can_scan(request.user, round_),
        "events": list(round_.events.select_related("actor").order_by("at", "id")),
        "alert": alert,
        "code": code,
        "methods": ScanMethod,
    }
    return render(request, "inspections/round.html", context, status=status)


@login_required
@require_GET
def round_detail(request: HttpRequest, round_id: int) -> HttpResponse:
    _require_staff(request)
    return _round_page(request, selectors.round_get(request.user, round_id))


@login_required
@require_POST
def round_scan(request: HttpRequest, round_id: int) -> HttpResponse:
    """A code read by the camera (or an NFC tag) or typed in: recorded, or refused with the rule it broke."""
    _require_staff(request)
    round_ = selectors.round_get(request.user, round_id)
    code = (request.POST.get("code") or "").strip()
    method = request.POST.get("method") or ScanMethod.MANUAL
    try:
        result = services.round_scan(actor=request.user, round_id=round_.id, code=code, method=method, now=clock.now())
    except DomainError as failure:
        round_ = selectors.round_get(request.user, round_id)
        return _round_page(request, round_, status=failure.status, alert=failure.message, code=code[:100])
    name = result.scan.checkpoint.name
    if result.created:
        messages.success(
            request,
            _("Scanned %(name)s (%(done)d of %(total)d).")
            % {"name": name, "done": result.round.scanned_count, "total": result.round.stop_count},
        )
    else:
        messages.info(request, _("%(name)s was already scanned in this round; it is counted once.") % {"name": name})
    return redirect("desk:inspections:round", round_id=round_.id)


def _incident_categories(round_) -> list[Category]:
    return [
        category
        for category in Category.objects.filter(company_id=round_.estate.company_id, is_active=True).order_by(
            "position", "code"
        )
        if {Kind.REPAIR_PUBLIC, Kind.RECTIFICATION} & set(category.kinds)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def round_incident(request: HttpRequest, round_id: int) -> HttpResponse:
    """Report something found on patrol, with photos: it becomes a work order."""
    _require_staff(request)
    round_ = selectors.round_get(request.user, round_id)
    if not can_scan(request.user, round_):
        raise PermissionDenied
    categories = _incident_categories(round_)
    areas = list(PublicArea.objects.filter(estate_id=round_.estate_id).order_by("name"))
    errors: list[FieldError] = []
    if request.method == "POST":
        category = next((c for c in categories if str(c.id) == request.POST.get("category")), None)
        area = next((a for a in areas if str(a.id) == request.POST.get("public_area")), None)
        photos, errors = _photos(request, "photos", INCIDENT_PHOTOS)
        if not errors:
            try:
                order = services.round_incident_report(
                    actor=request.user,
                    round_id=round_.id,
                    category=category,
                    description=request.POST.get("description") or "",
                    photos=photos,
                    public_area=area,
                    now=clock.now(),
                )
            except ValidationFailed as failure:
                errors = failure.errors
            else:
                messages.success(request, _("Reported as work order %(number)s.") % {"number": order.number})
                return redirect("desk:inspections:round", round_id=round_.id)
    default = next((c.id for c in categories if c.code == "security"), None)
    context = {
        "round": round_,
        "categories": categories,
        "areas": areas,
        "errors": {error.field: error.message for error in errors},
        "posted": request.POST,
        "default_category": default,
    }
    return render(request, "inspections/incident.html", context, status=422 if errors else 200)


@login_required
@require_GET
def route_list(request: HttpRequest) -> HttpResponse:
    """Routes with the day's rounds (supervisors see how the patrols of the day went)."""
    _require_staff(request)
    day = _day(request)
    routes = selectors.route_list(request.user, day=day)
    for route in routes:
        route.can_manage = can_manage_patrols(request.user, route.estate_id)
        for round_ in route.day_rounds:
            round_.badge = ROUND_STATUS_BADGES[round_.status]
    context = {
        "routes": routes,
        "may_create": any(can_manage_patrols(request.user, estate_id) for estate_id in _require_staff(request)),
        "day": day,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
    }
    return render(request, "inspections/routes.html", context)


@login_required
@require_GET
def route_detail(request: HttpRequest, route_id: int) -> HttpResponse:
    """A route: its checkpoints in order (managers add, remove, reorder and rename them here) and recent rounds."""
    _require_staff(request)
    return _route_page(request, selectors.route_get(request.user, route_id))


def _route_page(request: HttpRequest, route, *, status: int = 200, alert: str = "", errors: dict | None = None):
    now = clock.now()
    rounds = selectors.route_recent_rounds(request.user, route, now=now)
    for round_ in rounds:
        round_.badge = ROUND_STATUS_BADGES[round_.status]
    stops = list(route.stops.select_related("checkpoint__public_area", "checkpoint__building").order_by("position"))
    can_manage = can_manage_patrols(request.user, route.estate_id)
    context = {
        "route": route,
        "stops": stops,
        "rounds": rounds,
        "can_manage": can_manage,
        "alert": alert,
        "errors": errors or {},
        "posted": request.POST if errors else {},
    }
    if can_manage:
        on_route = {stop.checkpoint_id for stop in stops}
        context.update(
            other_checkpoints=[
                c
                for c in Checkpoint.objects.filter(estate_id=route.estate_id, is_active=True).order_by("name")
                if c.id not in on_route
            ],
            areas=PublicArea.objects.filter(estate_id=route.estate_id).order_by("name"),
            buildings=Building.objects.filter(estate_id=route.estate_id).order_by("name"),
        )
    return render(request, "inspections/route.html", context, status=status)


def _managed_route(request: HttpRequest, route_id: int):
    _require_staff(request)
    route = selectors.route_get(request.user, route_id)
    if not can_manage_patrols(request.user, route.estate_id):
        raise PermissionDenied
    return route


@login_required
@require_GET
def route_labels(request: HttpRequest, route_id: int) -> HttpResponse:
    """The route's label sheet to print from the browser: QR code, name and typed code of every checkpoint."""
    route = _managed_route(request, route_id)
    sheet = [
        {"label": label, "svg": mark_safe(labels.label_svg(label.payload))}  # noqa: S308 - segno's own SVG markup
        for label in selectors.route_labels(route)
    ]
    return render(request, "inspections/labels.html", {"route": route, "sheet": sheet})


@login_required
@require_GET
def route_labels_png(request: HttpRequest, route_id: int) -> HttpResponse:
    route = _managed_route(request, route_id)
    sheet = labels.sheet_png(
        [
            labels.LabelText(
                title=label.checkpoint.name,
                subtitle=f"{route.estate.name} · {route.name} · {label.position}",
                payload=label.payload,
                code=label.code,
            )
            for label in selectors.route_labels(route)
        ]
    )
    response = HttpResponse(sheet, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="route-{route.id}-labels.png"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def checkpoint_retire(request: HttpRequest, checkpoint_id: int) -> HttpResponse:
    _require_staff(request)
    checkpoint = selectors.checkpoint_get(request.user, checkpoint_id)
    if not can_manage_patrols(request.user, checkpoint.estate_id):
        raise PermissionDenied
    services.checkpoint_retire(actor=request.user, checkpoint_id=checkpoint.id, now=clock.now())
    messages.success(request, _("%(name)s was retired; its label is no longer accepted.") % {"name": checkpoint.name})
    route_id = request.POST.get("route") or ""
    if route_id.isdigit():
        return redirect("desk:inspections:route", route_id=int(route_id))
    return redirect("desk:inspections:routes")


# ============================================================================================ managing routes (desk)

WEEKDAYS = ((1, _lazy("Mon")), (2, _lazy("Tue")), (3, _lazy("Wed")), (4, _lazy("Thu")), (5, _lazy("Fri")),
            (6, _lazy("Sat")), (7, _lazy("Sun")))  # fmt: skip
SCHEDULE_KINDS = (
    ("daily", _lazy("Every day")),
    ("weekly", _lazy("On weekdays")),
    ("every_n_days", _lazy("Every N days")),
    ("monthly", _lazy("On days of the month")),
)


def _managed_estates(request: HttpRequest) -> list:
    _require_staff(request)
    estates = [e for e in staff_estates(request.user).order_by("name") if can_manage_patrols(request.user, e.id)]
    if not estates:
        raise PermissionDenied
    return estates


def _whole(value: str | None, field_name: str, errors: list[FieldError], *, default: int | None = None):
    value = (value or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        errors.append(FieldError(field_name, "invalid", _("Enter a whole number.")))
        return default


def _schedule_problem_message(problem) -> str:
    if problem.field == "windows":
        if problem.code == "required":
            return _("Give at least one time window, e.g. 20:00-06:00.")
        return _("Write each window as 08:00-09:00, separated by commas.")
    return _("Enter a whole number.")


def _posted_schedule(data, errors: list[FieldError]) -> tuple[dict | None, str]:
    """The timetable of the route form: its own schedule spec (standards' format), or a service-level dimension."""
    spec, dimension, problems = standard_rules.schedule_from_form(data, data.getlist("weekdays"), today=clock.today())
    errors += [FieldError(p.field, p.code, _schedule_problem_message(p)) for p in problems]
    return spec, dimension


def _form_field(field_name: str) -> str:
    """A service's field path as the form's field: schedule.windows[1].start → windows, grid_id → grid."""
    path = field_name.removeprefix("schedule.")
    if path.startswith("stops[") and "." in path:
        name = path.rsplit(".", 1)[1]  # stops[3].offset_minutes: the add form's offset
    else:
        name = path.split("[", 1)[0].split(".", 1)[0]
    return {"schedule": "timetable", "profile_dimension": "timetable", "kind": "schedule_kind"}.get(
        name, name.removesuffix("_id")
    )


def _route_form(
    request: HttpRequest, estate, *, creating: bool = False
) -> tuple[services.RouteSettings, list[FieldError]]:
    data = request.POST
    errors: list[FieldError] = []
    grids = {str(g.id): g for g in Grid.objects.filter(estate=estate)}
    grid = grids.get(data.get("grid") or "")
    if data.get("grid") and grid is None:
        errors.append(FieldError("grid", "not_found", _("This grid is not in the estate.")))
    schedule, dimension = _posted_schedule(data, errors)
    tolerance = _whole(data.get("tolerance_minutes"), "tolerance_minutes", errors, default=10)
    settings = services.RouteSettings(
        name=data.get("name") or "",
        grid=grid,
        order_rule=data.get("order_rule") or "",
        schedule=schedule,
        profile_dimension=dimension,
        tolerance_minutes=tolerance,
        assignee_role=data.get("assignee_role") or "",
        is_active=creating or data.get("is_active") == "on",
    )
    return settings, errors


def _route_form_context(estate, route=None, posted=None) -> dict:
    initial = {}
    if route is not None and posted is None:
        schedule = route.schedule or {}
        initial = {
            "name": route.name,
            "grid": str(route.grid_id or ""),
            "order_rule": route.order_rule,
            "timetable": route.profile_dimension or "own",
            "schedule_kind": schedule.get("kind", "daily"),
            "windows": ", ".join(f"{w['start']}-{w['end']}" for w in schedule.get("windows", [])),
            "every_minutes": schedule.get("every_minutes") or "",
            "weekdays": [str(day) for day in schedule.get("weekdays", [])],
            "every_days": schedule.get("every_days") or "",
            "anchor": schedule.get("anchor") or "",
            "days": ", ".join(str(day) for day in schedule.get("days", [])),
            "tolerance_minutes": route.tolerance_minutes,
            "assignee_role": route.assignee_role,
            "is_active": route.is_active,
        }
    elif posted is not None:
        initial = {key: posted.get(key, "") for key in posted}
        initial["weekdays"] = posted.getlist("weekdays")
        initial["is_active"] = posted.get("is_active") == "on"
    return {
        "estate": estate,
        "route": route,
        "form": initial,
        "grids": Grid.objects.filter(estate=estate).order_by("name"),
        "order_rules": OrderRule.choices,
        "dimensions": Dimension.choices,
        "schedule_kinds": SCHEDULE_KINDS,
        "weekday_choices": WEEKDAYS,
        "roles": [(value, label) for value, label in Role.choices if value in services.PATROL_ROLES],
    }


@login_required
@require_http_methods(["GET", "POST"])
def route_new(request: HttpRequest) -> HttpResponse:
    """A new route: its settings and, from the estate's checkpoints in use, the first ones it passes (more are
    added, removed and reordered on the route's page)."""
    estates = _managed_estates(request)
    source = request.POST if request.method == "POST" else request.GET
    estate = estates[0]
    if source.get("estate"):
        estate = next((e for e in estates if str(e.id) == source.get("estate")), None)
        if estate is None:
            if staff_estates(request.user).filter(pk=int(source["estate"]) if source["estate"].isdigit() else 0):
                raise PermissionDenied
            raise Http404
    checkpoints = list(Checkpoint.objects.filter(estate=estate, is_active=True).order_by("name"))
    errors: list[FieldError] = []
    if request.method == "POST":
        settings, errors = _route_form(request, estate, creating=True)
        chosen = [c for c in checkpoints if str(c.id) in request.POST.getlist("checkpoints")]
        first = None
        if (request.POST.get("checkpoint_name") or "").strip():
            first, place_errors = _checkpoint_from_post(request, estate, prefix="checkpoint_")
            errors += place_errors
        if not errors:
            try:
                create = (
                    functools.partial(services.route_create_with_checkpoint, checkpoint=first)
                    if first
                    else (services.route_create)
                )
                route = create(
                    actor=request.user,
                    new=services.NewRoute(
                        estate=estate,
                        name=settings.name,
                        stops=[(checkpoint, None) for checkpoint in chosen],
                        grid=settings.grid,
                        order_rule=settings.order_rule,
                        schedule=settings.schedule,
                        profile_dimension=settings.profile_dimension,
                        tolerance_minutes=settings.tolerance_minutes,
                        assignee_role=settings.assignee_role,
                    ),
                    now=clock.now(),
                )
            except ValidationFailed as failure:
                errors = failure.errors
            else:
                messages.success(request, _("Route %(name)s was created.") % {"name": route.name})
                return redirect("desk:inspections:route", route_id=route.id)
    context = _route_form_context(estate, posted=request.POST if request.method == "POST" else None)
    if request.method == "GET":
        context["form"] = {"order_rule": OrderRule.STRICT, "tolerance_minutes": 10, "assignee_role": Role.GUARD}
    context.update(
        estates=estates,
        checkpoints=checkpoints,
        areas=PublicArea.objects.filter(estate=estate).order_by("name"),
        buildings=Building.objects.filter(estate=estate).order_by("name"),
        chosen=set(request.POST.getlist("checkpoints")),
        errors={_form_field(error.field): error.message for error in errors},
    )
    return render(request, "inspections/route_form.html", context, status=422 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def route_edit(request: HttpRequest, route_id: int) -> HttpResponse:
    route = _managed_route(request, route_id)
    errors: list[FieldError] = []
    if request.method == "POST":
        settings, errors = _route_form(request, route.estate)
        if not errors:
            try:
                services.route_update(actor=request.user, route_id=route.id, settings=settings, now=clock.now())
            except ValidationFailed as failure:
                errors = failure.errors
            else:
                messages.success(request, _("The route was saved."))
                return redirect("desk:inspections:route", route_id=route.id)
    context = _route_form_context(route.estate, route, posted=request.POST if request.method == "POST" else None)
    context["errors"] = {_form_field(error.field): error.message for error in errors}
    return render(request, "inspections/route_form.html", context, status=422 if errors else 200)


def _checkpoint_from_post(
    request: HttpRequest, estate, *, prefix: str = ""
) -> tuple[services.NewCheckpoint, list[FieldError]]:
    errors: list[FieldError] = []
    places = []
    for field_name, model in (("public_area", PublicArea), ("building", Building)):
        place = None
        if request.POST.get(prefix + field_name):
            wanted = _whole(request.POST[prefix + field_name], prefix + field_name, errors) or 0
            place = model.objects.filter(estate=estate, pk=wanted).first()
            if place is None:
                errors.append(FieldError(prefix + field_name, "not_found", _("This place is not in the estate.")))
        places.append(place)
    area, building = places
    new = services.NewCheckpoint(
        estate=estate,
        name=request.POST.get(prefix + "name") or "",
        public_area=area,
        building=building,
        position=request.POST.get(prefix + "position") or "",
    )
    return new, errors


def _route_page_with_errors(request: HttpRequest, route, errors: list[FieldError], alert: str) -> HttpResponse:
    return _route_page(
        request,
        route,
        status=422,
        alert=alert,
        errors={_form_field(error.field): error.message for error in errors},
    )


@login_required
@require_POST
def route_stop_add(request: HttpRequest, route_id: int) -> HttpResponse:
    """Add a checkpoint at the end of the route: one the estate has, or a new one named here with its place."""
    route = _managed_route(request, route_id)
    errors: list[FieldError] = []
    existing = None
    new = None
    if request.POST.get("checkpoint"):
        wanted = _whole(request.POST["checkpoint"], "checkpoint", errors) or 0
        existing = Checkpoint.objects.filter(estate_id=route.estate_id, is_active=True, pk=wanted).first()
        if existing is None and not errors:
            errors.append(FieldError("checkpoint", "not_found", _("This checkpoint is not in use in the estate.")))
    else:
        new, errors = _checkpoint_from_post(request, route.estate)
    offset = _whole(request.POST.get("offset_minutes"), "offset_minutes", errors)
    if not errors:
        try:
            checkpoint = services.route_checkpoint_add(
                actor=request.user, route_id=route.id, checkpoint=existing, new=new, offset_minutes=offset,
                now=clock.now(),
            )  # fmt: skip
        except ValidationFailed as failure:
            errors = failure.errors
        else:
            messages.success(request, _("%(name)s was added to the route.") % {"name": checkpoint.name})
            return redirect("desk:inspections:route", route_id=route.id)
    return _route_page_with_errors(request, route, errors, _("The checkpoint could not be added."))


def _stops(route) -> list:
    return list(route.stops.select_related("checkpoint").order_by("position"))


@login_required
@require_POST
def route_stop_remove(request: HttpRequest, route_id: int, stop_id: int) -> HttpResponse:
    """Take a checkpoint off the route (it stays in the estate, its label still valid for other routes)."""
    route = _managed_route(request, route_id)
    stops = _stops(route)
    if not any(stop.id == stop_id for stop in stops):
        raise Http404
    kept = [(stop.checkpoint, stop.offset_minutes) for stop in stops if stop.id != stop_id]
    try:
        services.route_stops_set(actor=request.user, route_id=route.id, stops=kept, now=clock.now())
    except ValidationFailed as failure:
        return _route_page_with_errors(request, route, failure.errors, failure.message)
    messages.success(request, _("The checkpoint was taken off the route."))
    return redirect("desk:inspections:route", route_id=route.id)


@login_required
@require_POST
def route_stop_move(request: HttpRequest, route_id: int, stop_id: int) -> HttpResponse:
    """Move a checkpoint one place up or down the route's order."""
    route = _managed_route(request, route_id)
    stops = _stops(route)
    index = next((i for i, stop in enumerate(stops) if stop.id == stop_id), None)
    if index is None:
        raise Http404
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        error = FieldError("direction", "invalid_choice", _("Move up or down."))
        return _route_page_with_errors(request, route, [error], error.message)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(stops):
        stops[index], stops[other] = stops[other], stops[index]
        services.route_stops_set(
            actor=request.user,
            route_id=route.id,
            stops=[(stop.checkpoint, stop.offset_minutes) for stop in stops],
            now=clock.now(),
        )
    return redirect("desk:inspections:route", route_id=route.id)


@login_required
@require_http_methods(["GET", "POST"])
def checkpoint_edit(request: HttpRequest, checkpoint_id: int) -> HttpResponse:
    """Rename a checkpoint or say where it is; its code (and so its printed label) stays the same."""
    _require_staff(request)
    checkpoint = selectors.checkpoint_get(request.user, checkpoint_id)
    if not can_manage_patrols(request.user, checkpoint.estate_id):
        raise PermissionDenied
    route_id = request.POST.get("route") or request.GET.get("route") or ""
    errors: list[FieldError] = []
    if request.method == "POST":
        new, errors = _checkpoint_from_post(request, checkpoint.estate)
        if not errors:
            try:
                services.checkpoint_update(actor=request.user, checkpoint_id=checkpoint.id, new=new)
            except ValidationFailed as failure:
                errors = failure.errors
            else:
                messages.success(request, _("The checkpoint was saved."))
                if route_id.isdigit():
                    return redirect("desk:inspections:route", route_id=int(route_id))
                return redirect("desk:inspections:routes")
    context = {
        "checkpoint": checkpoint,
        "route_id": route_id if route_id.isdigit() else "",
        "areas": PublicArea.objects.filter(estate_id=checkpoint.estate_id).order_by("name"),
        "buildings": Building.objects.filter(estate_id=checkpoint.estate_id).order_by("name"),
        "posted": request.POST
        if request.method == "POST"
        else {
            "name": checkpoint.name,
            "public_area": str(checkpoint.public_area_id or ""),
            "building": str(checkpoint.building_id or ""),
            "position": checkpoint.position,
        },
        "errors": {_form_field(error.field): error.message for error in errors},
    }
    return render(request, "inspections/checkpoint_form.html", context, status=422 if errors else 200)


@login_required
@require_GET
def route_labels_pdf(request: HttpRequest, route_id: int) -> HttpResponse:
    """The route's labels as an A4 PDF: six to a page, each with the QR code, the name and the code to type."""
    route = _managed_route(request, route_id)
    sheet = labels.sheet_pdf(
        [
            labels.LabelText(
                title=label.checkpoint.name,
                subtitle=f"{route.estate.name} · {route.name} · {label.position}",
                payload=label.payload,
                code=label.code,
            )
            for label in selectors.route_labels(route)
        ],
        title=f"{route.estate.name} · {route.name}",
    )
    response = HttpResponse(sheet, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="route-{route.id}-labels.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# ======================================================================================================= inspections


@login_required
@require_GET
def inspection_list(request: HttpRequest) -> HttpResponse:
    """Mine (open first), or with ?all=1 every inspection of the estates the user oversees."""
    _require_staff(request)
    show_all = request.GET.get("all") == "1"
    inspections = selectors.inspection_list(request.user, mine=not show_all)
    for inspection in inspections:
        inspection.badge = INSPECTION_STATUS_BADGES[inspection.status]
    context = {
        "inspections": inspections,
        "show_all": show_all,
        "may_start": any(
            can_start(request.user, estate_id, InspectionKind.ROUTINE) for estate_id in _require_staff(request)
        ),
    }
    return render(request, "inspections/inspections.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def inspection_new(request: HttpRequest) -> HttpResponse:
    """Start an inspection (or, for supervisors and quality inspectors, a spot check): estate, discipline and place
    chosen first (the page reloads its SOP items), then the items to check."""
    _require_staff(request)
    source = request.POST if request.method == "POST" else request.GET
    estates = [
        estate
        for estate in staff_estates(request.user).select_related("company").order_by("name")
        if can_start(request.user, estate.id, InspectionKind.ROUTINE)
    ]
    if not estates:
        raise PermissionDenied
    estate = estates[0]
    if source.get("estate"):
        estate = next((e for e in estates if str(e.id) == source.get("estate")), None)
        if estate is None:
            # An estate the user works in without the right to inspect there: 403; any other: 404.
            if staff_estates(request.user).filter(pk=source.get("estate") if source.get("estate").isdigit() else 0):
                raise PermissionDenied
            raise Http404
    discipline = source.get("discipline") if source.get("discipline") in Discipline.values else Discipline.CLEANING
    may_spot_check = can_start(request.user, estate.id, InspectionKind.SPOT_CHECK)
    kind = source.get("kind") if source.get("kind") in InspectionKind.values else InspectionKind.ROUTINE
    if kind == InspectionKind.RECHECK:
        kind = InspectionKind.ROUTINE
    items = list(
        SopItem.objects.filter(company_id=estate.company_id, discipline=discipline, is_active=True).order_by(
            "position", "code"
        )
    )
    areas = list(PublicArea.objects.filter(estate=estate).order_by("name"))
    buildings = list(Building.objects.filter(estate=estate).order_by("name"))
    errors: dict[str, str] = {}
    if request.method == "POST" and source.get("create") == "1":
        chosen = [item for item in items if str(item.id) in source.getlist("items")]
        area = next((a for a in areas if str(a.id) == source.get("public_area")), None)
        building = next((b for b in buildings if str(b.id) == source.get("building")), None)
        if kind == InspectionKind.SPOT_CHECK and not may_spot_check:
            raise PermissionDenied
        try:
            inspection = services.inspection_create(
                actor=request.user,
                new=services.NewInspection(
                    estate=estate,
                    discipline=discipline,
                    kind=kind,
                    sop_items=chosen,
                    public_area=area,
                    building=building,
                ),
                now=clock.now(),
            )
        except ValidationFailed as failure:
            errors = {error.field: error.message for error in failure.errors}
        else:
            return redirect("desk:inspections:inspection", inspection_id=inspection.id)
    context = {
        "estates": estates,
        "estate": estate,
        "discipline": discipline,
        "disciplines": Discipline.choices,
        "kind": kind,
        "may_spot_check": may_spot_check,
        "items": items,
        "areas": areas,
        "buildings": buildings,
        "chosen": set(source.getlist("items")),
        "errors": errors,
        "posted": source,
    }
    return render(request, "inspections/inspection_new.html", context, status=422 if errors else 200)


def _rectification_label(state: str | None) -> str:
    return str(Rectification(state).label) if state else ""


def _inspection_page(request: HttpRequest, inspection, *, status: int = 200, alert: str = "", errors=None):
    now = clock.now()
    item_errors: dict[int, list[str]] = {}
    for error in errors or []:
        key = error.field.split(".")[1] if error.field.startswith("items.") else ""
        if key.isdigit():
            item_errors.setdefault(int(key), []).append(error.message)
    rows = [
        {
            "item": item,
            "errors": item_errors.get(item.id, []),
            "rectification": _rectification_label(selectors.item_rectification(item, now)),
            "posted_result": request.POST.get(f"result-{item.id}", "") if request.method == "POST" else "",
        }
        for item in inspection.items.all()
    ]
    context = {
        "inspection": inspection,
        "badge": INSPECTION_STATUS_BADGES[inspection.status],
        "rows": rows,
        "can_fill": can_fill(request.user, inspection),
        "can_cancel": can_cancel(request.user, inspection) and inspection.status == InspectionStatus.OPEN,
        "alert": alert,
        "posted": request.POST if request.method == "POST" else {},
        "kinds": ItemKind,
        "results": ItemResult,
    }
    return render(request, "inspections/inspection.html", context, status=status)


@login_required
@require_GET
def inspection_detail(request: HttpRequest, inspection_id: int) -> HttpResponse:
    _require_staff(request)
    return _inspection_page(request, selectors.inspection_get(request.user, inspection_id))


@login_required
@require_POST
def inspection_submit(request: HttpRequest, inspection_id: int) -> HttpResponse:
    """Every item's result, reading, note and photos in one post."""
    _require_staff(request)
    inspection = selectors.inspection_get(request.user, inspection_id)
    if inspection.inspector_id != request.user.id:
        return _inspection_page(request, inspection, status=403, alert=_("This inspection is not yours to fill in."))
    answers: dict[int, dict] = {}
    photos: dict[int, list] = {}
    errors: list[FieldError] = []
    for item in inspection.items.all():
        entry: dict = {
            "result": request.POST.get(f"result-{item.id}", ""),
            "note": request.POST.get(f"note-{item.id}", ""),
        }
        raw = (request.POST.get(f"reading-{item.id}") or "").strip()
        with contextlib.suppress(ValueError):
            entry["reading"] = float(raw)  # not a number: no reading, which the service names for reading items
        answers[item.id] = entry
        cleaned, photo_errors = _photos(request, f"photo-{item.id}", services.PHOTOS_PER_ITEM)
        errors += [FieldError(f"items.{item.id}", e.code, e.message) for e in photo_errors]
        if cleaned:
            photos[item.id] = cleaned
    if errors:
        return _inspection_page(
            request, inspection, status=422, alert=_("The inspection could not be submitted."), errors=errors
        )
    try:
        services.inspection_submit(
            actor=request.user, inspection_id=inspection.id, answers=answers, photos=photos, now=clock.now()
        )
    except DomainError as failure:
        inspection = selectors.inspection_get(request.user, inspection_id)
        return _inspection_page(
            request, inspection, status=failure.status, alert=failure.message, errors=failure.errors
        )
    inspection = selectors.inspection_get(request.user, inspection_id)
    failed = sum(1 for item in inspection.items.all() if item.result == ItemResult.FAIL)
    if failed:
        messages.warning(
            request, _("Submitted: %(count)d item(s) failed and rectification orders were opened.") % {"count": failed}
        )
    else:
        messages.success(request, _("Submitted: every item passed."))
    return redirect("desk:inspections:inspection", inspection_id=inspection.id)


@login_required
@require_POST
def inspection_cancel(request: HttpRequest, inspection_id: int) -> HttpResponse:
    _require_staff(request)
    inspection = selectors.inspection_get(request.user, inspection_id)
    if not can_cancel(request.user, inspection):
        return _inspection_page(request, inspection, status=403, alert=_("You may not cancel this inspection."))
    try:
        services.inspection_cancel(
            actor=request.user, inspection_id=inspection.id, reason=request.POST.get("reason", ""), now=clock.now()
        )
    except DomainError as failure:
        inspection = selectors.inspection_get(request.user, inspection_id)
        return _inspection_page(request, inspection, status=failure.status, alert=failure.message)
    return redirect("desk:inspections:inspection", inspection_id=inspection.id)


@login_required
@require_GET
def inspection_photo(request: HttpRequest, inspection_id: int, photo_id: int) -> HttpResponse:
    _require_staff(request)
    photo = selectors.inspection_photo_get(request.user, inspection_id, photo_id)
    return stored_file_response(photo.file, photo.content_type)


# ========================================================================================================= reports


def _month(request: HttpRequest) -> tuple[int, int]:
    today = clock.today()
    with contextlib.suppress(ValueError):
        year, month = (int(part) for part in (request.GET.get("month") or "").split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    return today.year, today.month


def _neighbour_months(year: int, month: int) -> tuple[str, str]:
    previous = (year - (month == 1), 12 if month == 1 else month - 1)
    following = (year + (month == 12), 1 if month == 12 else month + 1)
    return f"{previous[0]}-{previous[1]:02d}", f"{following[0]}-{following[1]:02d}"


def _require_reports(request: HttpRequest) -> list:
    _require_staff(request)
    estates = list(report_estates(request.user).order_by("name"))
    if not estates:
        raise PermissionDenied
    return estates


def _quality_page(request: HttpRequest, *, status: int = 200, alert: str = "") -> HttpResponse:
    estates = _require_reports(request)
    year, month = _month(request)
    start, end = rules.month_bounds(year, month, clock.local_tz())
    estate_id = request.GET.get("estate") or ""
    estate_id = int(estate_id) if estate_id.isdigit() and int(estate_id) in {e.id for e in estates} else None
    rollup = selectors.quality_rollup(request.user, start=start, end=end, estate_id=estate_id)
    previous, following = _neighbour_months(year, month)
    context = {
        "estates": estates,
        "sample_estates": [e for e in estates if can_start(request.user, e.id, InspectionKind.SPOT_CHECK)],
        "estate_id": estate_id,
        "rollup": rollup,
        "month": f"{year}-{month:02d}",
        "previous_month": previous,
        "next_month": following,
        "disciplines": Discipline.choices,
        "groups": [
            ("estate", _("By estate"), rollup.by["estate"]),
            ("grid", _("By grid"), rollup.by["grid"]),
            ("discipline", _("By discipline"), rollup.by["discipline"]),
            ("person", _("By person"), rollup.by["person"]),
        ],
        "alert": alert,
    }
    return render(request, "inspections/quality.html", context, status=status)


@login_required
@require_GET
def quality(request: HttpRequest) -> HttpResponse:
    """Spot-check scores of a month rolled up per estate, grid, discipline and person, and the sampling form."""
    return _quality_page(request)


@login_required
@require_POST
def quality_sample(request: HttpRequest) -> HttpResponse:
    """Sample tasks done recently in an estate and open a spot check of each for the user."""
    _require_staff(request)
    estate_id = request.POST.get("estate") or ""
    if not estate_id.isdigit():
        return _quality_page(request, status=422, alert=_("Choose an estate."))
    estate = staff_estates(request.user).filter(pk=int(estate_id)).first()
    if estate is None:
        raise Http404
    if not can_start(request.user, estate.id, InspectionKind.SPOT_CHECK):
        raise PermissionDenied
    count = request.POST.get("count") or "5"
    try:
        created = services.spot_checks_sample(
            actor=request.user,
            estate=estate,
            now=clock.now(),
            count=int(count) if count.isdigit() else 0,
            discipline=request.POST.get("discipline") or "",
        )
    except ValidationFailed as failure:
        return _quality_page(
            request, status=422, alert="; ".join(error.message for error in failure.errors) or failure.message
        )
    if created:
        messages.success(request, _("%(count)d spot checks were opened for you.") % {"count": len(created)})
    else:
        messages.info(request, _("No task done recently is left to sample."))
    return redirect(reverse("desk:inspections:inspections") + "?all=1")


def _report_estate(request: HttpRequest, estate_id: int):
    _require_staff(request)
    estate = selectors.achieved_estate_get(request.user, estate_id)
    if not can_read_reports(request.user, estate.id):
        raise PermissionDenied
    return estate


@login_required
@require_GET
def achieved(request: HttpRequest, estate_id: int) -> HttpResponse:
    """Contracted vs achieved, one estate, one month."""
    estate = _report_estate(request, estate_id)
    year, month = _month(request)
    report = selectors.achieved_month(estate, year=year, month=month, now=clock.now())
    previous, following = _neighbour_months(year, month)
    context = {
        "report": report,
        "month": f"{year}-{month:02d}",
        "previous_month": previous,
        "next_month": following,
        "estates": list(report_estates(request.user).order_by("name")),
        "generated_at": timezone.localtime(clock.now()),
    }
    return render(request, "inspections/achieved.html", context)


@login_required
@require_GET
def achieved_export(request: HttpRequest, estate_id: int) -> HttpResponse:
    estate = _report_estate(request, estate_id)
    year, month = _month(request)
    report = selectors.achieved_month(estate, year=year, month=month, now=clock.now())
    response = HttpResponse(
        reports.achieved_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="achieved-{estate.code}-{year}-{month:02d}.xlsx"'
    return response
