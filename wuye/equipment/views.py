"""Equipment pages on the staff desk (mobile first): the ledger with filters, one item with its devices (online or
not), reading charts, alarms, work orders, maintenance plans and MTBF/MTTR, its documents, the QR label sheet (HTML,
PNG, PDF) and the label's landing URL.

Staff of an estate see its equipment; anyone who works in no estate (owners) gets 403; an item of another estate is
404. Printing labels is for those who keep the ledger (others 403). A scanned label opens `/desk/equipment/l/<code>/`:
a signed-in member of staff lands on the item's page; anyone else is sent through sign-in and back.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods

from wuye.core import clock
from wuye.core.http import stored_file_response
from wuye.estates.permissions import staff_estates

from . import labels, selectors
from .choices import EquipmentCategory, EquipmentStatus, Importance
from .permissions import can_manage_ledger, can_manage_plans, works_anywhere

PAGE_SIZE = 50
LABELS_MAX = 400
FILTERS = ("estate", "category", "importance", "status", "q")


def _require_staff(request: HttpRequest) -> None:
    if not works_anywhere(request.user):
        raise PermissionDenied


def _filters(request: HttpRequest) -> dict:
    """The list's filters from the query string; a value that is not one of the choices is ignored."""
    estate = request.GET.get("estate") or ""
    category = request.GET.get("category") or ""
    importance = request.GET.get("importance") or ""
    status = request.GET.get("status") or ""
    return {
        "estate_id": int(estate) if estate.isdigit() else None,
        "category": category if category in EquipmentCategory.values else None,
        "importance": importance if importance in Importance.values else None,
        "status": status if status in EquipmentStatus.values else None,
        "search": (request.GET.get("q") or "").strip()[:60] or None,
    }


@login_required
@require_GET
def equipment_list(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    filters = _filters(request)
    items = selectors.equipment_list(request.user, **filters)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    figures = selectors.reliability_by_equipment(list(page), now=clock.now())
    rows = [{"item": item, "reliability": figures[item.id]} for item in page]
    estates = list(staff_estates(request.user).order_by("name"))
    query = {name: request.GET.get(name) for name in FILTERS if request.GET.get(name)}
    can_print = any(can_manage_ledger(request.user, estate.id) for estate in estates)
    context = {
        "page": page,
        "rows": rows,
        "estates": estates,
        "categories": EquipmentCategory.choices,
        "importances": Importance.choices,
        "statuses": EquipmentStatus.choices,
        "selected": {name: request.GET.get(name, "") for name in FILTERS},
        "query": urlencode(query),
        "can_print": can_print,
    }
    return render(request, "equipment/list.html", context)


@login_required
@require_GET
def equipment_detail(request: HttpRequest, equipment_id: int) -> HttpResponse:
    _require_staff(request)
    now = clock.now()
    item = selectors.equipment_get(request.user, equipment_id)
    open_alarms, recent_alarms = selectors.equipment_alarms(item)
    plans = list(selectors.plan_list(request.user, equipment_id=item.id))
    reliability = selectors.reliability_by_equipment([item], now=now)[item.id]
    context = {
        "item": item,
        "devices": selectors.equipment_devices(item, now=now),
        "charts": selectors.equipment_charts(item, now=now),
        "open_alarms": open_alarms,
        "recent_alarms": recent_alarms,
        "orders": selectors.equipment_orders(item, limit=30),
        "plans": [{"plan": plan, "next_due": selectors.plan_next_due(plan, now=now)} for plan in plans],
        "reliability": reliability,
        "availability_percent": None if reliability.availability is None else reliability.availability * 100,
        "reliability_days": selectors.RELIABILITY_DAYS,
        "documents": list(item.documents.all()),
        "events": list(item.events.select_related("actor").order_by("-at", "-id")[:10]),
        "fault_url": reverse("desk:order_new") + "?" + urlencode({"equipment": item.id}),
        "can_print": can_manage_ledger(request.user, item.estate_id),
        "can_manage_plans": can_manage_plans(request.user, item.estate_id),
    }
    return render(request, "equipment/detail.html", context)


@login_required
@require_GET
def equipment_scan(request: HttpRequest, label_code: str) -> HttpResponse:
    """Where a label's QR code points: the item's page (sign-in first, through login_required's `next`)."""
    _require_staff(request)
    item = selectors.equipment_by_label(request.user, label_code.upper())
    return redirect(reverse("desk:equipment:detail", args=[item.id]) + "?scanned=1")


@login_required
@require_GET
def equipment_document(request: HttpRequest, equipment_id: int, document_id: int) -> HttpResponse:
    _require_staff(request)
    item = selectors.equipment_get(request.user, equipment_id)
    document = get_object_or_404(item.documents, pk=document_id)
    name = document.file.name
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content_type = "application/pdf" if extension == "pdf" else "application/octet-stream"
    response = stored_file_response(name, content_type)
    response["Content-Disposition"] = f'attachment; filename="document-{document.pk}.{extension or "bin"}"'
    return response


# ---------------------------------------------------------------- labels


def _label_items(request: HttpRequest) -> list:
    """The items to print: one (?id=), or the list's filters within the estates where the user keeps the ledger."""
    _require_staff(request)
    ids = [value for value in request.GET.getlist("id") if value.isdigit()]
    items = selectors.equipment_list(request.user, **_filters(request))
    if ids:
        items = items.filter(pk__in=ids)
    items = list(items[: LABELS_MAX + 1])
    if ids and not items:
        raise Http404
    if len(items) > LABELS_MAX:
        items = items[:LABELS_MAX]
    if any(not can_manage_ledger(request.user, item.estate_id) for item in items) or (
        not items and not any(can_manage_ledger(request.user, e.id) for e in staff_estates(request.user))
    ):
        raise PermissionDenied
    return items


def _labels(request: HttpRequest, items: list) -> list[labels.Label]:
    return [
        labels.Label(
            title=f"{item.code} {item.name}",
            subtitle=" · ".join(part for part in (item.estate.name, item.place_label) if part),
            url=request.build_absolute_uri(reverse("desk:equipment:scan", args=[item.label_code])),
            code=item.label_code,
        )
        for item in items
    ]


@login_required
@require_GET
def label_sheet(request: HttpRequest) -> HttpResponse:
    items = _label_items(request)
    sheet = [
        {"item": item, "label": label, "svg": mark_safe(labels.label_svg(label.url))}  # noqa: S308 - segno's SVG
        for item, label in zip(items, _labels(request, items), strict=True)
    ]
    query = request.GET.urlencode()
    return render(request, "equipment/labels.html", {"sheet": sheet, "query": query})


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def label_sheet_png(request: HttpRequest) -> HttpResponse:
    items = _label_items(request)
    return _download(labels.sheet_png(_labels(request, items)), "image/png", "equipment-labels.png")


@login_required
@require_GET
def label_sheet_pdf(request: HttpRequest) -> HttpResponse:
    items = _label_items(request)
    return _download(labels.sheet_pdf(_labels(request, items)), "application/pdf", "equipment-labels.pdf")


# ---------------------------------------------------------------- maintenance plans


def _plan_form_page(request: HttpRequest, *, item, plan=None) -> HttpResponse:
    from wuye.core.errors import ValidationFailed

    from . import services
    from .forms import SERVICE_FIELDS, PlanForm

    if not can_manage_plans(request.user, item.estate_id):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = PlanForm(request.POST, equipment=item)
        if form.is_valid():
            try:
                if plan is None:
                    services.plan_create(
                        estate=item.estate,
                        plan=services.PlanInput(equipment=item, **form.plan_values()),
                        actor=request.user,
                    )
                else:
                    services.plan_update(plan_id=plan.id, plan=services.plan_input_from(plan, **form.plan_values()))
            except ValidationFailed as failure:
                form.add_error(None, failure.message)
                for error in failure.errors:
                    field = SERVICE_FIELDS.get(error.field, error.field.split(".")[0])
                    form.add_error(field if field in form.fields else None, error.message)
                status = 422
            else:
                return redirect("desk:equipment:detail", equipment_id=item.id)
        else:
            status = 422
    else:
        form = PlanForm(initial=PlanForm.initial_from(plan) if plan else None, equipment=item)
    return render(request, "equipment/plan_form.html", {"form": form, "item": item, "plan": plan}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest, equipment_id: int) -> HttpResponse:
    _require_staff(request)
    return _plan_form_page(request, item=selectors.equipment_get(request.user, equipment_id))


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, plan_id: int) -> HttpResponse:
    _require_staff(request)
    plan = selectors.plan_get(request.user, plan_id)
    return _plan_form_page(request, item=plan.equipment, plan=plan)
