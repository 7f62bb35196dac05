"""The desk's dispatch pages: the dispatch board (派单看板) for dispatchers, and the grab pool (抢单池) for field staff.

Same answers as the other desk pages: someone with no role for the page gets 403, an estate or order outside the
user's reach 404, a lost grab 409, bad input 422 — each on the page, never a 500. Every change goes through
wuye.workorders.services.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from wuye.accounts.selectors import roles_by_estate
from wuye.core import clock
from wuye.core.errors import DomainError
from wuye.dispatch import selectors as dispatch_selectors
from wuye.estates.models import Estate
from wuye.workorders import services
from wuye.workorders.choices import Action
from wuye.workorders.permissions import DISPATCH_ROLES, FIELD_ROLES

from .forms import BoardAssignForm
from .views_orders import _desk_order_or_404, _page


def _dispatch_estates(request: HttpRequest) -> list[Estate]:
    estate_ids = dispatch_selectors.board_estates(request.user, DISPATCH_ROLES)
    if not estate_ids:
        raise PermissionDenied
    return list(Estate.objects.filter(pk__in=estate_ids).order_by("name"))


def _board_estate(request: HttpRequest, estates: list[Estate]) -> Estate:
    wanted = request.GET.get("estate") or request.POST.get("estate")
    if not wanted:
        return estates[0]
    chosen = next((estate for estate in estates if str(estate.pk) == wanted), None)
    if chosen is None:
        raise Http404
    return chosen


def _render_board(request: HttpRequest, estate: Estate, estates, *, status: int = 200, failed=None) -> HttpResponse:
    now = clock.now()
    board = dispatch_selectors.dispatch_board(estate.id, now=now)
    names = {person.user.pk: person.user for person in board["technicians"]}
    rows = {}
    for item in board["orders"]:
        if failed is not None and failed.order.id == item.order.id:
            form = failed
        else:
            form = BoardAssignForm(
                order=item.order, people=board["technicians"], item=item, auto_id=f"o{item.order.id}_%s"
            )
        rows[item.order.id] = {
            "item": item,
            "form": form,
            "suggested": names.get(getattr(item.suggestion, "tech_id", 0)),
        }
    groups = [(grid, [rows[item.order.id] for item in items]) for grid, items in board["groups"].items()]
    context = {
        "estate": estate,
        "estates": estates,
        "groups": groups,
        "technicians": board["technicians"],
        "now": now,
        "waiting": len(board["orders"]),
    }
    return _page(request, "desk/dispatch/board.html", context, status=status)


@login_required
@require_GET
def dispatch_board(request: HttpRequest) -> HttpResponse:
    """派单看板: an estate's waiting orders by grid with SLA slack and the suggested technician, and the field staff."""
    estates = _dispatch_estates(request)
    return _render_board(request, _board_estate(request, estates), estates)


@login_required
@require_POST
def dispatch_board_assign(request: HttpRequest, order_id: int) -> HttpResponse:
    """Send one order from the board: the suggested person in one click, or someone else with a reason (logged on the
    order's timeline as an override, with who decided and why)."""
    estates = _dispatch_estates(request)
    order = _desk_order_or_404(request, order_id)
    estate = next((estate for estate in estates if estate.pk == order.estate_id), None)
    if estate is None:
        raise PermissionDenied  # visible on the desk, but this user does not dispatch in its estate
    board = dispatch_selectors.dispatch_board(estate.id, now=clock.now())
    item = next((item for item in board["orders"] if item.order.id == order.id), None)
    if item is None:
        messages.error(request, _("Order %(number)s is no longer waiting to be dispatched.") % {"number": order.number})
        return redirect(f"{reverse('desk:dispatch_board')}?estate={estate.pk}")
    form = BoardAssignForm(request.POST, order=order, people=board["technicians"], item=item, auto_id=f"o{order.id}_%s")
    if not form.is_valid():
        return _render_board(request, estate, estates, status=422, failed=form)
    try:
        services.workorder_act(
            actor=request.user, order_id=order.id, action=Action.DISPATCH, params=form.params(), now=clock.now()
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _render_board(request, estate, estates, status=error.status, failed=form)
    messages.success(
        request, _("%(number)s sent to %(name)s.") % {"number": order.number, "name": form.assignee_name()}
    )
    return redirect(f"{reverse('desk:dispatch_board')}?estate={estate.pk}")


# ---------------------------------------------------------------- the grab pool


def _require_field_staff(request: HttpRequest) -> None:
    if not any(roles & FIELD_ROLES for roles in roles_by_estate(request.user).values()):
        raise PermissionDenied


def _render_pool(request: HttpRequest, *, status: int = 200, alert: str = "") -> HttpResponse:
    now = clock.now()
    pool = dispatch_selectors.grab_pool(request.user, now=now)
    context = {
        "open": [row for row in pool if row["eligibility"].ok],
        "blocked": [row for row in pool if not row["eligibility"].ok],
        "now": now,
        "alert": alert,
    }
    return _page(request, "desk/dispatch/pool.html", context, status=status)


@login_required
@require_GET
def grab_pool(request: HttpRequest) -> HttpResponse:
    """抢单池: orders of grab-mode categories waiting for someone; the ones this person may take first."""
    _require_field_staff(request)
    return _render_pool(request)


@login_required
@require_POST
def grab(request: HttpRequest, order_id: int) -> HttpResponse:
    """Take an order from the pool. Under any concurrency one take wins; the others hear it is already taken."""
    _require_field_staff(request)
    order = _desk_order_or_404(request, order_id)
    try:
        services.workorder_act(actor=request.user, order_id=order.id, action=Action.GRAB, now=clock.now())
    except DomainError as error:
        return _render_pool(request, status=error.status, alert=error.message)
    messages.success(request, _("%(number)s is yours.") % {"number": order.number})
    return redirect("desk:order_detail", order.id)
