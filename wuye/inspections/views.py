"""The staff desk's patrol and inspection pages (included by wuye/desk/urls.py): the guard's phone page (today's
rounds, scanning by camera or by typing the code, reporting an incident), routes and their printable labels,
inspections on the phone, quality spot checks with their roll-ups, and the monthly contracted-vs-achieved report.

Someone who works in no estate gets 403; a round, route, inspection or estate they may not see is 404; an action
that is not theirs 403; a scan outside its window or out of order 409; a bad code or missing answer 422 — each shown
on the page, never a 500.
"""

import contextlib
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wuye.core import clock
from wuye.core.errors import DomainError, FieldError, ValidationFailed
from wuye.core.http import stored_file_response
from wuye.core.images import DEFAULT_MAX_BYTES, ImageRejected, clean_image
from wuye.estates.models import Building, PublicArea
from wuye.standards.choices import Discipline
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
    Rectification,
    ScanMethod,
)
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
        "day": day,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
    }
    return render(request, "inspections/routes.html", context)


@login_required
@require_GET
def route_detail(request: HttpRequest, route_id: int) -> HttpResponse:
    _require_staff(request)
    route = selectors.route_get(request.user, route_id)
    now = clock.now()
    rounds = selectors.route_recent_rounds(request.user, route, now=now)
    for round_ in rounds:
        round_.badge = ROUND_STATUS_BADGES[round_.status]
    context = {
        "route": route,
        "stops": route.stops.select_related("checkpoint__public_area", "checkpoint__building").order_by("position"),
        "rounds": rounds,
        "can_manage": can_manage_patrols(request.user, route.estate_id),
    }
    return render(request, "inspections/route.html", context)


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
