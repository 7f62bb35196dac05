from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from wuye.accounts.choices import RESIDENT_ROLES
from wuye.accounts.selectors import current_residencies, roles_by_estate


def _resident_estate_ids(user) -> list[int]:
    return [estate_id for estate_id, roles in roles_by_estate(user).items() if roles & RESIDENT_ROLES]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The owner's home: their rooms, grouped by estate, with what the estate is contracted to."""
    if not _resident_estate_ids(request.user):
        raise PermissionDenied
    residencies = list(current_residencies(request.user))
    estates = {}
    for residency in residencies:
        estate = residency.room.estate
        estates.setdefault(estate.id, {"estate": estate, "residencies": []})["residencies"].append(residency)
    return render(request, "portal/home.html", {"estates": list(estates.values())})
