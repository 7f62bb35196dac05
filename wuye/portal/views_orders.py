"""The owner's work orders in the portal (报事报修): report one, follow it, urge, cancel, rate and reopen.

Pages for owners and residents only (staff use the desk): anyone else gets 403, as on the portal home. An order the
owner does not follow — not reported by them, not of a room they live in — answers 404, even when a staff role of the
same person could see it on the desk. Every action goes through `workorder_act`; its refusals are shown on the page
with their status code (403, 409, 422, 429), never as a server error. Every form works without JavaScript; with it,
htmx reloads the parts that change.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wuye.accounts.selectors import own_room_ids
from wuye.core import clock
from wuye.core.errors import DomainError, Forbidden, ValidationFailed
from wuye.core.http import stored_file_response
from wuye.workorders import selectors
from wuye.workorders.choices import STATUS_BADGES, TERMINAL, Action, Status, Step, StepState, Verdict
from wuye.workorders.models import WorkOrder, WorkOrderPhoto
from wuye.workorders.permissions import is_owner_of
from wuye.workorders.services import workorder_act, workorder_create

from .forms import CancelForm, OrderReportForm, RateForm, RatingReason, ReopenForm, UrgeForm, initial_from, new_token
from .views import _resident_estate_ids

PAGE_SIZE = 20
ACTION_FORMS = {Action.URGE: UrgeForm, Action.CANCEL: CancelForm, Action.RATE: RateForm, Action.REOPEN: ReopenForm}
# Events about the staff's own clocks (warnings, escalations) are not the owner's business.
HIDDEN_FROM_OWNERS = frozenset({Action.WARN, Action.ESCALATE})
# The work is done; what remains (rating, return visit, closing) promises the owner nothing more.
FINISHED = frozenset({Status.RESOLVED, Status.RATED, Status.VISITED, Status.ANSWERED})


def _require_resident(request: HttpRequest) -> None:
    if not _resident_estate_ids(request.user):
        raise PermissionDenied


def _followed_by(user) -> Q:
    """The orders an owner follows in the portal: reported by them, or of a room they live in now."""
    return Q(reporter=user) | Q(room_id__in=own_room_ids(user))


def _my_order(user, order_id: int) -> WorkOrder:
    order = selectors.workorder_get(user, order_id)
    if not is_owner_of(user, order):
        raise Http404
    return order


# ---------------------------------------------------------------- list


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    """My orders, newest first, 20 a page: the same handful of queries whatever the page holds."""
    _require_resident(request)
    now = clock.now()
    orders = selectors.workorder_list(request.user, now=now).filter(_followed_by(request.user))
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    cards = [
        {"order": order, "badge": STATUS_BADGES.get(order.status), "promise": _promise(order, now)} for order in page
    ]
    return render(request, "portal/order_list.html", {"page": page, "cards": cards})


def _promise(order: WorkOrder, now) -> dict | None:
    """What the owner waits for next and when it was promised: someone on site, then the job done (from the
    prefetched SLA clocks). None once the work is finished or the order is closed."""
    if order.status in TERMINAL or order.status in FINISHED:
        return None
    rows = {row.step: row for row in order.steps.all()}
    for step, label in ((Step.ARRIVE, _("On site by")), (Step.RESOLVE, _("Done by"))):
        row = rows.get(step)
        if row is not None and row.met_at is None and row.due_at is not None:
            return {"label": label, "due_at": row.due_at, "overdue": now > row.due_at}
    return None


# ---------------------------------------------------------------- report


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    """Report a repair, complaint, inquiry, suggestion or praise. Changing the kind (or the room or area) re-renders
    the choices that depend on it: by htmx, or without JavaScript by the form's refresh button."""
    _require_resident(request)
    if request.method == "POST" and "refresh" not in request.POST:
        form = OrderReportForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            try:
                order = _report(request.user, form)
            except ValidationFailed as failure:
                form.apply_service_errors(failure)
            else:
                return redirect("portal:order_detail", order_id=order.id)
        return _render_new(request, form, status=422)
    source = request.POST if request.method == "POST" else request.GET
    form = OrderReportForm(user=request.user, initial=initial_from(source))
    if request.htmx and request.htmx.target == "order-kind-fields":
        return render(request, "portal/_order_kind_fields.html", {"form": form})
    return _render_new(request, form)


def _render_new(request: HttpRequest, form: OrderReportForm, status: int = 200) -> HttpResponse:
    if form.is_bound and form.errors and "token" in form.errors:
        # The hidden token cannot be fixed by the owner: hand out a fresh one with the message.
        form.data = form.data.copy()
        form.data["token"] = new_token()
    photos_lost = form.is_bound and bool(request.FILES.getlist("photos"))
    return render(request, "portal/order_new.html", {"form": form, "photos_lost": photos_lost}, status=status)


def _report(user, form: OrderReportForm) -> WorkOrder:
    """Create the order with its photos (checked by the form before anything is written): both or neither."""
    order, _created = workorder_create(
        actor=user, new=form.new_order(), idempotency_key=form.cleaned_data["token"], photos=form.cleaned_data["photos"]
    )
    return order


# ---------------------------------------------------------------- detail and actions


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    _require_resident(request)
    return _render_detail(request, _my_order(request.user, order_id))


@login_required
@require_POST
def order_act(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    """Urge, cancel, rate or reopen. Success: back to the order (303), or with htmx the re-rendered order. A refusal
    re-renders the order with the reason and the refusal's status code."""
    _require_resident(request)
    order = _my_order(request.user, order_id)
    form = ACTION_FORMS[action](request.POST)
    if not form.is_valid():
        return _render_detail(
            request, order, bound={action: form}, alert=_("Please correct the marked fields."), status=422
        )
    try:
        workorder_act(actor=request.user, order_id=order.id, action=action, params=form.params())
    except ValidationFailed as failure:
        form.apply_service_errors(failure)
        return _render_detail(
            request, _my_order(request.user, order_id), bound={action: form}, alert=failure.message, status=422
        )
    except DomainError as refusal:
        order = _my_order(request.user, order_id)
        return _render_detail(request, order, alert=_refusal_message(refusal, order, action), status=refusal.status)
    notice = _done_message(action, form)
    if request.htmx:
        return _render_detail(request, _my_order(request.user, order_id), notice=notice)
    messages.success(request, notice)
    # 303: the browser follows with a GET, so reloading the order page does not post the action again.
    return HttpResponseRedirect(reverse("portal:order_detail", kwargs={"order_id": order_id}), status=303)


def _refusal_message(refusal: DomainError, order: WorkOrder, action: str) -> str:
    if isinstance(refusal, Forbidden) and action == Action.CANCEL:
        # The owner's right to cancel ends when someone is sent (permissions.can_act): say so, not just "forbidden".
        return _(
            "The order is %(status)s: it can be cancelled only before someone is sent. Please call the service "
            "centre if you no longer need it."
        ) % {"status": order.get_status_display()}
    return refusal.message


def _done_message(action: str, form) -> str:
    if action == Action.URGE:
        return _("We have reminded the staff handling your order.")
    if action == Action.CANCEL:
        return _("The order is cancelled.")
    if action == Action.RATE and form.cleaned_data["verdict"] == Verdict.RETURNED:
        return _("Thank you. The order has been sent back to be fixed again.")
    if action == Action.RATE:
        return _("Thank you for your rating.")
    return _("The order is reopened; we will arrange it again.")


def _render_detail(
    request: HttpRequest,
    order: WorkOrder,
    *,
    bound: dict | None = None,
    alert: str = "",
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    now = clock.now()
    bound = bound or {}
    actions = set(selectors.allowed_actions(request.user, order)) & set(ACTION_FORMS)
    context = {
        "order": order,
        "badge": STATUS_BADGES.get(order.status),
        "steps": [_step_view(row) for row in selectors.workorder_sla(order, now)],
        "timeline": _timeline(request.user, order),
        "photos": list(order.photos.all()),
        "actions": actions,
        "forms": {action: bound.get(action) or form_class() for action, form_class in ACTION_FORMS.items()},
        "alert": alert,
        "alert_level": "warning" if status == 429 else "danger",
        "notice": notice,
    }
    template = "portal/_order_detail.html" if request.htmx else "portal/order_detail.html"
    return render(request, template, context, status=status)


def _step_view(row: dict) -> dict:
    return {**row, "overdue": row["state"] == StepState.BREACHED, "done": row["met_at"] is not None}


def _timeline(user, order: WorkOrder) -> list[dict]:
    """The events as the owner reads them: what was done, by whom ("you", the staff member's name, or the system)."""
    reasons = dict(RatingReason.choices)
    entries = []
    for event in selectors.workorder_timeline(order):
        if event.action in HIDDEN_FROM_OWNERS:
            continue
        if event.actor_id is None:
            actor = _("System")
        elif event.actor_id == user.id:
            actor = _("You")
        else:
            actor = event.actor.display_name
        details = []
        payload = event.payload or {}
        if event.action in (Action.DISPATCH, Action.TRANSFER) and payload.get("assignee"):
            details.append(_("Assigned to %(name)s") % {"name": payload["assignee"]})
        if event.action == Action.RATE and payload.get("verdict") in Verdict.values:
            details.append(f"{Verdict(payload['verdict']).label} · {'★' * int(payload.get('score') or 0)}")
            details.extend(str(reasons.get(code, code)) for code in payload.get("reasons") or [])
        entries.append(
            {
                "event": event,
                "label": event.get_action_display(),
                "actor": actor,
                "status": event.get_to_status_display() if event.to_status else "",
                "details": details,
            }
        )
    return entries


@login_required
@require_GET
def order_photo(request: HttpRequest, order_id: int, photo_id: int) -> HttpResponse:
    """A photo of an order the owner follows, streamed from storage (never a public media URL)."""
    _require_resident(request)
    order = _my_order(request.user, order_id)
    photo = get_object_or_404(WorkOrderPhoto, pk=photo_id, order=order)
    return stored_file_response(photo.file, photo.content_type)
