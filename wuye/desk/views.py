from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from wuye.accounts.choices import STAFF_ROLES, Role
from wuye.accounts.selectors import roles_by_estate
from wuye.core.errors import ValidationFailed
from wuye.estates import ledgers, selectors
from wuye.estates.models import Estate, Grid
from wuye.estates.permissions import can_manage_master_data, is_staff_in, staff_estates

from .forms import LedgerImportForm


def _staff_estate_or_403(request: HttpRequest, estate_id: int) -> Estate:
    estate = selectors.estate_get(request.user, estate_id)  # 404 when not visible
    if not is_staff_in(request.user, estate):
        raise PermissionDenied
    return estate


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A staff member's start page: each estate they work in, their roles there and the grids they lead."""
    estates = list(staff_estates(request.user).select_related("company").order_by("name"))
    if not estates:
        raise PermissionDenied
    roles = roles_by_estate(request.user)
    labels = dict(Role.choices)
    led = {}
    for grid in Grid.objects.filter(estate__in=estates, leader=request.user) | Grid.objects.filter(
        estate__in=estates, deputy=request.user
    ):
        led.setdefault(grid.estate_id, []).append(grid)
    cards = [
        {
            "estate": estate,
            "roles": [labels[role] for role in sorted(roles.get(estate.id, ())) if role in STAFF_ROLES],
            "grids": sorted(led.get(estate.id, []), key=lambda g: g.name),
            "can_import": can_manage_master_data(request.user, estate),
        }
        for estate in estates
    ]
    return render(request, "desk/home.html", {"cards": cards})


@login_required
def estate_detail(request: HttpRequest, estate_id: int) -> HttpResponse:
    estate = _staff_estate_or_403(request, estate_id)
    context = {
        "estate": estate,
        "overview": selectors.estate_overview(estate),
        "grids": selectors.grid_list(request.user, estate),
        "buildings": selectors.building_list(request.user, estate),
        "can_import": can_manage_master_data(request.user, estate),
        "query": request.GET.get("q", ""),
    }
    if context["query"]:
        context["rooms"] = selectors.room_search(request.user, estate, query=context["query"])[:50]
    template = "desk/_room_results.html" if request.htmx else "desk/estate.html"
    return render(request, template, context)


@login_required
def ledger_import(request: HttpRequest, estate_id: int) -> HttpResponse:
    estate = _staff_estate_or_403(request, estate_id)
    if not can_manage_master_data(request.user, estate):
        raise PermissionDenied
    form = LedgerImportForm(request.POST or None, request.FILES or None)
    errors = []
    status = 200
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = ledgers.ledger_import(
                estate=estate,
                kind=form.cleaned_data["kind"],
                filename=upload.name,
                content=ledgers.upload_read(upload),
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationFailed as failure:
            errors = failure.errors
            form.add_error(None, failure.message)
            status = 422
        else:
            if form.cleaned_data["dry_run"]:
                text = _("Checked %(rows)d rows: no errors. Nothing was written.") % {"rows": result.rows}
            else:
                text = _("Imported %(rows)d rows: %(created)d created, %(updated)d updated.") % {
                    "rows": result.rows,
                    "created": result.created,
                    "updated": result.updated,
                }
            messages.success(request, text)
            return redirect("desk:ledger_import", estate_id=estate.id)
    elif request.method == "POST":
        status = 422
    return render(request, "desk/import.html", {"estate": estate, "form": form, "errors": errors}, status=status)
