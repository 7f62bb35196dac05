"""The KPI dashboard on the desk (/desk/kpis/), drilling down company → estate → grid → person with the query
parameters company, estate, grid and person, for a period (month=YYYY-MM, or from/to dates; by default this month
so far), and its monthly report as Excel and PDF.

Managers, supervisors and company administrators only (anyone else 403); an estate, grid or person outside the
estates they hold that role in answers 404; a malformed parameter answers 400 naming it.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from wuye.core import clock
from wuye.core.errors import Forbidden, NotFound, ValidationFailed

from . import reports, selectors
from .choices import KPIS, Group, Level

PARAMS = ("company", "estate", "grid", "person")


def _dashboard(request: HttpRequest, *, children: bool = True) -> selectors.Dashboard:
    try:
        scope = selectors.scope_for(request.user, **{name: request.GET.get(name) for name in PARAMS})
        start, end = selectors.period_for(
            today=clock.today(),
            start=request.GET.get("from"),
            end=request.GET.get("to"),
            month=request.GET.get("month"),
        )
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except NotFound:
        raise Http404 from None
    return selectors.dashboard(scope, start, end, today=clock.today(), children=children)


def _bad_request(request: HttpRequest, error: ValidationFailed) -> HttpResponse:
    return render(request, "kpis/error.html", {"message": error.message}, status=400)


def _url(params: dict | None, period: dict) -> str | None:
    if params is None:
        return None
    return "?" + urlencode({**params, **period})


@login_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    try:
        data = _dashboard(request)
    except ValidationFailed as error:
        return _bad_request(request, error)
    period = {"from": data.start.isoformat(), "to": data.end.isoformat()}
    groups = []
    for group in Group:
        lines = [
            {
                **line.__dict__,
                "value_text": reports.format_value(line.code, line.value),
                "target_text": reports.format_value(line.code, line.target),
                "last_year_text": reports.format_value(line.code, line.last_year),
                "status_text": reports.status_label(line.status),
            }
            for line in data.kpis
            if line.group == group
        ]
        groups.append({"label": group.label, "lines": lines})
    table = [spec for spec in KPIS if spec.in_table]
    children = [
        {
            "name": child.name,
            "url": _url(child.params, period),
            "orders": child.orders,
            "cells": [
                {
                    "text": reports.format_value(spec.code, child.values[spec.code]),
                    "status": child.statuses[spec.code],
                }
                for spec in table
            ],
        }
        for child in data.children
    ]
    chart = {
        "months": [f"{month:%Y-%m}" for month in data.trend_months],
        "kpis": [
            {
                "code": line.code,
                "label": line.label,
                "unit": line.unit,
                "target": line.target,
                "values": data.trend.get(line.code, []),
                "last_year": data.trend_last_year.get(line.code, []),
            }
            for line in data.kpis
            if any(value is not None for value in data.trend.get(line.code, []))
        ],
        "labels": {"this_year": _("This year"), "last_year": _("Last year"), "target": _("Target")},
    }
    query = {**data.scope.params, **period}
    context = {
        "data": data,
        "groups": groups,
        "table": table,
        "children": children,
        "child_level_label": Level(data.child_level).label if data.child_level else "",
        "breadcrumbs": [(name, _url(params, period)) for name, params in data.scope.breadcrumbs()],
        "chart": chart,
        "period": period,
        "scope_params": data.scope.params,
        "export_query": urlencode(query),
        "period_label": reports.period_label(data.start, data.end),
        "last_year_label": reports.period_label(data.last_year_start, data.last_year_end),
    }
    return render(request, "kpis/dashboard.html", context)


def _filename(data: selectors.Dashboard, extension: str) -> str:
    return f"kpi-{data.scope.level}-{data.start:%Y%m%d}-{data.end:%Y%m%d}.{extension}"


@login_required
@require_GET
def export_excel(request: HttpRequest) -> HttpResponse:
    try:
        data = _dashboard(request)
    except ValidationFailed as error:
        return _bad_request(request, error)
    response = HttpResponse(
        reports.excel_report(data),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(data, "xlsx")}"'
    return response


@login_required
@require_GET
def export_pdf(request: HttpRequest) -> HttpResponse:
    try:
        data = _dashboard(request)
    except ValidationFailed as error:
        return _bad_request(request, error)
    try:
        content = reports.pdf_report(data)
    except reports.FontMissing as missing:
        message = _("The PDF needs the font %(path)s (Debian package fonts-noto-cjk).") % {"path": str(missing)}
        return render(request, "kpis/error.html", {"message": message}, status=503)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(data, "pdf")}"'
    return response
