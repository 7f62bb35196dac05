"""The alarms console on the staff desk (/desk/alarms/): open alarms first, filtered by estate, status, severity,
device or equipment; acknowledge, assign and clear in place (htmx swaps the alarm's card); an alarm's page with what
the rule said, its work order and its history.

Someone who works in no estate gets 403; an alarm they may not see 404; an action their role may not take 403; a
move the lifecycle refuses 409; a missing note or a wrong assignee 422 — shown on the card, never a 500.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from wuye.core import clock
from wuye.core.errors import DomainError
from wuye.equipment.models import Equipment
from wuye.estates.models import Estate

from . import selectors, services
from .choices import SEVERITY_BADGES, STATUS_BADGES, USER_ACTIONS, AlarmAction, AlarmStatus, Severity
from .models import Alarm, Device
from .permissions import staff_estate_ids

PAGE_SIZE = 30
STATUS_FILTERS = (
    ("open", gettext_lazy("Open alarms")),
    (AlarmStatus.RAISED, AlarmStatus.RAISED.label),
    (AlarmStatus.ACKNOWLEDGED, AlarmStatus.ACKNOWLEDGED.label),
    (AlarmStatus.CLEARED, AlarmStatus.CLEARED.label),
    ("all", gettext_lazy("All")),
)


def _staff_estate_ids(request: HttpRequest) -> list[int]:
    estate_ids = staff_estate_ids(request.user)
    if not estate_ids:
        raise PermissionDenied
    return estate_ids


class AlarmFilterForm(forms.Form):
    """The console's filters; choices only from the estates the user works in. Invalid values are ignored."""

    estate = forms.TypedChoiceField(label=gettext_lazy("Estate"), coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=STATUS_FILTERS, required=False)
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), required=False)
    equipment = forms.TypedChoiceField(label=gettext_lazy("Equipment"), coerce=int, required=False, empty_value=None)
    device = forms.TypedChoiceField(label=gettext_lazy("Device"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, estate_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        everything = ("", _("All"))
        estates = Estate.objects.filter(id__in=estate_ids).order_by("name")
        self.fields["estate"].choices = [everything, *((e.id, e.name) for e in estates)]
        self.fields["severity"].choices = [everything, *Severity.choices]
        devices = Device.objects.filter(estate_id__in=estate_ids).order_by("estate_id", "code")
        self.fields["device"].choices = [everything, *((d.id, f"{d.code} {d.name}") for d in devices)]
        monitored = Equipment.objects.filter(estate_id__in=estate_ids, devices__isnull=False).distinct()
        self.fields["equipment"].choices = [everything, *((e.id, f"{e.code} {e.name}") for e in monitored)]

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        status = data.get("status") or ("open" if not self.is_bound else "")
        return {
            "estate_id": data.get("estate"),
            "status": None if status == "all" else (status or "open"),
            "severity": data.get("severity") or None,
            "device_id": data.get("device"),
            "equipment_id": data.get("equipment"),
        }


def _card(request: HttpRequest, alarm: Alarm) -> dict:
    return {
        "alarm": alarm,
        "reason": selectors.alarm_reason(alarm),
        "severity_badge": SEVERITY_BADGES.get(alarm.severity, ""),
        "status_badge": STATUS_BADGES.get(alarm.status, ""),
        "actions": selectors.alarm_allowed_actions(request.user, alarm),
    }


@login_required
@require_GET
def alarm_console(request: HttpRequest) -> HttpResponse:
    estate_ids = _staff_estate_ids(request)
    form = AlarmFilterForm(request.GET or None, estate_ids=estate_ids)
    alarms = selectors.alarm_list(request.user, **form.filters())
    page = Paginator(alarms, PAGE_SIZE).get_page(request.GET.get("page"))
    assignable = _assignable_by_estate({alarm.estate_id for alarm in page})
    cards = [{**_card(request, alarm), "assignable": assignable.get(alarm.estate_id, [])} for alarm in page]
    context = {"form": form, "page": page, "cards": cards, "query": _query_without_page(request)}
    template = (
        "iot/_alarm_results.html" if request.htmx and request.htmx.target == "alarm-results" else "iot/console.html"
    )
    return render(request, template, context)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _assignable_by_estate(estate_ids: set[int]) -> dict[int, list]:
    return {estate_id: list(selectors.alarm_assignable(estate_id)) for estate_id in sorted(estate_ids)}


@login_required
@require_GET
def alarm_detail(request: HttpRequest, alarm_id: int) -> HttpResponse:
    _staff_estate_ids(request)
    return _detail(request, selectors.alarm_get(request.user, alarm_id))


def _detail(request: HttpRequest, alarm: Alarm, *, status: int = 200, alert: str = "") -> HttpResponse:
    context = {
        **_card(request, alarm),
        "assignable": list(selectors.alarm_assignable(alarm.estate_id)),
        "events": [(event, selectors.alarm_event_text(event)) for event in selectors.alarm_timeline(alarm)],
        "alert": alert,
    }
    return render(request, "iot/detail.html", context, status=status)


@login_required
@require_POST
def alarm_act(request: HttpRequest, alarm_id: int, action: str) -> HttpResponse:
    """One action on one alarm: from its card on the console (htmx: the card is swapped, errors shown on it) or
    from its page."""
    _staff_estate_ids(request)
    alarm = selectors.alarm_get(request.user, alarm_id)
    if action not in USER_ACTIONS:
        raise Http404
    note = request.POST.get("note") or ""
    try:
        if action == AlarmAction.ACKNOWLEDGE:
            services.alarm_acknowledge(actor=request.user, alarm_id=alarm.id, note=note, now=clock.now())
        elif action == AlarmAction.ASSIGN:
            assignee = request.POST.get("assignee_id") or ""
            services.alarm_assign(
                actor=request.user,
                alarm_id=alarm.id,
                assignee_id=int(assignee) if assignee.isdigit() and len(assignee) < 12 else 0,
                note=note,
                now=clock.now(),
            )
        else:
            services.alarm_clear(actor=request.user, alarm_id=alarm.id, note=note, now=clock.now())
    except DomainError as failure:
        message = " ".join([failure.message, *(str(error.message) for error in failure.errors)])
        fresh = selectors.alarm_get(request.user, alarm.id)
        if request.htmx:
            return _card_response(request, fresh, status=failure.status, alert=message)
        return _detail(request, fresh, status=failure.status, alert=message)
    fresh = selectors.alarm_get(request.user, alarm.id)
    if request.htmx:
        return _card_response(request, fresh, done=str(AlarmAction(action).label))
    return redirect(_safe_next(request, reverse("desk:alarms:detail", args=[alarm.id])))


def _card_response(request: HttpRequest, alarm: Alarm, *, status: int = 200, alert: str = "", done: str = ""):
    context = {
        **_card(request, alarm),
        "assignable": list(selectors.alarm_assignable(alarm.estate_id)),
        "alert": alert,
        "done": done,
    }
    return render(request, "iot/_alarm_card.html", context, status=status)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
