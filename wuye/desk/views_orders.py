"""The staff desk's work-order pages: the queue, a technician's own orders, the overdue board, the return-visit list,
entering an order on an owner's behalf, and one order with the actions the user may take on it now.

They answer as the API does: someone who works in no estate gets 403; an order outside the estates the user works in
is 404 (its existence is not revealed); an action the user may not take is 403, a move the order's status does not
allow 409, bad input 422, too soon 429 — each as an alert on the order's page, never a 500. Every change goes through
wuye.workorders.services.
"""

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wuye.accounts.choices import ESTATE_WIDE_STAFF_ROLES
from wuye.accounts.selectors import residents_of_room, roles_by_estate
from wuye.core import clock
from wuye.core.errors import DomainError, Forbidden, ValidationFailed
from wuye.core.http import stored_file_response
from wuye.equipment import selectors as equipment_selectors
from wuye.estates import selectors as estate_selectors
from wuye.estates.permissions import can_view_residents, staff_estates
from wuye.workorders import selectors, services
from wuye.workorders.choices import ASSIGNED, Action, Channel, Status, Step
from wuye.workorders.models import WorkOrder
from wuye.workorders.permissions import DESK_ROLES, DISPATCH_ROLES, FIELD_ROLES, VISIT_ROLES, can_act

from .forms import ACTION_FORMS, NewOrderForm, QueueFilterForm, VisitForm

PAGE_SIZE = 50
MINE_LIMIT = 100
OVERDUE_LIMIT = 500
# The actions the desk pages offer, in the order they are shown. Rating and urging are the owner's (portal).
PAGE_ACTIONS = (
    Action.ACCEPT,
    Action.CLASSIFY,
    Action.DISPATCH,
    Action.TAKE,
    Action.GRAB,
    Action.ARRIVE,
    Action.START,
    Action.RESUME,
    Action.RESOLVE,
    Action.ANSWER,
    Action.VISIT,
    Action.CLOSE,
    Action.TRANSFER,
    Action.RETURN,
    Action.HOLD,
    Action.REOPEN,
    Action.CANCEL,
    Action.FORCE_CLOSE,
)
# On a technician's phone card: one tap for these; the ones that need more open the order's page.
CARD_ONE_TAP = (Action.TAKE, Action.ARRIVE, Action.START, Action.RESUME)
CARD_LINKED = (Action.RESOLVE, Action.HOLD, Action.TRANSFER, Action.RETURN)
# Service field names → the page form's fields, so a service's refusal shows next to what was typed.
SERVICE_FIELDS = {
    "category_id": "category",
    "room_id": "room",
    "public_area_id": "public_area",
    "assignee_id": "assignee",
    "file": "photos",
}


# ---------------------------------------------------------------- scope


def _staff_estate_ids(request: HttpRequest) -> list[int]:
    """The estates the user works in; someone who works nowhere may not use the desk (403)."""
    estate_ids = list(staff_estates(request.user).values_list("id", flat=True))
    if not estate_ids:
        raise PermissionDenied
    return estate_ids


def _desk_order_or_404(request: HttpRequest, order_id: int) -> WorkOrder:
    """An order of an estate the user works in. Orders the user sees only as an owner are the portal's: 404 here."""
    estate_ids = _staff_estate_ids(request)
    order = selectors.workorder_get(request.user, order_id)
    if order.estate_id not in estate_ids:
        raise Http404
    return order


def _shows_full_phone(user, order: WorkOrder) -> bool:
    """Customer service calls owners for a living, and the assignee calls before going: both see the full number."""
    return order.assignee_id == user.id or bool(roles_by_estate(user).get(order.estate_id, frozenset()) & DESK_ROLES)


def _page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """Render an orders page with what every one of them shows: the tabs (each for the roles that use it) and the
    countdown's words."""
    held = frozenset().union(*roles_by_estate(request.user).values())
    context = {
        "can_visit": bool(held & VISIT_ROLES),
        "can_dispatch": bool(held & DISPATCH_ROLES),
        "can_grab": bool(held & FIELD_ROLES),
        "countdown_words": _countdown_words(),
        **context,
    }
    return render(request, template, context, status=status)


def _countdown_words() -> dict[str, str]:
    """The words countdown.js puts together, in the page's language."""
    return {
        "left": _("%(time)s left"),
        "overdue": _("overdue by %(time)s"),
        "days": _("%(days)sd %(hours)sh"),
        "hours": _("%(hours)sh %(minutes)smin"),
        "minutes": _("%(minutes)smin"),
    }


def _urgent(order: WorkOrder, now) -> dict | None:
    """The open step due soonest with its warning point (from the prefetched steps), for the countdown badge."""
    urgent = selectors.workorder_urgent_step(order, now)
    if urgent and urgent["due_at"] is not None:
        row = next(r for r in order.steps.all() if r.step == urgent["step"] and r.met_at is None)
        urgent = {**urgent, "warn_at": row.warn_at, "label": Step(urgent["step"]).label}
    return urgent


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# ---------------------------------------------------------------- lists


@login_required
@require_GET
def order_queue(request: HttpRequest) -> HttpResponse:
    """The queue of the estates the user works in, newest first, with filters and a live SLA countdown per row."""
    estate_ids = _staff_estate_ids(request)
    now = clock.now()
    form = QueueFilterForm(request.GET or None, estate_ids=estate_ids)
    if form.is_bound:
        form.is_valid()  # invalid filters are shown with their errors and ignored
    orders = selectors.workorder_list(request.user, now=now, **form.filters()).filter(estate_id__in=estate_ids)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"order": order, "urgent": _urgent(order, now)} for order in page]
    template = "desk/orders/_queue_results.html" if request.htmx else "desk/orders/queue.html"
    return _page(request, template, {"form": form, "page": page, "rows": rows, "now": now})


@login_required
@require_GET
def order_mine(request: HttpRequest) -> HttpResponse:
    """A technician's open orders on a phone: most urgent first, the next step one tap away."""
    estate_ids = _staff_estate_ids(request)
    now = clock.now()
    orders = (
        selectors.workorder_list(request.user, assignee="me", now=now)
        .filter(estate_id__in=estate_ids, status__in=ASSIGNED)
        .order_by("submitted_at")[:MINE_LIMIT]
    )
    cards = []
    for order in orders:
        possible = [
            action
            for action in (*CARD_ONE_TAP, *CARD_LINKED)
            if selectors.move_possible(order, action) and can_act(request.user, order, action)
        ]
        cards.append(
            {
                "order": order,
                "urgent": _urgent(order, now),
                "one_tap": [(action, Action(action).label) for action in possible if action in CARD_ONE_TAP],
                "linked": [(action, Action(action).label) for action in possible if action in CARD_LINKED],
            }
        )
    far_future = now.replace(year=9999)
    cards.sort(key=lambda card: (card["urgent"] or {}).get("due_at") or far_future)
    return _page(request, "desk/orders/mine.html", {"cards": cards, "now": now})


@login_required
@require_GET
def order_overdue(request: HttpRequest) -> HttpResponse:
    """Every open step past its due time, grouped by estate and grid, the longest overdue first."""
    estate_ids = _staff_estate_ids(request)
    now = clock.now()
    steps = selectors.overdue_steps(request.user, estate_ids=estate_ids, now=now, limit=OVERDUE_LIMIT)
    groups = [
        {"estate": estate, "grid": grid, "steps": list(items)}
        for (estate, grid), items in groupby(steps, key=lambda row: (row.order.estate, row.order.grid))
    ]
    return _page(request, "desk/orders/overdue.html", {"groups": groups, "now": now, "limit": OVERDUE_LIMIT})


@login_required
@require_GET
def order_visits(request: HttpRequest) -> HttpResponse:
    """回访: finished orders waiting for customer service to call the owner, the visit due soonest first."""
    estate_ids = _staff_estate_ids(request)
    roles = roles_by_estate(request.user)
    visit_estate_ids = [estate_id for estate_id in estate_ids if roles.get(estate_id, frozenset()) & VISIT_ROLES]
    if not visit_estate_ids:
        raise PermissionDenied
    now = clock.now()
    orders = selectors.awaiting_return_visit(request.user, estate_ids=visit_estate_ids, now=now)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    back = request.get_full_path()
    rows = [
        {
            "order": order,
            "urgent": _urgent(order, now),
            "form": VisitForm(order=order, user=request.user, auto_id=f"visit{order.id}_%s"),
            "next": back,
        }
        for order in page
    ]
    return _page(request, "desk/orders/visits.html", {"page": page, "rows": rows, "now": now})


# ---------------------------------------------------------------- entering an order


def _room_pick_context(request: HttpRequest, room, *, phone: str = "", reporter_id: int | None = None) -> dict:
    """The chosen room, and its current residents to choose the owner from (for those who may see them)."""
    context = {"room": room, "residents": [], "can_choose_owner": False, "reporter_id": reporter_id}
    if room is None:
        return context
    if can_view_residents(request.user, room.estate):
        residents = list(residents_of_room(room))
        context["residents"] = residents
        context["can_choose_owner"] = True
        if reporter_id is None and phone:
            context["reporter_id"] = next((r.user_id for r in residents if r.user.phone == phone), None)
        if context["reporter_id"] is None and len(residents) == 1:
            context["reporter_id"] = residents[0].user_id
    return context


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    """Enter an order on an owner's behalf (phone, walk-in) or report one found on a round."""
    estate_ids = _staff_estate_ids(request)
    status = 200
    if request.method == "POST":
        form = NewOrderForm(request.POST, request.FILES, user=request.user, estate_ids=estate_ids)
        if form.is_valid():
            data = form.cleaned_data
            new = services.NewOrder(
                estate=data["estate"],
                kind=data["kind"],
                category=data["category"],
                description=data["description"],
                channel=data["channel"],
                priority=data["priority"],
                room=data["room"],
                public_area=data["public_area"],
                reporter=data["reporter_user"],
                **_equipment_source(data["equipment_item"]),
            )
            try:
                order, created = services.workorder_create(
                    actor=request.user, new=new, idempotency_key=data["token"], photos=data["photos"], now=clock.now()
                )
            except ValidationFailed as failure:
                _show_service_errors(form, failure)
                status = 422
            else:
                if created:
                    messages.success(request, _("Order %(number)s created.") % {"number": order.number})
                return redirect("desk:order_detail", order_id=order.id)
        else:
            status = 422
    else:
        estates = list(staff_estates(request.user).order_by("name")[:2])
        takes_calls = any(roles & ESTATE_WIDE_STAFF_ROLES for roles in roles_by_estate(request.user).values())
        initial = {"token": NewOrderForm.new_token(), "channel": Channel.PHONE if takes_calls else Channel.STAFF}
        if len(estates) == 1:
            initial["estate"] = estates[0]
        equipment = _equipment_for_report(request)
        if equipment is not None:
            initial.update(equipment_selectors.fault_report_initial(request.user, equipment))
        form = NewOrderForm(initial=initial, user=request.user, estate_ids=estate_ids)
    if form.is_bound and "token" in form.errors:
        # The hidden token cannot be fixed by the person typing: hand out a fresh one with the message.
        form.data = form.data.copy()
        form.data["token"] = NewOrderForm.new_token()
    room = form.cleaned_data.get("room") if form.is_bound and hasattr(form, "cleaned_data") else None
    try:
        reporter_id = int(form.data.get("reporter") or 0) or None
    except ValueError:
        reporter_id = None
    if room is None and not form.is_bound:
        room = form.initial.get("room")
    photos_lost = status != 200 and bool(request.FILES.getlist("photos"))
    context = {
        "form": form,
        "photos_lost": photos_lost,
        "equipment": _equipment_for_report(request),
        **_room_pick_context(request, room, reporter_id=reporter_id),
    }
    return _page(request, "desk/orders/new.html", context, status=status)


def _equipment_for_report(request: HttpRequest):
    """The item a fault report is about (?equipment= from its page or label, or the posted hidden field): 404 when
    the user may not see it."""
    raw = request.POST.get("equipment") if request.method == "POST" else request.GET.get("equipment")
    if not raw:
        return None
    if not str(raw).isdigit():
        raise Http404
    return equipment_selectors.equipment_get(request.user, int(raw))


def _equipment_source(item) -> dict:
    return {} if item is None else {"source_type": "equipment", "source_id": str(item.id)}


def _show_service_errors(form, failure: ValidationFailed) -> None:
    form.add_error(None, failure.message)
    for error in failure.errors:
        field = SERVICE_FIELDS.get(error.field, error.field)
        form.add_error(field if field in form.fields else None, error.message)


@login_required
@require_GET
def order_new_rooms(request: HttpRequest) -> HttpResponse:
    """The search box on the new-order page (htmx): rooms by label (3-2-1502), number or an owner's phone."""
    _staff_estate_ids(request)
    estate = _estate_for_search(request)
    query = (request.GET.get("q") or "").strip()[:40]
    # A phone number finds who lives where: the resident register, which front-line staff do not see.
    by_phone = query.isdigit() and len(query) == 11
    phone_refused = by_phone and not can_view_residents(request.user, estate)
    rooms = []
    if query and not phone_refused:
        rooms = list(estate_selectors.room_search(request.user, estate, query=query)[:20])
    context = {"estate": estate, "query": query, "rooms": rooms, "phone_refused": phone_refused}
    return render(request, "desk/orders/_room_search_results.html", context)


@login_required
@require_GET
def order_new_room(request: HttpRequest) -> HttpResponse:
    """Choosing a room from the search (htmx): the room goes into the form, with its residents to pick the owner."""
    _staff_estate_ids(request)
    try:
        room_id = int(request.GET.get("room", ""))
    except ValueError:
        raise Http404 from None
    room = estate_selectors.room_get(request.user, room_id)
    if not staff_estates(request.user).filter(pk=room.estate_id).exists():
        raise Http404
    context = _room_pick_context(request, room, phone=(request.GET.get("q") or "").strip())
    return render(request, "desk/orders/_room_picked.html", context)


def _estate_for_search(request: HttpRequest):
    try:
        estate_id = int(request.GET.get("estate", ""))
    except ValueError:
        raise Http404 from None
    estate = estate_selectors.estate_get(request.user, estate_id)  # 404 when not visible
    if not staff_estates(request.user).filter(pk=estate.id).exists():
        raise PermissionDenied
    return estate


# ---------------------------------------------------------------- one order


def _action_forms(request: HttpRequest, order: WorkOrder, *, failed: tuple[str, object] | None = None) -> list[dict]:
    """A form for each action the user may take now (role and state machine both allow it). The primary ones, the
    one asked for with ?open=, and one that just failed are shown open."""
    allowed = set(selectors.allowed_actions(request.user, order))
    asked = request.GET.get("open")
    forms = []
    for action in PAGE_ACTIONS:
        if action not in allowed:
            continue
        if failed and failed[0] == action:
            form = failed[1]
        else:
            form = ACTION_FORMS[action](order=order, user=request.user, auto_id=f"{action}_%s")
        forms.append(
            {
                "action": action,
                "label": Action(action).label,
                "form": form,
                "open": form.primary or action == asked or bool(failed and failed[0] == action),
                "has_fields": bool(form.fields),
            }
        )
    return forms


def _render_detail(
    request: HttpRequest, order: WorkOrder, *, status: int = 200, alert: str = "", failed=None
) -> HttpResponse:
    now = clock.now()
    context = {
        "order": order,
        "now": now,
        "sla": selectors.workorder_sla(order, now),
        "urgent": _urgent(order, now),
        "timeline": selectors.workorder_timeline(order),
        "photos": list(order.photos.all()),
        "actions": _action_forms(request, order, failed=failed),
        "full_phone": _shows_full_phone(request.user, order),
        "alert": alert,
    }
    return _page(request, "desk/orders/detail.html", context, status=status)


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _desk_order_or_404(request, order_id)
    return _render_detail(request, order)


@login_required
@require_POST
def order_act(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    """One action on one order (a form on the order's page, a button on a technician's card or the visit list)."""
    order = _desk_order_or_404(request, order_id)
    if action not in PAGE_ACTIONS:
        raise Http404
    form = ACTION_FORMS[action](request.POST, request.FILES, order=order, user=request.user, auto_id=f"{action}_%s")
    # Refuse in the order the service does: the person first (403), then the move (409), then the input (422).
    if not can_act(request.user, order, action):
        return _render_detail(request, order, status=Forbidden.status, alert=_("You may not do this on this order."))
    if not selectors.move_possible(order, action):
        alert = _("The order is %(status)s; “%(action)s” is not possible now.") % {
            "status": Status(order.status).label,
            "action": Action(action).label,
        }
        return _render_detail(request, order, status=services.InvalidTransition.status, alert=alert)
    if not form.is_valid():
        alert = _("Check the form: %(action)s was not done.") % {"action": Action(action).label}
        return _render_detail(request, order, status=ValidationFailed.status, alert=alert, failed=(action, form))
    try:
        with transaction.atomic():
            services.workorder_act(
                actor=request.user, order_id=order.id, action=action, params=form.params(), now=clock.now()
            )
            if form.photo_stage and form.photos():
                # In the action's transaction: photos the service refuses undo the action too, so nothing is half-done.
                services.workorder_photos_add(
                    actor=request.user, order_id=order.id, stage=form.photo_stage, photos=form.photos(), now=clock.now()
                )
    except DomainError as error:
        if isinstance(error, ValidationFailed):
            for problem in error.errors:
                field = SERVICE_FIELDS.get(problem.field, problem.field)
                form.add_error(field if field in form.fields else None, problem.message)
        fresh = selectors.workorder_get(request.user, order.id)
        failed = (action, form) if isinstance(error, ValidationFailed) else None
        return _render_detail(request, fresh, status=error.status, alert=error.message, failed=failed)
    messages.success(request, _("Done: %(action)s.") % {"action": Action(action).label})
    return redirect(_safe_next(request, reverse("desk:order_detail", args=[order.id])))


@login_required
@require_GET
def order_photo(request: HttpRequest, order_id: int, photo_id: int) -> FileResponse:
    """A photo of an order, to those who may see the order on the desk (the files are not public)."""
    order = _desk_order_or_404(request, order_id)
    photo = get_object_or_404(order.photos.all(), pk=photo_id)
    return stored_file_response(photo.file, photo.content_type)
