"""The staff desk's standards pages (included by wuye/desk/urls.py under standards/): service levels and each
estate's level, the SOP library, plans, and "my tasks today" with start and done.

Someone who works in no estate gets 403; an estate or task they may not see is 404; an action that is not theirs
403, a move the status does not allow 409, missing evidence 422 — each shown on the page, never a 500.
"""

import contextlib
import datetime as dt
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wuye.accounts.choices import Role
from wuye.accounts.models import User
from wuye.core import clock
from wuye.core.errors import DomainError, FieldError, Forbidden, ValidationFailed
from wuye.core.http import stored_file_response
from wuye.core.images import DEFAULT_MAX_BYTES, ImageRejected, clean_image
from wuye.equipment.models import Equipment
from wuye.estates.models import Building, Grid, PublicArea

from . import rules, selectors, services
from .choices import TASK_STATUS_BADGES, Dimension, Discipline, Evidence, TaskAction
from .models import ServiceLevelProfile, SopItem
from .permissions import can_act, can_assign_profile, can_edit_profiles, can_manage_plans, standards_estates

MY_TASKS_LIMIT = 200
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def _require_staff(request: HttpRequest) -> list[int]:
    estate_ids = list(standards_estates(request.user).values_list("id", flat=True))
    if not estate_ids:
        raise PermissionDenied
    return estate_ids


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# ---------------------------------------------------------------- service levels


def _profiles_page(request: HttpRequest, *, status: int = 200, failed: dict | None = None) -> HttpResponse:
    now = clock.now()
    companies = selectors.profiles_overview(request.user, now=now)
    for company in companies:
        company["can_edit"] = can_edit_profiles(request.user, company["company"].id)
        for row in company["estates"]:
            row["can_assign"] = can_assign_profile(request.user, row["estate"])
            row["failed"] = failed if failed and failed["estate_id"] == row["estate"].id else None
    context = {
        "companies": companies,
        "now": now,
        "default_valid_from": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
        "override_fields": list(PROFILE_NUMBER_LABELS.items()),
    }
    return render(request, "standards/profiles.html", context, status=status)


@login_required
@require_GET
def profile_overview(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    return _profiles_page(request)


def _parse_local(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if not FIRST_DAY <= parsed.date() <= LAST_DAY:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=clock.local_tz())
    return parsed


# The profile's numbers as the desk names them (contract overrides and the profile edit form).
PROFILE_NUMBER_LABELS = {
    "emergency_arrival_minutes": _lazy("Emergency repair arrival (minutes)"),
    "repair_arrival_minutes": _lazy("Other repairs arrival (minutes)"),
    "satisfaction_surveys_per_year": _lazy("Satisfaction surveys a year"),
    "satisfaction_target_pct": _lazy("Owner satisfaction target (%)"),
    "lights_working_pct": _lazy("Stair and street lights working (%)"),
}


def _posted_numbers(request: HttpRequest, *, prefix: str, errors: list[FieldError], error_prefix: str) -> dict:
    """The profile numbers filled in on a form (empty ones left out); non-numbers are errors naming the field."""
    values = {}
    for key in rules.PROFILE_NUMBERS:
        raw = (request.POST.get(prefix + key) or "").strip()
        if not raw:
            continue
        try:
            values[key] = int(raw)
        except ValueError:
            errors.append(FieldError(error_prefix + key, "invalid", _("Enter a whole number.")))
    return values


@login_required
@require_POST
def profile_assign(request: HttpRequest, estate_id: int) -> HttpResponse:
    """Choose the estate's service level from a moment on (now, or a future contract date)."""
    _require_staff(request)
    estate = selectors.standards_estate_get(request.user, estate_id)
    if not can_assign_profile(request.user, estate):
        raise PermissionDenied
    errors: list[FieldError] = []
    profile_id = request.POST.get("profile", "")
    profile = None
    if profile_id.isdigit():
        profile = ServiceLevelProfile.objects.filter(pk=int(profile_id), company=estate.company).first()
    if profile is None:
        errors.append(FieldError("profile_id", "required", _("Choose a service level.")))
    valid_from = _parse_local(request.POST.get("valid_from", ""))
    if valid_from is None:
        errors.append(FieldError("valid_from", "invalid", _("Must be a date and time like 2026-11-27 09:30.")))
    overrides = _posted_numbers(request, prefix="override_", errors=errors, error_prefix="overrides.")
    if not errors:
        try:
            services.estate_profile_assign(
                actor=request.user,
                estate=estate,
                profile=profile,
                valid_from=valid_from,
                now=clock.now(),
                overrides=overrides,
                contract_ref=request.POST.get("contract_ref", ""),
            )
        except ValidationFailed as failure:
            errors = failure.errors
    if errors:
        # A contract value's problem is shown with the value's name.
        errors = [
            FieldError(e.field, e.code, f"{PROFILE_NUMBER_LABELS[key]}: {e.message}")
            if (key := e.field.removeprefix("overrides.")) in PROFILE_NUMBER_LABELS
            else e
            for e in errors
        ]
        return _profiles_page(request, status=422, failed={"estate_id": estate.id, "errors": errors})
    messages.success(
        request,
        _("%(estate)s follows %(profile)s from %(time)s.")
        % {
            "estate": estate.name,
            "profile": profile.name,
            "time": timezone.localtime(valid_from).strftime("%Y-%m-%d %H:%M"),
        },
    )
    return redirect("desk:standards:profiles")


def _first_error(errors: list[FieldError], name: str) -> str:
    """The message of the first error on a form field or inside it (frequencies.x.windows[0] → frequencies.x)."""
    return next((e.message for e in errors if e.field == name or e.field.startswith((name + ".", name + "["))), "")


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest, profile_id: int) -> HttpResponse:
    """A company administrator changes one of the company's service levels: its numbers, lift hours and
    frequencies (one schedule per dimension, or none where the level does not contract it)."""
    _require_staff(request)
    company_ids = standards_estates(request.user).values_list("company_id", flat=True)
    profile = ServiceLevelProfile.objects.filter(pk=profile_id, company_id__in=company_ids).first()
    if profile is None:
        raise Http404
    if not can_edit_profiles(request.user, profile.company_id):
        raise PermissionDenied
    errors: list[FieldError] = []
    if request.method == "POST":
        values: dict = _posted_numbers(request, prefix="", errors=errors, error_prefix="")
        values["lift_hours"] = (request.POST.get("lift_hours") or "").strip()
        frequencies = {}
        for code in Dimension.values:
            raw = (request.POST.get(f"frequencies.{code}") or "").strip()
            if not raw:
                frequencies[code] = None
                continue
            try:
                frequencies[code] = json.loads(raw)
            except ValueError:
                errors.append(FieldError(f"frequencies.{code}", "invalid_json", _("Must be a schedule in JSON.")))
        values["frequencies"] = frequencies
        if not errors:
            try:
                services.profile_update(actor=request.user, profile_id=profile.id, values=values, now=clock.now())
            except ValidationFailed as failure:
                errors = failure.errors
            else:
                messages.success(request, _("%(profile)s was saved.") % {"profile": profile.name})
                return redirect("desk:standards:profiles")
    posted = request.POST if request.method == "POST" else None
    fields = [
        {
            "name": key,
            "label": label,
            "value": posted.get(key, "") if posted is not None else getattr(profile, key),
            "error": _first_error(errors, key),
        }
        for key, label in PROFILE_NUMBER_LABELS.items()
    ]
    frequencies = [
        {
            "name": f"frequencies.{code}",
            "label": label,
            "value": posted.get(f"frequencies.{code}", "")
            if posted is not None
            else (json.dumps(spec, ensure_ascii=False) if (spec := (profile.frequencies or {}).get(code)) else ""),
            "error": _first_error(errors, f"frequencies.{code}"),
        }
        for code, label in Dimension.choices
    ]
    context = {
        "profile": profile,
        "fields": fields,
        "frequencies": frequencies,
        "lift_hours": posted.get("lift_hours", "") if posted is not None else profile.lift_hours,
        "errors": {error.field: error.message for error in errors},
    }
    return render(request, "standards/profile_edit.html", context, status=422 if errors else 200)


# ---------------------------------------------------------------- SOP library and plans


@login_required
@require_GET
def sop_library(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    discipline = request.GET.get("discipline") or ""
    if discipline and discipline not in Discipline.values:
        discipline = ""
    items = list(selectors.sop_list(request.user, discipline=discipline or None))
    context = {"items": items, "discipline": discipline, "disciplines": Discipline.choices}
    return render(request, "standards/sop.html", context)


@login_required
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    discipline = request.GET.get("discipline") or ""
    if discipline and discipline not in Discipline.values:
        discipline = ""
    plans = list(selectors.plan_list(request.user, discipline=discipline or None))
    may_create = any(can_manage_plans(request.user, estate_id) for estate_id in _require_staff(request))
    context = {"plans": plans, "discipline": discipline, "disciplines": Discipline.choices, "may_create": may_create}
    return render(request, "standards/plans.html", context)


WEEKDAYS = (
    (1, _lazy("Mon")),
    (2, _lazy("Tue")),
    (3, _lazy("Wed")),
    (4, _lazy("Thu")),
    (5, _lazy("Fri")),
    (6, _lazy("Sat")),
    (7, _lazy("Sun")),
)
SCHEDULE_KINDS = (
    ("daily", _lazy("Every day")),
    ("weekly", _lazy("On weekdays")),
    ("every_n_days", _lazy("Every N days")),
    ("monthly", _lazy("On days of the month")),
)


def _plan_form_field(field_name: str) -> str:
    """A service's field path as the form's field: schedule.windows[0].start → windows, grid_id → grid."""
    name = field_name.removeprefix("schedule.").split("[", 1)[0].split(".", 1)[0]
    return {"schedule": "timetable", "profile_dimension": "timetable", "kind": "schedule_kind"}.get(
        name, name.removesuffix("_id")
    )


def _schedule_message(problem) -> str:
    if problem.field == "windows":
        if problem.code == "required":
            return _("Give at least one time window, e.g. 20:00-06:00.")
        return _("Write each window as 08:00-09:00, separated by commas.")
    return _("Enter a whole number.")


def _date_field(request: HttpRequest, name: str, errors: list[FieldError]) -> dt.date | None:
    raw = (request.POST.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(name, "invalid_date", _("Must be a date like 2026-11-27.")))
        return None


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    """A new plan: what (SOP items of one discipline), where (grid, building, public area), who (a role of the
    estate, or one person), when (its own timetable or the service level's frequency); tasks are generated at once."""
    _require_staff(request)
    source = request.POST if request.method == "POST" else request.GET
    estates = [e for e in standards_estates(request.user).order_by("name") if can_manage_plans(request.user, e.id)]
    if not estates:
        raise PermissionDenied
    estate = estates[0]
    if source.get("estate"):
        estate = next((e for e in estates if str(e.id) == source.get("estate")), None)
        if estate is None:
            wanted = source["estate"]
            if standards_estates(request.user).filter(pk=int(wanted) if wanted.isdigit() else 0).exists():
                raise PermissionDenied
            raise Http404
    discipline = source.get("discipline") if source.get("discipline") in Discipline.values else Discipline.CLEANING
    items = list(
        SopItem.objects.filter(company_id=estate.company_id, discipline=discipline, is_active=True).order_by(
            "position", "code"
        )
    )
    grids = list(Grid.objects.filter(estate=estate).order_by("name"))
    buildings = list(Building.objects.filter(estate=estate).order_by("name"))
    areas = list(PublicArea.objects.filter(estate=estate).order_by("name"))
    equipment = list(Equipment.objects.filter(estate=estate).order_by("code"))
    people = list(
        User.objects.filter(memberships__estate=estate, memberships__role__in=sorted(services.PLAN_ROLES))
        .distinct()
        .order_by("name")
    )
    errors: list[FieldError] = []
    if request.method == "POST" and request.POST.get("create") == "1":
        data = request.POST

        def chosen(rows, name):
            value = data.get(name) or ""
            row = next((r for r in rows if str(r.id) == value), None)
            if value and row is None:
                errors.append(FieldError(name, "not_found", _("This place is not in the estate.")))
            return row

        grid, building, area = chosen(grids, "grid"), chosen(buildings, "building"), chosen(areas, "public_area")
        on = chosen(equipment, "equipment")
        assignee = chosen(people, "assignee")
        schedule, dimension, problems = rules.schedule_from_form(data, data.getlist("weekdays"), today=clock.today())
        errors += [FieldError(p.field, p.code, _schedule_message(p)) for p in problems]
        grace = (data.get("grace_minutes") or "120").strip()
        if not grace.isdigit():
            errors.append(FieldError("grace_minutes", "invalid", _("Enter a whole number.")))
        starts_on, ends_on = _date_field(request, "starts_on", errors), _date_field(request, "ends_on", errors)
        if not errors:
            try:
                plan = services.plan_create(
                    actor=request.user,
                    new=services.NewPlan(
                        estate=estate,
                        name=data.get("name") or "",
                        discipline=discipline,
                        sop_items=[item for item in items if str(item.id) in data.getlist("sop_items")],
                        grid=grid,
                        building=building,
                        public_area=area,
                        equipment=on,
                        assignee=assignee,
                        assignee_role="" if assignee else (data.get("assignee_role") or ""),
                        schedule=schedule,
                        profile_dimension=dimension,
                        grace_minutes=int(grace),
                        starts_on=starts_on,
                        ends_on=ends_on,
                    ),
                )
                created = services.tasks_generate(plan=plan, now=clock.now())
            except ValidationFailed as failure:
                errors = failure.errors
            else:
                messages.success(
                    request,
                    _("Plan %(name)s was created with %(count)d tasks ahead.") % {"name": plan.name, "count": created},
                )
                return redirect(f"{reverse('desk:standards:plans')}?discipline={plan.discipline}")
    form = {key: source.get(key, "") for key in source} if request.method == "POST" else {"grace_minutes": 120}
    context = {
        "estates": estates,
        "estate": estate,
        "discipline": discipline,
        "disciplines": Discipline.choices,
        "items": items,
        "chosen_items": set(request.POST.getlist("sop_items")),
        "grids": grids,
        "buildings": buildings,
        "areas": areas,
        "equipment": equipment,
        "people": people,
        "roles": [(value, label) for value, label in Role.choices if value in services.PLAN_ROLES],
        "dimensions": Dimension.choices,
        "schedule_kinds": SCHEDULE_KINDS,
        "weekday_choices": WEEKDAYS,
        "chosen_weekdays": request.POST.getlist("weekdays"),
        "form": form,
        "errors": {_plan_form_field(error.field): error.message for error in errors},
    }
    return render(request, "standards/plan_new.html", context, status=422 if errors else 200)


# ---------------------------------------------------------------- tasks


@login_required
@require_GET
def task_mine(request: HttpRequest) -> HttpResponse:
    """My tasks of a day on a phone (today unless ?day=): open ones first, the next step one tap away."""
    _require_staff(request)
    now = clock.now()
    day = clock.today()
    with contextlib.suppress(ValueError):
        asked = dt.date.fromisoformat(request.GET.get("day") or "")
        if FIRST_DAY <= asked <= LAST_DAY:
            day = asked
    tasks = list(selectors.tasks_of_day(request.user, day=day)[:MY_TASKS_LIMIT])
    cards = [
        {
            "task": task,
            "badge": TASK_STATUS_BADGES[task.status],
            "actions": selectors.allowed_task_actions(request.user, task, now),
            "items": selectors.required_items(task.plan),
        }
        for task in tasks
    ]
    cards.sort(key=lambda card: (card["task"].status in ("done", "missed"), card["task"].window_start))
    context = {
        "cards": cards,
        "day": day,
        "previous_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "is_today": day == clock.today(),
    }
    return render(request, "standards/tasks.html", context)


def _render_task(request: HttpRequest, task, *, status: int = 200, alert: str = "", errors=None) -> HttpResponse:
    now = clock.now()
    photos = list(selectors.task_photos(task))
    item_errors: dict[str, str] = {}
    for error in errors or []:
        item_errors[error.field.removeprefix("evidence.").removeprefix("photo-")] = error.message
    items = [
        {
            "item": item,
            "photos": [photo for photo in photos if photo.item == item.key],
            "error": item_errors.get(item.key, ""),
            "given": (task.evidence or {}).get(item.key, {}),
        }
        for item in selectors.required_items(task.plan)
    ]
    context = {
        "task": task,
        "badge": TASK_STATUS_BADGES[task.status],
        "items": items,
        "actions": selectors.allowed_task_actions(request.user, task, now),
        "events": list(task.events.select_related("actor").order_by("at", "id")),
        "alert": alert,
        "posted": request.POST if request.method == "POST" else {},
        "evidence_kinds": Evidence,
    }
    return render(request, "standards/task_detail.html", context, status=status)


def _desk_task(request: HttpRequest, task_id: int):
    _require_staff(request)
    return selectors.task_get(request.user, task_id)


@login_required
@require_GET
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    return _render_task(request, _desk_task(request, task_id))


def _posted_evidence(request: HttpRequest, task) -> tuple[dict, list[FieldError]]:
    evidence: dict[str, dict] = {}
    errors = []
    for item in selectors.required_items(task.plan):
        entry: dict = {}
        if item.evidence == Evidence.TICK:
            entry["tick"] = request.POST.get(f"tick-{item.key}") == "on"
        elif item.evidence == Evidence.READING:
            raw = (request.POST.get(f"reading-{item.key}") or "").strip()
            if raw:
                try:
                    entry["reading"] = float(raw)
                except ValueError:
                    errors.append(
                        FieldError(f"evidence.{item.key}", "reading_required", _("Enter the reading as a number."))
                    )
        note = (request.POST.get(f"note-{item.key}") or "").strip()
        if note:
            entry["note"] = note[:200]
        evidence[item.key] = entry
    return evidence, errors


def _store_posted_photos(request: HttpRequest, task) -> list[FieldError]:
    """Photos chosen on the done form are stored first (proof stays even if something else is missing)."""
    errors = []
    for item in selectors.required_items(task.plan):
        uploads = request.FILES.getlist(f"photo-{item.key}")
        if not uploads or item.evidence != Evidence.PHOTO:
            continue
        cleaned = []
        for upload in uploads[: services.PHOTOS_PER_ITEM]:
            try:
                cleaned.append(clean_image(upload.read(DEFAULT_MAX_BYTES + 1)))
            except ImageRejected as refusal:
                errors.append(FieldError(f"evidence.{item.key}", refusal.code, refusal.message))
        if cleaned:
            try:
                services.task_photos_add(
                    actor=request.user, task_id=task.id, item=item.key, photos=cleaned, now=clock.now()
                )
            except ValidationFailed as failure:
                errors += [FieldError(f"evidence.{item.key}", e.code, e.message) for e in failure.errors]
    return errors


@login_required
@require_POST
def task_act(request: HttpRequest, task_id: int, action: str) -> HttpResponse:
    task = _desk_task(request, task_id)
    if action not in (TaskAction.START, TaskAction.FINISH):
        raise Http404
    # Refuse in the order the service does: the person (403), then the move (409), then the evidence (422).
    if not can_act(request.user, task, action):
        return _render_task(request, task, status=Forbidden.status, alert=_("This task is not yours to do."))
    evidence, errors = {}, []
    if action == TaskAction.FINISH:
        if rules.task_move(task.status, action) is not None:
            errors = _store_posted_photos(request, task)
        evidence, reading_errors = _posted_evidence(request, task)
        errors += reading_errors
    if errors:
        return _render_task(request, task, status=422, alert=_("The task could not be finished."), errors=errors)
    try:
        services.task_act(
            actor=request.user,
            task_id=task.id,
            action=action,
            evidence=evidence,
            note=request.POST.get("note", ""),
            now=clock.now(),
        )
    except DomainError as failure:
        task = selectors.task_get(request.user, task.id)
        return _render_task(request, task, status=failure.status, alert=failure.message, errors=failure.errors)
    if action == TaskAction.FINISH:
        messages.success(request, _("Done: %(plan)s.") % {"plan": task.plan.name})
    fallback = (
        reverse("desk:standards:tasks")
        if action == TaskAction.FINISH
        else reverse("desk:standards:task", kwargs={"task_id": task.id})
    )
    return redirect(_safe_next(request, fallback))


@login_required
@require_GET
def task_photo(request: HttpRequest, task_id: int, photo_id: int) -> HttpResponse:
    _require_staff(request)
    photo = selectors.task_photo_get(request.user, task_id, photo_id)
    return stored_file_response(photo.file, photo.content_type)
